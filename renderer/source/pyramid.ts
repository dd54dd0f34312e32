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

/**
 * The time side of a pyramid: the raw time axis and each level's block start times. Every channel
 * of a log shares one time axis, so these are built once and shared, and a channel's own part is
 * only its values and their per-level min/max.
 */
export interface TimeAxis {
  t: Float64Array;
  levels: Array<{ blockSize: number; t: Float64Array }>;
}

/** One channel's values and their per-level min/max, for a TimeAxis built on the same samples. */
export interface ChannelLevels {
  v: Float32Array;
  min: Float32Array[];
  max: Float32Array[];
}

export function buildTimeAxis(t: Float64Array, minBlocks = 1024): TimeAxis {
  const levels: TimeAxis['levels'] = [];
  let src = t;
  let blockSize = FAN;
  // Up from the samples until a level has at most minBlocks blocks (none for a short log).
  while (src.length > minBlocks) {
    const n = Math.ceil(src.length / FAN);
    const lt = new Float64Array(n);
    for (let b = 0, i = 0; b < n; b++, i += FAN) lt[b] = src[i]!;
    levels.push({ blockSize, t: lt });
    src = lt;
    blockSize *= FAN;
  }
  return { t, levels };
}

/** The lengths of an axis's levels: all a channel needs of its time axis to build its own levels. */
export function levelLengths(axis: TimeAxis): number[] {
  return axis.levels.map((l) => l.t.length);
}

/** A channel's per-level min/max over the levels of its time axis (given by their lengths). */
export function buildChannelLevels(v: Float32Array, lengths: number[]): ChannelLevels {
  const min: Float32Array[] = [];
  const max: Float32Array[] = [];
  // Level 1 straight from the samples; the loops are monomorphic (typed arrays of one kind each)
  // so the engine compiles them tight: tens of milliseconds per 10 million samples.
  let srcMin = v;
  let srcMax = v;
  let len = v.length;
  for (const n of lengths) {
    const lmin = new Float32Array(n);
    const lmax = new Float32Array(n);
    reduceInto(srcMin, srcMax, len, lmin, lmax);
    min.push(lmin);
    max.push(lmax);
    srcMin = lmin;
    srcMax = lmax;
    len = n;
  }
  return { v, min, max };
}

export function assemblePyramid(axis: TimeAxis, ch: ChannelLevels): Pyramid {
  return { t: axis.t, v: ch.v, levels: axis.levels.map((l, i) => ({ blockSize: l.blockSize, t: l.t, min: ch.min[i]!, max: ch.max[i]! })) };
}

export function buildPyramid(t: Float64Array, v: Float32Array, minBlocks = 1024): Pyramid {
  const axis = buildTimeAxis(t, minBlocks);
  return assemblePyramid(axis, buildChannelLevels(v, levelLengths(axis)));
}

function reduceInto(srcMin: Float32Array, srcMax: Float32Array, len: number, lmin: Float32Array, lmax: Float32Array): void {
  const n = lmin.length;
  let i = 0;
  for (let b = 0; b < n; b++) {
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
