/**
 * Decoded CSVs in a diagnosis package. data/records.csv is the same format `packscope log export`
 * writes (shared/blackbox/export.ts: fixed decimals, units in the header, flag and event names), so
 * a supplier's tooling reads both; data/events.csv lists only the records that carry an event. A
 * fresh decode of the raw segments gives byte-identical files, which is what verification checks.
 */
import type { LogRecord } from '../types/domain.js';
import { csvHeader, csvRow } from '../blackbox/export.js';
import { eventInfo } from '../blackbox/events.js';
import { encodeText } from '../util/text.js';
import { utf8Encode } from '../util/bytes.js';

function csvText(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function iso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** Compares generated text piece by piece with file bytes, without building the whole file. */
class TextMatcher {
  private pos = 0;
  ok = true;
  constructor(private readonly bytes: Uint8Array) {}
  push(s: string): void {
    if (!this.ok) return;
    const b = this.bytes;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        // Rare (non-ASCII names): compare the rest of this piece as UTF-8.
        const rest = utf8Encode(s.slice(i));
        for (let k = 0; k < rest.length; k++) if (b[p++] !== rest[k]) return void (this.ok = false);
        this.pos = p;
        return;
      }
      if (b[p++] !== c) return void (this.ok = false);
    }
    this.pos = p;
  }
  finish(): boolean {
    return this.ok && this.pos === this.bytes.length;
  }
}

function csvPieces(
  records: readonly LogRecord[],
  cells: number | null,
  tempLabels: readonly string[] | null,
  row: (s: string) => void,
  event: (s: string) => void,
): void {
  const first = records[0];
  const nCells = cells ?? first?.cellVoltages.length ?? 0;
  const labels = tempLabels ?? (first ? first.temperatures.map((_, i) => `t${i + 1}`) : []);
  row(csvHeader(nCells, labels));
  event('index,time_utc,event_code,event,description\n');
  for (const r of records) {
    row(csvRow(r));
    if (r.event !== 0) {
      const info = eventInfo(r.event);
      event(`${r.index},${iso(r.t)},${r.event},${csvText(info.name)},${csvText(info.description)}\n`);
    }
  }
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
  const r = new TextMatcher(recordsCsv);
  const e = new TextMatcher(eventsCsv);
  csvPieces(
    records,
    cells,
    tempLabels,
    (s) => r.push(s),
    (s) => e.push(s),
  );
  return { records: r.finish(), events: e.finish() };
}

export function recordsToCsv(
  records: readonly LogRecord[],
  cells: number | null,
  tempLabels: readonly string[] | null,
): { records: Uint8Array; events: Uint8Array } {
  const rows: string[] = [];
  const events: string[] = [];
  csvPieces(
    records,
    cells,
    tempLabels,
    (s) => rows.push(s),
    (s) => events.push(s),
  );
  return { records: encodeText(rows.join('')), events: encodeText(events.join('')) };
}
