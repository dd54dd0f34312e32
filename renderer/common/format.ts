import { ALARM_FLAGS, STATUS_FLAGS, flagNames, type AlarmFlag, type StatusFlag } from '../../shared/types/domain.js';

export function fmt(v: number | null | undefined, digits: number): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

const ALARM_TEXT: Record<AlarmFlag, string> = {
  cell_overvoltage: 'Cell over-voltage',
  cell_undervoltage: 'Cell under-voltage',
  pack_overvoltage: 'Pack over-voltage',
  pack_undervoltage: 'Pack under-voltage',
  charge_overcurrent: 'Charge over-current',
  discharge_overcurrent: 'Discharge over-current',
  short_circuit: 'Short circuit',
  charge_overtemperature: 'Too hot to charge',
  charge_undertemperature: 'Too cold to charge',
  discharge_overtemperature: 'Too hot to discharge',
  discharge_undertemperature: 'Too cold to discharge',
  cell_imbalance: 'Cell imbalance',
  afe_fault: 'Measurement chip (AFE) fault',
  temperature_sensor_fault: 'Temperature sensor fault',
  current_sensor_fault: 'Current sensor fault',
  precharge_fault: 'Precharge fault',
};

const STATUS_TEXT: Record<StatusFlag, string> = {
  charging: 'Charging',
  discharging: 'Discharging',
  balancing: 'Balancing',
  charge_fet_on: 'Charge FET on',
  discharge_fet_on: 'Discharge FET on',
  charger_connected: 'Charger connected',
  firmware_test_mode: 'Firmware in test mode',
  rest: 'At rest',
};

export function alarmTexts(bits: number): string[] {
  return flagNames(ALARM_FLAGS, bits).map((n) => ALARM_TEXT[n]);
}

export function statusTexts(bits: number): string[] {
  return flagNames(STATUS_FLAGS, bits).map((n) => STATUS_TEXT[n]);
}
