import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { COLUMNS, WholeLogCharts } from '../../../shared/evidence/report.js';
import { baseRecord } from '../warranty/stream.js';

/**
 * The report's whole-log charts fill in the decoding pass, before the log's length is known: the
 * columns double in width as the log grows. Whatever the length and however the records arrive in
 * batches, each column must hold exactly the lowest and highest record of its span (the first on a
 * tie), so no spike is lost, and a short log is drawn point by point.
 */

/** The columns a log of n records ends with: the narrowest power-of-two width giving at most 2 × COLUMNS. */
function reference(values: number[], t: (i: number) => number): [number, number][] {
  let width = 1;
  while (Math.ceil(values.length / width) > COLUMNS * 2) width *= 2;
  const out: [number, number][] = [];
  for (let a = 0; a < values.length; a += width) {
    let lo = a;
    let hi = a;
    for (let i = a; i < Math.min(values.length, a + width); i++) {
      if (values[i]! < values[lo]!) lo = i;
      if (values[i]! > values[hi]!) hi = i;
    }
    for (const i of lo === hi ? [lo] : lo < hi ? [lo, hi] : [hi, lo]) out.push([t(i), values[i]!]);
  }
  return out;
}

describe('WholeLogCharts', () => {
  it('keeps each column’s extremes for any length and any batching, and every point of a short log', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: COLUMNS * 9 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: COLUMNS * 9 }),
        (n, seed, batches, spikeAt) => {
          // A noisy current with one large spike: a cheap generator keeps long logs fast.
          let x = seed;
          const values = Array.from({ length: n }, (_, i) => {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            return i === spikeAt ? 900 : (x % 200) - 100;
          });
          const records = values.map((v, i) => ({ ...baseRecord(i), current: v }));
          const charts = new WholeLogCharts();
          for (let i = 0, b = 0; i < n; b++) {
            const k = batches[b % batches.length]!;
            charts.push(records.slice(i, i + k));
            i += k;
          }
          expect(charts.records).toBe(n);
          const [current] = charts.points()[0]!;
          expect(current).toEqual(reference(values, (i) => records[i]!.t));
          expect(current!.length).toBeLessThanOrEqual(COLUMNS * 4);
          if (n <= COLUMNS * 2) expect(current).toEqual(records.map((r) => [r.t, r.current]));
          if (spikeAt < n) expect(current).toContainEqual([records[spikeAt]!.t, 900]);
          expect(charts.svgs().length).toBe(n > 1 ? 2 : 0);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('draws the lowest and the highest cell of every record', () => {
    const records = Array.from({ length: COLUMNS * 5 + 3 }, (_, i) => ({
      ...baseRecord(i),
      cellVoltages: [3.3, i === 1234 ? 2.1 : 3.3, 3.3, i === 2345 ? 3.9 : 3.3],
    }));
    const charts = new WholeLogCharts();
    charts.push(records);
    const [low, high] = charts.points()[1]!;
    expect(low).toContainEqual([records[1234]!.t, 2.1]);
    expect(high).toContainEqual([records[2345]!.t, 3.9]);
  });
});
