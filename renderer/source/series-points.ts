import type { SeriesReply } from '../../shared/api/series-schemas.js';
import { ChannelBuckets, columnsById, decimateInto, newCounts, type BucketGrid } from '../../shared/series/buckets.js';
import type { SummaryTree } from '../../shared/series/summary-tree.js';
import { PointList, type Decimated } from './decimate.js';

/**
 * Range reads as chart points. Both recorded sources answer a range the same way — the host's
 * log.series over a .pslog, and the in-memory query below over a log a screen holds — and the
 * chart turns either into points here: raw records as they are, columns as their min and max at
 * the column's middle (empty columns left out), gaps as NaN points that break the line.
 */
export type RangeReply = Pick<SeriesReply, 't0' | 't1' | 'buckets' | 'mode' | 't' | 'counts' | 'channels' | 'gaps'>;

/** Adds one channel's points of a reply to `out` (a list may gather several replies in time order). */
export function pushPoints(r: RangeReply, id: string, out: PointList): void {
  const ch = r.channels[id];
  const num = (x: number | null | undefined) => (x === null || x === undefined ? NaN : x);
  if (r.mode === 'raw') {
    const v = ch && 'v' in ch ? ch.v : [];
    for (let i = 0; i < r.t.length; i++) out.push(r.t[i]!, num(v[i]), num(v[i]));
    return;
  }
  const w = (r.t1 - r.t0) / r.buckets;
  const mm = ch && 'min' in ch ? ch : null;
  for (let b = 0; b < r.buckets; b++) if (r.counts[b]) out.push(r.t0 + (b + 0.5) * w, num(mm?.min[b]), num(mm?.max[b]), r.t0 + b * w);
}

export function pointsOf(r: RangeReply, id: string): Decimated {
  const out = new PointList(r.gaps);
  pushPoints(r, id, out);
  return out.done(r.mode === 'raw');
}

/** A log held in memory: time, channel columns and their summary tree (leaves of `leafSize` records). */
export interface MemoryLog {
  t: Float64Array;
  cols: Record<string, Float64Array>;
  tree: SummaryTree;
  leafSize: number;
  gaps: Array<[number, number]>;
}

/** The in-memory twin of log.series: the same reply from the same definition. */
export function querySeries(log: MemoryLog, ids: readonly string[], t0: number, t1: number, buckets: number): RangeReply {
  const gaps = log.gaps.filter(([a, b]) => b >= t0 && a < t1);
  const leaves = log.tree.leavesIn(t0, t1, 2 * buckets);
  const known = ids.filter((id) => log.cols[id]);
  if (leaves) {
    const t: number[] = [];
    const v = known.map(() => [] as Array<number | null>);
    for (const leaf of leaves) {
      for (let i = leaf * log.leafSize, end = Math.min(log.t.length, i + log.leafSize); i < end; i++) {
        if (!(log.t[i]! >= t0 && log.t[i]! < t1)) continue;
        t.push(log.t[i]!);
        known.forEach((id, c) => v[c]!.push(log.cols[id]![i]! === log.cols[id]![i]! ? log.cols[id]![i]! : null));
      }
    }
    if (t.length <= 2 * buckets)
      return { t0, t1, buckets, mode: 'raw', t, counts: [], gaps, channels: Object.fromEntries(known.map((id, c) => [id, { v: v[c]! }])) };
  }
  const g: BucketGrid = { t0, t1, buckets };
  const out = known.map(() => new ChannelBuckets(buckets));
  const counts = newCounts(g);
  const cols = known.map((id) => log.cols[id]!);
  for (const leaf of log.tree.query(g, known, out, counts)) {
    const from = leaf * log.leafSize;
    decimateInto(g, log.t, cols, out, counts, from, Math.min(log.t.length, from + log.leafSize));
  }
  return {
    t0,
    t1,
    buckets,
    mode: 'buckets',
    t: [],
    counts: Array.from(counts),
    gaps,
    channels: columnsById(known, out),
  };
}
