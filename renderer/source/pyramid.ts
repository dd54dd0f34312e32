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
  // Level 1 straight from the samples; the loops are monomorphic (typed arrays of one kind each)
  // so the engine compiles them tight: tens of milliseconds per 10 million samples.
  if (t.length <= minBlocks) return { t, v, levels };
  let level = reduce(t, v, v, FAN);
  levels.push(level);
  while (level.t.length > minBlocks) {
    level = reduce(level.t, level.min, level.max, level.blockSize * FAN);
    levels.push(level);
  }
  return { t, v, levels };
}

function reduce(srcT: Float64Array, srcMin: Float32Array, srcMax: Float32Array, blockSize: number): PyramidLevel {
  const len = srcT.length;
  const n = Math.ceil(len / FAN);
  const lt = new Float64Array(n);
  const lmin = new Float32Array(n);
  const lmax = new Float32Array(n);
  let i = 0;
  for (let b = 0; b < n; b++) {
    lt[b] = srcT[i]!;
    let mn = srcMin[i]!;
    let mx = srcMax[i]!;
    const end = i + FAN < len ? i + FAN : len;
    for (i++; i < end; i++) {
      const a = srcMin[i]!;
      const c = srcMax[i]!;
      if (a < mn) mn = a;
      if (c > mx) mx = c;
    }
    lmin[b] = mn;
    lmax[b] = mx;
  }
  return { blockSize, t: lt, min: lmin, max: lmax };
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
