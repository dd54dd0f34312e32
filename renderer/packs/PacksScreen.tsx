import { useEffect, useState } from 'react';
import type { BusPackView, BusRoundView } from '../../shared/api/bus-contract.js';
import type { Res } from '../../shared/api/contract.js';
import { latestJob } from '../app/jobs.js';
import { useApp } from '../app/state.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import { alarmTexts, fmt } from '../common/format.js';
import { PortField } from '../firmware/OtherLinks.js';

/**
 * Several packs on one RS485 bus (Pylontech modules by address, Daly boards by board number), live:
 * find the packs, then one row per pack with SOC, voltage, current, its lowest and highest cell,
 * its warmest sensor and its alarms, the totals the inverter sees, and a warning when two packs
 * differ too much to be joined in parallel. Watching is a host job: it goes on when the screen is
 * left and is found again here.
 */
const PROTOCOLS = [
  { id: 'pylontech-rs485', name: 'Pylontech RS485 (server-rack modules)' },
  { id: 'daly', name: 'Daly (board numbers)' },
] as const;
type BusProtocol = (typeof PROTOCOLS)[number]['id'];

export function PacksScreen() {
  const { api, jobs, connection } = useApp();
  const [port, setPort] = useState('');
  const [protocol, setProtocol] = useState<BusProtocol>('pylontech-rs485');
  const [found, setFound] = useState<Res<'bus.scan'> | null>(null);
  const [watched, setWatched] = useState<{ label: string; packs: BusPackView[] } | null>(null);
  const [round, setRound] = useState<BusRoundView | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const scanJob = latestJob(jobs, 'bus-scan');
  const monitorJob = latestJob(jobs, 'bus-monitor');
  const scanning = scanJob?.state === 'running';
  const watching = monitorJob?.state === 'running' ? monitorJob : null;

  // A monitor that runs (started here before, or in another window) is picked up where it is.
  useEffect(() => {
    let live = true;
    api
      .call('bus.state', {})
      .then((s) => {
        if (!live || !s.opId || !s.label) return;
        setWatched({ label: s.label, packs: s.packs });
        setRound(s.last);
        if (s.port) setPort(s.port);
        if (s.protocol) setProtocol(s.protocol);
      })
      .catch(() => undefined);
    const off = api.on('bus', (r) => setRound(r));
    return () => {
      live = false;
      off();
    };
  }, [api]);
  // The monitor's pack list arrives with its first round (identities are read first).
  const watchingId = watching?.id ?? null;
  useEffect(() => {
    if (!watchingId || watched?.packs.length) return;
    api
      .call('bus.state', {})
      .then((s) => s.label && setWatched({ label: s.label, packs: s.packs }))
      .catch(() => undefined);
  }, [api, watchingId, round, watched]);
  const monitorError = monitorJob && monitorJob.state === 'failed' ? monitorJob.error : null;

  const portInUse =
    connection && connection.transport.path === port.trim() ? 'This is the connected pack’s port: disconnect it on the Connect screen first.' : null;
  const why = !port.trim() ? 'Enter the port of the RS485 adapter.' : portInUse;

  const scan = async () => {
    setError(null);
    setFound(null);
    try {
      setFound(await api.call('bus.scan', { opId: `bus-scan-${Date.now()}`, port: port.trim(), protocol }));
    } catch (e) {
      setError(asUiError(e));
    }
  };
  const watch = (addresses: number[]) => {
    setError(null);
    setRound(null);
    setWatched(found ? { label: found.label, packs: found.packs.filter((p) => addresses.includes(p.address)) } : null);
    api.call('bus.monitor', { opId: `bus-monitor-${Date.now()}`, port: port.trim(), protocol, addresses, rateHz: 1 }).catch((e) => {
      const err = asUiError(e);
      if (err.code !== 'CANCELLED') setError(err);
    });
  };
  const stop = () => watching && void api.call('op.cancel', { opId: watching.id });

  return (
    <section className="screen" aria-labelledby="packs-title">
      <h1 id="packs-title">Packs on one bus</h1>
      <div className="card">
        <p>
          Server-rack batteries and parallel packs share one RS485 line, each at its own address. PackScope asks them one after another and shows them side by
          side; nothing is written to any pack.
        </p>
        <div className="row">
          <PortField label="Bus port" value={port} onChange={setPort} />
          <label className="inline">
            Protocol
            <select value={protocol} onChange={(e) => setProtocol(e.target.value as BusProtocol)} aria-label="Bus protocol" disabled={!!watching}>
              {PROTOCOLS.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <button className="primary" onClick={() => void scan()} disabled={!!why || scanning || !!watching} data-testid="bus-scan">
            {scanning ? `Looking… ${scanJob?.progress?.phase ?? ''}` : 'Find packs'}
          </button>
          {watching && (
            <button className="danger" onClick={stop} data-testid="bus-stop">
              Stop watching
            </button>
          )}
        </div>
        {why && port.trim() && <p className="why-disabled">{why}</p>}
        {found && !watching && (
          <div data-testid="bus-found">
            {found.packs.length === 0 ? (
              <p className="bad-text">
                No pack answered at any {found.label} ({found.asked[0]}–{found.asked.at(-1)}). Check the A/B wiring, the baud rate and that the packs are
                switched on.
              </p>
            ) : (
              <>
                <p>
                  {found.packs.length} pack(s) answered: {found.packs.map((p) => `${found.label} ${p.address}`).join(', ')}.
                </p>
                <button className="primary" onClick={() => watch(found.packs.map((p) => p.address))} data-testid="bus-watch">
                  Watch them live
                </button>
              </>
            )}
          </div>
        )}
      </div>
      {error && <ErrorBox error={error} />}
      {monitorError && !watching && <ErrorBox error={monitorError} />}
      {watched && round && <BusTable label={watched.label} packs={watched.packs} round={round} live={!!watching} />}
      {watching && !round && (
        <div className="notice" role="status">
          Reading who is who on the bus…
        </div>
      )}
    </section>
  );
}

function BusTable({ label, packs, round, live }: { label: string; packs: BusPackView[]; round: BusRoundView; live: boolean }) {
  const byAddress = new Map(packs.map((p) => [p.address, p]));
  const t = round.totals;
  const p = round.parallel;
  return (
    <div className="card" data-testid="bus-view" data-round={round.round}>
      {p && !p.safe && (
        <div className="error" role="alert" data-testid="bus-parallel">
          <strong>
            Not safe to join {p.between[0]} and {p.between[1]} in parallel:
          </strong>{' '}
          {p.reasons.join('; ')}. About {fmt(p.currentA, 0)} A would flow from {p.from} at first (limit {fmt(p.currentLimitA, 0)} A). Bring them to the same
          charge first.
        </div>
      )}
      {p && p.safe && (
        <p className="ok-text" data-testid="bus-parallel-ok">
          The packs are close enough to be joined in parallel (largest difference {fmt(Math.abs(p.voltageDelta) * 1000, 0)} mV, {fmt(Math.abs(p.socDelta), 1)}{' '}
          SOC points).
        </p>
      )}
      {!live && <p className="muted">Not watching now: the last round read.</p>}
      <table className="grid" data-testid="bus-table">
        <thead>
          <tr>
            <th scope="col">Pack</th>
            <th scope="col">SOC</th>
            <th scope="col">Voltage</th>
            <th scope="col">Current</th>
            <th scope="col">Lowest cell</th>
            <th scope="col">Highest cell</th>
            <th scope="col">Warmest</th>
            <th scope="col">Alarms</th>
          </tr>
        </thead>
        <tbody>
          {round.packs.map(({ address, frame: f }) => {
            const d = byAddress.get(address)?.device;
            const cells = f?.cellVoltages ?? [];
            const alarms = f ? alarmTexts(f.alarms) : [];
            return (
              <tr key={address} data-testid={`bus-pack-${address}`} className={f ? '' : 'stale'}>
                <th scope="row">
                  {label} {address}
                  {d && d.model !== `pack ${address}` ? <div className="muted small">{d.model}</div> : null}
                </th>
                {f ? (
                  <>
                    <td data-testid="soc">{fmt(f.soc, 1)} %</td>
                    <td data-testid="voltage">{fmt(f.packVoltage, 2)} V</td>
                    <td>{fmt(f.current, 1)} A</td>
                    <td>{cells.length ? `${fmt(Math.min(...cells) * 1000, 0)} mV (#${cells.indexOf(Math.min(...cells)) + 1})` : '—'}</td>
                    <td>{cells.length ? `${fmt(Math.max(...cells) * 1000, 0)} mV (#${cells.indexOf(Math.max(...cells)) + 1})` : '—'}</td>
                    <td>{f.temperatures.length ? `${fmt(Math.max(...f.temperatures), 1)} °C` : '—'}</td>
                    <td className={alarms.length ? 'bad-text' : ''}>{alarms.length ? alarms.join(', ') : 'none'}</td>
                  </>
                ) : (
                  <td colSpan={7} className="bad-text">
                    No answer this round
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
        <tfoot>
          <tr data-testid="bus-totals">
            <th scope="row">All {t.packs}</th>
            <td>{fmt(t.soc, 1)} %</td>
            <td>{fmt(t.voltage, 2)} V</td>
            <td>{fmt(t.current, 1)} A</td>
            <td colSpan={4}>
              {fmt(t.power / 1000, 2)} kW · spread {fmt(t.voltageSpread * 1000, 0)} mV and {fmt(t.socSpread, 1)} SOC points
              {round.missing.length ? ` · no answer from ${round.missing.map((a) => `${label} ${a}`).join(', ')}` : ''}
            </td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
