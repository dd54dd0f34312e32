import { DecodeError, PackscopeError } from '../errors.js';
import { ALARM_FLAGS, flagBit, STATUS_FLAGS, type AlarmFlag, type DeviceInfo, type TelemetryFrame } from '../types/domain.js';
import { asciiBytes, asciiField, hex2, hex4, putU16, round1, s16, toS16, toUnsigned, u16, u8, type ExtractorStats, type RxBuffer } from './common.js';
import { indexOfByte, ScanningExtractor, type FrameExtractor, type Scan } from './extractor.js';

/**
 * Pylontech RS485 protocol (the ASCII "~…\r" protocol of server-rack batteries, versions 2.0 and
 * 3.5; not the CAN broadcasts of shared/can/pylontech.ts). Every frame is one line of ASCII:
 *
 *   ~ VER ADR CID1 CID2|RTN LENGTH INFO… CHKSUM \r
 *
 * VER, ADR, CID1, CID2/RTN are two hex digits each; LENGTH four: LCHKSUM (high nibble) and LENID
 * (low 12 bits, the number of INFO characters); INFO is binary data written as hex; CHKSUM four
 * hex digits. A request carries CID2 (the command), a response RTN (0 = normal) in that place.
 *
 *   CHKSUM  = (−sum of the ASCII codes between '~' and CHKSUM) mod 65536
 *   LCHKSUM = (−(sum of LENID's three nibbles)) mod 16, 0 when LENID is 0
 *
 * Commands PackScope reads (CID1 0x46, lithium battery): 0x42 analog values, 0x44 alarm info,
 * 0x47 system parameters, 0x4F protocol version, 0x51 manufacturer info, 0x92 charge/discharge
 * management, 0x93 module serial number. The module is chosen by ADR (and repeated in INFO as
 * the "command" byte); INFO 0xFF in 0x42 asks one module for the values of every module.
 * This file is pure. The host cuts its byte stream into lines with @serialport/parser-readline
 * (delimiter '\r'); createPylonRs485Extractor is the same framing without Node streams, for the
 * simulated modules and anything else that must stay platform-free.
 */
export const PYLON_SOI = 0x7e; // '~'
export const PYLON_EOI = 0x0d; // '\r'
export const PYLON_CID1_BATTERY = 0x46;
/** Protocol version byte this reader speaks (2.0; 3.5 frames carry 0x35 and the same layout). */
export const PYLON_VERSION = 0x20;
/** INFO "command" byte asking for every module at once (0x42 analog values). */
export const PYLON_ALL_MODULES = 0xff;
/** Longest INFO PackScope accepts: LENID is 12 bits (4095 characters). */
export const PYLON_MAX_INFO_CHARS = 0xfff;
/** Longest line: '~' + 12 header characters + INFO + 4 checksum characters + '\r'. */
export const PYLON_MAX_LINE = 1 + 12 + PYLON_MAX_INFO_CHARS + 4 + 1;

export const PYLON_CID2 = {
  analog: 0x42,
  alarm: 0x44,
  systemParameters: 0x47,
  protocolVersion: 0x4f,
  manufacturer: 0x51,
  management: 0x92,
  serial: 0x93,
} as const;

/** Response codes (RTN) as the protocol document names them. */
export const PYLON_RTN: Readonly<Record<number, string>> = {
  0x00: 'normal',
  0x01: 'VER error',
  0x02: 'CHKSUM error',
  0x03: 'LCHKSUM error',
  0x04: 'CID2 invalid',
  0x05: 'command format error',
  0x06: 'invalid data',
  0x90: 'ADR error',
  0x91: 'communication error between modules',
};

/** One frame, checked (hex, LENGTH, CHKSUM) but not interpreted. */
export interface PylonFrame {
  ver: number;
  adr: number;
  cid1: number;
  /** CID2 in a request, RTN in a response. */
  cid2: number;
  info: Uint8Array;
}

/** LENGTH field for an INFO of `lenid` ASCII characters. */
export function pylonLengthField(lenid: number): number {
  if (!Number.isInteger(lenid) || lenid < 0 || lenid > PYLON_MAX_INFO_CHARS)
    throw new PackscopeError('USAGE', `Pylontech INFO of ${lenid} characters is out of range`);
  if (lenid === 0) return 0;
  const sum = (lenid & 0xf) + ((lenid >> 4) & 0xf) + ((lenid >> 8) & 0xf);
  return (((16 - (sum % 16)) & 0xf) << 12) | lenid;
}

/** CHKSUM over ASCII codes (everything between '~' and the checksum itself). */
export function pylonChecksum(ascii: Uint8Array | string): number {
  let sum = 0;
  if (typeof ascii === 'string') for (let i = 0; i < ascii.length; i++) sum += ascii.charCodeAt(i);
  else for (const c of ascii) sum += c;
  return (0x10000 - (sum & 0xffff)) & 0xffff;
}

function hexOf(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += hex2(x);
  return s;
}

/** Encodes a frame as the bytes on the wire, '~' and '\r' included. */
export function encodePylonFrame(f: PylonFrame): Uint8Array {
  const info = hexOf(f.info);
  const body = `${hex2(f.ver & 0xff)}${hex2(f.adr & 0xff)}${hex2(f.cid1 & 0xff)}${hex2(f.cid2 & 0xff)}${hex4(pylonLengthField(info.length))}${info}`;
  const text = `~${body}${hex4(pylonChecksum(body))}`;
  const out = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  out[text.length] = PYLON_EOI;
  return out;
}

/** A read request to module `adr`: INFO is the module's address (0x4F and 0x51 take none). */
export function encodePylonRequest(cid2: number, adr: number, info: Uint8Array = defaultRequestInfo(cid2, adr)): Uint8Array {
  return encodePylonFrame({ ver: PYLON_VERSION, adr, cid1: PYLON_CID1_BATTERY, cid2, info });
}

function defaultRequestInfo(cid2: number, adr: number): Uint8Array {
  return cid2 === PYLON_CID2.protocolVersion || cid2 === PYLON_CID2.manufacturer ? new Uint8Array(0) : Uint8Array.of(adr & 0xff);
}

export function encodePylonResponse(adr: number, info: Uint8Array, rtn = 0, ver = PYLON_VERSION): Uint8Array {
  return encodePylonFrame({ ver, adr, cid1: PYLON_CID1_BATTERY, cid2: rtn, info });
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function hexByte(line: Uint8Array, at: number, what: string): number {
  const hi = hexDigit(line[at] ?? 0);
  const lo = hexDigit(line[at + 1] ?? 0);
  if (hi < 0 || lo < 0) throw new DecodeError(`Pylontech ${what}: '${String.fromCharCode(line[at] ?? 0x3f, line[at + 1] ?? 0x3f)}' is not hex`);
  return (hi << 4) | lo;
}

/**
 * Decodes one line. `line` may or may not include the leading '~' and the trailing '\r' (a line
 * reader strips the delimiter); anything before the last '~' is line noise and is ignored.
 * A CHKSUM or LCHKSUM mismatch is a DecodeError with kind 'checksum'.
 */
export function decodePylonLine(line: Uint8Array): PylonFrame {
  let end = line.length;
  if (end > 0 && line[end - 1] === PYLON_EOI) end--;
  const soi = line.lastIndexOf(PYLON_SOI, end - 1);
  const b = line.subarray(soi + 1, end);
  if (b.length < 16) throw new DecodeError(`Pylontech frame too short: ${b.length} characters (minimum 16)`);
  if (b.length % 2 !== 0) throw new DecodeError(`Pylontech frame has an odd number of characters (${b.length})`);
  const ver = hexByte(b, 0, 'VER');
  const adr = hexByte(b, 2, 'ADR');
  const cid1 = hexByte(b, 4, 'CID1');
  const cid2 = hexByte(b, 6, 'CID2');
  const length = (hexByte(b, 8, 'LENGTH') << 8) | hexByte(b, 10, 'LENGTH');
  const lenid = length & 0xfff;
  if (b.length !== 16 + lenid) throw new DecodeError(`Pylontech LENID says ${lenid} INFO characters, the frame holds ${b.length - 16}`);
  const body = b.subarray(0, b.length - 4);
  const want = pylonChecksum(body);
  const got = (hexByte(b, b.length - 4, 'CHKSUM') << 8) | hexByte(b, b.length - 2, 'CHKSUM');
  if (want !== got) throw new DecodeError(`Pylontech CHKSUM mismatch: computed ${hex4(want)}, frame has ${hex4(got)}`, { kind: 'checksum' });
  if (pylonLengthField(lenid) !== length) {
    throw new DecodeError(`Pylontech LCHKSUM mismatch: LENGTH ${hex4(length)}, expected ${hex4(pylonLengthField(lenid))}`, { kind: 'checksum' });
  }
  const info = new Uint8Array(lenid / 2);
  for (let i = 0; i < info.length; i++) info[i] = hexByte(b, 12 + 2 * i, 'INFO');
  return { ver, adr, cid1, cid2, info };
}

/** Throws a typed DEVICE error when a response's RTN is not 'normal'. */
export function checkPylonRtn(f: PylonFrame): void {
  if (f.cid2 !== 0) {
    throw new PackscopeError('DEVICE', `Pylontech module ${f.adr} answered with RTN ${hex2(f.cid2)} (${PYLON_RTN[f.cid2] ?? 'unknown code'})`, {
      address: f.adr,
      rtn: f.cid2,
    });
  }
}

/** Temperatures travel in tenths of a kelvin (2731 = 0 °C). */
const KELVIN_TENTHS = 2731;
const toCelsius = (raw: number) => round1((raw - KELVIN_TENTHS) / 10);
const fromCelsius = (c: number) => toS16(c * 10 + KELVIN_TENTHS);

/** 0x42 analog values of one module. */
export interface PylonModuleAnalog {
  cellVoltages: number[]; // V
  /** Every sensor as sent: the first is the BMS board, the others the cell groups. */
  temperatures: number[]; // °C
  current: number; // A, positive = charging (100 mA units)
  voltage: number; // V
  remainingAh: number;
  totalAh: number;
  cycles: number;
  /** "User defined items": 2 = 16-bit capacities only, 4 = 24-bit capacities follow (over 65 Ah). */
  userDefinedItems: number;
}

export interface PylonAnalog {
  dataFlag: number;
  /** The module address in a single-module answer, the module count in an all-modules answer. */
  command: number;
  modules: PylonModuleAnalog[];
}

/** SOC from the capacities (the protocol carries no SOC field), percent. */
export function pylonSoc(m: Pick<PylonModuleAnalog, 'remainingAh' | 'totalAh'>): number {
  return m.totalAh > 0 ? Math.round((m.remainingAh / m.totalAh) * 10000) / 100 : 0;
}

function decodeModule(info: Uint8Array, at: number): { m: PylonModuleAnalog; next: number } {
  let p = at;
  const cells = u8(info, p++, 'Pylontech cell count');
  const cellVoltages: number[] = [];
  for (let i = 0; i < cells; i++, p += 2) cellVoltages.push(s16(info, p, 'Pylontech cell voltage') / 1000);
  const nt = u8(info, p++, 'Pylontech temperature count');
  const temperatures: number[] = [];
  for (let i = 0; i < nt; i++, p += 2) temperatures.push(toCelsius(s16(info, p, 'Pylontech temperature')));
  const current = round1(s16(info, p, 'Pylontech current') / 10);
  const voltage = u16(info, p + 2, 'Pylontech voltage') / 1000;
  let remainingAh = u16(info, p + 4, 'Pylontech remaining capacity') / 1000;
  const userDefinedItems = u8(info, p + 6, 'Pylontech user defined items');
  let totalAh = u16(info, p + 7, 'Pylontech total capacity') / 1000;
  const cycles = u16(info, p + 9, 'Pylontech cycles');
  p += 11;
  if (userDefinedItems > 2) {
    remainingAh = u24(info, p, 'Pylontech remaining capacity (24-bit)') / 1000;
    totalAh = u24(info, p + 3, 'Pylontech total capacity (24-bit)') / 1000;
    p += 6;
  }
  return { m: { cellVoltages, temperatures, current, voltage, remainingAh, totalAh, cycles, userDefinedItems }, next: p };
}

function u24(b: Uint8Array, o: number, what: string): number {
  return (u8(b, o, what) << 16) | u16(b, o + 1, what);
}

/**
 * 0x42 INFO. The byte after DATAFLAG is the module address in an answer about one module and
 * the module count in an answer about all of them (request INFO 0xFF): the frame alone cannot
 * say which, so `allModules` says what was asked; without it, an answer that is exactly that many
 * modules long is read as all modules, anything else as one.
 */
export function decodePylonAnalog(info: Uint8Array, allModules?: boolean): PylonAnalog {
  const dataFlag = u8(info, 0, 'Pylontech DATAFLAG');
  const command = u8(info, 1, 'Pylontech command');
  const readModules = (n: number): PylonModuleAnalog[] => {
    const out: PylonModuleAnalog[] = [];
    let p = 2;
    for (let i = 0; i < n; i++) {
      const r = decodeModule(info, p);
      out.push(r.m);
      p = r.next;
    }
    if (p !== info.length) throw new DecodeError(`Pylontech analog values: ${info.length - p} bytes left over after ${n} module(s)`);
    return out;
  };
  if (allModules === true) return { dataFlag, command, modules: readModules(command) };
  if (allModules === false) return { dataFlag, command, modules: readModules(1) };
  if (command > 1) {
    try {
      return { dataFlag, command, modules: readModules(command) };
    } catch {
      // not that many modules: a single module's answer
    }
  }
  return { dataFlag, command, modules: readModules(1) };
}

export function encodePylonAnalog(a: PylonAnalog): Uint8Array {
  const out: number[] = [a.dataFlag & 0xff, a.command & 0xff];
  const w16 = (v: number) => out.push((v >> 8) & 0xff, v & 0xff);
  for (const m of a.modules) {
    out.push(toUnsigned(m.cellVoltages.length, 8));
    for (const v of m.cellVoltages) w16(toS16(v * 1000));
    out.push(toUnsigned(m.temperatures.length, 8));
    for (const t of m.temperatures) w16(fromCelsius(t));
    w16(toS16(m.current * 10));
    w16(toUnsigned(m.voltage * 1000, 16));
    const big = m.userDefinedItems > 2;
    w16(big ? 0xffff : toUnsigned(m.remainingAh * 1000, 16));
    out.push(big ? 4 : 2);
    w16(big ? 0xffff : toUnsigned(m.totalAh * 1000, 16));
    w16(toUnsigned(m.cycles, 16));
    if (big) {
      const r = toUnsigned(m.remainingAh * 1000, 24);
      const t = toUnsigned(m.totalAh * 1000, 24);
      out.push(r >> 16, (r >> 8) & 0xff, r & 0xff, t >> 16, (t >> 8) & 0xff, t & 0xff);
    }
  }
  return Uint8Array.from(out);
}

/** Per-item alarm state in 0x44: 0 normal, 1 below the lower limit, 2 above the upper limit, 0xF0 other fault. */
export const PYLON_ALARM_STATE: Readonly<Record<number, string>> = {
  0x00: 'normal',
  0x01: 'below lower limit',
  0x02: 'above upper limit',
  0xf0: 'other fault',
};

/** 0x44 alarm info of one module. */
export interface PylonAlarmInfo {
  dataFlag: number;
  command: number;
  cellStates: number[];
  temperatureStates: number[];
  chargeCurrentState: number;
  moduleVoltageState: number;
  dischargeCurrentState: number;
  /** Status 1–5 (protections, MOSFETs, state, balancing cells 1–8 and 9–16). */
  status: [number, number, number, number, number];
}

export function decodePylonAlarmInfo(info: Uint8Array): PylonAlarmInfo {
  let p = 0;
  const dataFlag = u8(info, p++, 'Pylontech DATAFLAG');
  const command = u8(info, p++, 'Pylontech command');
  const nc = u8(info, p++, 'Pylontech cell count');
  const cellStates = Array.from(info.subarray(p, p + nc));
  if (cellStates.length !== nc) throw new DecodeError(`Pylontech alarm info announces ${nc} cells but holds ${cellStates.length}`);
  p += nc;
  const nt = u8(info, p++, 'Pylontech temperature count');
  const temperatureStates = Array.from(info.subarray(p, p + nt));
  if (temperatureStates.length !== nt) throw new DecodeError(`Pylontech alarm info announces ${nt} temperatures but holds ${temperatureStates.length}`);
  p += nt;
  const b = (i: number, what: string) => u8(info, p + i, `Pylontech ${what}`);
  return {
    dataFlag,
    command,
    cellStates,
    temperatureStates,
    chargeCurrentState: b(0, 'charge current state'),
    moduleVoltageState: b(1, 'module voltage state'),
    dischargeCurrentState: b(2, 'discharge current state'),
    status: [b(3, 'status 1'), b(4, 'status 2'), b(5, 'status 3'), b(6, 'status 4'), b(7, 'status 5')],
  };
}

export function encodePylonAlarmInfo(a: PylonAlarmInfo): Uint8Array {
  return Uint8Array.from([
    a.dataFlag,
    a.command,
    a.cellStates.length,
    ...a.cellStates,
    a.temperatureStates.length,
    ...a.temperatureStates,
    a.chargeCurrentState,
    a.moduleVoltageState,
    a.dischargeCurrentState,
    ...a.status,
  ]);
}

/** Status 1 bits (protections), protocol document order: bit → alarm. Bit 3 is reserved. */
const STATUS1_ALARMS: ReadonlyArray<[number, AlarmFlag]> = [
  [0, 'pack_overvoltage'],
  [1, 'cell_undervoltage'],
  [2, 'charge_overcurrent'],
  [4, 'discharge_overcurrent'],
  [5, 'discharge_overtemperature'],
  [6, 'charge_overtemperature'],
  [7, 'pack_undervoltage'],
];
/** Status 2: bit 0 pre-charge MOSFET, bit 1 charge MOSFET, bit 2 discharge MOSFET, bit 3 using the module's own power. */
export const PYLON_STATUS2 = { precharge: 0x01, chargeMos: 0x02, dischargeMos: 0x04, usingModulePower: 0x08 } as const;

/** ALARM_FLAGS bits from 0x44: status 1 protections, and cell/temperature/current item states. */
export function pylonAlarms(a: PylonAlarmInfo): number {
  let bits = 0;
  const set = (n: AlarmFlag) => (bits |= flagBit(ALARM_FLAGS, n));
  for (const [bit, name] of STATUS1_ALARMS) if ((a.status[0] >> bit) & 1) set(name);
  if (a.cellStates.includes(0x02)) set('cell_overvoltage');
  if (a.cellStates.includes(0x01)) set('cell_undervoltage');
  if (a.moduleVoltageState === 0x02) set('pack_overvoltage');
  if (a.moduleVoltageState === 0x01) set('pack_undervoltage');
  if (a.chargeCurrentState === 0x02) set('charge_overcurrent');
  if (a.dischargeCurrentState === 0x02) set('discharge_overcurrent');
  if (a.temperatureStates.some((s) => s === 0xf0)) set('temperature_sensor_fault');
  return bits;
}

/** Balancing cells from status 4 (cells 1–8) and status 5 (cells 9–16), bit 0 = cell 1. */
export function pylonBalanceMask(a: PylonAlarmInfo): number {
  return (a.status[3] | (a.status[4] << 8)) >>> 0;
}

/** STATUS_FLAGS bits from the analog values (current) and, when read, the alarm info (MOSFETs, balancing). */
export function pylonStatus(m: PylonModuleAnalog, a: PylonAlarmInfo | null): number {
  let s = 0;
  if (m.current > 0) s |= flagBit(STATUS_FLAGS, 'charging');
  else if (m.current < 0) s |= flagBit(STATUS_FLAGS, 'discharging');
  else s |= flagBit(STATUS_FLAGS, 'rest');
  if (a) {
    if (a.status[1] & PYLON_STATUS2.chargeMos) s |= flagBit(STATUS_FLAGS, 'charge_fet_on');
    if (a.status[1] & PYLON_STATUS2.dischargeMos) s |= flagBit(STATUS_FLAGS, 'discharge_fet_on');
    if (pylonBalanceMask(a)) s |= flagBit(STATUS_FLAGS, 'balancing');
  }
  return s;
}

export function pylonToTelemetry(m: PylonModuleAnalog, alarm: PylonAlarmInfo | null, t: number): TelemetryFrame {
  return {
    t,
    packVoltage: m.voltage,
    current: m.current,
    soc: pylonSoc(m),
    cellVoltages: m.cellVoltages,
    temperatures: m.temperatures,
    status: pylonStatus(m, alarm),
    alarms: alarm ? pylonAlarms(alarm) : 0,
  };
}

/** 0x47 system parameters (limits the module protects at), as python-pylontech and the document lay them out. */
export interface PylonSystemParameters {
  cellHighVoltage: number; // V
  cellLowVoltage: number;
  cellUnderVoltage: number;
  chargeHighTemperature: number; // °C
  chargeLowTemperature: number;
  chargeCurrentLimit: number; // A (10 mA units)
  moduleHighVoltage: number; // V
  moduleLowVoltage: number;
  moduleUnderVoltage: number;
  dischargeHighTemperature: number; // °C
  dischargeLowTemperature: number;
  dischargeCurrentLimit: number; // A (10 mA units, negative = discharge)
}

const SYSTEM_PARAMETER_FIELDS: ReadonlyArray<[keyof PylonSystemParameters, 'volt' | 'temp' | 'amp']> = [
  ['cellHighVoltage', 'volt'],
  ['cellLowVoltage', 'volt'],
  ['cellUnderVoltage', 'volt'],
  ['chargeHighTemperature', 'temp'],
  ['chargeLowTemperature', 'temp'],
  ['chargeCurrentLimit', 'amp'],
  ['moduleHighVoltage', 'volt'],
  ['moduleLowVoltage', 'volt'],
  ['moduleUnderVoltage', 'volt'],
  ['dischargeHighTemperature', 'temp'],
  ['dischargeLowTemperature', 'temp'],
  ['dischargeCurrentLimit', 'amp'],
];

/** 0x47 INFO: INFOFLAG, then twelve 16-bit limits. */
export function decodePylonSystemParameters(info: Uint8Array): PylonSystemParameters {
  const out = {} as PylonSystemParameters;
  SYSTEM_PARAMETER_FIELDS.forEach(([name, kind], i) => {
    const o = 1 + 2 * i;
    out[name] =
      kind === 'volt'
        ? u16(info, o, `Pylontech ${name}`) / 1000
        : kind === 'temp'
          ? toCelsius(s16(info, o, `Pylontech ${name}`))
          : s16(info, o, `Pylontech ${name}`) / 100;
  });
  return out;
}

export function encodePylonSystemParameters(p: PylonSystemParameters, infoFlag = 0x11): Uint8Array {
  const out = new Uint8Array(1 + 2 * SYSTEM_PARAMETER_FIELDS.length);
  out[0] = infoFlag;
  SYSTEM_PARAMETER_FIELDS.forEach(([name, kind], i) => {
    const v = p[name];
    putU16(out, 1 + 2 * i, kind === 'volt' ? toUnsigned(v * 1000, 16) : kind === 'temp' ? fromCelsius(v) : toS16(v * 100));
  });
  return out;
}

/** 0x51 manufacturer info: device name (10 bytes), software version (2), manufacturer (20, '-' padded). */
export interface PylonManufacturerInfo {
  device: string;
  version: string;
  manufacturer: string;
}

export function decodePylonManufacturerInfo(info: Uint8Array): PylonManufacturerInfo {
  if (info.length < 12) throw new DecodeError(`Pylontech manufacturer info needs at least 12 bytes, got ${info.length}`);
  return {
    device: asciiField(info.subarray(0, 10)),
    version: `${info[10]}.${info[11]}`,
    manufacturer: asciiField(info.subarray(12)).replace(/-+$/, ''),
  };
}

export function encodePylonManufacturerInfo(m: PylonManufacturerInfo): Uint8Array {
  const out = new Uint8Array(32);
  out.set(asciiBytes(m.device.slice(0, 10)), 0);
  const [major, minor] = m.version.split('.').map((x) => parseInt(x, 10));
  out[10] = (major ?? 0) & 0xff;
  out[11] = (minor ?? 0) & 0xff;
  out.set(asciiBytes(m.manufacturer.slice(0, 20).padEnd(20, '-')), 12);
  return out;
}

/** 0x93: the command byte (address), then 16 ASCII characters. */
export function decodePylonSerial(info: Uint8Array): { command: number; serial: string } {
  if (info.length < 2) throw new DecodeError(`Pylontech serial number answer too short (${info.length} bytes)`);
  return { command: info[0]!, serial: asciiField(info.subarray(1, 17)) };
}

export function encodePylonSerial(command: number, serial: string): Uint8Array {
  const out = new Uint8Array(17);
  out[0] = command & 0xff;
  out.set(asciiBytes(serial.slice(0, 16).padEnd(16, ' ')), 1);
  return out;
}

/** 0x92 charge/discharge management: the limits the module asks its inverter for. */
export interface PylonManagementInfo {
  command: number;
  chargeVoltageLimit: number; // V
  dischargeVoltageLimit: number; // V
  chargeCurrentLimit: number; // A
  dischargeCurrentLimit: number; // A (negative)
  status: number;
}

/** 0x92 status bits. */
export const PYLON_MANAGEMENT_STATUS = {
  chargeEnable: 0x80,
  dischargeEnable: 0x40,
  chargeImmediately1: 0x20,
  chargeImmediately2: 0x10,
  fullChargeRequest: 0x08,
} as const;

export function decodePylonManagementInfo(info: Uint8Array): PylonManagementInfo {
  return {
    command: u8(info, 0, 'Pylontech command'),
    chargeVoltageLimit: u16(info, 1, 'Pylontech charge voltage limit') / 1000,
    dischargeVoltageLimit: u16(info, 3, 'Pylontech discharge voltage limit') / 1000,
    chargeCurrentLimit: s16(info, 5, 'Pylontech charge current limit') / 10,
    dischargeCurrentLimit: s16(info, 7, 'Pylontech discharge current limit') / 10,
    status: u8(info, 9, 'Pylontech management status'),
  };
}

export function encodePylonManagementInfo(m: PylonManagementInfo): Uint8Array {
  const out = new Uint8Array(10);
  out[0] = m.command & 0xff;
  putU16(out, 1, toUnsigned(m.chargeVoltageLimit * 1000, 16));
  putU16(out, 3, toUnsigned(m.dischargeVoltageLimit * 1000, 16));
  putU16(out, 5, toS16(m.chargeCurrentLimit * 10));
  putU16(out, 7, toS16(m.dischargeCurrentLimit * 10));
  out[9] = m.status & 0xff;
  return out;
}

/** Protocol version from a 0x4F answer's VER byte ("2.0", "3.5"). */
export function pylonVersionString(ver: number): string {
  return `${ver >> 4}.${ver & 0x0f}`;
}

export function pylonDeviceInfo(m: PylonManufacturerInfo, serial: string, analog: PylonModuleAnalog): DeviceInfo {
  return {
    protocol: 'pylontech-rs485',
    model: m.device || 'Pylontech module',
    serial,
    boardId: 'pylontech-rs485',
    hardwareRevision: m.manufacturer,
    firmwareVersion: m.version,
    bootloaderVersion: '',
    cellCount: analog.cellVoltages.length,
    chemistry: 'lfp',
    nominalCapacityAh: analog.totalAh,
    publicKeyFingerprint: null,
    signsEvidence: false,
  };
}

/** Frame scanner for the shared extractor loop: '~' … '\r', at most PYLON_MAX_LINE bytes. */
function scanPylon(rx: RxBuffer): Scan<PylonFrame> {
  if (rx.at(0) !== PYLON_SOI) return { kind: 'skip', n: indexOfByte(rx, PYLON_SOI, 1), why: 'garbage' };
  const eoi = indexOfByte(rx, PYLON_EOI, 1);
  const nextSoi = indexOfByte(rx, PYLON_SOI, 1);
  // A new '~' before the end: the line so far was cut short (noise, a collision on the bus).
  if (nextSoi < eoi) return { kind: 'skip', n: nextSoi, why: 'malformed' };
  if (eoi === rx.length) return rx.length > PYLON_MAX_LINE ? { kind: 'skip', n: rx.length, why: 'malformed' } : { kind: 'need' };
  try {
    return { kind: 'frame', n: eoi + 1, frame: decodePylonLine(rx.copy(0, eoi + 1)) };
  } catch (e) {
    const checksum = e instanceof DecodeError && (e.details as { kind?: string } | undefined)?.kind === 'checksum';
    return { kind: 'skip', n: eoi + 1, why: checksum ? 'crc' : 'malformed' };
  }
}

export function createPylonRs485Extractor(): FrameExtractor<PylonFrame> & { readonly stats: ExtractorStats } {
  return new ScanningExtractor(scanPylon);
}
