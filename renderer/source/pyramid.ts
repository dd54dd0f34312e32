import { decimate, lowerBound, type Decimated } from './decimate.js';

/**
 * A min/max pyramid over one channel of a long recording: level k holds the min and max of
 * blocks of FAN^k samples (with the time of each block's first sample). A query picks the
 * coarsest level that still gives at least two blocks per pixel column, so drawing the whole of a
 * 10-million-sample log touches thousands of numbers, not millions; zooming in walks down the
 * levels until the raw samples themselves are drawn.
 */
export const FAN = 8;

export interface PyramidLevel {
  blockSize: number;
  t: Float64Array;
  min: Float32Array;
  max: Float32Array;
}

export interface Pyramid {
  t: Float64Array;
  v: Float32Array;
  levels: PyramidLevel[];
}

export function buildPyramid(t: Float64Array, v: Float32Array, minBlocks = 1024): Pyramid {
  const levels: PyramidLevel[] = [];
  let srcT: ArrayLike<number> = t;
  let srcMin: ArrayLike<number> = v;
  let srcMax: ArrayLike<number> = v;
  let blockSize = 1;
  while (srcT.length > minBlocks) {
    const n = Math.ceil(srcT.length / FAN);
    const lt = new Float64Array(n);
    const lmin = new Float32Array(n);
    const lmax = new Float32Array(n);
    for (let b = 0, i = 0; b < n; b++) {
      lt[b] = srcT[i]!;
      let mn = Infinity;
      let mx = -Infinity;
      const end = Math.min(srcT.length, i + FAN);
      for (; i < end; i++) {
        const a = srcMin[i]!;
        const c = srcMax[i]!;
        if (a < mn) mn = a;
        if (c > mx) mx = c;
      }
      lmin[b] = mn;
      lmax[b] = mx;
    }
    blockSize *= FAN;
    levels.push({ blockSize, t: lt, min: lmin, max: lmax });
    srcT = lt;
    srcMin = lmin;
    srcMax = lmax;
  }
  return { t, v, levels };
}

/** Min/max of [t0, t1] in `buckets` columns, from the coarsest sufficient level. */
export function queryPyramid(p: Pyramid, t0: number, t1: number, buckets: number): Decimated {
  const i0 = lowerBound(p.t, t0);
  const i1 = lowerBound(p.t, t1);
  const samples = i1 - i0;
  if (samples <= buckets * 2) return decimate(p.t, p.v, 0, p.t.length, t0, t1, buckets);
  let chosen: PyramidLevel | null = null;
  for (const level of p.levels) {
    if (samples / level.blockSize >= buckets * 2) chosen = level;
    else break;
  }
  if (!chosen) return decimate(p.t, p.v, 0, p.t.length, t0, t1, buckets);
  const lo = decimate(chosen.t, chosen.min, 0, chosen.t.length, t0, t1, buckets);
  const hi = decimate(chosen.t, chosen.max, 0, chosen.t.length, t0, t1, buckets);
  return { t: lo.t, min: lo.min, max: hi.max, full: false };
}
