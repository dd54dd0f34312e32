import { ALARM_FLAGS, STATUS_FLAGS, flagNames, type LogRecord } from '../types/domain.js';
import { eventName } from './events.js';

/**
 * Export row formats. CSV: one header row whose column names carry their units, one row per
 * record; the event code and its name have their own columns (empty when a record has none).
 * JSON lines: one object per record in the LogRecord shape plus readable flag and event names.
 */
export function csvHeader(cells: number, tempLabels: readonly string[]): string {
  const cols = ['index', 'segment', 'time_utc', 'time_ms', 'pack_voltage_V', 'current_A', 'soc_pct'];
  for (let i = 1; i <= cells; i++) cols.push(`cell${i}_V`);
  for (const l of tempLabels) cols.push(`temp_${l.replace(/[^A-Za-z0-9_]/g, '_')}_C`);
  cols.push('status', 'alarms', 'status_flags', 'alarm_flags', 'event_code', 'event');
  return cols.join(',') + '\n';
}

const ISO_CACHE = { sec: NaN, text: '' };
function isoTime(t: number): string {
  // Records come at ~1 Hz in time order: formatting only the milliseconds per row keeps export fast.
  const sec = Math.floor(t / 1000);
  if (sec !== ISO_CACHE.sec) {
    ISO_CACHE.sec = sec;
    ISO_CACHE.text = Number.isFinite(t) && Math.abs(t) < 8.64e15 ? new Date(sec * 1000).toISOString().slice(0, 19) : 'invalid';
  }
  return `${ISO_CACHE.text}.${String(Math.floor(t - sec * 1000)).padStart(3, '0')}Z`;
}

const flagCache = new Map<string, string>();
function flagsText(names: readonly string[], bits: number, kind: string): string {
  if (bits === 0) return '';
  const key = `${kind}${bits}`;
  let s = flagCache.get(key);
  if (s === undefined) {
    s = flagNames(names, bits).join('|');
    if (flagCache.size < 4096) flagCache.set(key, s);
  }
  return s;
}

export function csvRow(r: LogRecord): string {
  let s = `${r.index},${r.segment ?? ''},${isoTime(r.t)},${r.t},${r.packVoltage.toFixed(3)},${r.current.toFixed(3)},${r.soc.toFixed(2)}`;
  for (const v of r.cellVoltages) s += ',' + v.toFixed(3);
  for (const v of r.temperatures) s += ',' + v.toFixed(1);
  s += `,${r.status},${r.alarms},${flagsText(STATUS_FLAGS, r.status, 's')},${flagsText(ALARM_FLAGS, r.alarms, 'a')},${r.event || ''},${r.event ? eventName(r.event) : ''}\n`;
  return s;
}

const round = (v: number, d: number) => Math.round(v * d) / d;

export function jsonlRow(r: LogRecord): string {
  return (
    JSON.stringify({
      index: r.index,
      segment: r.segment,
      t: r.t,
      time: isoTime(r.t),
      packVoltage: round(r.packVoltage, 1000),
      current: round(r.current, 1000),
      soc: round(r.soc, 100),
      cellVoltages: r.cellVoltages.map((v) => round(v, 1000)),
      temperatures: r.temperatures.map((v) => round(v, 10)),
      status: r.status,
      alarms: r.alarms,
      statusFlags: flagNames(STATUS_FLAGS, r.status),
      alarmFlags: flagNames(ALARM_FLAGS, r.alarms),
      event: r.event,
      eventName: r.event ? eventName(r.event) : null,
    }) + '\n'
  );
}
