import { useCallback, useEffect, useState } from 'react';
import type { LogHealth } from '../../shared/health/report.js';
import { Bars, CapacityTile, Tile } from './HealthFigures.js';
import { CapacityTestCard } from './CapacityTestCard.js';
import { LifetimeSection } from '../verify/PackageHealth.js';
import { REGULATION_NOTE } from '../../shared/health/text.js';
import { useApp } from '../app/state.js';
import { FilePicker } from '../common/FilePicker.js';
import { DecimalField } from '../common/DecimalField.js';
import { asUiError, ErrorBox, type UiError } from '../common/ErrorBox.js';
import './health.css';

/**
 * Pack health of a black box: remaining capacity with its uncertainty, each cell's resistance,
 * self-discharge and deviation (what stands out in words), lifetime figures, and where the pack
 * spent its time (temperature, state of charge, C-rate) as bars — what a bench engineer reads in a
 * BMS utility, computed from the verified log rather than taken from the board's own estimate.
 */
const RATING_FROM: Record<string, string> = {
  certificate: 'signed device certificate',
  identity: "the board's identity (unsigned)",
  given: 'given here',
  unknown: 'unknown',
};

export function HealthScreen() {
  const { api, dataDir, takePendingFile } = useApp();
  const [file, setFile] = useState<string | null>(null);
  const [rated, setRated] = useState('');
  const [chemistry, setChemistry] = useState<'' | 'lfp' | 'nmc'>('');
  const [health, setHealth] = useState<LogHealth | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);

  const analyse = useCallback(
    async (path: string) => {
      setFile(path);
      setBusy(true);
      setError(null);
      setHealth(null);
      try {
        const ah = Number(rated.replace(',', '.'));
        const r = await api.call('health.analyse', { path, ...(rated.trim() && ah > 0 ? { ratedCapacityAh: ah } : {}), ...(chemistry ? { chemistry } : {}) });
        setHealth(r);
      } catch (e) {
        setError(asUiError(e));
      } finally {
        setBusy(false);
      }
    },
    [api, rated, chemistry],
  );

  useEffect(() => {
    const pending = takePendingFile('health');
    if (pending) void analyse(pending);
    // Only a file handed over when the screen opens.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const badRated = rated.trim() !== '' && !(Number(rated.replace(',', '.')) > 0);
  return (
    <section className="screen health">
      <h1>Health</h1>
      <div className="card">
        <h2>Analyse a black box (.pslog)</h2>
        <FilePicker label="Log file" extensions={['.pslog']} onPick={(p) => void analyse(p)} initialDir={dataDir || undefined} />
        <div className="row">
          <DecimalField label="Rated capacity (Ah)" value={rated} onChange={setRated} placeholder="from the board" invalid={badRated} testId="health-rated" />
          <label>
            Cell chemistry
            <select value={chemistry} onChange={(e) => setChemistry(e.target.value as '' | 'lfp' | 'nmc')} data-testid="health-chemistry">
              <option value="">From the board</option>
              <option value="lfp">LiFePO4 (LFP)</option>
              <option value="nmc">NMC</option>
            </select>
          </label>
          {file && (
            <button onClick={() => void analyse(file)} disabled={busy || badRated}>
              Analyse again
            </button>
          )}
        </div>
        {badRated && <p className="bad-text">The rated capacity must be a positive number of ampere-hours.</p>}
      </div>
      <CapacityTestCard />
      {busy && <p role="status">Reading the log and measuring…</p>}
      {error && <ErrorBox error={error} />}
      {health && <Report h={health} />}
    </section>
  );
}

function Report({ h }: { h: LogHealth }) {
  const r = h.report;
  const hours = r.fromT !== null && r.toT !== null ? (r.toT - r.fromT) / 3_600_000 : 0;
  const nf = (x: number, d: number) => x.toLocaleString(undefined, { minimumFractionDigits: d, maximumFractionDigits: d });
  return (
    <div data-testid="health-report">
      <div className="card">
        <h2>
          {h.device.model ?? 'Unknown pack'} {h.device.serial ? `#${h.device.serial}` : ''} · {r.records.toLocaleString()} records over {nf(hours, 1)} h
        </h2>
        <p className={h.source === 'desktop' ? 'muted' : h.verified ? 'ok-text' : 'bad-text'} data-testid="health-verified">
          {h.source === 'desktop'
            ? 'A recording made by PackScope: nothing in it is signed by the board.'
            : h.verified
              ? 'The log verifies: every segment is signed by the board.'
              : `The log does NOT verify (${h.problem}). The figures below come from data nobody vouches for.`}
        </p>
        <p className="muted">
          Rating: {h.rating.chemistry?.toUpperCase() ?? 'chemistry unknown'} from {RATING_FROM[h.rating.chemistryFrom]}, {h.rating.ratedCapacityAh ?? '?'} Ah
          from {RATING_FROM[h.rating.capacityFrom]}.
        </p>
      </div>
      <div className="tiles">
        <CapacityTile report={r} testId="health-capacity" />
        <Tile label="Equivalent full cycles" value={r.equivalentFullCycles === null ? '–' : nf(r.equivalentFullCycles, 2)} />
        <Tile label="Discharged" value={`${nf(r.energyThroughput.dischargeWh / 1000, 2)} kWh`} sub={`${nf(r.capacityThroughput.dischargeAh, 1)} Ah`} />
        <Tile
          label="Extreme temperature"
          value={`${nf(r.timeAtExtremeTemperatureH.overall, 2)} h`}
          sub={`${nf(r.timeAtExtremeTemperatureH.whileCharging, 2)} h while charging`}
        />
        <Tile label="Deep discharges" value={String(r.deepDischargeEvents)} sub={`${r.overcurrentEvents} over-current events`} />
        <Tile label="Resting at ≤ 10 % SOC" value={`${nf(r.storageAtLowSocH, 2)} h`} />
      </div>
      <div className="card">
        <h2>Cells</h2>
        {r.balance && (
          <p className="muted">
            Spread at rest {nf(r.balance.firstMv, 0)} → {nf(r.balance.lastMv, 0)} mV over {r.balance.points} rests
            {r.balance.trendMvPerDay !== null ? `, ${r.balance.trendMvPerDay >= 0 ? '+' : ''}${nf(r.balance.trendMvPerDay, 1)} mV per day` : ''}.
          </p>
        )}
        <table className="grid" data-testid="health-cells">
          <thead>
            <tr>
              <th>Cell</th>
              <th>Capacity (Ah)</th>
              <th>Resistance (mΩ)</th>
              <th>Self-discharge vs others (%/h)</th>
              <th>Deviation at rest (mV)</th>
              <th>Stands out</th>
            </tr>
          </thead>
          <tbody>
            {r.cells.map((c) => (
              <tr key={c.cell} className={c.flags.length ? 'flagged' : undefined}>
                <td>{c.cell}</td>
                <td>{c.capacity ? `${nf(c.capacity.ah, 1)} ± ${nf(c.capacity.uncertaintyAh, 1)}` : '–'}</td>
                <td>{c.resistanceMilliOhm === null ? '–' : nf(c.resistanceMilliOhm, 2)}</td>
                <td>{c.relativeSelfDischargePctPerH === null ? '–' : nf(c.relativeSelfDischargePctPerH, 3)}</td>
                <td>{c.restDeviationMv === null ? '–' : nf(c.restDeviationMv, 1)}</td>
                <td>{c.flags.join('; ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="health-histograms">
        {[r.histograms.temperature, r.histograms.temperatureWhileCharging, r.histograms.soc, r.histograms.cRate].map((hist) => (
          <Bars key={hist.quantity} h={hist} />
        ))}
      </div>
      {h.source === 'device' && (
        <div className="card">
          <LifetimeSection life={h.lifetime} />
        </div>
      )}
      <p className="muted">{REGULATION_NOTE}</p>
    </div>
  );
}
