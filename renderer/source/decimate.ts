/**
 * Min/max decimation: for each of `buckets` equal time columns in [t0, t1], the minimum and
 * maximum of the samples falling in it, so a plot of 2·buckets points shows every spike a
 * full-resolution plot would. When the range holds fewer samples than buckets, the samples are
 * returned as they are (full resolution on zoom).
 */
export interface Decimated {
  /** Column times (bucket centres, or sample times at full resolution). */
  t: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** True when these are the raw samples. */
  full: boolean;
}

/** Index of the first sample with t >= x (t sorted ascending). */
export function lowerBound(t: ArrayLike<number>, x: number, lo = 0, hi = t.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function decimate(t: ArrayLike<number>, v: ArrayLike<number>, from: number, to: number, t0: number, t1: number, buckets: number): Decimated {
  const i0 = Math.max(from, lowerBound(t, t0, from, to) - 1);
  const i1 = Math.min(to, lowerBound(t, t1, from, to) + 1);
  const n = Math.max(0, i1 - i0);
  if (n <= buckets * 2) {
    const tt = new Float64Array(n);
    const vv = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      tt[i] = t[i0 + i]!;
      vv[i] = v[i0 + i]!;
    }
    return { t: tt, min: vv, max: vv, full: true };
  }
  const tt = new Float64Array(buckets);
  const mn = new Float64Array(buckets).fill(NaN);
  const mx = new Float64Array(buckets).fill(NaN);
  const span = (t1 - t0) / buckets;
  for (let b = 0; b < buckets; b++) tt[b] = t0 + (b + 0.5) * span;
  for (let i = i0; i < i1; i++) {
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((t[i]! - t0) / span)));
    const x = v[i]!;
    if (!(mn[b]! <= x)) mn[b] = x;
    if (!(mx[b]! >= x)) mx[b] = x;
  }
  return { t: tt, min: mn, max: mx, full: false };
}
