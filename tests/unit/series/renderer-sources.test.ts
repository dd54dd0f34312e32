import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimate } from '../../../renderer/source/decimate.js';
import { pointsOf, querySeries } from '../../../renderer/source/series-points.js';
import { decimateColumns } from '../../../shared/series/buckets.js';
import { treeFromColumns } from '../../../shared/series/summary-tree.js';

/** Sorted times with random steps, values with rare spikes. */
const log = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.boolean()), { minLength: 1, maxLength: 3000 })
  .map((rows) => {
    const t = new Float64Array(rows.length);
    const v = new Float64Array(rows.length);
    let now = 1.7e12;
    rows.forEach(([dt, x, spike], i) => {
      now += dt;
      t[i] = now;
      v[i] = spike && i % 97 === 0 ? x * 1e3 : x;
    });
    return { t, v };
  });

const range = fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 800 }));

describe('the renderer draws what the one definition says', () => {
  it('a log held in memory: columns, or raw records, exactly as decimating every record gives them', () => {
    fc.assert(
      fc.property(log, range, ({ t, v }, [a, b, buckets]) => {
        const span = t[t.length - 1]! - t[0]! + 1;
        const t0 = t[0]! + Math.min(a, b) * span;
        const t1 = t0 + Math.max(1, Math.abs(a - b) * span);
        const r = querySeries({ t, cols: { v }, tree: treeFromColumns(t, { v }, 16), leafSize: 16, gaps: [] }, ['v'], t0, t1, buckets);
        const inside = Array.from(t.keys()).filter((i) => t[i]! >= t0 && t[i]! < t1);
        if (r.mode === 'raw') {
          expect(r.t).toEqual(inside.map((i) => t[i]));
          expect((r.channels.v as { v: number[] }).v).toEqual(inside.map((i) => v[i]));
        } else {
          const ref = decimateColumns({ t0, t1, buckets }, t, [v]).channels[0]!;
          const ch = r.channels.v as { min: Array<number | null>; max: Array<number | null> };
          expect(ch.min.map((x) => x ?? NaN)).toEqual(Array.from(ref.min));
          expect(ch.max.map((x) => x ?? NaN)).toEqual(Array.from(ref.max));
        }
        // Whatever the mode, the points drawn hold the range's extremes.
        const d = pointsOf(r, 'v');
        if (inside.length) {
          expect(Math.max(...d.max)).toBe(Math.max(...inside.map((i) => v[i]!)));
          expect(Math.min(...d.min)).toBe(Math.min(...inside.map((i) => v[i]!)));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('the live chart: every spike inside the window is drawn, and a gap breaks the line', () => {
    fc.assert(
      fc.property(log, range, ({ t, v }, [a, b, buckets]) => {
        const span = t[t.length - 1]! - t[0]! + 1;
        const t0 = t[0]! + Math.min(a, b) * span;
        const t1 = t0 + Math.max(1, Math.abs(a - b) * span);
        const d = decimate(t, v, 0, t.length, t0, t1, buckets);
        const inside = Array.from(t.keys()).filter((i) => t[i]! >= t0 && t[i]! < t1);
        if (!inside.length) return;
        expect(Math.max(...d.max)).toBeGreaterThanOrEqual(Math.max(...inside.map((i) => v[i]!)));
        expect(Math.min(...d.min)).toBeLessThanOrEqual(Math.min(...inside.map((i) => v[i]!)));
      }),
      { numRuns: 200 },
    );
    const t = [0, 1000, 2000, 60_000, 61_000];
    const d = decimate(t, [1, 2, 3, 4, 5], 0, 5, 0, 62_000, 100, [[2000, 60_000]]);
    expect(Array.from(d.max)).toEqual([1, 2, 3, NaN, 4, 5]);
  });
});
