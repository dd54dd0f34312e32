import { DecodeError, PackscopeError } from '../errors.js';
import { ALARM_FLAGS, flagBit, STATUS_FLAGS, type AlarmFlag, type DeviceInfo, type TelemetryFrame } from '../types/domain.js';
import { asciiBytes, asciiField, byteSum, hex2, hex4, putU16, round1, s16, toS16, toUnsigned, u16, u8, type ExtractorStats, type RxBuffer } from './common.js';
import { indexOfByte, ScanningExtractor, type FrameExtractor, type Scan } from './extractor.js';

/**
 * JBD / Xiaoxiang ("smart BMS") UART protocol, 9600 8N1.
 *
 *   request   DD A5|5A reg len data… chk_hi chk_lo 77      (A5 read, 5A write)
 *   response  DD reg status len data… chk_hi chk_lo 77
 *
 * chk = 0x10000 − sum(bytes from byte 2 through the last data byte), big-endian: byte 2 is the
 * register in a request and the status in a response, byte 3 the length. Status 0x00 is success;
 * anything else (0x80 on the boards we know of) means the board refused the register.
 * PackScope only reads: 0x03 basic info, 0x04 cell voltages, 0x05 hardware version.
 */
export const JBD_START = 0xdd;
export const JBD_END = 0x77;
export const JBD_READ = 0xa5;
export const JBD_WRITE = 0x5a;
export const JBD_REG_BASIC = 0x03;
export const JBD_REG_CELLS = 0x04;
export const JBD_REG_HWVERSION = 0x05;

/** Lowest temperature code: 0.1 K above absolute zero (JBD reports tenths of a kelvin, 2731 = 0 °C). */
const KELVIN_TENTHS = 2731;

/** One frame off the wire, checked (start, end, length, checksum) but not interpreted. */
export interface JbdFrame {
  /** Byte 1: A5/5A in a request, the register in a response. */
  b1: number;
  /** Byte 2: the register in a request, the status in a response. */
  b2: number;
  data: Uint8Array;
}

export interface JbdRequest {
  kind: 'read' | 'write';
  register: number;
  data: Uint8Array;
}

export interface JbdResponse {
  register: number;
  status: number;
  data: Uint8Array;
}

export function jbdChecksum(b2: number, data: Uint8Array): number {
  return (0x10000 - ((b2 + data.length + byteSum(data)) & 0xffff)) & 0xffff;
}

function encodeFrame(b1: number, b2: number, data: Uint8Array): Uint8Array {
  if (data.length > 255) throw new PackscopeError('USAGE', `JBD payload of ${data.length} bytes exceeds 255`);
  const out = new Uint8Array(data.length + 7);
  out[0] = JBD_START;
  out[1] = b1;
  out[2] = b2;
  out[3] = data.length;
  out.set(data, 4);
  putU16(out, 4 + data.length, jbdChecksum(b2, data));
  out[out.length - 1] = JBD_END;
  return out;
}

export function encodeJbdRead(register: number): Uint8Array {
  return encodeFrame(JBD_READ, register & 0xff, new Uint8Array(0));
}

export function encodeJbdRequest(req: JbdRequest): Uint8Array {
  return encodeFrame(req.kind === 'read' ? JBD_READ : JBD_WRITE, req.register & 0xff, req.data);
}

export function encodeJbdResponse(res: JbdResponse): Uint8Array {
  return encodeFrame(res.register & 0xff, res.status & 0xff, res.data);
}

/** Decodes exactly one frame (all of `bytes`). */
export function decodeJbdFrame(bytes: Uint8Array): JbdFrame {
  if (bytes.length < 7) throw new DecodeError(`JBD frame too short: ${bytes.length} bytes (minimum 7)`);
  if (bytes[0] !== JBD_START) throw new DecodeError(`JBD frame must start with DD, got ${hex2(bytes[0]!)}`);
  const len = bytes[3]!;
  if (bytes.length !== len + 7) throw new DecodeError(`JBD frame length ${bytes.length} does not match its length byte (${len} → ${len + 7} bytes)`);
  if (bytes[bytes.length - 1] !== JBD_END) throw new DecodeError(`JBD frame must end with 77, got ${hex2(bytes[bytes.length - 1]!)}`);
  const data = bytes.slice(4, 4 + len);
  const want = jbdChecksum(bytes[2]!, data);
  const got = (bytes[4 + len]! << 8) | bytes[5 + len]!;
  if (want !== got) throw new DecodeError(`JBD checksum mismatch: computed ${hex4(want)}, frame has ${hex4(got)}`, { kind: 'checksum' });
  return { b1: bytes[1]!, b2: bytes[2]!, data };
}

export function jbdFrameAsRequest(f: JbdFrame): JbdRequest {
  if (f.b1 !== JBD_READ && f.b1 !== JBD_WRITE) throw new DecodeError(`not a JBD request (byte 1 is ${hex2(f.b1)}, expected A5 or 5A)`);
  return { kind: f.b1 === JBD_READ ? 'read' : 'write', register: f.b2, data: f.data };
}

export function jbdFrameAsResponse(f: JbdFrame): JbdResponse {
  if (f.b1 === JBD_READ || f.b1 === JBD_WRITE) throw new DecodeError(`not a JBD response (byte 1 is ${hex2(f.b1)}, a request marker)`);
  return { register: f.b1, status: f.b2, data: f.data };
}

export function decodeJbdRequest(bytes: Uint8Array): JbdRequest {
  return jbdFrameAsRequest(decodeJbdFrame(bytes));
}

export function decodeJbdResponse(bytes: Uint8Array): JbdResponse {
  return jbdFrameAsResponse(decodeJbdFrame(bytes));
}

/** Throws a typed DEVICE error when the board refused the register (status byte ≠ 0). */
export function checkJbdStatus(res: JbdResponse): void {
  if (res.status !== 0) {
    throw new PackscopeError('DEVICE', `JBD board answered register ${hex2(res.register)} with status ${hex2(res.status)} (refused)`, {
      register: res.register,
      status: res.status,
    });
  }
}

/** Register 0x03, basic information. */
export interface JbdBasicInfo {
  packVoltage: number; // V, 10 mV units
  current: number; // A, 10 mA units, positive = charging
  remainingAh: number; // 10 mAh units
  nominalAh: number;
  cycles: number;
  /** Production date as written: year 2000 + bits 15..9, month 8..5, day 4..0. */
  productionDate: { year: number; month: number; day: number };
  /** Balancing cells, bit 0 = cell 1 (JBD document; some decoders reverse it — see tests). */
  balanceMask: number;
  /** Protection bits (JBD_PROTECTION_BITS). */
  protection: number;
  /** Software version byte: high nibble major, low nibble minor (0x80 → 8.0). */
  softwareVersion: number;
  soc: number; // %
  /** FET control: bit 0 charge on, bit 1 discharge on. */
  fet: number;
  cellCount: number;
  temperatures: number[]; // °C, 0.1 K units
  /** Bytes after the NTC words (newer firmware: humidity, alarms, full-charge capacity …), kept raw. */
  extra: Uint8Array;
}

/** Protection bits that name a board state rather than an ALARM_FLAGS alarm. */
export type JbdDeviceFlag = 'mos_software_lock' | 'charge_timeout';

/**
 * Protection-status bits of register 0x03 bytes 16–17 (JBD document order): bits 0–11 are
 * alarms, 12 the MOS software lock (register 0xE1), 13 "charge timeout close"; 14 and 15 are not
 * documented and are reported by number (see jbdDeviceFlags).
 */
export const JBD_PROTECTION_BITS: readonly (AlarmFlag | JbdDeviceFlag)[] = [
  'cell_overvoltage',
  'cell_undervoltage',
  'pack_overvoltage',
  'pack_undervoltage',
  'charge_overtemperature',
  'charge_undertemperature',
  'discharge_overtemperature',
  'discharge_undertemperature',
  'charge_overcurrent',
  'discharge_overcurrent',
  'short_circuit',
  'afe_fault',
  'mos_software_lock',
  'charge_timeout',
];

export function isJbdAlarmBit(name: AlarmFlag | JbdDeviceFlag): name is AlarmFlag {
  return name !== 'mos_software_lock' && name !== 'charge_timeout';
}

export function decodeJbdBasicInfo(data: Uint8Array): JbdBasicInfo {
  if (data.length < 23) throw new DecodeError(`JBD basic info needs at least 23 bytes, got ${data.length}`);
  const ntc = u8(data, 22, 'JBD NTC count');
  if (data.length < 23 + 2 * ntc) throw new DecodeError(`JBD basic info announces ${ntc} NTCs but holds ${data.length} bytes`);
  const date = u16(data, 10, 'JBD production date');
  const temperatures: number[] = [];
  for (let i = 0; i < ntc; i++) temperatures.push(round1((u16(data, 23 + 2 * i, 'JBD NTC') - KELVIN_TENTHS) / 10));
  return {
    packVoltage: round2(u16(data, 0, 'JBD voltage') / 100),
    current: round2(s16(data, 2, 'JBD current') / 100),
    remainingAh: round2(u16(data, 4, 'JBD remaining') / 100),
    nominalAh: round2(u16(data, 6, 'JBD nominal') / 100),
    cycles: u16(data, 8, 'JBD cycles'),
    productionDate: { year: 2000 + (date >> 9), month: (date >> 5) & 0x0f, day: date & 0x1f },
    balanceMask: (u16(data, 12, 'JBD balance low') | (u16(data, 14, 'JBD balance high') << 16)) >>> 0,
    protection: u16(data, 16, 'JBD protection'),
    softwareVersion: data[18]!,
    soc: data[19]!,
    fet: data[20]!,
    cellCount: data[21]!,
    temperatures,
    extra: data.slice(23 + 2 * ntc),
  };
}

export function encodeJbdBasicInfo(b: JbdBasicInfo): Uint8Array {
  const ntc = Math.min(b.temperatures.length, 255);
  const out = new Uint8Array(23 + 2 * ntc + b.extra.length);
  putU16(out, 0, toUnsigned(b.packVoltage * 100, 16));
  putU16(out, 2, toS16(b.current * 100));
  putU16(out, 4, toUnsigned(b.remainingAh * 100, 16));
  putU16(out, 6, toUnsigned(b.nominalAh * 100, 16));
  putU16(out, 8, toUnsigned(b.cycles, 16));
  const d = b.productionDate;
  putU16(out, 10, ((toUnsigned(d.year - 2000, 7) << 9) | (toUnsigned(d.month, 4) << 5) | toUnsigned(d.day, 5)) & 0xffff);
  putU16(out, 12, b.balanceMask & 0xffff);
  putU16(out, 14, (b.balanceMask >>> 16) & 0xffff);
  putU16(out, 16, b.protection & 0xffff);
  out[18] = b.softwareVersion & 0xff;
  out[19] = toUnsigned(b.soc, 8);
  out[20] = b.fet & 0xff;
  out[21] = toUnsigned(b.cellCount, 8);
  out[22] = ntc;
  for (let i = 0; i < ntc; i++) putU16(out, 23 + 2 * i, toUnsigned(b.temperatures[i]! * 10 + KELVIN_TENTHS, 16));
  out.set(b.extra, 23 + 2 * ntc);
  return out;
}

/** Register 0x04: one big-endian millivolt word per cell. */
export function decodeJbdCells(data: Uint8Array): number[] {
  if (data.length % 2 !== 0) throw new DecodeError(`JBD cell block has an odd length (${data.length})`);
  const cells: number[] = [];
  for (let i = 0; i < data.length; i += 2) cells.push(u16(data, i, 'JBD cell') / 1000);
  return cells;
}

export function encodeJbdCells(volts: number[]): Uint8Array {
  if (volts.length > 127) throw new PackscopeError('USAGE', `JBD carries at most 127 cells, got ${volts.length}`);
  const out = new Uint8Array(volts.length * 2);
  volts.forEach((v, i) => putU16(out, 2 * i, toUnsigned(v * 1000, 16)));
  return out;
}

/** Register 0x05: the hardware version as ASCII (e.g. "JBD-SP04S034-L4S-200A-B-U"). */
export function decodeJbdHardwareVersion(data: Uint8Array): string {
  return asciiField(data);
}

export function encodeJbdHardwareVersion(s: string): Uint8Array {
  return asciiBytes(s.slice(0, 255));
}

export function jbdSoftwareVersionString(v: number): string {
  return `${v >> 4}.${v & 0x0f}`;
}

/** Alarm bits (ALARM_FLAGS) from the protection word; the board-state bits are jbdDeviceFlags'. */
export function jbdAlarms(protection: number): number {
  let bits = 0;
  JBD_PROTECTION_BITS.forEach((name, i) => {
    if (isJbdAlarmBit(name) && (protection >> i) & 1) bits |= flagBit(ALARM_FLAGS, name);
  });
  return bits;
}

/** Set protection bits with no alarm: the named board states, then undocumented bits by number. */
export function jbdDeviceFlags(protection: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < 16; i++) {
    if (!((protection >> i) & 1)) continue;
    const name = JBD_PROTECTION_BITS[i];
    if (name === undefined) out.push(`protection_bit_${i}`);
    else if (!isJbdAlarmBit(name)) out.push(name);
  }
  return out;
}

export function jbdStatus(b: JbdBasicInfo): number {
  let s = 0;
  if (b.current > 0) s |= flagBit(STATUS_FLAGS, 'charging');
  else if (b.current < 0) s |= flagBit(STATUS_FLAGS, 'discharging');
  else s |= flagBit(STATUS_FLAGS, 'rest');
  if (b.balanceMask !== 0) s |= flagBit(STATUS_FLAGS, 'balancing');
  if (b.fet & 1) s |= flagBit(STATUS_FLAGS, 'charge_fet_on');
  if (b.fet & 2) s |= flagBit(STATUS_FLAGS, 'discharge_fet_on');
  return s;
}

/** One TelemetryFrame from a 0x03 + 0x04 pair; `t` is the host's receive time (JBD has no clock). */
export function jbdToTelemetry(basic: JbdBasicInfo, cells: number[], t: number): TelemetryFrame {
  return {
    t,
    packVoltage: basic.packVoltage,
    current: basic.current,
    soc: basic.soc,
    cellVoltages: cells,
    temperatures: basic.temperatures,
    status: jbdStatus(basic),
    alarms: jbdAlarms(basic.protection),
    ...(jbdDeviceFlags(basic.protection).length ? { deviceFlags: jbdDeviceFlags(basic.protection) } : {}),
  };
}

/** JBD offers no serial number over these registers; the hardware version string names the board. */
export function jbdDeviceInfo(basic: JbdBasicInfo, hardwareVersion: string): DeviceInfo {
  return {
    protocol: 'jbd',
    model: hardwareVersion || 'JBD BMS',
    serial: '',
    boardId: 'jbd',
    hardwareRevision: hardwareVersion,
    firmwareVersion: jbdSoftwareVersionString(basic.softwareVersion),
    bootloaderVersion: '',
    cellCount: basic.cellCount,
    chemistry: 'unknown',
    nominalCapacityAh: basic.nominalAh,
    publicKeyFingerprint: null,
    signsEvidence: false,
  };
}

/** Frame scanner for the shared extractor loop. Longest frame: 255 data bytes + 7. */
function scanJbd(rx: RxBuffer): Scan<JbdFrame> {
  if (rx.at(0) !== JBD_START) return { kind: 'skip', n: indexOfByte(rx, JBD_START, 1), why: 'garbage' };
  if (rx.length < 4) return { kind: 'need' };
  const len = rx.at(3);
  const total = len + 7;
  if (rx.length < total) return { kind: 'need' };
  if (rx.at(total - 1) !== JBD_END) return { kind: 'skip', n: 1, why: 'malformed' };
  const data = rx.copy(4, 4 + len);
  const want = jbdChecksum(rx.at(2), data);
  const got = (rx.at(4 + len) << 8) | rx.at(5 + len);
  // Framing is intact (start, length and end agree), so the whole frame is spent.
  if (want !== got) return { kind: 'skip', n: total, why: 'crc' };
  return { kind: 'frame', n: total, frame: { b1: rx.at(1), b2: rx.at(2), data } };
}

export function createJbdExtractor(): FrameExtractor<JbdFrame> & { readonly stats: ExtractorStats } {
  return new ScanningExtractor(scanJbd);
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
