/**
 * Decoded CSVs in a diagnosis package. data/records.csv is the same format `packscope log export`
 * writes (shared/blackbox/export.ts: fixed decimals, units in the header, flag and event names), so
 * a supplier's tooling reads both; data/events.csv lists only the records that carry an event. A
 * fresh decode of the raw segments gives byte-identical files, which is what verification checks.
 *
 * Both files are produced as a fold over the records (CsvFold): package creation writes the pieces
 * to the archive as they come, verification compares them with the archive's bytes as they stream
 * in (StreamMatcher), so neither ever holds a whole CSV.
 */
import type { LogRecord } from '../types/domain.js';
import { csvHeader, csvRow } from '../blackbox/export.js';
import { eventInfo } from '../blackbox/events.js';
import { encodeText } from '../util/text.js';
import { utf8Encode } from '../util/bytes.js';

/** One CSV field (RFC 4180 quoting where needed). */
export function csvText(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function iso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export const EVENTS_CSV_HEADER = 'index,time_utc,event_code,event,description\n';

/**
 * The two CSVs as a fold: `header` once (the record layout: the first segment's schema, else what
 * the device said), then the records in log order. Pieces of text go to `row` and `event`.
 */
export class CsvFold {
  private started = false;
  /** `row` or `event` null: that file is not wanted in this pass (its rows are not even formatted). */
  constructor(
    private readonly row: ((s: string) => void) | null,
    private readonly event: ((s: string) => void) | null,
  ) {}

  /** Writes the headers unless they were written; `first` is the first record, when the layout is unknown. */
  header(cells: number | null, tempLabels: readonly string[] | null, first?: LogRecord): void {
    if (this.started) return;
    this.started = true;
    const nCells = cells ?? first?.cellVoltages.length ?? 0;
    const labels = tempLabels ?? (first ? first.temperatures.map((_, i) => `t${i + 1}`) : []);
    this.row?.(csvHeader(nCells, labels));
    this.event?.(EVENTS_CSV_HEADER);
  }

  records(records: readonly LogRecord[]): void {
    const { row, event } = this;
    for (const r of records) {
      if (row) row(csvRow(r));
      if (event && r.event !== 0) {
        const info = eventInfo(r.event);
        event(`${r.index},${iso(r.t)},${r.event},${csvText(info.name)},${csvText(info.description)}\n`);
      }
    }
  }
}

/** Where a matcher reads the file it compares with: chunks in order, null at the end. */
export interface ChunkSource {
  next(): Uint8Array | null;
}

/**
 * Compares generated text piece by piece with a file's bytes as they stream in, without building
 * either. Every chunk pulled goes to `seen` (the verifier hashes it there), and `finish` drains the
 * rest, so the file is read exactly once whether or not it matches.
 */
export class StreamMatcher {
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private ended = false;
  ok = true;
  constructor(
    private readonly src: ChunkSource,
    private readonly seen: (chunk: Uint8Array) => void = () => {},
  ) {}

  private refill(): boolean {
    while (!this.ended && this.pos >= this.chunk.length) {
      const c = this.src.next();
      if (c === null) this.ended = true;
      else {
        this.seen(c);
        this.chunk = c;
        this.pos = 0;
      }
    }
    return this.pos < this.chunk.length;
  }

  push(s: string): void {
    if (!this.ok) return;
    for (let i = 0; i < s.length; ) {
      if (this.pos >= this.chunk.length && !this.refill()) return void (this.ok = false);
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        // Rare (non-ASCII names): compare the rest of this piece as UTF-8.
        const rest = utf8Encode(s.slice(i));
        for (let k = 0; k < rest.length; k++) {
          if (this.pos >= this.chunk.length && !this.refill()) return void (this.ok = false);
          if (this.chunk[this.pos++] !== rest[k]) return void (this.ok = false);
        }
        return;
      }
      // The common case: a run of ASCII against the current chunk.
      const b = this.chunk;
      let p = this.pos;
      const end = Math.min(s.length, i + (b.length - p));
      for (; i < end; i++) {
        const ch = s.charCodeAt(i);
        if (ch >= 0x80) break;
        if (b[p++] !== ch) {
          this.pos = p;
          return void (this.ok = false);
        }
      }
      this.pos = p;
    }
  }

  /** Whether the file held exactly the text pushed; reads (and hands to `seen`) whatever is left. */
  finish(): boolean {
    const exact = this.ok && !this.refill();
    while (!this.ended) {
      const c = this.src.next();
      if (c === null) this.ended = true;
      else this.seen(c);
    }
    return exact;
  }
}

function bytesChunks(bytes: Uint8Array): ChunkSource {
  let done = false;
  return {
    next: () => {
      if (done) return null;
      done = true;
      return bytes;
    },
  };
}

/**
 * Whether the files hold exactly the CSVs `recordsToCsv` would write, checked row by row as they
 * are generated: verifying a long log never holds a second copy of its CSV in memory.
 */
export function csvMatches(
  records: readonly LogRecord[],
  cells: number | null,
  tempLabels: readonly string[] | null,
  recordsCsv: Uint8Array,
  eventsCsv: Uint8Array,
): { records: boolean; events: boolean } {
  const r = new StreamMatcher(bytesChunks(recordsCsv));
  const e = new StreamMatcher(bytesChunks(eventsCsv));
  const fold = new CsvFold(
    (s) => r.push(s),
    (s) => e.push(s),
  );
  fold.header(cells, tempLabels, records[0]);
  fold.records(records);
  return { records: r.finish(), events: e.finish() };
}

export function recordsToCsv(
  records: readonly LogRecord[],
  cells: number | null,
  tempLabels: readonly string[] | null,
): { records: Uint8Array; events: Uint8Array } {
  const rows: string[] = [];
  const events: string[] = [];
  const fold = new CsvFold(
    (s) => rows.push(s),
    (s) => events.push(s),
  );
  fold.header(cells, tempLabels, records[0]);
  fold.records(records);
  return { records: encodeText(rows.join('')), events: encodeText(events.join('')) };
}
