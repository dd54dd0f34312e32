import { eventInfo } from '../../../shared/blackbox/events.js';
import { findGaps, GapFold } from '../../../shared/blackbox/gaps.js';
import type { RecordedSeries } from '../../../shared/api/contract.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import { bucketOf } from '../../../shared/series/buckets.js';
import type { SeriesIndex } from '../blackbox/series-index.js';

/** Most records sent to a screen in one reply; longer logs are min/max-decimated to this many. */
export const MAX_SERIES_RECORDS = 200_000;

/** Events a series reply carries as markers (the Logs screen pages the rest with log.events). */
const MAX_EVENTS = 2000;

type Column = 'packVoltage' | 'current' | 'soc' | 'cellMin' | 'cellMax' | 'tempMin' | 'tempMax';
const COLUMNS: Column[] = ['packVoltage', 'current', 'soc', 'cellMin', 'cellMax', 'tempMin', 'tempMax'];

function emptySeries(records: number, decimated: boolean): RecordedSeries {
  return { t: [], packVoltage: [], current: [], soc: [], cellMin: [], cellMax: [], tempMin: [], tempMax: [], events: [], records, decimated };
}

function rowValues(r: LogRecord): Record<Column, number> {
  return {
    packVoltage: r.packVoltage,
    current: r.current,
    soc: r.soc,
    cellMin: r.cellVoltages.length ? Math.min(...r.cellVoltages) : NaN,
    cellMax: r.cellVoltages.length ? Math.max(...r.cellVoltages) : NaN,
    tempMin: r.temperatures.length ? Math.min(...r.temperatures) : NaN,
    tempMax: r.temperatures.length ? Math.max(...r.temperatures) : NaN,
  };
}

/**
 * Log records as chart columns for the screens that hold a log in memory (claim preview, package
 * verification), with events as labelled markers. Logs longer than `max` records keep, per time
 * column (shared/series/buckets.ts), the records holding the minimum and the maximum of every
 * channel, so no channel's spike is lost in the reduction.
 */
export function recordsToSeries(records: readonly LogRecord[], max = MAX_SERIES_RECORDS): RecordedSeries {
  const rows = records.map(rowValues);
  let pick: number[] = records.map((_, i) => i);
  const decimated = records.length > max;
  if (decimated) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const r of records) {
      lo = Math.min(lo, r.t);
      hi = Math.max(hi, r.t);
    }
    // Up to two records per channel per column.
    const g = { t0: lo, t1: hi + 1, buckets: Math.max(1, Math.floor(max / (2 * COLUMNS.length))) };
    const best = new Map<number, Map<string, number>>();
    records.forEach((r, i) => {
      const b = bucketOf(g, r.t);
      let m = best.get(b);
      if (!m) best.set(b, (m = new Map()));
      for (const c of COLUMNS) {
        const v = rows[i]![c];
        if (v !== v) continue;
        const a = m.get(`${c}-`);
        if (a === undefined || v < rows[a]![c]) m.set(`${c}-`, i);
        const z = m.get(`${c}+`);
        if (z === undefined || v > rows[z]![c]) m.set(`${c}+`, i);
      }
    });
    pick = [...new Set([...best.values()].flatMap((m) => [...m.values()]))].sort((a, b) => a - b);
  }
  const s = emptySeries(records.length, decimated);
  for (const i of pick) {
    s.t.push(records[i]!.t);
    for (const c of COLUMNS) s[c].push(rows[i]![c]);
  }
  s.gaps = findGaps(records);
  for (const r of records) {
    if (r.event && s.events.length < MAX_EVENTS) s.events.push({ t: r.t, code: r.event, label: eventInfo(r.event).name, index: r.index });
  }
  return s;
}

/**
 * recordsToSeries as a fold over records streamed in order, for a log read from a package without
 * holding it (the Verify screen): up to `max` records are kept as they are; a longer log (its
 * length `expected` is known up front, from the package's manifest) is cut into columns of
 * consecutive records, each keeping the records that hold the minimum and the maximum of every
 * channel, so no spike is lost. A log longer than announced only makes its last column wider.
 */
export class SeriesFold {
  private readonly decimated: boolean;
  private readonly buckets: number;
  /** Raw rows (not decimated) or, per column and channel extreme, the chosen row: index, t, values. */
  private rows: Float64Array;
  private readonly events: RecordedSeries['events'] = [];
  private readonly gaps: GapFold;
  private n = 0;
  private static readonly W = 2 + COLUMNS.length;

  constructor(
    private readonly expected: number,
    private readonly max = MAX_SERIES_RECORDS,
  ) {
    this.decimated = expected > max;
    this.buckets = this.decimated ? Math.max(1, Math.floor(max / (2 * COLUMNS.length))) : max;
    const slots = this.decimated ? this.buckets * 2 * COLUMNS.length : Math.max(1, expected);
    this.rows = new Float64Array(slots * SeriesFold.W).fill(NaN);
    this.gaps = new GapFold(expected);
  }

  push(records: readonly LogRecord[]): void {
    const W = SeriesFold.W;
    const row = new Float64Array(W);
    for (const r of records) {
      const i = this.n++;
      this.gaps.push(r.t, r.event);
      if (r.event && this.events.length < MAX_EVENTS) this.events.push({ t: r.t, code: r.event, label: eventInfo(r.event).name, index: r.index });
      const v = rowValues(r);
      row[0] = i;
      row[1] = r.t;
      COLUMNS.forEach((c, k) => (row[2 + k] = v[c]));
      if (!this.decimated) {
        // More records than announced: room grows up to `max`; beyond it they are left out of the
        // chart, which says so (decimated, and its record count).
        if (i >= this.max) continue;
        if ((i + 1) * W > this.rows.length) {
          const grown = new Float64Array(Math.min(this.max, 2 * (i + 1)) * W).fill(NaN);
          grown.set(this.rows);
          this.rows = grown;
        }
        this.rows.set(row, i * W);
        continue;
      }
      const b = Math.min(this.buckets - 1, Math.floor((i * this.buckets) / this.expected));
      for (let k = 0; k < COLUMNS.length; k++) {
        const x = row[2 + k]!;
        if (x !== x) continue;
        const lo = (b * COLUMNS.length + k) * 2 * W;
        const hi = lo + W;
        if (!(this.rows[lo + 2 + k]! <= x)) this.rows.set(row, lo);
        if (!(this.rows[hi + 2 + k]! >= x)) this.rows.set(row, hi);
      }
    }
  }

  finish(): RecordedSeries {
    const W = SeriesFold.W;
    const s = emptySeries(this.n, this.decimated || this.n > this.max);
    const slots = this.rows.length / W;
    const picked = new Map<number, number>();
    for (let j = 0; j < slots; j++) {
      const idx = this.rows[j * W]!;
      if (idx === idx && !picked.has(idx)) picked.set(idx, j);
    }
    for (const idx of [...picked.keys()].sort((a, b) => a - b)) {
      const o = picked.get(idx)! * W;
      s.t.push(this.rows[o + 1]!);
      COLUMNS.forEach((c, k) => s[c].push(this.rows[o + 2 + k]!));
    }
    s.gaps = this.gaps.gaps();
    s.events = this.events;
    return s;
  }
}

/**
 * A whole-log overview from a log's range index (log.open's reply): per column two rows, the
 * minimum and the maximum of every channel, at the column's middle. Charts read ranges through
 * log.series instead.
 */
export async function overviewSeries(index: SeriesIndex, buckets = 1000): Promise<RecordedSeries> {
  const r = await index.series({ buckets, channels: COLUMNS });
  const s = emptySeries(r.records, r.mode === 'buckets');
  const w = (r.t1 - r.t0) / r.buckets;
  const n = r.mode === 'raw' ? r.t.length : r.buckets;
  for (let b = 0; b < n; b++) {
    const rowsOf: Array<'v' | 'min' | 'max'> = r.mode === 'raw' ? ['v'] : ['min', 'max'];
    if (r.mode === 'buckets' && !r.counts[b]) continue;
    for (const k of rowsOf) {
      s.t.push(r.mode === 'raw' ? r.t[b]! : r.t0 + (b + 0.5) * w);
      for (const c of COLUMNS) {
        const ch = r.channels[c] as Record<string, Array<number | null>>;
        s[c].push(ch[k]![b] ?? NaN);
      }
    }
  }
  s.gaps = index.gapsIn(-Infinity, Infinity).map(([from, to]) => ({ from, to, reason: `no records for ${Math.round((to - from) / 1000)} s` }));
  const ev = index.events({ limit: MAX_EVENTS });
  s.events = ev.events.map((e) => ({ t: e.t, code: e.code, label: e.name, index: e.index }));
  return s;
}
