import type { Chemistry } from '../../shared/types/domain.js';
import { fmt } from '../common/format.js';

/** Typical usable window per chemistry, so bar heights mean the same from pack to pack. */
const RANGE: Record<Chemistry | 'unknown', [number, number]> = {
  lfp: [2.5, 3.65],
  nmc: [3.0, 4.2],
  unknown: [2.5, 4.2],
};

/**
 * Per-cell voltage bars, lowest and highest cell highlighted, the spread written out in mV
 * (the number a bench engineer checks first when balancing is suspect).
 */
export function CellBars({ cells, chemistry, stale }: { cells: number[]; chemistry: Chemistry | 'unknown'; stale: boolean }) {
  if (cells.length === 0) return <p className="muted">This device reports no per-cell voltages.</p>;
  let lo = 0;
  let hi = 0;
  cells.forEach((v, i) => {
    if (v < cells[lo]!) lo = i;
    if (v > cells[hi]!) hi = i;
  });
  const [rmin0, rmax0] = RANGE[chemistry];
  const rmin = Math.min(rmin0, cells[lo]! - 0.05);
  const rmax = Math.max(rmax0, cells[hi]! + 0.05);
  const spread = (cells[hi]! - cells[lo]!) * 1000;
  return (
    <figure className={`cellbars${stale ? ' stale' : ''}`} aria-label="Cell voltages">
      <figcaption>
        <span>
          Cells: lowest <b>#{lo + 1}</b> {fmt(cells[lo], 3)} V · highest <b>#{hi + 1}</b> {fmt(cells[hi], 3)} V
        </span>
        <span className={spread > 50 ? 'bad' : spread > 20 ? 'warn' : 'good'} data-testid="cell-spread">
          spread {fmt(spread, 0)} mV
        </span>
      </figcaption>
      <div className="bars" role="list">
        {cells.map((v, i) => {
          const h = Math.max(2, Math.min(100, ((v - rmin) / (rmax - rmin)) * 100));
          const cls = i === lo ? 'min' : i === hi ? 'max' : '';
          return (
            <div key={i} className={`bar ${cls}`} role="listitem" aria-label={`cell ${i + 1}: ${fmt(v, 3)} volts`} title={`Cell ${i + 1}: ${fmt(v, 3)} V`}>
              <div className="value">{fmt(v * 1000, 0)}</div>
              <div className="fill" style={{ height: `${h}%` }} />
              <div className="idx">{i + 1}</div>
            </div>
          );
        })}
      </div>
      <div className="muted small">
        mV per cell; bar scale {fmt(rmin, 2)}–{fmt(rmax, 2)} V
      </div>
    </figure>
  );
}
