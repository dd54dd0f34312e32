import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimate } from '../../../renderer/source/decimate.js';
import { assemblePyramid, buildChannelLevels, buildPyramid, buildTimeAxis, FAN, levelLengths, queryPyramid } from '../../../renderer/source/pyramid.js';

/** Sorted times with random steps and random values (spikes included), as Float64/Float32 columns. */
const series = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.float({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true })), {
    minLength: 1,
    maxLength: 30_000,
  })
  .map((pairs) => {
    const t = new Float64Array(pairs.length);
    const v = new Float32Array(pairs.length);
    let now = 1.7e12;
    pairs.forEach(([dt, x], i) => {
      now += dt;
      t[i] = now;
      v[i] = x;
    });
    return { t, v };
  });

describe('min/max pyramids (long-log charts)', () => {
  it('property: no spike is lost and no value is invented, at any range and zoom', () => {
    fc.assert(
      fc.property(
        series,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 8, max: 2000 }),
        ({ t, v }, a, b, buckets) => {
          const p = buildPyramid(t, v, 64);
          const span = t[t.length - 1]! - t[0]!;
          const t0 = t[0]! + Math.min(a, b) * span;
          const t1 = t[0]! + Math.max(a, b) * span + 1;
          const d = queryPyramid(p, t0, t1, buckets);
          const values = new Set(Array.from(v));
          let trueMax = -Infinity;
          let trueMin = Infinity;
          for (let i = 0; i < t.length; i++) {
            if (t[i]! >= t0 && t[i]! < t1) {
              trueMax = Math.max(trueMax, v[i]!);
              trueMin = Math.min(trueMin, v[i]!);
            }
          }
          let gotMax = -Infinity;
          let gotMin = Infinity;
          for (let i = 0; i < d.t.length; i++) {
            for (const x of [d.min[i]!, d.max[i]!]) {
              if (Number.isNaN(x)) continue;
              expect(values.has(Math.fround(x))).toBe(true);
              gotMax = Math.max(gotMax, x);
              gotMin = Math.min(gotMin, x);
            }
          }
          if (trueMax > -Infinity) {
            expect(gotMax).toBeGreaterThanOrEqual(trueMax);
            expect(gotMin).toBeLessThanOrEqual(trueMin);
          }
          // Bounded output: a chart never receives more than a few points per pixel column.
          expect(d.t.length).toBeLessThanOrEqual(Math.max(buckets * 2 + 2, 4));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('zoomed in far enough, the raw samples themselves are returned', () => {
    const t = Float64Array.from({ length: 100_000 }, (_, i) => i * 1000);
    const v = Float32Array.from({ length: 100_000 }, (_, i) => Math.sin(i));
    const p = buildPyramid(t, v);
    expect(p.levels.length).toBeGreaterThan(2);
    const d = queryPyramid(p, 50_000_000, 50_200_000, 800);
    expect(d.full).toBe(true);
    expect(Array.from(d.t)).toContain(50_100_000);
    expect(d.min[Array.from(d.t).indexOf(50_100_000)]).toBe(Math.fround(Math.sin(50_100)));
  });

  it('property: level k holds min and max of each block of FAN^k samples at its first time; channels share one time axis', () => {
    fc.assert(
      fc.property(series, fc.integer({ min: 1, max: 200 }), ({ t, v }, minBlocks) => {
        const w = Float32Array.from(v, (x) => -x); // a second channel on the same samples
        const axis = buildTimeAxis(t, minBlocks);
        const lengths = levelLengths(axis);
        const [p, q] = [v, w].map((c) => assemblePyramid(axis, buildChannelLevels(c, lengths)));
        expect(p!.levels.map((l) => l.t)).toEqual(q!.levels.map((l) => l.t));
        p!.levels.forEach((l, k) => expect(l.t).toBe(q!.levels[k]!.t)); // shared, not copied
        expect(p).toEqual(buildPyramid(t, v, minBlocks));
        // Up from the samples until a level has at most minBlocks blocks.
        if (t.length <= minBlocks) expect(p!.levels).toHaveLength(0);
        else expect(p!.levels.at(-1)!.t.length).toBeLessThanOrEqual(minBlocks);
        p!.levels.forEach((l, k) => {
          const size = FAN ** (k + 1);
          expect(l.blockSize).toBe(size);
          expect(l.t.length).toBe(Math.ceil(t.length / size));
          for (let b = 0; b < l.t.length; b += Math.max(1, Math.floor(l.t.length / 50))) {
            const block = v.subarray(b * size, (b + 1) * size);
            expect(l.t[b]).toBe(t[b * size]);
            expect(l.min[b]).toBe(Math.min(...block));
            expect(l.max[b]).toBe(Math.max(...block));
          }
        });
      }),
      { numRuns: 100 },
    );
  });

  it('decimate keeps the extremes of every bucket', () => {
    const t = Float64Array.from({ length: 10_000 }, (_, i) => i);
    const v = Float64Array.from({ length: 10_000 }, (_, i) => (i === 4321 ? 99 : i === 777 ? -99 : 0));
    const d = decimate(t, v, 0, t.length, 0, 10_000, 100);
    expect(d.full).toBe(false);
    expect(Math.max(...d.max)).toBe(99);
    expect(Math.min(...d.min)).toBe(-99);
  });
});
