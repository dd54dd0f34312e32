/** Numbers, sizes, alarm and status flags in words and in the user's locale. */
import { ALARM_FLAGS, STATUS_FLAGS, flagNames, type AlarmFlag, type StatusFlag } from '../../shared/types/domain.js';

const formats = new Map<number, Intl.NumberFormat>();

/** A number with `digits` decimals the way the user's locale writes it ("52,88" in German). */
export function fmt(v: number | null | undefined, digits: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  let f = formats.get(digits);
  if (!f) {
    const locale = typeof navigator === 'undefined' ? undefined : navigator.language;
    formats.set(digits, (f = new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits })));
  }
  return f.format(v);
}

/** Axis tick labels: the decimals the step between ticks needs (0.0005 → four), one format for all. */
export function valueTickLabels(splits: readonly number[], incr: number): string[] {
  let digits = 0;
  // The fewest decimals that write the step exactly (0.25 needs two, 0.0005 four).
  while (digits < 6 && incr > 0 && Number.isFinite(incr)) {
    const scaled = incr * 10 ** digits;
    if (Math.abs(Math.round(scaled) - scaled) < 1e-6 * Math.max(1, scaled)) break;
    digits++;
  }
  return splits.map((v) => fmt(v, digits));
}

export function bytes(n: number): string {
  if (n < 1024) return `${fmt(n, 0)} B`;
  if (n < 1024 * 1024) return `${fmt(n / 1024, 1)} KiB`;
  return `${fmt(n / 1024 / 1024, 2)} MiB`;
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
