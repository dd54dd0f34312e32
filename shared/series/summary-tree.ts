import { bucketOf, type BucketGrid, type ChannelBuckets } from './buckets.js';

/**
 * A tree of block summaries over a log in record order, so a range read touches thousands of
 * numbers instead of millions of records, and still answers exactly (shared/series/buckets.ts):
 *
 *  - a leaf is a run of consecutive records (a few .pslog segments on the host, a fixed count of
 *    samples in the renderer) with its time span, record indices and, per channel, min, max,
 *    first and last; a level above groups TREE_FAN blocks of the level below;
 *  - a query merges every block whose whole time span falls into one column and walks down into
 *    the others. A leaf that straddles a column edge is returned to the caller, who decimates its
 *    raw records (from a file or from memory) with the same definition.
 *
 * Time need not be monotonic: blocks carry their min and max time, so a log whose clock stepped
 * back is answered correctly, only with more leaves read raw.
 */
export const TREE_FAN = 16;

/** The time side of one level: per block its time span, first/last record index and count. */
export interface TreeLevel {
  tMin: Float64Array;
  tMax: Float64Array;
  iFirst: Float64Array;
  iLast: Float64Array;
  n: Float64Array;
}

/** One channel's side of one level: per block min, max, first and last value (NaN: none). */
export interface ChannelLevel {
  min: Float64Array;
  max: Float64Array;
  first: Float64Array;
  last: Float64Array;
}

export function newTreeLevel(n: number): TreeLevel {
  return { tMin: new Float64Array(n), tMax: new Float64Array(n), iFirst: new Float64Array(n), iLast: new Float64Array(n), n: new Float64Array(n) };
}

export function newChannelLevel(n: number): ChannelLevel {
  return {
    min: new Float64Array(n).fill(NaN),
    max: new Float64Array(n).fill(NaN),
    first: new Float64Array(n).fill(NaN),
    last: new Float64Array(n).fill(NaN),
  };
}

function reduceTime(src: TreeLevel): TreeLevel {
  const n = Math.ceil(src.n.length / TREE_FAN);
  const out = newTreeLevel(n);
  for (let b = 0; b < n; b++) {
    const i0 = b * TREE_FAN;
    const i1 = Math.min(src.n.length, i0 + TREE_FAN);
    let tMin = Infinity;
    let tMax = -Infinity;
    let count = 0;
    for (let i = i0; i < i1; i++) {
      if (src.n[i]! === 0) continue;
      if (src.tMin[i]! < tMin) tMin = src.tMin[i]!;
      if (src.tMax[i]! > tMax) tMax = src.tMax[i]!;
      count += src.n[i]!;
    }
    out.tMin[b] = tMin;
    out.tMax[b] = tMax;
    out.iFirst[b] = src.iFirst[i0]!;
    out.iLast[b] = src.iLast[i1 - 1]!;
    out.n[b] = count;
  }
  return out;
}

function reduceChannel(src: ChannelLevel): ChannelLevel {
  const len = src.min.length;
  const n = Math.ceil(len / TREE_FAN);
  const out = newChannelLevel(n);
  for (let b = 0; b < n; b++) {
    const i0 = b * TREE_FAN;
    const i1 = Math.min(len, i0 + TREE_FAN);
    let mn = NaN;
    let mx = NaN;
    let first = NaN;
    let last = NaN;
    for (let i = i0; i < i1; i++) {
      const a = src.min[i]!;
      if (a !== a) continue;
      if (!(mn <= a)) mn = a;
      if (!(mx >= src.max[i]!)) mx = src.max[i]!;
      if (first !== first) first = src.first[i]!;
      last = src.last[i]!;
    }
    out.min[b] = mn;
    out.max[b] = mx;
    out.first[b] = first;
    out.last[b] = last;
  }
  return out;
}

export class SummaryTree {
  private constructor(
    /** levels[0] are the leaves. */
    readonly levels: TreeLevel[],
    readonly channels: Map<string, ChannelLevel[]>,
  ) {}

  /** Builds the levels above the given leaves (a leaf with n = 0 is empty and never matches). */
  static build(leaves: TreeLevel, leafChannels: Map<string, ChannelLevel>): SummaryTree {
    const levels = [leaves];
    const channels = new Map<string, ChannelLevel[]>([...leafChannels].map(([k, v]) => [k, [v]]));
    while (levels[levels.length - 1]!.n.length > TREE_FAN) {
      levels.push(reduceTime(levels[levels.length - 1]!));
      for (const ls of channels.values()) ls.push(reduceChannel(ls[ls.length - 1]!));
    }
    return new SummaryTree(levels, channels);
  }

  /** A tree whose levels were built elsewhere (a Worker posts its arrays back). */
  static fromParts(levels: TreeLevel[], channels: Map<string, ChannelLevel[]>): SummaryTree {
    return new SummaryTree(levels, channels);
  }

  get leafCount(): number {
    return this.levels[0]!.n.length;
  }

  /** Records in the whole tree. */
  get records(): number {
    const top = this.levels[this.levels.length - 1]!;
    let n = 0;
    for (let i = 0; i < top.n.length; i++) n += top.n[i]!;
    return n;
  }

  /** Earliest and latest record time, or null for an empty tree. */
  span(): [number, number] | null {
    const top = this.levels[this.levels.length - 1]!;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < top.n.length; i++) {
      if (top.n[i]! === 0) continue;
      lo = Math.min(lo, top.tMin[i]!);
      hi = Math.max(hi, top.tMax[i]!);
    }
    return lo <= hi ? [lo, hi] : null;
  }

  /**
   * Merges the blocks that fall wholly into one column of `g` into `out` (one per id in `ids`,
   * same order) and their record counts into `counts`; returns the leaves the caller must read
   * raw (they straddle a column edge or the range's ends), in record order.
   */
  query(g: BucketGrid, ids: readonly string[], out: readonly ChannelBuckets[], counts: Float64Array): number[] {
    const raw: number[] = [];
    const chans = ids.map((id) => this.channels.get(id) ?? null);
    const visit = (level: number, i: number): void => {
      const L = this.levels[level]!;
      if (L.n[i]! === 0 || L.tMax[i]! < g.t0 || L.tMin[i]! >= g.t1) return;
      const b = bucketOf(g, L.tMin[i]!);
      if (b >= 0 && b === bucketOf(g, L.tMax[i]!)) {
        counts[b]! += L.n[i]!;
        for (let c = 0; c < out.length; c++) {
          const ch = chans[c]?.[level];
          if (ch) out[c]!.addBlock(b, ch.min[i]!, ch.max[i]!, ch.first[i]!, L.iFirst[i]!, ch.last[i]!, L.iLast[i]!);
        }
        return;
      }
      if (level === 0) {
        raw.push(i);
        return;
      }
      const below = this.levels[level - 1]!.n.length;
      for (let k = i * TREE_FAN, end = Math.min(below, k + TREE_FAN); k < end; k++) visit(level - 1, k);
    };
    const top = this.levels.length - 1;
    for (let i = 0; i < this.levels[top]!.n.length; i++) visit(top, i);
    return raw;
  }

  /**
   * The leaves overlapping [t0, t1) in record order, or null as soon as the blocks wholly inside
   * the range already hold more than `limit` records (the caller then decimates instead).
   */
  leavesIn(t0: number, t1: number, limit: number): number[] | null {
    const leaves: number[] = [];
    let certain = 0;
    const visit = (level: number, i: number, counted: boolean): boolean => {
      const L = this.levels[level]!;
      if (L.n[i]! === 0 || L.tMax[i]! < t0 || L.tMin[i]! >= t1) return true;
      if (!counted && L.tMin[i]! >= t0 && L.tMax[i]! < t1) {
        counted = true;
        certain += L.n[i]!;
        if (certain > limit) return false;
      }
      if (level === 0) {
        leaves.push(i);
        return true;
      }
      const below = this.levels[level - 1]!.n.length;
      for (let k = i * TREE_FAN, end = Math.min(below, k + TREE_FAN); k < end; k++) if (!visit(level - 1, k, counted)) return false;
      return true;
    };
    const top = this.levels.length - 1;
    for (let i = 0; i < this.levels[top]!.n.length; i++) if (!visit(top, i, false)) return null;
    return leaves;
  }
}

/**
 * Builds a tree over in-memory columns (records in order), `leafSize` records per leaf: the
 * renderer's recorded sources use it; the host builds its leaves from .pslog segments instead.
 */
export function treeFromColumns(t: ArrayLike<number>, columns: Record<string, ArrayLike<number>>, leafSize = 64): SummaryTree {
  const n = t.length;
  const leaves = Math.ceil(n / leafSize);
  const L = newTreeLevel(leaves);
  for (let b = 0; b < leaves; b++) {
    const i0 = b * leafSize;
    const i1 = Math.min(n, i0 + leafSize);
    let tMin = Infinity;
    let tMax = -Infinity;
    for (let i = i0; i < i1; i++) {
      const x = t[i]!;
      if (x < tMin) tMin = x;
      if (x > tMax) tMax = x;
    }
    L.tMin[b] = tMin;
    L.tMax[b] = tMax;
    L.iFirst[b] = i0;
    L.iLast[b] = i1 - 1;
    L.n[b] = i1 - i0;
  }
  const chans = new Map<string, ChannelLevel>();
  for (const [id, v] of Object.entries(columns)) {
    const c = newChannelLevel(leaves);
    for (let b = 0; b < leaves; b++) {
      const i0 = b * leafSize;
      const i1 = Math.min(n, i0 + leafSize);
      let mn = NaN;
      let mx = NaN;
      let first = NaN;
      let last = NaN;
      for (let i = i0; i < i1; i++) {
        const x = v[i]!;
        if (x !== x) continue;
        if (!(mn <= x)) mn = x;
        if (!(mx >= x)) mx = x;
        if (first !== first) first = x;
        last = x;
      }
      c.min[b] = mn;
      c.max[b] = mx;
      c.first[b] = first;
      c.last[b] = last;
    }
    chans.set(id, c);
  }
  return SummaryTree.build(L, chans);
}
