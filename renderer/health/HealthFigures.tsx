/** The Health screen's figures, shared with the Verify screen's health section: a labelled tile and hours-per-band bars. */
import type { HealthReport, Histogram } from '../../shared/health/report.js';
import './health.css';

export function Tile({ label, value, sub }: { label: string; value: string; sub?: string }) {
  return (
    <div className="tile">
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
      {sub && <div className="tile-sub">{sub}</div>}
    </div>
  );
}

/** Hours per band as horizontal bars, empty bands left out. */
export function Bars({ h }: { h: Histogram }) {
  const max = Math.max(0, ...h.bands.map((b) => b.hours));
  const bands = h.bands.filter((b) => b.hours > 0);
  return (
    <figure className="card hist" aria-label={`Hours by ${h.quantity}`}>
      <figcaption>Hours by {h.quantity}</figcaption>
      {bands.length === 0 && <p className="muted">No time counted.</p>}
      {bands.map((b) => (
        <div className="hist-row" key={b.label}>
          <span className="hist-label">{b.label}</span>
          <span className="hist-track">
            <span className="hist-fill" style={{ width: `${max ? (100 * b.hours) / max : 0}%` }} />
          </span>
          <span className="hist-value">{b.hours.toLocaleString(undefined, { maximumFractionDigits: 2 })} h</span>
        </div>
      ))}
    </figure>
  );
}

const nf = (x: number, d: number) => x.toLocaleString(undefined, { minimumFractionDigits: d, maximumFractionDigits: d });

/** Remaining capacity with its 95 % range, or why it cannot be measured. */
export function CapacityTile({ report: r, testId }: { report: HealthReport; testId: string }) {
  const cap = r.remainingCapacity;
  return (
    <div className="tile wide" data-testid={testId}>
      <div className="tile-label">Remaining capacity</div>
      {cap ? (
        <>
          <div className="tile-value">
            {nf(cap.ah, 1)} <span className="unit">Ah ± {nf(cap.uncertaintyAh, 1)}</span>
          </div>
          <div className="tile-sub">
            {r.ratedCapacityAh ? `${nf((100 * cap.ah) / r.ratedCapacityAh, 1)} % of the rated ${r.ratedCapacityAh} Ah · ` : ''}
            95 % range · {cap.windows} measurement{cap.windows === 1 ? '' : 's'}
          </div>
        </>
      ) : (
        <div className="tile-sub">Not measurable: {r.capacityNotAssessable}</div>
      )}
    </div>
  );
}
