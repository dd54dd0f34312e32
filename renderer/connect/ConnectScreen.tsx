import { useCallback, useEffect, useState } from 'react';
import type { Res } from '../../shared/api/contract.js';
import { useApp } from '../app/state.js';
import { BoardMissing } from '../common/BoardMissing.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';

type Port = Res<'ports.list'>[number];

const PROTOCOLS = [
  ['auto', 'Detect automatically'],
  ['native', 'PackScope native'],
  ['jbd', 'JBD / Xiaoxiang'],
  ['daly', 'Daly'],
  ['jk', 'JK'],
  ['pylontech-can', 'Pylontech CAN (SLCAN adapter)'],
] as const;

/** Line rates offered; 'auto' tries each protocol's own rate, then the others. */
const BAUDS = ['default', 'auto', 9600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600] as const;
type Baud = (typeof BAUDS)[number];

function baudLabel(b: Baud): string {
  if (b === 'default') return "The protocol's own rate";
  if (b === 'auto') return 'Find it automatically (tries every common rate)';
  return `${b.toLocaleString()} baud`;
}

const SCENARIOS = [
  ['normal', 'Normal cycling'],
  ['idle', 'Resting'],
  ['weak-cell', 'A weak cell'],
  ['over-current', 'Over-current'],
  ['over-discharge', 'Over-discharge'],
  ['cold-charge', 'Charging below 0 °C'],
] as const;

function portLabel(p: Port): string {
  if (p.kind === 'sim') return 'Demo pack (simulated, built in)';
  return [p.adapter, p.manufacturer].filter(Boolean).join(' · ') || 'Serial port';
}

/** The fix for a serial port the user may not open (Linux), with the exact commands. */
function PermissionFix({ path }: { path: string }) {
  return (
    <div className="fix" data-testid="eacces-fix">
      <p>
        Your user account may not open <code>{path}</code>. On Linux, serial ports belong to the <code>dialout</code> group. Either:
      </p>
      <ol>
        <li>
          add yourself to it, then log out and in again: <code>sudo usermod -aG dialout $USER</code>
        </li>
        <li>
          or install PackScope's udev rule (the .deb package does this for you):{' '}
          <code>sudo cp 99-packscope.rules /etc/udev/rules.d/ && sudo udevadm control --reload && sudo udevadm trigger</code>
        </li>
      </ol>
      <p>Then unplug and replug the adapter and connect again.</p>
    </div>
  );
}

export function ConnectScreen() {
  const { api, connection, setConnection, go } = useApp();
  const [ports, setPorts] = useState<Port[] | null>(null);
  const [selected, setSelected] = useState('sim:');
  const [manual, setManual] = useState('');
  const [protocol, setProtocol] = useState<(typeof PROTOCOLS)[number][0]>('auto');
  const [scenario, setScenario] = useState<(typeof SCENARIOS)[number][0]>('normal');
  const [baud, setBaud] = useState<Baud>('default');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);

  const refresh = useCallback(async () => {
    try {
      setPorts(await api.call('ports.list', {}));
    } catch (e) {
      setError(asUiError(e));
    }
  }, [api]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // The demo pack can play a scenario (sim:?scenario=…): handy for trying the self-check or a claim.
  const path = manual.trim() || (selected === 'sim:' && scenario !== 'normal' ? `sim:?scenario=${scenario}` : selected);

  const connect = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.call('device.connect', { path, protocol, ...(baud !== 'default' ? { baudRate: baud } : {}) });
      setConnection(r);
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(false);
    }
  };

  const disconnect = async () => {
    setBusy(true);
    try {
      await api.call('device.disconnect', {});
      setConnection(null);
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="connect-title" className="screen">
      <h1 id="connect-title">Connect to a pack</h1>
      {connection ? (
        <div className="card connected" data-testid="connected">
          <h2>
            {connection.device.model} · serial {connection.device.serial}
          </h2>
          <dl className="facts">
            <dt>Port</dt>
            <dd>{connection.transport.path}</dd>
            <dt>Protocol</dt>
            <dd data-testid="answered">{connection.protocol} answered</dd>
            <dt>Detection</dt>
            <dd>
              {connection.probes.length === 0
                ? 'protocol chosen by hand'
                : connection.probes
                    .map((p) => `${p.protocol}${p.baudRate && baud === 'auto' ? ` at ${p.baudRate}` : ''} ${p.answered ? '✓ answered' : '✗ no answer'}`)
                    .join(' · ')}
            </dd>
            <dt>Firmware</dt>
            <dd data-testid="connected-firmware">
              {connection.device.firmwareVersion} (bootloader {connection.device.bootloaderVersion})
            </dd>
            <dt>Cells</dt>
            <dd>
              {connection.device.cellCount} × {connection.device.chemistry.toUpperCase()}, {connection.device.nominalCapacityAh} Ah
            </dd>
            <dt>Evidence</dt>
            <dd>{connection.device.signsEvidence ? 'the board signs its own black box' : 'no device key: recordings are unsigned'}</dd>
          </dl>
          <BoardMissing />
          <div className="row">
            <button className="primary" onClick={() => go('live')}>
              Show live data
            </button>
            <button onClick={disconnect} disabled={busy}>
              Disconnect
            </button>
          </div>
        </div>
      ) : (
        <div className="card">
          <fieldset disabled={busy}>
            <legend>Port</legend>
            {ports === null ? (
              <p className="muted">Looking for ports…</p>
            ) : (
              <div className="portlist" role="radiogroup" aria-label="Ports">
                {ports.map((p) => (
                  <label key={p.path} className={`port${selected === p.path && !manual ? ' selected' : ''}`}>
                    <input
                      type="radio"
                      name="port"
                      value={p.path}
                      checked={selected === p.path && !manual}
                      onChange={() => (setSelected(p.path), setManual(''))}
                    />
                    <span className="path">{p.path}</span>
                    <span className="desc">{portLabel(p)}</span>
                    {p.vendorId && (
                      <span className="muted small">
                        USB {p.vendorId}:{p.productId}
                      </span>
                    )}
                  </label>
                ))}
                {ports.filter((p) => p.kind === 'serial').length === 0 && (
                  <p className="muted">No serial adapters found. Plug one in and press Refresh, or use the demo pack.</p>
                )}
              </div>
            )}
            {selected === 'sim:' && !manual && (
              <label className="inline">
                Demo scenario
                <select value={scenario} onChange={(e) => setScenario(e.target.value as typeof scenario)} aria-label="Demo scenario">
                  {SCENARIOS.map(([v, l]) => (
                    <option key={v} value={v}>
                      {l}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <div className="row">
              <button onClick={refresh}>Refresh</button>
              <label className="inline">
                Other port
                <input
                  value={manual}
                  onChange={(e) => setManual(e.target.value)}
                  placeholder="/dev/ttyUSB0, COM3, tcp://host:port…"
                  aria-label="Port path"
                  size={34}
                />
              </label>
            </div>
          </fieldset>
          <fieldset disabled={busy}>
            <legend>Protocol and line rate</legend>
            <div className="row wrap">
              <select value={protocol} onChange={(e) => setProtocol(e.target.value as typeof protocol)} aria-label="Protocol">
                {PROTOCOLS.map(([v, l]) => (
                  <option key={v} value={v}>
                    {l}
                  </option>
                ))}
              </select>
              <select
                value={String(baud)}
                onChange={(e) => setBaud((BAUDS.find((b) => String(b) === e.target.value) ?? 'default') as Baud)}
                aria-label="Line rate"
              >
                {BAUDS.map((b) => (
                  <option key={b} value={String(b)}>
                    {baudLabel(b)}
                  </option>
                ))}
              </select>
            </div>
            <p className="muted small">
              Boards that support it run much faster at 921,600 baud (a long black-box download takes minutes instead of an hour). If nothing answers, let
              PackScope find the rate.
            </p>
          </fieldset>
          <div className="row">
            <button className="primary" onClick={connect} disabled={busy} data-testid="connect">
              {busy ? 'Connecting…' : `Connect to ${path}`}
            </button>
          </div>
        </div>
      )}
      {error && <ErrorBox error={error}>{error.code === 'PERMISSION' && <PermissionFix path={path} />}</ErrorBox>}
    </section>
  );
}
