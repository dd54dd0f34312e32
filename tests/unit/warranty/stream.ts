import type { LogRecord } from '../../../shared/types/domain.js';
import { ALARM_FLAGS } from '../../../shared/types/domain.js';
import type { Claim } from '../../../shared/warranty/claim.js';
import type { LogFacts } from '../../../shared/warranty/engine.js';

/** Synthetic black-box streams: 4 LFP cells, 1 record per second, quiet rest at 25 °C by default. */
export const T0 = Date.UTC(2026, 5, 1, 8, 0, 0);

export function baseRecord(i: number, t = T0 + i * 1000): LogRecord {
  return {
    index: i,
    segment: Math.floor(i / 100),
    t,
    packVoltage: 13.2,
    current: 0,
    soc: 60,
    cellVoltages: [3.3, 3.3, 3.3, 3.3],
    temperatures: [25, 25],
    status: 0,
    alarms: 0,
    event: 0,
  };
}

/** n records, each modified by `edit(record, i)`. */
export function stream(n: number, edit: (r: LogRecord, i: number) => void = () => {}): LogRecord[] {
  const out: LogRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = baseRecord(i);
    edit(r, i);
    out.push(r);
  }
  return out;
}

export const CLAIM: Claim = {
  customer: 'Erika Mustermann',
  contact: 'erika@example.org',
  model: 'PS-LFP-100',
  serial: 'SN-0001',
  purchaseDate: '2026-03-01',
  description: 'The pack shuts off under light load.',
  remedy: 'repair',
};

export const FACTS: LogFacts = {
  source: 'device',
  signature: 'valid',
  gaps: [],
  deviceSerial: 'SN-0001',
  reportedAt: T0 + 2 * 86_400_000,
};

export const afe = 1 << ALARM_FLAGS.indexOf('afe_fault');
