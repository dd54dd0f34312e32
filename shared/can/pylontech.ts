import { DecodeError } from '../errors.js';
import { ALARM_FLAGS, STATUS_FLAGS, flagBit, type AlarmFlag, type TelemetryFrame } from '../types/domain.js';
import { utf8Decode } from '../util/bytes.js';
import { dataFrame, type CanFrame } from './frame.js';

/**
 * Pylontech / SMA-style battery broadcasts (Pylon CAN bus protocol V1.2, as inverters read them):
 *   0x351 charge voltage limit, charge and discharge current limits, discharge voltage limit
 *   0x355 SOC, SOH        0x356 voltage, current, temperature       0x359 protection and warning bits
 *   0x35C request flags   0x35E manufacturer name (ASCII)
 * All fields little-endian; scales as OpenDTU-OnBattery's Pylontech provider reads them.
 */
export const PYLONTECH_IDS = { limits: 0x351, soc: 0x355, measurements: 0x356, alarms: 0x359, requests: 0x35c, manufacturer: 0x35e } as const;
export const PYLONTECH_ID_SET: ReadonlySet<number> = new Set(Object.values(PYLONTECH_IDS));

/** The seven alarm categories 0x359 carries, each as a protection (byte 0/1) and a warning (byte 2/3). */
export const PYLONTECH_ALARMS = [
  'over_voltage',
  'under_voltage',
  'over_temperature',
  'under_temperature',
  'over_current_discharge',
  'over_current_charge',
  'bms_internal',
] as const;
export type PylontechAlarm = (typeof PYLONTECH_ALARMS)[number];
export type PylontechAlarmSet = Record<PylontechAlarm, boolean>;

/** [byte, bit] of each category within its two-byte group. */
const ALARM_BITS: Record<PylontechAlarm, [number, number]> = {
  over_voltage: [0, 1],
  under_voltage: [0, 2],
  over_temperature: [0, 3],
  under_temperature: [0, 4],
  over_current_discharge: [0, 7],
  over_current_charge: [1, 0],
  bms_internal: [1, 3],
};

export interface PylontechLimits {
  chargeVoltage: number;
  chargeCurrentLimit: number;
  dischargeCurrentLimit: number;
  dischargeVoltage: number;
}
export interface PylontechRequests {
  chargeEnable: boolean;
  dischargeEnable: boolean;
  forceCharge1: boolean;
  forceCharge2: boolean;
  fullChargeRequest: boolean;
}

export type PylontechMessage =
  | ({ kind: 'limits' } & PylontechLimits)
  | { kind: 'soc'; soc: number; soh: number }
  | { kind: 'measurements'; voltage: number; current: number; temperature: number }
  | { kind: 'alarms'; protection: PylontechAlarmSet; warning: PylontechAlarmSet; moduleCount: number; marker: string }
  | ({ kind: 'requests' } & PylontechRequests)
  | { kind: 'manufacturer'; name: string };

const u16 = (d: Uint8Array, o: number) => d[o]! | (d[o + 1]! << 8);
const s16 = (d: Uint8Array, o: number) => (u16(d, o) << 16) >> 16;

function needLen(id: number, d: Uint8Array, n: number): void {
  if (d.length < n) throw new DecodeError(`Pylontech 0x${id.toString(16).toUpperCase()}: ${d.length} data bytes, ${n} needed`);
}

function alarmSet(d: Uint8Array, base: number): PylontechAlarmSet {
  const out = {} as PylontechAlarmSet;
  for (const name of PYLONTECH_ALARMS) {
    const [b, bit] = ALARM_BITS[name];
    out[name] = ((d[base + b]! >> bit) & 1) === 1;
  }
  return out;
}

/** Decodes one broadcast; null for ids outside the set (valid bus traffic we do not read). */
export function decodePylontech(id: number, data: Uint8Array): PylontechMessage | null {
  switch (id) {
    case PYLONTECH_IDS.limits:
      needLen(id, data, 6);
      return {
        kind: 'limits',
        chargeVoltage: u16(data, 0) / 10,
        chargeCurrentLimit: s16(data, 2) / 10,
        dischargeCurrentLimit: s16(data, 4) / 10,
        // Some packs send 6 bytes (no discharge voltage); 0 means "not given".
        dischargeVoltage: data.length >= 8 ? u16(data, 6) / 10 : 0,
      };
    case PYLONTECH_IDS.soc:
      needLen(id, data, 4);
      return { kind: 'soc', soc: u16(data, 0), soh: u16(data, 2) };
    case PYLONTECH_IDS.measurements:
      needLen(id, data, 6);
      return { kind: 'measurements', voltage: s16(data, 0) / 100, current: s16(data, 2) / 10, temperature: s16(data, 4) / 10 };
    case PYLONTECH_IDS.alarms:
      needLen(id, data, 5);
      return {
        kind: 'alarms',
        protection: alarmSet(data, 0),
        warning: alarmSet(data, 2),
        moduleCount: data[4]!,
        marker: data.length >= 7 ? String.fromCharCode(data[5]!, data[6]!) : '',
      };
    case PYLONTECH_IDS.requests:
      needLen(id, data, 1);
      return {
        kind: 'requests',
        chargeEnable: (data[0]! & 0x80) !== 0,
        dischargeEnable: (data[0]! & 0x40) !== 0,
        forceCharge1: (data[0]! & 0x20) !== 0,
        forceCharge2: (data[0]! & 0x10) !== 0,
        fullChargeRequest: (data[0]! & 0x08) !== 0,
      };
    case PYLONTECH_IDS.manufacturer: {
      needLen(id, data, 1);
      let end = data.length;
      while (end > 0 && (data[end - 1] === 0x20 || data[end - 1] === 0x00)) end--;
      return { kind: 'manufacturer', name: utf8Decode(data.subarray(0, end)) };
    }
    default:
      return null;
  }
}

function put16(d: Uint8Array, o: number, v: number, signed: boolean): void {
  const r = Math.round(v);
  const lo = signed ? -0x8000 : 0;
  const hi = signed ? 0x7fff : 0xffff;
  const c = Math.max(lo, Math.min(hi, r)) & 0xffff;
  d[o] = c & 0xff;
  d[o + 1] = c >> 8;
}

function putAlarms(d: Uint8Array, base: number, set: PylontechAlarmSet): void {
  for (const name of PYLONTECH_ALARMS) {
    const [b, bit] = ALARM_BITS[name];
    if (set[name]) d[base + b]! |= 1 << bit;
  }
}

/** Encodes one message in the layout real packs send (0x351 8 bytes, 0x355 4, 0x356 6, 0x359 7, 0x35C 2, 0x35E 8). */
export function encodePylontech(m: PylontechMessage): CanFrame {
  switch (m.kind) {
    case 'limits': {
      const d = new Uint8Array(8);
      put16(d, 0, m.chargeVoltage * 10, false);
      put16(d, 2, m.chargeCurrentLimit * 10, true);
      put16(d, 4, m.dischargeCurrentLimit * 10, true);
      put16(d, 6, m.dischargeVoltage * 10, false);
      return dataFrame(PYLONTECH_IDS.limits, d);
    }
    case 'soc': {
      const d = new Uint8Array(4);
      put16(d, 0, m.soc, false);
      put16(d, 2, m.soh, false);
      return dataFrame(PYLONTECH_IDS.soc, d);
    }
    case 'measurements': {
      const d = new Uint8Array(6);
      put16(d, 0, m.voltage * 100, true);
      put16(d, 2, m.current * 10, true);
      put16(d, 4, m.temperature * 10, true);
      return dataFrame(PYLONTECH_IDS.measurements, d);
    }
    case 'alarms': {
      const d = new Uint8Array(7);
      putAlarms(d, 0, m.protection);
      putAlarms(d, 2, m.warning);
      d[4] = Math.max(0, Math.min(255, Math.round(m.moduleCount)));
      const marker = (m.marker + '  ').slice(0, 2);
      d[5] = marker.charCodeAt(0) & 0xff;
      d[6] = marker.charCodeAt(1) & 0xff;
      return dataFrame(PYLONTECH_IDS.alarms, d);
    }
    case 'requests': {
      const d = new Uint8Array(2);
      d[0] =
        (m.chargeEnable ? 0x80 : 0) |
        (m.dischargeEnable ? 0x40 : 0) |
        (m.forceCharge1 ? 0x20 : 0) |
        (m.forceCharge2 ? 0x10 : 0) |
        (m.fullChargeRequest ? 0x08 : 0);
      return dataFrame(PYLONTECH_IDS.requests, d);
    }
    case 'manufacturer': {
      const d = new Uint8Array(8).fill(0x20);
      for (let i = 0; i < Math.min(8, m.name.length); i++) d[i] = m.name.charCodeAt(i) & 0x7f;
      return dataFrame(PYLONTECH_IDS.manufacturer, d);
    }
  }
}

/** Which of the pack's alarm flags fall into each 0x359 category. */
export const ALARM_CATEGORY: Record<PylontechAlarm, AlarmFlag[]> = {
  over_voltage: ['cell_overvoltage', 'pack_overvoltage'],
  under_voltage: ['cell_undervoltage', 'pack_undervoltage'],
  over_temperature: ['charge_overtemperature', 'discharge_overtemperature'],
  under_temperature: ['charge_undertemperature', 'discharge_undertemperature'],
  over_current_discharge: ['discharge_overcurrent', 'short_circuit'],
  over_current_charge: ['charge_overcurrent'],
  bms_internal: ['afe_fault', 'temperature_sensor_fault', 'current_sensor_fault', 'precharge_fault'],
};

export function emptyAlarmSet(): PylontechAlarmSet {
  return Object.fromEntries(PYLONTECH_ALARMS.map((n) => [n, false])) as PylontechAlarmSet;
}

/** Projects an ALARM_FLAGS bitfield onto the 0x359 categories. */
export function alarmsToPylontech(alarms: number): PylontechAlarmSet {
  const out = emptyAlarmSet();
  for (const name of PYLONTECH_ALARMS) out[name] = ALARM_CATEGORY[name].some((f) => (alarms & flagBit(ALARM_FLAGS, f)) !== 0);
  return out;
}

/**
 * 0x359 categories back to ALARM_FLAGS: every flag of an active category is reported, since the
 * bus does not say which one tripped. `alarmsToPylontech(pylontechToAlarms(x))` is x.
 */
export function pylontechToAlarms(set: PylontechAlarmSet): number {
  let bits = 0;
  for (const name of PYLONTECH_ALARMS) if (set[name]) for (const f of ALARM_CATEGORY[name]) bits |= flagBit(ALARM_FLAGS, f);
  return bits;
}

/** The pack quantities the broadcasts are made from (a subset of the simulator's PackState). */
export interface PylontechSource {
  packVoltage: number;
  current: number;
  soc: number;
  soh: number;
  temperatures: number[];
  status: number;
  alarms: number;
  chargeVoltageLimit: number;
  chargeCurrentLimit: number;
  dischargeCurrentLimit: number;
  dischargeVoltageLimit: number;
  cellVoltages: number[];
}

export interface PylontechEncodeOptions {
  manufacturer?: string;
  moduleCount?: number;
  /** Cell voltage band (V) outside which a warning is raised before protection trips. */
  warnCellLow?: number;
  warnCellHigh?: number;
  warnTempLow?: number;
  warnTempHigh?: number;
}

export function meanTemperature(temps: number[]): number {
  return temps.length ? temps.reduce((a, b) => a + b, 0) / temps.length : 0;
}

/** The six broadcasts for one pack state, in the order real packs send them. */
export function encodePackBroadcast(s: PylontechSource, o: PylontechEncodeOptions = {}): CanFrame[] {
  const protection = alarmsToPylontech(s.alarms);
  const warning = { ...protection };
  const maxCell = s.cellVoltages.length ? Math.max(...s.cellVoltages) : 0;
  const minCell = s.cellVoltages.length ? Math.min(...s.cellVoltages) : Infinity;
  const maxT = s.temperatures.length ? Math.max(...s.temperatures) : 0;
  const minT = s.temperatures.length ? Math.min(...s.temperatures) : 0;
  if (o.warnCellHigh !== undefined && maxCell >= o.warnCellHigh) warning.over_voltage = true;
  if (o.warnCellLow !== undefined && minCell <= o.warnCellLow) warning.under_voltage = true;
  if (o.warnTempHigh !== undefined && maxT >= o.warnTempHigh) warning.over_temperature = true;
  if (o.warnTempLow !== undefined && minT <= o.warnTempLow) warning.under_temperature = true;
  const fet = (f: (typeof STATUS_FLAGS)[number]) => (s.status & flagBit(STATUS_FLAGS, f)) !== 0;
  return [
    encodePylontech({
      kind: 'limits',
      chargeVoltage: s.chargeVoltageLimit,
      chargeCurrentLimit: s.chargeCurrentLimit,
      dischargeCurrentLimit: s.dischargeCurrentLimit,
      dischargeVoltage: s.dischargeVoltageLimit,
    }),
    encodePylontech({ kind: 'soc', soc: Math.max(0, Math.min(100, s.soc)), soh: Math.max(0, Math.min(100, s.soh)) }),
    encodePylontech({ kind: 'measurements', voltage: s.packVoltage, current: s.current, temperature: meanTemperature(s.temperatures) }),
    encodePylontech({ kind: 'alarms', protection, warning, moduleCount: o.moduleCount ?? 1, marker: 'PN' }),
    encodePylontech({
      kind: 'requests',
      chargeEnable: fet('charge_fet_on') && s.chargeCurrentLimit > 0,
      dischargeEnable: fet('discharge_fet_on') && s.dischargeCurrentLimit > 0,
      forceCharge1: s.soc < 5,
      forceCharge2: false,
      fullChargeRequest: false,
    }),
    encodePylontech({ kind: 'manufacturer', name: o.manufacturer ?? 'PYLON' }),
  ];
}

/** What a listener has gathered from the broadcasts so far. */
export interface PylontechState {
  limits?: PylontechLimits;
  soc?: { soc: number; soh: number };
  measurements?: { voltage: number; current: number; temperature: number };
  alarms?: { protection: PylontechAlarmSet; warning: PylontechAlarmSet; moduleCount: number; marker: string };
  requests?: PylontechRequests;
  manufacturer?: string;
}

export function applyPylontech(state: PylontechState, m: PylontechMessage): void {
  switch (m.kind) {
    case 'limits': {
      const { kind: _k, ...rest } = m;
      state.limits = rest;
      break;
    }
    case 'soc':
      state.soc = { soc: m.soc, soh: m.soh };
      break;
    case 'measurements':
      state.measurements = { voltage: m.voltage, current: m.current, temperature: m.temperature };
      break;
    case 'alarms':
      state.alarms = { protection: m.protection, warning: m.warning, moduleCount: m.moduleCount, marker: m.marker };
      break;
    case 'requests': {
      const { kind: _k, ...rest } = m;
      state.requests = rest;
      break;
    }
    case 'manufacturer':
      state.manufacturer = m.name;
      break;
  }
}

/** A TelemetryFrame once measurements and SOC have been seen (the others refine it). */
export function pylontechTelemetry(state: PylontechState, t: number): TelemetryFrame | null {
  if (!state.measurements || !state.soc) return null;
  const { voltage, current, temperature } = state.measurements;
  let status = 0;
  if (current > 0.05) status |= flagBit(STATUS_FLAGS, 'charging');
  else if (current < -0.05) status |= flagBit(STATUS_FLAGS, 'discharging');
  else status |= flagBit(STATUS_FLAGS, 'rest');
  if (state.requests?.chargeEnable) status |= flagBit(STATUS_FLAGS, 'charge_fet_on');
  if (state.requests?.dischargeEnable) status |= flagBit(STATUS_FLAGS, 'discharge_fet_on');
  return {
    t,
    packVoltage: voltage,
    current,
    soc: state.soc.soc,
    soh: state.soc.soh,
    cellVoltages: [],
    temperatures: [temperature],
    status,
    alarms: state.alarms ? pylontechToAlarms(state.alarms.protection) : 0,
  };
}
