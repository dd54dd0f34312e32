import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf, ChannelBuckets, decimateColumns, decimateInto, newCounts } from '../../../shared/series/buckets.js';
import { treeFromColumns } from '../../../shared/series/summary-tree.js';

/** Raw records: times (sorted or not) and two channels, some values missing (NaN). */
const records = fc
  .record({
    n: fc.integer({ min: 0, max: 1500 }),
    seed: fc.integer(),
    sorted: fc.boolean(),
    holes: fc.double({ min: 0, max: 0.3, noNaN: true }),
  })
  .map(({ n, seed, sorted, holes }) => {
    let s = seed >>> 0 || 1;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const t = Array.from({ length: n }, (_, i) => (sorted ? i * 10 + Math.floor(rnd() * 10) : Math.floor(rnd() * n * 10)));
    const a = t.map(() => (rnd() < holes ? NaN : Math.round((rnd() - 0.5) * 2000) / 10));
    const b = t.map(() => (rnd() < 0.001 ? 999 : rnd() < holes ? NaN : rnd()));
    return { t, cols: [a, b] };
  });

const grid = fc.record({ a: fc.integer({ min: -50, max: 16000 }), w: fc.integer({ min: 1, max: 16000 }), buckets: fc.integer({ min: 1, max: 300 }) });

/** The reference, straight from the definition: the min/max/first/last of the records a column covers. */
function expected(t: number[], col: number[], g: { t0: number; t1: number; buckets: number }) {
  const out = Array.from({ length: g.buckets }, () => [] as number[]);
  t.forEach((x, i) => {
    if (x < g.t0 || x >= g.t1 || Number.isNaN(col[i])) return;
    out[bucketOf(g, x)]!.push(col[i]!);
  });
  return out.map((vs) => (vs.length ? { min: Math.min(...vs), max: Math.max(...vs), first: vs[0], last: vs[vs.length - 1] } : null));
}

describe('one decimation definition (shared/series)', () => {
  it('column of a time: inside [t0, t1) only, last column for times just below t1', () => {
    const g = { t0: 0, t1: 0.3, buckets: 3 };
    expect(bucketOf(g, -1e-9)).toBe(-1);
    expect(bucketOf(g, 0.3)).toBe(-1);
    expect(bucketOf(g, 0.29999999999999993)).toBe(2);
    expect(bucketOf(g, 0)).toBe(0);
    expect(bucketOf(g, NaN)).toBe(-1);
  });

  it('every column holds the min, max, first and last of exactly the raw records it covers', () => {
    fc.assert(
      fc.property(records, grid, ({ t, cols }, { a, w, buckets }) => {
        const g = { t0: a, t1: a + w, buckets };
        const got = decimateColumns(g, t, cols);
        cols.forEach((col, c) => {
          const want = expected(t, col, g);
          const ch = got.channels[c]!;
          want.forEach((x, b) => {
            if (!x) return expect(Number.isNaN(ch.min[b]!)).toBe(true);
            expect([ch.min[b], ch.max[b], ch.first[b], ch.last[b]]).toEqual([x.min, x.max, x.first, x.last]);
          });
        });
      }),
      { numRuns: 200 },
    );
  });

  it('the summary tree answers exactly what decimating every raw record answers (any leaf size, any range)', () => {
    fc.assert(
      fc.property(records, grid, fc.integer({ min: 1, max: 40 }), ({ t, cols }, { a, w, buckets }, leafSize) => {
        const g = { t0: a, t1: a + w, buckets };
        const ref = decimateColumns(g, t, cols);
        const tree = treeFromColumns(t, { a: cols[0]!, b: cols[1]! }, leafSize);
        const out = [new ChannelBuckets(buckets), new ChannelBuckets(buckets)];
        const counts = newCounts(g);
        for (const leaf of tree.query(g, ['a', 'b'], out, counts)) {
          const from = leaf * leafSize;
          decimateInto(g, t, cols, out, counts, from, Math.min(t.length, from + leafSize));
        }
        expect(Array.from(counts)).toEqual(Array.from(ref.counts));
        out.forEach((ch, c) => {
          const r = ref.channels[c]!;
          expect([Array.from(ch.min), Array.from(ch.max), Array.from(ch.first), Array.from(ch.last)]).toEqual([
            Array.from(r.min),
            Array.from(r.max),
            Array.from(r.first),
            Array.from(r.last),
          ]);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('leaves of a range: every record in it is in one of them, or the range is too large to list', () => {
    fc.assert(
      fc.property(records, grid, fc.integer({ min: 1, max: 500 }), ({ t, cols }, { a, w }, limit) => {
        const tree = treeFromColumns(t, { a: cols[0]! }, 16);
        const leaves = tree.leavesIn(a, a + w, limit);
        const inside = t.map((x, i) => [x, i] as const).filter(([x]) => x >= a && x < a + w);
        if (!leaves) expect(inside.length).toBeGreaterThan(limit);
        else for (const [, i] of inside) expect(leaves).toContain(Math.floor(i / 16));
      }),
      { numRuns: 200 },
    );
  });
});
