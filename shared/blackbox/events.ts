import { ALARM_FLAGS, type AlarmFlag } from '../types/domain.js';

/**
 * Black-box event codes. A record carries one u16 event code (0 = none); when several events happen
 * at the same instant the board writes one record per event. Codes are stable on the wire and in
 * stored logs: add new ones, never renumber.
 *
 *   0x0001–0x00FF  board and pack events (boot, charger, FETs, balancing, firmware, clock)
 *   0x0100–0x011F  alarm raised, 0x0100 + bit index in ALARM_FLAGS
 *   0x0120–0x013F  alarm cleared, 0x0120 + bit index in ALARM_FLAGS
 */
export const EVENT_NONE = 0;

export const EVENTS = {
  boot: 0x0001,
  shutdown: 0x0002,
  time_set: 0x0003,
  firmware_update: 0x0004,
  firmware_confirmed: 0x0005,
  firmware_reverted: 0x0006,
  charger_connected: 0x0007,
  charger_disconnected: 0x0008,
  charge_complete: 0x0009,
  charge_fet_off: 0x000a,
  charge_fet_on: 0x000b,
  discharge_fet_off: 0x000c,
  discharge_fet_on: 0x000d,
  balancing_started: 0x000e,
  balancing_stopped: 0x000f,
  log_exported: 0x0010,
  params_changed: 0x0011,
  watchdog_reset: 0x0012,
  power_loss: 0x0013,
  recording_gap: 0x0014,
  capacity_test_started: 0x0015,
  capacity_test_discharge: 0x0016,
  capacity_test_end_voltage: 0x0017,
  capacity_test_complete: 0x0018,
  capacity_test_aborted: 0x0019,
} as const;
export type EventName = keyof typeof EVENTS;

export const ALARM_RAISED_BASE = 0x0100;
export const ALARM_CLEARED_BASE = 0x0120;

const DESCRIPTIONS: Record<EventName, string> = {
  boot: 'Board booted',
  shutdown: 'Orderly shutdown',
  time_set: 'Real-time clock set',
  firmware_update: 'Firmware update installed',
  firmware_confirmed: 'New firmware confirmed',
  firmware_reverted: 'Firmware reverted to the previous image',
  charger_connected: 'Charger connected',
  charger_disconnected: 'Charger disconnected',
  charge_complete: 'Charge complete',
  charge_fet_off: 'Charge FET switched off by protection',
  charge_fet_on: 'Charge FET switched on',
  discharge_fet_off: 'Discharge FET switched off by protection',
  discharge_fet_on: 'Discharge FET switched on',
  balancing_started: 'Cell balancing started',
  balancing_stopped: 'Cell balancing stopped',
  log_exported: 'Black-box log exported',
  params_changed: 'Parameters changed',
  watchdog_reset: 'Watchdog reset',
  power_loss: 'Power loss detected at boot',
  recording_gap: 'Desktop recording: no data between the previous record and this one',
  capacity_test_started: 'Capacity test started: charging to full',
  capacity_test_discharge: 'Capacity test: discharge at constant current started',
  capacity_test_end_voltage: 'Capacity test: end voltage reached, discharge stopped',
  capacity_test_complete: 'Capacity test complete',
  capacity_test_aborted: 'Capacity test aborted',
};

export function alarmRaisedEvent(alarm: AlarmFlag | number): number {
  const bit = typeof alarm === 'number' ? alarm : ALARM_FLAGS.indexOf(alarm);
  return ALARM_RAISED_BASE + bit;
}

export function alarmClearedEvent(alarm: AlarmFlag | number): number {
  const bit = typeof alarm === 'number' ? alarm : ALARM_FLAGS.indexOf(alarm);
  return ALARM_CLEARED_BASE + bit;
}

export interface EventInfo {
  code: number;
  /** Stable machine name, e.g. `charger_connected`, `alarm_raised:cell_undervoltage`. */
  name: string;
  description: string;
  /** For alarm events: which alarm, and whether it was raised or cleared. */
  alarm?: { flag: AlarmFlag; raised: boolean };
}

const BY_CODE = new Map<number, EventInfo>();
for (const [name, code] of Object.entries(EVENTS) as [EventName, number][]) {
  BY_CODE.set(code, { code, name, description: DESCRIPTIONS[name] });
}
ALARM_FLAGS.forEach((flag, bit) => {
  const words = flag.replace(/_/g, ' ');
  BY_CODE.set(ALARM_RAISED_BASE + bit, {
    code: ALARM_RAISED_BASE + bit,
    name: `alarm_raised:${flag}`,
    description: `Alarm raised: ${words}`,
    alarm: { flag, raised: true },
  });
  BY_CODE.set(ALARM_CLEARED_BASE + bit, {
    code: ALARM_CLEARED_BASE + bit,
    name: `alarm_cleared:${flag}`,
    description: `Alarm cleared: ${words}`,
    alarm: { flag, raised: false },
  });
});

/** Every known event, in code order (for documentation and UI legends). */
export const EVENT_TABLE: readonly EventInfo[] = [...BY_CODE.values()].sort((a, b) => a.code - b.code);

/** Information about a code; unknown codes (from newer firmware) get a generic entry, never a throw. */
export function eventInfo(code: number): EventInfo {
  if (code === EVENT_NONE) return { code, name: '', description: '' };
  return BY_CODE.get(code) ?? { code, name: `unknown:0x${code.toString(16).padStart(4, '0')}`, description: 'Unknown event' };
}

export function eventName(code: number): string {
  return eventInfo(code).name;
}
