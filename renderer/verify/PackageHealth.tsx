/**
 * The Verify screen's health section: the pack's health as the verifier recomputed it from the
 * signed records, and the board's signed lifetime counters with what verification found (the
 * pack's whole life, beyond what the log still holds). Absent counters are said to be absent.
 */
import type { PackageHealth } from '../../shared/evidence/health-section.js';
import { REGULATION_NOTE } from '../../shared/health/text.js';
import { Bars, CapacityTile, Tile } from '../health/HealthFigures.js';

const nf = (x: number, d: number) => x.toLocaleString(undefined, { minimumFractionDigits: d, maximumFractionDigits: d });

export function PackageHealthCard({ health }: { health: PackageHealth }) {
  const r = health.report;
  const life = health.lifetime;
  return (
    <div className="card health" data-testid="verify-health">
      <h2>Pack health</h2>
      <p className="muted">
        Recomputed from the signed records ({r.records.toLocaleString()} records)
        {health.rating.from === 'certificate'
          ? `, rated ${health.rating.ratedCapacityAh ?? '?'} Ah ${health.rating.chemistry?.toUpperCase() ?? ''} by the manufacturer's certificate.`
          : '; the certificate states no rating.'}
      </p>
      <div className="tiles">
        <CapacityTile report={r} testId="verify-health-capacity" />
        <Tile label="Cycles in the log" value={r.equivalentFullCycles === null ? '–' : nf(r.equivalentFullCycles, 2)} />
        <Tile label="Cycles over the pack's life" value={life ? nf(life.equivalentFullCycles, 2) : '–'} sub={life ? 'board counter' : 'not counted'} />
        <Tile label="Discharged in the log" value={`${nf(r.energyThroughput.dischargeWh / 1000, 2)} kWh`} />
      </div>
      <h3>Lifetime counters</h3>
      {!life ? (
        <p className="muted" data-testid="verify-lifetime">
          Absent: this board keeps no lifetime counters (not zero — not counted).
        </p>
      ) : (
        <>
          <p className={life.verified ? 'ok-text' : 'bad-text'} data-testid="verify-lifetime">
            {life.verified
              ? `Signed by the board with the checkpoint and consistent with the ${life.checkedRecords.toLocaleString()} records of the log; counted since ${new Date(life.since).toLocaleString()} (${nf(life.countedH, 1)} h).`
              : `NOT VERIFIED — they count for nothing: ${life.problems.join('; ')}`}
          </p>
          <div className="tiles">
            <Tile
              label="Discharged"
              value={`${nf(life.energyThroughput.dischargeWh / 1000, 2)} kWh`}
              sub={`${nf(life.capacityThroughput.dischargeAh, 1)} Ah`}
            />
            <Tile label="Charged" value={`${nf(life.energyThroughput.chargeWh / 1000, 2)} kWh`} sub={`${nf(life.capacityThroughput.chargeAh, 1)} Ah`} />
            <Tile label="Deep discharges" value={String(life.deepDischargeEvents)} sub={`${life.overcurrentEvents} over-current events`} />
            <Tile label={`Stored at ≤ ${life.thresholds.lowSocPercent} % SOC`} value={`${nf(life.storageAtLowSocH, 2)} h`} />
          </div>
          <div className="health-histograms">
            {[life.histograms.temperature, life.histograms.temperatureWhileCharging, life.histograms.soc].map((h) => (
              <Bars key={h.quantity} h={{ ...h, quantity: `${h.quantity} (lifetime)` }} />
            ))}
          </div>
        </>
      )}
      <p className="muted">{REGULATION_NOTE}</p>
    </div>
  );
}
