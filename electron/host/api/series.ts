import { eventInfo } from '../../../shared/blackbox/events.js';
import type { RecordedSeries } from '../../../shared/api/contract.js';
import type { LogRecord } from '../../../shared/types/domain.js';

/** Most records sent to a screen in one reply; longer logs are min/max-decimated to this many. */
export const MAX_SERIES_RECORDS = 200_000;

/**
 * Log records as chart columns (the renderer's RecordedSource builds its pyramids from these),
 * with events as labelled markers. Logs longer than `max` records keep, per bucket, the records
 * holding the minimum and maximum pack voltage, so spikes survive the reduction.
 */
export function recordsToSeries(records: readonly LogRecord[], max = MAX_SERIES_RECORDS): RecordedSeries {
  let pick: readonly LogRecord[] = records;
  let decimated = false;
  if (records.length > max) {
    decimated = true;
    const buckets = Math.floor(max / 2);
    const out: LogRecord[] = [];
    for (let b = 0; b < buckets; b++) {
      const from = Math.floor((b * records.length) / buckets);
      const to = Math.floor(((b + 1) * records.length) / buckets);
      let lo = from;
      let hi = from;
      for (let i = from; i < to; i++) {
        if (records[i]!.packVoltage < records[lo]!.packVoltage) lo = i;
        if (records[i]!.packVoltage > records[hi]!.packVoltage) hi = i;
      }
      out.push(records[Math.min(lo, hi)]!);
      if (lo !== hi) out.push(records[Math.max(lo, hi)]!);
    }
    pick = out;
  }
  const s: RecordedSeries = {
    t: [],
    packVoltage: [],
    current: [],
    soc: [],
    cellMin: [],
    cellMax: [],
    tempMin: [],
    tempMax: [],
    events: [],
    records: records.length,
    decimated,
  };
  for (const r of pick) {
    s.t.push(r.t);
    s.packVoltage.push(r.packVoltage);
    s.current.push(r.current);
    s.soc.push(r.soc);
    s.cellMin.push(r.cellVoltages.length ? Math.min(...r.cellVoltages) : NaN);
    s.cellMax.push(r.cellVoltages.length ? Math.max(...r.cellVoltages) : NaN);
    s.tempMin.push(r.temperatures.length ? Math.min(...r.temperatures) : NaN);
    s.tempMax.push(r.temperatures.length ? Math.max(...r.temperatures) : NaN);
  }
  for (const r of records) {
    if (r.event) s.events.push({ t: r.t, code: r.event, label: eventInfo(r.event).name, index: r.index });
  }
  if (s.events.length > 2000) s.events = s.events.slice(0, 2000);
  return s;
}
