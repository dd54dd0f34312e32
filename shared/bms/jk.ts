import { DecodeError, PackscopeError } from '../errors.js';
import { ALARM_FLAGS, flagBit, STATUS_FLAGS, type AlarmFlag, type Chemistry, type DeviceInfo, type TelemetryFrame } from '../types/domain.js';
import { asciiBytes, asciiField, byteSum, hex2, hex4, putU16, putU32, toUnsigned, u16, u32, type ExtractorStats, type RxBuffer } from './common.js';
import { ScanningExtractor, type FrameExtractor, type Scan } from './extractor.js';

/**
 * JK BMS "4E 57" protocol (RS485 / TTL GPS port), 115200 8N1.
 *
 *   4E 57  LEN(2)  BMS-ID(4)  CMD  SOURCE  TYPE  payload…  RECORD(4)  68  CHK(4)
 *
 * LEN counts every byte after the 4E 57 start (so frame length = LEN + 2). CHK is a 32-bit
 * big-endian field whose low 16 bits are the sum of all preceding bytes (the high 16 are zero on
 * every board seen). CMD 0x06 = read all; SOURCE 3 = PC/host, 0 = BMS; TYPE 0 = request,
 * 1 = response. A read-all reply's payload is a sequence of ID-tagged fields: 0x79 (a length
 * byte, then cell-number + millivolt triplets), then 0x80 … 0xC0, each with a fixed length
 * (JK_FIELD_LENGTHS), in ascending ID order.
 */
export const JK_START = [0x4e, 0x57] as const;
export const JK_END_MARK = 0x68;
export const JK_CMD_READ_ALL = 0x06;
export const JK_SOURCE_BMS = 0;
export const JK_SOURCE_HOST = 3;
export const JK_TYPE_REQUEST = 0;
export const JK_TYPE_RESPONSE = 1;
/** Frames longer than this are not JK replies (a 32-cell read-all is about 330 bytes). */
export const JK_MAX_FRAME = 1024;
const JK_OVERHEAD = 20;

/** Fixed lengths of the fields after the 0x79 cell block (JK RS485 protocol V2.x). */
export const JK_FIELD_LENGTHS: ReadonlyMap<number, number> = new Map([
  [0x80, 2],
  [0x81, 2],
  [0x82, 2],
  [0x83, 2],
  [0x84, 2],
  [0x85, 1],
  [0x86, 1],
  [0x87, 2],
  [0x89, 4],
  [0x8a, 2],
  [0x8b, 2],
  [0x8c, 2],
  [0x8e, 2],
  [0x8f, 2],
  [0x90, 2],
  [0x91, 2],
  [0x92, 2],
  [0x93, 2],
  [0x94, 2],
  [0x95, 2],
  [0x96, 2],
  [0x97, 2],
  [0x98, 2],
  [0x99, 2],
  [0x9a, 2],
  [0x9b, 2],
  [0x9c, 2],
  [0x9d, 1],
  [0x9e, 2],
  [0x9f, 2],
  [0xa0, 2],
  [0xa1, 2],
  [0xa2, 2],
  [0xa3, 2],
  [0xa4, 2],
  [0xa5, 2],
  [0xa6, 2],
  [0xa7, 2],
  [0xa8, 2],
  [0xa9, 1],
  [0xaa, 4],
  [0xab, 1],
  [0xac, 1],
  [0xad, 2],
  [0xae, 1],
  [0xaf, 1],
  [0xb0, 2],
  [0xb1, 1],
  [0xb2, 10],
  [0xb3, 1],
  [0xb4, 8],
  [0xb5, 4],
  [0xb6, 4],
  [0xb7, 15],
  [0xb8, 1],
  [0xb9, 4],
  [0xba, 24],
  [0xc0, 1],
]);

export interface JkFrame {
  bmsId: number;
  command: number;
  source: number;
  type: number;
  payload: Uint8Array;
  recordNumber: number;
}

export function encodeJkFrame(f: JkFrame): Uint8Array {
  const total = f.payload.length + JK_OVERHEAD;
  if (total > JK_MAX_FRAME) throw new PackscopeError('USAGE', `JK frame of ${total} bytes exceeds ${JK_MAX_FRAME}`);
  const out = new Uint8Array(total);
  out[0] = JK_START[0];
  out[1] = JK_START[1];
  putU16(out, 2, total - 2);
  putU32(out, 4, f.bmsId >>> 0);
  out[8] = f.command & 0xff;
  out[9] = f.source & 0xff;
  out[10] = f.type & 0xff;
  out.set(f.payload, 11);
  putU32(out, total - 9, f.recordNumber >>> 0);
  out[total - 5] = JK_END_MARK;
  putU32(out, total - 4, byteSum(out, 0, total - 4) & 0xffff);
  return out;
}

/** The host's read-all request (information field 00, record number 0). */
export function encodeJkReadAll(bmsId = 0): Uint8Array {
  return encodeJkFrame({ bmsId, command: JK_CMD_READ_ALL, source: JK_SOURCE_HOST, type: JK_TYPE_REQUEST, payload: new Uint8Array([0]), recordNumber: 0 });
}

export function decodeJkFrame(bytes: Uint8Array): JkFrame {
  if (bytes.length < JK_OVERHEAD) throw new DecodeError(`JK frame too short: ${bytes.length} bytes (minimum ${JK_OVERHEAD})`);
  if (bytes[0] !== JK_START[0] || bytes[1] !== JK_START[1]) throw new DecodeError('JK frame must start with 4E 57');
  const len = u16(bytes, 2, 'JK length');
  if (len + 2 !== bytes.length) throw new DecodeError(`JK length field ${len} does not match the frame (${bytes.length} bytes → ${bytes.length - 2})`);
  if (bytes[bytes.length - 5] !== JK_END_MARK) throw new DecodeError(`JK end mark must be 68, got ${hex2(bytes[bytes.length - 5]!)}`);
  const want = byteSum(bytes, 0, bytes.length - 4) & 0xffff;
  const got = u32(bytes, bytes.length - 4, 'JK checksum') & 0xffff;
  if (want !== got) throw new DecodeError(`JK checksum mismatch: computed ${hex4(want)}, frame has ${hex4(got)}`, { kind: 'checksum' });
  return {
    bmsId: u32(bytes, 4, 'JK BMS id'),
    command: bytes[8]!,
    source: bytes[9]!,
    type: bytes[10]!,
    payload: bytes.slice(11, bytes.length - 9),
    recordNumber: u32(bytes, bytes.length - 9, 'JK record number'),
  };
}

/** One ID-tagged field of a read-all payload, in wire order. */
export interface JkField {
  id: number;
  value: Uint8Array;
}

export interface JkFields {
  fields: JkField[];
  /** Offset of an ID this decoder has no length for (newer firmware); parsing stops there. */
  unknownIdAt: number | null;
}

export function decodeJkFields(payload: Uint8Array): JkFields {
  const fields: JkField[] = [];
  let o = 0;
  while (o < payload.length) {
    const id = payload[o]!;
    let n: number;
    let start = o + 1;
    if (id === 0x79) {
      if (o + 1 >= payload.length) throw new DecodeError('JK cell block 0x79 has no length byte');
      n = payload[o + 1]!;
      start = o + 2;
      if (n % 3 !== 0) throw new DecodeError(`JK cell block length ${n} is not a multiple of 3`);
    } else {
      const fixed = JK_FIELD_LENGTHS.get(id);
      if (fixed === undefined) return { fields, unknownIdAt: o };
      n = fixed;
    }
    if (start + n > payload.length) throw new DecodeError(`JK field ${hex2(id)} at ${o} runs past the payload (${n} bytes needed)`);
    fields.push({ id, value: payload.slice(start, start + n) });
    o = start + n;
  }
  return { fields, unknownIdAt: null };
}

export function encodeJkFields(fields: JkField[]): Uint8Array {
  let n = 0;
  for (const f of fields) n += 1 + (f.id === 0x79 ? 1 : 0) + f.value.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const f of fields) {
    out[o++] = f.id;
    if (f.id === 0x79) out[o++] = f.value.length;
    else if (JK_FIELD_LENGTHS.get(f.id) !== f.value.length)
      throw new PackscopeError('USAGE', `JK field ${hex2(f.id)} must be ${JK_FIELD_LENGTHS.get(f.id)} bytes`);
    out.set(f.value, o);
    o += f.value.length;
  }
  return out;
}

/** The read-all reply, interpreted. */
export interface JkStatus {
  cellVoltages: number[];
  mosTemperature: number;
  temperature1: number;
  temperature2: number;
  packVoltage: number;
  currentRaw: number;
  current: number; // A, positive = charging
  soc: number;
  temperatureSensorCount: number;
  cycles: number;
  totalCycleCapacityAh: number;
  cellCount: number;
  warnings: number;
  /** 0x8C: bit 0 charge MOS on, bit 1 discharge MOS on, bit 2 balancer on, bit 3 battery disconnected. */
  statusBits: number;
  capacityAh: number;
  /** 0xAF: 0 LiFePO4, 1 ternary lithium, 2 lithium titanate. */
  batteryType: number | null;
  deviceId: string;
  manufactureDate: string;
  runtimeRaw: number;
  softwareVersion: string;
  actualCapacityAh: number;
  manufacturerId: string;
  protocolVersion: number;
  unknownIdAt: number | null;
}

/** 0x80–0x82: 0–100 are °C, above 100 is negative (101 = −1 °C) per the JK protocol document. */
export function decodeJkTemperature(v: number): number {
  return v > 100 ? 100 - v : v;
}

export function encodeJkTemperature(t: number): number {
  const r = Math.round(Math.min(100, Math.max(-40, t)));
  return r >= 0 ? r : 100 - r;
}

/**
 * 0x84: protocol version 1 (field 0xC0 = 01, every board seen): bit 15 set = charging, the low
 * 15 bits are 10 mA. Earlier versions carry a 10000 offset (10000 = 0 A, above = charging).
 */
export function decodeJkCurrent(raw: number, protocolVersion: number): number {
  const a = protocolVersion === 1 ? ((raw & 0x8000 ? 1 : -1) * (raw & 0x7fff)) / 100 : (raw - 10000) / 100;
  return a === 0 ? 0 : Math.round(a * 100) / 100;
}

export function encodeJkCurrent(amps: number): number {
  const c = Math.min(0x7fff, Math.round(Math.abs(amps) * 100));
  return amps > 0 && c > 0 ? 0x8000 | c : c;
}

const REQUIRED = [0x79, 0x83, 0x84, 0x85] as const;

export function interpretJkFields(parsed: JkFields): JkStatus {
  const m = new Map<number, Uint8Array>();
  for (const f of parsed.fields) if (!m.has(f.id)) m.set(f.id, f.value);
  for (const id of REQUIRED) if (!m.has(id)) throw new DecodeError(`JK read-all reply lacks field ${hex2(id)}`);
  const num = (id: number, fallback = 0): number => {
    const v = m.get(id);
    if (!v) return fallback;
    return v.length === 1 ? v[0]! : v.length === 2 ? u16(v, 0, 'JK field') : u32(v, 0, 'JK field');
  };
  const str = (id: number): string => (m.has(id) ? asciiField(m.get(id)!) : '');
  const cellBlock = m.get(0x79)!;
  const cells: Array<[number, number]> = [];
  for (let i = 0; i + 2 < cellBlock.length; i += 3) cells.push([cellBlock[i]!, u16(cellBlock, i + 1, 'JK cell')]);
  cells.sort((a, b) => a[0] - b[0]);
  const protocolVersion = num(0xc0, 1);
  const currentRaw = num(0x84);
  return {
    cellVoltages: cells.map(([, mv]) => mv / 1000),
    mosTemperature: decodeJkTemperature(num(0x80)),
    temperature1: decodeJkTemperature(num(0x81)),
    temperature2: decodeJkTemperature(num(0x82)),
    packVoltage: num(0x83) / 100,
    currentRaw,
    current: decodeJkCurrent(currentRaw, protocolVersion),
    soc: num(0x85),
    temperatureSensorCount: num(0x86, 2),
    cycles: num(0x87),
    totalCycleCapacityAh: num(0x89),
    cellCount: num(0x8a, cells.length),
    warnings: num(0x8b),
    statusBits: num(0x8c),
    capacityAh: num(0xaa),
    batteryType: m.has(0xaf) ? num(0xaf) : null,
    deviceId: str(0xb4),
    manufactureDate: str(0xb5),
    runtimeRaw: num(0xb6),
    softwareVersion: str(0xb7),
    actualCapacityAh: num(0xb9),
    manufacturerId: str(0xba),
    protocolVersion,
    unknownIdAt: parsed.unknownIdAt,
  };
}

/** Whole reply frame → status; checks it is a read-all response. */
export function decodeJkStatusFrame(bytes: Uint8Array): JkStatus {
  const f = decodeJkFrame(bytes);
  if (f.type !== JK_TYPE_RESPONSE) throw new DecodeError(`JK frame type ${f.type} is not a response`);
  if (f.command !== JK_CMD_READ_ALL) throw new DecodeError(`JK reply to command ${hex2(f.command)}, expected 06 (read all)`);
  return interpretJkFields(decodeJkFields(f.payload));
}

/** 0x8B warning bits (JK protocol document), each with the PackScope alarm it means. */
export const JK_WARNING_BITS: readonly (readonly [name: string, alarm: AlarmFlag | null])[] = [
  ['low_capacity', null],
  ['mos_overtemperature', null],
  ['charge_overvoltage', 'pack_overvoltage'],
  ['discharge_undervoltage', 'pack_undervoltage'],
  ['battery_overtemperature', 'discharge_overtemperature'],
  ['charge_overcurrent', 'charge_overcurrent'],
  ['discharge_overcurrent', 'discharge_overcurrent'],
  ['cell_voltage_difference', 'cell_imbalance'],
  ['box_overtemperature', null],
  ['battery_low_temperature', 'charge_undertemperature'],
  ['cell_overvoltage', 'cell_overvoltage'],
  ['cell_undervoltage', 'cell_undervoltage'],
  ['protection_309_a', null],
  ['protection_309_b', null],
];

export function jkAlarms(warnings: number): number {
  let bits = 0;
  JK_WARNING_BITS.forEach(([, alarm], i) => {
    if (alarm && (warnings >> i) & 1) bits |= flagBit(ALARM_FLAGS, alarm);
  });
  return bits;
}

/** Warning word for a set of PackScope alarms (the board side); JK has no bit for some alarms. */
export function jkWarningsFor(alarms: number): number {
  let w = 0;
  const set = (name: AlarmFlag): boolean => ((alarms >>> ALARM_FLAGS.indexOf(name)) & 1) === 1;
  JK_WARNING_BITS.forEach(([, alarm], i) => {
    if (alarm && set(alarm)) w |= 1 << i;
  });
  if (set('charge_overtemperature')) w |= 1 << 4;
  if (set('discharge_undertemperature')) w |= 1 << 9;
  return w;
}

/**
 * Temperatures in PackScope order: the battery sensors the board announces (0x86, at most the two
 * it carries: 0x81, 0x82), then the MOSFET sensor (0x80).
 */
export function jkTemperatures(s: JkStatus): number[] {
  const sensors = [s.temperature1, s.temperature2].slice(0, Math.min(2, s.temperatureSensorCount));
  return [...sensors, s.mosTemperature];
}

export function jkToTelemetry(s: JkStatus, t: number): TelemetryFrame {
  let status = 0;
  if (s.current > 0) status |= flagBit(STATUS_FLAGS, 'charging');
  else if (s.current < 0) status |= flagBit(STATUS_FLAGS, 'discharging');
  else status |= flagBit(STATUS_FLAGS, 'rest');
  if (s.statusBits & 1) status |= flagBit(STATUS_FLAGS, 'charge_fet_on');
  if (s.statusBits & 2) status |= flagBit(STATUS_FLAGS, 'discharge_fet_on');
  if (s.statusBits & 4) status |= flagBit(STATUS_FLAGS, 'balancing');
  return {
    t,
    packVoltage: s.packVoltage,
    current: s.current,
    soc: s.soc,
    cellVoltages: s.cellVoltages,
    temperatures: jkTemperatures(s),
    status,
    alarms: jkAlarms(s.warnings),
  };
}

/** "11.XW_S11.26___" → hardware "11.XW", software "11.26". */
export function splitJkVersion(v: string): { hardware: string; software: string } {
  const m = /^(.*?)_+S(.*?)_*$/.exec(v);
  if (!m) return { hardware: '', software: v };
  return { hardware: m[1]!.replace(/_+$/, ''), software: m[2]! };
}

/**
 * The 0xBA field holds the user-settable "manufacturer id"; on stock boards it reads
 * "Input Userda" followed by the model (JK-B2A24S15P). The model is taken from the JK-… part.
 */
export function jkModel(manufacturerId: string): string {
  const i = manufacturerId.search(/JK[-_]/);
  return i >= 0 ? manufacturerId.slice(i) : manufacturerId || 'JK BMS';
}

export function jkChemistry(batteryType: number | null): Chemistry | 'unknown' {
  return batteryType === 0 ? 'lfp' : batteryType === 1 ? 'nmc' : 'unknown';
}

/** 0xB4 "device id" (user-settable, 8 characters) stands in for a serial number: JK offers no other. */
export function jkDeviceInfo(s: JkStatus): DeviceInfo {
  const v = splitJkVersion(s.softwareVersion);
  return {
    protocol: 'jk',
    model: jkModel(s.manufacturerId),
    serial: s.deviceId,
    boardId: 'jk',
    hardwareRevision: v.hardware,
    firmwareVersion: v.software,
    bootloaderVersion: '',
    cellCount: s.cellCount,
    chemistry: jkChemistry(s.batteryType),
    nominalCapacityAh: s.capacityAh,
    publicKeyFingerprint: null,
    signsEvidence: false,
  };
}

/** Builders for the board side: fields with their wire lengths. */
export function jkU8(id: number, v: number): JkField {
  return { id, value: Uint8Array.of(toUnsigned(v, 8)) };
}
export function jkU16(id: number, v: number): JkField {
  const b = new Uint8Array(2);
  putU16(b, 0, v & 0xffff);
  return { id, value: b };
}
export function jkU32(id: number, v: number): JkField {
  const b = new Uint8Array(4);
  putU32(b, 0, v >>> 0);
  return { id, value: b };
}
export function jkAscii(id: number, s: string): JkField {
  return { id, value: asciiBytes(s, JK_FIELD_LENGTHS.get(id)!) };
}
export function jkCells(volts: number[]): JkField {
  const n = Math.min(volts.length, 85);
  const b = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    b[3 * i] = i + 1;
    putU16(b, 3 * i + 1, toUnsigned(volts[i]! * 1000, 16));
  }
  return { id: 0x79, value: b };
}

function scanJk(rx: RxBuffer): Scan<JkFrame> {
  if (rx.at(0) !== JK_START[0]) {
    let i = 1;
    while (i < rx.length && rx.at(i) !== JK_START[0]) i++;
    return { kind: 'skip', n: i, why: 'garbage' };
  }
  if (rx.length < 2) return { kind: 'need' };
  if (rx.at(1) !== JK_START[1]) return { kind: 'skip', n: 1, why: 'garbage' };
  if (rx.length < 4) return { kind: 'need' };
  const total = ((rx.at(2) << 8) | rx.at(3)) + 2;
  if (total < JK_OVERHEAD || total > JK_MAX_FRAME) return { kind: 'skip', n: 1, why: 'malformed' };
  if (rx.length < total) return { kind: 'need' };
  if (rx.at(total - 5) !== JK_END_MARK) return { kind: 'skip', n: 1, why: 'malformed' };
  const bytes = rx.copy(0, total);
  const want = byteSum(bytes, 0, total - 4) & 0xffff;
  if (want !== ((bytes[total - 2]! << 8) | bytes[total - 1]!)) return { kind: 'skip', n: total, why: 'crc' };
  // Start, length, end mark and checksum are checked: the fields can be taken as they are.
  return {
    kind: 'frame',
    n: total,
    frame: {
      bmsId: u32(bytes, 4, 'JK BMS id'),
      command: bytes[8]!,
      source: bytes[9]!,
      type: bytes[10]!,
      payload: bytes.slice(11, total - 9),
      recordNumber: u32(bytes, total - 9, 'JK record number'),
    },
  };
}

export function createJkExtractor(): FrameExtractor<JkFrame> & { readonly stats: ExtractorStats } {
  return new ScanningExtractor(scanJk);
}
