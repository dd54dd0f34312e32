import { ChannelBuckets, decimateInto, newCounts, type BucketGrid } from '../../shared/series/buckets.js';

/**
 * What a chart draws of one channel: points (column middles, or sample times at full resolution)
 * with the min and max each covers. Columns follow shared/series/buckets.ts, the definition the
 * host's range reads use too, so a chart shows every spike a full-resolution plot would. Empty
 * columns are left out (the line joins its neighbours); a gap in the data is a NaN point, which
 * breaks the line.
 */
export interface Decimated {
  t: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** True when these are the raw samples. */
  full: boolean;
  /** True while the points are an earlier answer, shown until the range asked for arrives. */
  stale?: boolean;
}

export const EMPTY: Decimated = { t: new Float64Array(0), min: new Float64Array(0), max: new Float64Array(0), full: true };

/** Index of the first sample with t >= x (t sorted ascending). */
export function lowerBound(t: ArrayLike<number>, x: number, lo = 0, hi = t.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Collects points, putting a NaN point in wherever a gap lies between two of them. */
export class PointList {
  t: number[] = [];
  min: number[] = [];
  max: number[] = [];
  private g = 0;
  /** `gaps`: [last time before, first time after] pairs, ascending. */
  constructor(private gaps: ReadonlyArray<readonly [number, number]> = []) {}
  push(t: number, min: number, max: number, from = t): void {
    // A gap that ends at or before this point's first sample, and began after the last point.
    while (this.g < this.gaps.length && this.gaps[this.g]![1] <= from) {
      const [a, b] = this.gaps[this.g++]!;
      if (this.t.length) {
        this.t.push((a + b) / 2);
        this.min.push(NaN);
        this.max.push(NaN);
      }
    }
    this.t.push(t);
    this.min.push(min);
    this.max.push(max);
  }
  done(full: boolean): Decimated {
    return { t: Float64Array.from(this.t), min: Float64Array.from(this.min), max: Float64Array.from(this.max), full };
  }
}

/**
 * Columns of one in-memory channel over [t0, t1): the raw samples when the range holds at most
 * 2 · buckets of them (plus one on each side, so the line runs to the edges), else per column
 * the min and max of the samples it covers.
 */
export function decimate(
  t: ArrayLike<number>,
  v: ArrayLike<number>,
  from: number,
  to: number,
  t0: number,
  t1: number,
  buckets: number,
  gaps: ReadonlyArray<readonly [number, number]> = [],
): Decimated {
  const i0 = lowerBound(t, t0, from, to);
  const i1 = lowerBound(t, t1, from, to);
  const out = new PointList(gaps);
  if (i1 - i0 <= buckets * 2) {
    for (let i = Math.max(from, i0 - 1); i < Math.min(to, i1 + 1); i++) out.push(t[i]!, v[i]!, v[i]!);
    return out.done(true);
  }
  const g: BucketGrid = { t0, t1, buckets };
  const ch = new ChannelBuckets(buckets);
  const counts = newCounts(g);
  decimateInto(g, t, [v], [ch], counts, i0, i1);
  const w = (t1 - t0) / buckets;
  for (let b = 0; b < buckets; b++) if (counts[b]) out.push(t0 + (b + 0.5) * w, ch.min[b]!, ch.max[b]!, t0 + b * w);
  return out.done(false);
}
