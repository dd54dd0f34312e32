import { DecodeError, PackscopeError } from '../errors.js';
import { ALARM_FLAGS, flagBit, STATUS_FLAGS, type AlarmFlag, type DeviceInfo, type TelemetryFrame } from '../types/domain.js';
import { byteSum, hex2, putU16, putU32, round1, toUnsigned, u16, u32, type ExtractorStats, type RxBuffer } from './common.js';
import { indexOfByte, ScanningExtractor, type FrameExtractor, type Scan } from './extractor.js';

/**
 * Daly UART protocol, 9600 8N1. Every frame is 13 bytes:
 *
 *   A5 addr cmd 08 d0 … d7 chk        chk = sum(bytes 0..11) & 0xFF
 *
 * The host sends from address 0x40 with eight zero data bytes; the board answers from 0x01.
 * 0x95 (cell voltages, three per frame) and 0x96 (temperatures, seven per frame) answer one
 * request with several frames, numbered from 1.
 *
 * Quirk: the board reuses one transmit buffer, so data bytes a reply does not use repeat stale
 * bytes of the previous reply (the last 0x95 frame's unused cell slots, byte 7 of 0x91/0x94 …).
 * Decoders here therefore never read an unused slot; cell and sensor counts come from 0x94.
 *
 * Current sign: the raw value carries a 30000 offset in 0.1 A. Open-source decoders disagree on its
 * sign ((raw−30000)/10 versus (raw−30000)/−10). In every published capture the board's own 0x93
 * state says "discharging" (2) while raw > 30000, and the remaining capacity falls across the
 * polling rounds, so PackScope reads raw above 30000 as discharge:
 *     current [A, positive = charging] = (30000 − raw) / 10.
 */
export const DALY_START = 0xa5;
export const DALY_HOST_ADDRESS = 0x40;
export const DALY_BMS_ADDRESS = 0x01;
export const DALY_FRAME_LENGTH = 13;
export const DALY_CURRENT_OFFSET = 30000;
export const DALY_TEMP_OFFSET = 40;

export const DALY_CMD = {
  soc: 0x90,
  cellRange: 0x91,
  tempRange: 0x92,
  mos: 0x93,
  status: 0x94,
  cells: 0x95,
  temperatures: 0x96,
  balance: 0x97,
  failures: 0x98,
} as const;

export const CELLS_PER_FRAME = 3;
export const TEMPS_PER_FRAME = 7;

export interface DalyFrame {
  address: number;
  command: number;
  data: Uint8Array; // always 8 bytes
}

export function dalyChecksum(bytes: Uint8Array): number {
  return byteSum(bytes, 0, 12) & 0xff;
}

export function encodeDalyFrame(f: DalyFrame): Uint8Array {
  if (f.data.length > 8) throw new PackscopeError('USAGE', `Daly frames carry 8 data bytes, got ${f.data.length}`);
  const out = new Uint8Array(DALY_FRAME_LENGTH);
  out[0] = DALY_START;
  out[1] = f.address & 0xff;
  out[2] = f.command & 0xff;
  out[3] = 8;
  out.set(f.data, 4);
  out[12] = dalyChecksum(out);
  return out;
}

/**
 * The host's read request: A5 40 cmd 08, eight zero bytes, checksum. Boards given a board number
 * n (Daly's PC tool) share an RS485 bus and answer requests sent to address 0x40 + n.
 */
export function encodeDalyRequest(command: number, address: number = DALY_HOST_ADDRESS): Uint8Array {
  return encodeDalyFrame({ address, command, data: new Uint8Array(8) });
}

/** Request address of board number n (0–15) on a shared bus. */
export function dalyBoardAddress(boardNumber: number): number {
  return DALY_HOST_ADDRESS + boardNumber;
}

export function decodeDalyFrame(bytes: Uint8Array): DalyFrame {
  if (bytes.length !== DALY_FRAME_LENGTH) throw new DecodeError(`Daly frame must be 13 bytes, got ${bytes.length}`);
  if (bytes[0] !== DALY_START) throw new DecodeError(`Daly frame must start with A5, got ${hex2(bytes[0]!)}`);
  if (bytes[3] !== 8) throw new DecodeError(`Daly frame length byte must be 08, got ${hex2(bytes[3]!)}`);
  const want = dalyChecksum(bytes);
  if (bytes[12] !== want) throw new DecodeError(`Daly checksum mismatch: computed ${hex2(want)}, frame has ${hex2(bytes[12]!)}`, { kind: 'checksum' });
  return { address: bytes[1]!, command: bytes[2]!, data: bytes.slice(4, 12) };
}

/** Decodes a board reply, checking it comes from the BMS address. */
export function decodeDalyResponse(bytes: Uint8Array): DalyFrame {
  const f = decodeDalyFrame(bytes);
  if (f.address !== DALY_BMS_ADDRESS) throw new DecodeError(`Daly reply from address ${hex2(f.address)}, expected 01`);
  return f;
}

function data8(d: Uint8Array, what: string): Uint8Array {
  if (d.length !== 8) throw new DecodeError(`${what}: Daly data must be 8 bytes, got ${d.length}`);
  return d;
}

/** 0x90: pack voltage, acquisition voltage, current, SOC. */
export interface DalySoc {
  packVoltage: number; // V, 0.1 V
  acquisitionVoltage: number; // V, 0.1 V (0 on boards without a separate measurement)
  currentRaw: number;
  current: number; // A, positive = charging (see header)
  soc: number; // %, 0.1 %
}

export function decodeDalySoc(d: Uint8Array): DalySoc {
  data8(d, '0x90');
  const raw = u16(d, 4, 'Daly current');
  return {
    packVoltage: round1(u16(d, 0, 'Daly voltage') / 10),
    acquisitionVoltage: round1(u16(d, 2, 'Daly acquisition voltage') / 10),
    currentRaw: raw,
    current: round1((DALY_CURRENT_OFFSET - raw) / 10),
    soc: round1(u16(d, 6, 'Daly SOC') / 10),
  };
}

/** Writes 0x90 fields into an 8-byte buffer (the board's transmit buffer; untouched bytes stay stale). */
export function writeDalySoc(buf: Uint8Array, s: { packVoltage: number; acquisitionVoltage?: number; current: number; soc: number }): void {
  putU16(buf, 0, toUnsigned(s.packVoltage * 10, 16));
  putU16(buf, 2, toUnsigned((s.acquisitionVoltage ?? 0) * 10, 16));
  putU16(buf, 4, toUnsigned(DALY_CURRENT_OFFSET - s.current * 10, 16));
  putU16(buf, 6, toUnsigned(s.soc * 10, 16));
}

/** 0x91: highest and lowest cell (bytes 6–7 unused). */
export interface DalyCellRange {
  maxCellVoltage: number;
  maxCell: number;
  minCellVoltage: number;
  minCell: number;
}

export function decodeDalyCellRange(d: Uint8Array): DalyCellRange {
  data8(d, '0x91');
  return { maxCellVoltage: u16(d, 0, 'Daly max cell') / 1000, maxCell: d[2]!, minCellVoltage: u16(d, 3, 'Daly min cell') / 1000, minCell: d[5]! };
}

export function writeDalyCellRange(buf: Uint8Array, r: DalyCellRange): void {
  putU16(buf, 0, toUnsigned(r.maxCellVoltage * 1000, 16));
  buf[2] = toUnsigned(r.maxCell, 8);
  putU16(buf, 3, toUnsigned(r.minCellVoltage * 1000, 16));
  buf[5] = toUnsigned(r.minCell, 8);
}

/** 0x92: highest and lowest temperature, 1 °C with a 40 offset (bytes 4–7 unused). */
export interface DalyTempRange {
  maxTemperature: number;
  maxSensor: number;
  minTemperature: number;
  minSensor: number;
}

export function decodeDalyTempRange(d: Uint8Array): DalyTempRange {
  data8(d, '0x92');
  return { maxTemperature: d[0]! - DALY_TEMP_OFFSET, maxSensor: d[1]!, minTemperature: d[2]! - DALY_TEMP_OFFSET, minSensor: d[3]! };
}

export function writeDalyTempRange(buf: Uint8Array, r: DalyTempRange): void {
  buf[0] = toUnsigned(r.maxTemperature + DALY_TEMP_OFFSET, 8);
  buf[1] = toUnsigned(r.maxSensor, 8);
  buf[2] = toUnsigned(r.minTemperature + DALY_TEMP_OFFSET, 8);
  buf[3] = toUnsigned(r.minSensor, 8);
}

/** 0x93: charge/discharge state, MOS states, BMS life counter, remaining capacity (mAh). */
export interface DalyMos {
  /** 0 stationary, 1 charging, 2 discharging. */
  state: number;
  chargeMos: boolean;
  dischargeMos: boolean;
  bmsLife: number;
  remainingAh: number;
}

export function decodeDalyMos(d: Uint8Array): DalyMos {
  data8(d, '0x93');
  return { state: d[0]!, chargeMos: d[1] !== 0, dischargeMos: d[2] !== 0, bmsLife: d[3]!, remainingAh: u32(d, 4, 'Daly remaining') / 1000 };
}

export function writeDalyMos(buf: Uint8Array, m: DalyMos): void {
  buf[0] = m.state & 0xff;
  buf[1] = m.chargeMos ? 1 : 0;
  buf[2] = m.dischargeMos ? 1 : 0;
  buf[3] = m.bmsLife & 0xff;
  putU32(buf, 4, toUnsigned(m.remainingAh * 1000, 32));
}

/** 0x94: cell and sensor counts, charger/load, DIO bits, cycles (byte 7 unused). */
export interface DalyStatus {
  cellCount: number;
  temperatureCount: number;
  charger: boolean;
  load: boolean;
  dio: number;
  cycles: number;
}

export function decodeDalyStatus(d: Uint8Array): DalyStatus {
  data8(d, '0x94');
  return { cellCount: d[0]!, temperatureCount: d[1]!, charger: d[2] !== 0, load: d[3] !== 0, dio: d[4]!, cycles: u16(d, 5, 'Daly cycles') };
}

export function writeDalyStatus(buf: Uint8Array, s: DalyStatus): void {
  buf[0] = toUnsigned(s.cellCount, 8);
  buf[1] = toUnsigned(s.temperatureCount, 8);
  buf[2] = s.charger ? 1 : 0;
  buf[3] = s.load ? 1 : 0;
  buf[4] = s.dio & 0xff;
  putU16(buf, 5, toUnsigned(s.cycles, 16));
}

/** 0x95 frame: number (1-based) and three cell voltages in mV; byte 7 reserved. */
export interface DalyCellFrame {
  frame: number;
  millivolts: [number, number, number];
}

export function decodeDalyCellFrame(d: Uint8Array): DalyCellFrame {
  data8(d, '0x95');
  return { frame: d[0]!, millivolts: [u16(d, 1, 'Daly cell'), u16(d, 3, 'Daly cell'), u16(d, 5, 'Daly cell')] };
}

/** Writes frame `frame` (1-based) of the cell list; slots past the last cell keep the stale bytes. */
export function writeDalyCellFrame(buf: Uint8Array, frame: number, volts: number[]): void {
  buf[0] = frame & 0xff;
  for (let k = 0; k < CELLS_PER_FRAME; k++) {
    const i = (frame - 1) * CELLS_PER_FRAME + k;
    if (i < volts.length) putU16(buf, 1 + 2 * k, toUnsigned(volts[i]! * 1000, 16));
  }
}

/** 0x96 frame: number (1-based) and seven temperatures, 1 °C with a 40 offset. */
export interface DalyTempFrame {
  frame: number;
  temperatures: number[];
}

export function decodeDalyTempFrame(d: Uint8Array): DalyTempFrame {
  data8(d, '0x96');
  return { frame: d[0]!, temperatures: Array.from(d.subarray(1, 8), (v) => v - DALY_TEMP_OFFSET) };
}

export function writeDalyTempFrame(buf: Uint8Array, frame: number, temps: number[]): void {
  buf[0] = frame & 0xff;
  for (let k = 0; k < TEMPS_PER_FRAME; k++) {
    const i = (frame - 1) * TEMPS_PER_FRAME + k;
    if (i < temps.length) buf[1 + k] = toUnsigned(temps[i]! + DALY_TEMP_OFFSET, 8);
  }
}

export function dalyFrameCount(items: number, perFrame: number): number {
  return Math.max(1, Math.ceil(items / perFrame));
}

/**
 * Puts numbered multi-frame replies (0x95, 0x96) back together, keeping only `count` values.
 * Throws when a frame is missing, so a lost frame never shifts cells to the wrong index.
 */
export function assembleDalyValues(frames: Array<{ frame: number; values: number[] }>, count: number, perFrame: number, what: string): number[] {
  const byNo = new Map<number, number[]>();
  for (const f of frames) byNo.set(f.frame, f.values);
  const out: number[] = [];
  for (let n = 1; n <= dalyFrameCount(count, perFrame) && count > 0; n++) {
    const v = byNo.get(n);
    if (!v) throw new DecodeError(`Daly ${what}: frame ${n} of ${dalyFrameCount(count, perFrame)} missing`);
    for (const x of v) if (out.length < count) out.push(x);
  }
  return out;
}

/** 0x97: balancing state, bit i of the 8 bytes (byte i/8, LSB first) = cell i+1. */
export function decodeDalyBalance(d: Uint8Array, cellCount = 64): number[] {
  data8(d, '0x97');
  const cells: number[] = [];
  for (let i = 0; i < Math.min(cellCount, 64); i++) if ((d[i >> 3]! >> (i & 7)) & 1) cells.push(i);
  return cells;
}

export function writeDalyBalance(buf: Uint8Array, balancingCells: number[]): void {
  buf.fill(0, 0, 8);
  for (const i of balancingCells) if (i >= 0 && i < 64) buf[i >> 3]! |= 1 << (i & 7);
}

/**
 * 0x98 failure bits, bytes 0–6 LSB first (Daly UART protocol document), byte 7 = fault code.
 * Level 1 is a warning, level 2 a protection trip; each maps to the PackScope alarm it means.
 */
export const DALY_FAILURE_BITS: readonly (readonly [name: string, alarm: AlarmFlag | null])[] = [
  ['cell_voltage_high_l1', 'cell_overvoltage'],
  ['cell_voltage_high_l2', 'cell_overvoltage'],
  ['cell_voltage_low_l1', 'cell_undervoltage'],
  ['cell_voltage_low_l2', 'cell_undervoltage'],
  ['pack_voltage_high_l1', 'pack_overvoltage'],
  ['pack_voltage_high_l2', 'pack_overvoltage'],
  ['pack_voltage_low_l1', 'pack_undervoltage'],
  ['pack_voltage_low_l2', 'pack_undervoltage'],
  ['charge_temp_high_l1', 'charge_overtemperature'],
  ['charge_temp_high_l2', 'charge_overtemperature'],
  ['charge_temp_low_l1', 'charge_undertemperature'],
  ['charge_temp_low_l2', 'charge_undertemperature'],
  ['discharge_temp_high_l1', 'discharge_overtemperature'],
  ['discharge_temp_high_l2', 'discharge_overtemperature'],
  ['discharge_temp_low_l1', 'discharge_undertemperature'],
  ['discharge_temp_low_l2', 'discharge_undertemperature'],
  ['charge_overcurrent_l1', 'charge_overcurrent'],
  ['charge_overcurrent_l2', 'charge_overcurrent'],
  ['discharge_overcurrent_l1', 'discharge_overcurrent'],
  ['discharge_overcurrent_l2', 'discharge_overcurrent'],
  ['soc_high_l1', null],
  ['soc_high_l2', null],
  ['soc_low_l1', null],
  ['soc_low_l2', null],
  ['cell_voltage_diff_l1', 'cell_imbalance'],
  ['cell_voltage_diff_l2', 'cell_imbalance'],
  ['temp_diff_l1', null],
  ['temp_diff_l2', null],
  ['reserved_3_4', null],
  ['reserved_3_5', null],
  ['reserved_3_6', null],
  ['reserved_3_7', null],
  ['charge_mos_temp_high', null],
  ['discharge_mos_temp_high', null],
  ['charge_mos_temp_sensor', 'temperature_sensor_fault'],
  ['discharge_mos_temp_sensor', 'temperature_sensor_fault'],
  ['charge_mos_adhesion', null],
  ['discharge_mos_adhesion', null],
  ['charge_mos_open', null],
  ['discharge_mos_open', null],
  ['afe_chip', 'afe_fault'],
  ['cell_voltage_collection', 'afe_fault'],
  ['cell_temp_sensor', 'temperature_sensor_fault'],
  ['eeprom', null],
  ['rtc', null],
  ['precharge', 'precharge_fault'],
  ['communication', null],
  ['internal_communication', null],
  ['current_module', 'current_sensor_fault'],
  ['pack_voltage_detection', null],
  ['short_circuit_protection', 'short_circuit'],
  ['low_voltage_no_charge', null],
  ['reserved_6_4', null],
  ['reserved_6_5', null],
  ['reserved_6_6', null],
  ['reserved_6_7', null],
];

/** Which failure bit the simulated board raises for each PackScope alarm (level 2 = protection). */
const ALARM_TO_FAILURE_BIT: Record<AlarmFlag, number> = {
  cell_overvoltage: 1,
  cell_undervoltage: 3,
  pack_overvoltage: 5,
  pack_undervoltage: 7,
  charge_overtemperature: 9,
  charge_undertemperature: 11,
  discharge_overtemperature: 13,
  discharge_undertemperature: 15,
  charge_overcurrent: 17,
  discharge_overcurrent: 19,
  cell_imbalance: 25,
  temperature_sensor_fault: 42,
  afe_fault: 40,
  precharge_fault: 45,
  current_sensor_fault: 48,
  short_circuit: 50,
};

export interface DalyFailures {
  /** Names of the set bits (DALY_FAILURE_BITS). */
  active: string[];
  /** Bitfield over ALARM_FLAGS. */
  alarms: number;
  faultCode: number;
}

export function decodeDalyFailures(d: Uint8Array): DalyFailures {
  data8(d, '0x98');
  const active: string[] = [];
  let alarms = 0;
  for (let i = 0; i < 56; i++) {
    if (!((d[i >> 3]! >> (i & 7)) & 1)) continue;
    const [name, alarm] = DALY_FAILURE_BITS[i]!;
    active.push(name);
    if (alarm) alarms |= flagBit(ALARM_FLAGS, alarm);
  }
  return { active, alarms, faultCode: d[7]! };
}

export function writeDalyFailures(buf: Uint8Array, alarms: number, faultCode = 0): void {
  buf.fill(0, 0, 7);
  ALARM_FLAGS.forEach((name, i) => {
    if ((alarms >>> i) & 1) {
      const bit = ALARM_TO_FAILURE_BIT[name];
      buf[bit >> 3]! |= 1 << (bit & 7);
    }
  });
  buf[7] = faultCode & 0xff;
}

/** Everything one polling round gathers. */
export interface DalySnapshot {
  soc: DalySoc;
  mos: DalyMos;
  status: DalyStatus;
  cells: number[];
  temperatures: number[];
  balancing: number[];
  failures: DalyFailures;
  /** 0x91 and 0x92: the board's own extremes (absent when the board did not answer them). */
  cellRange?: DalyCellRange;
  tempRange?: DalyTempRange;
}

export function dalyStatusBits(s: DalySnapshot): number {
  let b = 0;
  if (s.soc.current > 0) b |= flagBit(STATUS_FLAGS, 'charging');
  else if (s.soc.current < 0) b |= flagBit(STATUS_FLAGS, 'discharging');
  else b |= flagBit(STATUS_FLAGS, 'rest');
  if (s.balancing.length) b |= flagBit(STATUS_FLAGS, 'balancing');
  if (s.mos.chargeMos) b |= flagBit(STATUS_FLAGS, 'charge_fet_on');
  if (s.mos.dischargeMos) b |= flagBit(STATUS_FLAGS, 'discharge_fet_on');
  if (s.status.charger) b |= flagBit(STATUS_FLAGS, 'charger_connected');
  return b;
}

export function dalyToTelemetry(s: DalySnapshot, t: number): TelemetryFrame {
  return {
    t,
    packVoltage: s.soc.packVoltage,
    current: s.soc.current,
    soc: s.soc.soc,
    cellVoltages: s.cells,
    temperatures: s.temperatures,
    status: dalyStatusBits(s),
    alarms: s.failures.alarms,
    ...(s.cellRange && s.tempRange
      ? {
          extremes: {
            maxCell: s.cellRange.maxCell,
            maxCellVoltage: s.cellRange.maxCellVoltage,
            minCell: s.cellRange.minCell,
            minCellVoltage: s.cellRange.minCellVoltage,
            maxSensor: s.tempRange.maxSensor,
            maxTemperature: s.tempRange.maxTemperature,
            minSensor: s.tempRange.minSensor,
            minTemperature: s.tempRange.minTemperature,
          },
        }
      : {}),
  };
}

/**
 * Daly's 0x90–0x98 set names no model, serial or version. The rated capacity is not in it either;
 * it is estimated from remaining capacity ÷ SOC when the SOC is high enough for that to mean
 * something (≥ 10 %), rounded to 1 Ah, else reported as 0 (unknown).
 */
export function dalyDeviceInfo(s: { soc: DalySoc; mos: DalyMos; status: DalyStatus }): DeviceInfo {
  const est = s.soc.soc >= 10 ? Math.round(s.mos.remainingAh / (s.soc.soc / 100)) : 0;
  return {
    protocol: 'daly',
    model: 'Daly BMS',
    serial: '',
    boardId: 'daly',
    hardwareRevision: '',
    firmwareVersion: '',
    bootloaderVersion: '',
    cellCount: s.status.cellCount,
    chemistry: 'unknown',
    nominalCapacityAh: est,
    publicKeyFingerprint: null,
    signsEvidence: false,
  };
}

function scanDaly(rx: RxBuffer): Scan<DalyFrame> {
  if (rx.at(0) !== DALY_START) return { kind: 'skip', n: indexOfByte(rx, DALY_START, 1), why: 'garbage' };
  if (rx.length < 4) return { kind: 'need' };
  if (rx.at(3) !== 8) return { kind: 'skip', n: 1, why: 'garbage' };
  if (rx.length < DALY_FRAME_LENGTH) return { kind: 'need' };
  const bytes = rx.copy(0, DALY_FRAME_LENGTH);
  // A bad checksum may also be a false start inside a frame that lost a byte on the line, so only
  // one byte is skipped: the rescan finds the next real start.
  if (dalyChecksum(bytes) !== bytes[12]) return { kind: 'skip', n: 1, why: 'crc' };
  return { kind: 'frame', n: DALY_FRAME_LENGTH, frame: { address: bytes[1]!, command: bytes[2]!, data: bytes.slice(4, 12) } };
}

export function createDalyExtractor(): FrameExtractor<DalyFrame> & { readonly stats: ExtractorStats } {
  return new ScanningExtractor(scanDaly);
}
