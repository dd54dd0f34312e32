/**
 * Decoded CSVs in a diagnosis package. Written from the records with fixed decimals (voltages to
 * 0.1 mV, currents to 1 mA, temperatures to 0.01 °C), so a fresh decode of the raw segments gives
 * byte-identical files and the verifier can compare bytes, not opinions.
 */
import type { LogRecord } from '../types/domain.js';
import { eventInfo } from '../blackbox/events.js';
import { utf8Encode } from '../util/bytes.js';

function fixed(v: number, d: number): string {
  if (!Number.isFinite(v)) return '';
  const s = v.toFixed(d);
  return s === `-${(0).toFixed(d)}` ? (0).toFixed(d) : s;
}

function iso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function csvText(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Incremental CSV writer: header from the cell and sensor counts, then one line per record. */
export class RecordsCsv {
  private readonly parts: string[] = [];
  private size = 0;
  constructor(
    readonly cells: number,
    readonly sensors: number,
  ) {
    const cols = ['index', 'segment', 'time', 't_ms', 'pack_voltage_v', 'current_a', 'soc_pct'];
    for (let i = 1; i <= cells; i++) cols.push(`cell${i}_v`);
    for (let i = 1; i <= sensors; i++) cols.push(`temp${i}_c`);
    cols.push('status', 'alarms', 'event');
    this.add(cols.join(',') + '\n');
  }

  private add(s: string): void {
    this.parts.push(s);
    this.size += s.length;
  }

  push(r: LogRecord): void {
    let line = `${r.index},${r.segment ?? ''},${iso(r.t)},${r.t},${fixed(r.packVoltage, 3)},${fixed(r.current, 3)},${fixed(r.soc, 2)}`;
    for (let i = 0; i < this.cells; i++) line += ',' + (i < r.cellVoltages.length ? fixed(r.cellVoltages[i]!, 4) : '');
    for (let i = 0; i < this.sensors; i++) line += ',' + (i < r.temperatures.length ? fixed(r.temperatures[i]!, 2) : '');
    line += `,${r.status},${r.alarms},${r.event}\n`;
    this.add(line);
  }

  bytes(): Uint8Array {
    return utf8Encode(this.parts.join(''));
  }
}

export class EventsCsv {
  private readonly lines: string[] = ['index,time,code,name,description\n'];
  push(r: LogRecord): void {
    if (r.event === 0) return;
    const info = eventInfo(r.event);
    this.lines.push(`${r.index},${iso(r.t)},${r.event},${csvText(info.name)},${csvText(info.description)}\n`);
  }
  bytes(): Uint8Array {
    return utf8Encode(this.lines.join(''));
  }
}

/** Both CSVs from records in memory. `cells`/`sensors` default to the widest record. */
export function recordsToCsv(records: readonly LogRecord[], cells?: number, sensors?: number): { records: Uint8Array; events: Uint8Array } {
  let c = cells ?? 0;
  let s = sensors ?? 0;
  if (cells === undefined || sensors === undefined) {
    for (const r of records) {
      if (cells === undefined) c = Math.max(c, r.cellVoltages.length);
      if (sensors === undefined) s = Math.max(s, r.temperatures.length);
    }
  }
  const rc = new RecordsCsv(c, s);
  const ec = new EventsCsv();
  for (const r of records) {
    rc.push(r);
    ec.push(r);
  }
  return { records: rc.bytes(), events: ec.bytes() };
}
