/**
 * Decoded CSVs in a diagnosis package. data/records.csv is the same format `packscope log export`
 * writes (shared/blackbox/export.ts: fixed decimals, units in the header, flag and event names), so
 * a supplier's tooling reads both; data/events.csv lists only the records that carry an event. A
 * fresh decode of the raw segments gives byte-identical files, which is what verification checks.
 */
import type { LogRecord } from '../types/domain.js';
import { csvHeader, csvRow } from '../blackbox/export.js';
import { eventInfo } from '../blackbox/events.js';
import { encodeText } from './text.js';

function csvText(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function iso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export function recordsToCsv(
  records: readonly LogRecord[],
  cells: number | null,
  tempLabels: readonly string[] | null,
): { records: Uint8Array; events: Uint8Array } {
  const first = records[0];
  const nCells = cells ?? first?.cellVoltages.length ?? 0;
  const labels = tempLabels ?? (first ? first.temperatures.map((_, i) => `t${i + 1}`) : []);
  const rows: string[] = [csvHeader(nCells, labels)];
  const events: string[] = ['index,time_utc,event_code,event,description\n'];
  for (const r of records) {
    rows.push(csvRow(r));
    if (r.event !== 0) {
      const info = eventInfo(r.event);
      events.push(`${r.index},${iso(r.t)},${r.event},${csvText(info.name)},${csvText(info.description)}\n`);
    }
  }
  return { records: encodeText(rows.join('')), events: encodeText(events.join('')) };
}
