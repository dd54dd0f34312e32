import { EVENTS } from './events.js';

/**
 * Where a log has no data, as explicit gaps (time of the last record before, of the first after),
 * so charts break their lines there instead of drawing across the hole:
 *  - a desktop recording marks the first record after each gap with the `recording_gap` event;
 *  - any log (a board's too) has a gap where consecutive records lie much further apart than its
 *    usual interval (the board was off, segments are missing).
 */
export interface Gap {
  from: number;
  to: number | null;
  reason: string;
}

/** A silence counts as a gap beyond this many usual intervals, and never below MIN_GAP_MS. */
const GAP_FACTOR = 10;
const MIN_GAP_MS = 5000;
const MAX_GAPS = 10_000;

function typicalInterval(t: ArrayLike<number>): number {
  const n = t.length;
  if (n < 3) return Infinity;
  // A sample of intervals is enough for a median; long logs stay cheap.
  const step = Math.max(1, Math.floor(n / 2001));
  const d: number[] = [];
  for (let i = step; i < n; i += step) d.push(t[i]! - t[i - 1]!);
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)]!;
}

function seconds(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 1000).toFixed(1)} s`;
}

/** The gaps of records in time order (`t` in ms, `event` codes). */
export function findGaps(records: ReadonlyArray<{ t: number; event: number }>): Gap[] {
  const t = records.map((r) => r.t);
  const limit = Math.max(MIN_GAP_MS, GAP_FACTOR * typicalInterval(t));
  const gaps: Gap[] = [];
  for (let i = 1; i < records.length && gaps.length < MAX_GAPS; i++) {
    const dt = t[i]! - t[i - 1]!;
    if (records[i]!.event === EVENTS.recording_gap) gaps.push({ from: t[i - 1]!, to: t[i]!, reason: `no data for ${seconds(dt)} (noted by the recording)` });
    else if (dt > limit) gaps.push({ from: t[i - 1]!, to: t[i]!, reason: `no records for ${seconds(dt)}` });
  }
  return gaps;
}
