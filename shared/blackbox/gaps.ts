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

function seconds(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 1000).toFixed(1)} s`;
}

/** The gaps of records in time order (`t` in ms, `event` codes). */
export function findGaps(records: ReadonlyArray<{ t: number; event: number }>): Gap[] {
  const fold = new GapFold(records.length, Infinity);
  for (const r of records) fold.push(r.t, r.event);
  return fold.gaps();
}

/**
 * The same gaps as a fold over records streamed in order, in bounded memory, for logs too long to
 * hold: the usual interval is the median of an evenly spaced sample of intervals (every
 * `floor(count / 2001)`-th, with `count` the number of records expected), and silences longer than
 * MIN_GAP_MS are kept as candidates until the usual interval is known. Past `maxCandidates` of
 * them, those within the limit the sample so far gives are dropped. With the exact count and no
 * cap (findGaps), the answer is exactly findGaps's definition.
 */
export class GapFold {
  private readonly step: number;
  private readonly sample: number[] = [];
  private readonly from: number[] = [];
  private readonly to: number[] = [];
  private readonly noted: boolean[] = [];
  private i = 0;
  private prevT = NaN;

  constructor(
    expected: number,
    private readonly maxCandidates = 4 * MAX_GAPS,
  ) {
    this.step = Math.max(1, Math.floor(expected / 2001));
  }

  push(t: number, event: number): void {
    const i = this.i++;
    if (i === 0) {
      this.prevT = t;
      return;
    }
    const dt = t - this.prevT;
    if (i % this.step === 0) this.sample.push(dt);
    const noted = event === EVENTS.recording_gap;
    if (noted || dt > MIN_GAP_MS) {
      this.from.push(this.prevT);
      this.to.push(t);
      this.noted.push(noted);
      if (this.from.length > this.maxCandidates) this.prune();
    }
    this.prevT = t;
  }

  private limit(): number {
    const d = [...this.sample].sort((a, b) => a - b);
    const typical = this.i < 3 || d.length === 0 ? Infinity : d[Math.floor(d.length / 2)]!;
    return Math.max(MIN_GAP_MS, GAP_FACTOR * typical);
  }

  private prune(): void {
    const limit = this.limit();
    let k = 0;
    for (let j = 0; j < this.from.length; j++) {
      if (!this.noted[j] && !(this.to[j]! - this.from[j]! > limit)) continue;
      this.from[k] = this.from[j]!;
      this.to[k] = this.to[j]!;
      this.noted[k] = this.noted[j]!;
      k++;
    }
    this.from.length = this.to.length = this.noted.length = k;
  }

  /** The gaps, the first MAX_GAPS in record order. */
  gaps(): Gap[] {
    const limit = this.limit();
    const gaps: Gap[] = [];
    for (let j = 0; j < this.from.length && gaps.length < MAX_GAPS; j++) {
      const dt = this.to[j]! - this.from[j]!;
      if (this.noted[j]) gaps.push({ from: this.from[j]!, to: this.to[j]!, reason: `no data for ${seconds(dt)} (noted by the recording)` });
      else if (dt > limit) gaps.push({ from: this.from[j]!, to: this.to[j]!, reason: `no records for ${seconds(dt)}` });
    }
    return gaps;
  }
}
