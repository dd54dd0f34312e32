/**
 * Domain types shared by every layer: the host, the simulated board, the renderer and the
 * verifier all speak in these terms. Units are SI unless a name says otherwise:
 * volts, amperes (positive = charging), degrees Celsius, percent, milliseconds since the Unix epoch.
 */

/** Device protocols PackScope speaks. */
export type ProtocolId = 'native' | 'jbd' | 'daly' | 'jk' | 'pylontech-can' | 'pylontech-rs485' | 'uds' | 'stm32-rom';

export type Chemistry = 'lfp' | 'nmc';

/** What a driver can do with its device. */
export type Capability = 'identity' | 'telemetry' | 'blackbox' | 'params' | 'firmware';

export interface DeviceInfo {
  protocol: ProtocolId;
  model: string;
  serial: string;
  /** The identifier firmware images are built for (travels in the image's board TLV). */
  boardId: string;
  hardwareRevision: string;
  firmwareVersion: string;
  bootloaderVersion: string;
  cellCount: number;
  chemistry: Chemistry | 'unknown';
  nominalCapacityAh: number;
  /** SHA-256 (hex) of the device public key's DER SubjectPublicKeyInfo; null when the board has no key. */
  publicKeyFingerprint: string | null;
  /** True when the board signs its own evidence (native black box); false for commodity BMS boards. */
  signsEvidence: boolean;
}

/**
 * The identity of a board that says little about itself (a pack on a shared bus, a CAN broadcaster,
 * an STM32 ROM): every field not given is empty, and it signs no evidence.
 */
export function unsignedDevice(protocol: ProtocolId, known: Partial<Omit<DeviceInfo, 'protocol' | 'publicKeyFingerprint' | 'signsEvidence'>>): DeviceInfo {
  return {
    protocol,
    model: '',
    serial: '',
    boardId: '',
    hardwareRevision: '',
    firmwareVersion: '',
    bootloaderVersion: '',
    cellCount: 0,
    chemistry: 'unknown',
    nominalCapacityAh: 0,
    ...known,
    publicKeyFingerprint: null,
    signsEvidence: false,
  };
}

/** The fields that name a board, as every identity record has them (DeviceInfo, the native IDENTITY answer, a recording's meta). */
export type BoardIdentity = Pick<
  DeviceInfo,
  'model' | 'serial' | 'boardId' | 'hardwareRevision' | 'firmwareVersion' | 'bootloaderVersion' | 'cellCount' | 'chemistry'
>;

/** Just those fields of an identity record, for building another kind of record from it. */
export function boardIdentityOf(id: BoardIdentity): BoardIdentity {
  const { model, serial, boardId, hardwareRevision, firmwareVersion, bootloaderVersion, cellCount, chemistry } = id;
  return { model, serial, boardId, hardwareRevision, firmwareVersion, bootloaderVersion, cellCount, chemistry };
}

/** Named bits of TelemetryFrame.status. */
export const STATUS_FLAGS = [
  'charging',
  'discharging',
  'balancing',
  'charge_fet_on',
  'discharge_fet_on',
  'charger_connected',
  'firmware_test_mode',
  'rest',
] as const;
export type StatusFlag = (typeof STATUS_FLAGS)[number];

/** Named bits of TelemetryFrame.alarms. */
export const ALARM_FLAGS = [
  'cell_overvoltage',
  'cell_undervoltage',
  'pack_overvoltage',
  'pack_undervoltage',
  'charge_overcurrent',
  'discharge_overcurrent',
  'short_circuit',
  'charge_overtemperature',
  'charge_undertemperature',
  'discharge_overtemperature',
  'discharge_undertemperature',
  'cell_imbalance',
  'afe_fault',
  'temperature_sensor_fault',
  'current_sensor_fault',
  'precharge_fault',
] as const;
export type AlarmFlag = (typeof ALARM_FLAGS)[number];

export function flagBit<T extends string>(names: readonly T[], name: T): number {
  return 1 << names.indexOf(name);
}

export function flagNames<T extends string>(names: readonly T[], bits: number): T[] {
  return names.filter((_, i) => (bits >>> i) & 1);
}

/** One telemetry sample, as every driver (native, JBD, Daly, JK, Pylontech CAN) reports it. */
export interface TelemetryFrame {
  /** Sample time, ms since the Unix epoch (device clock where the device has one, else host receive time). */
  t: number;
  packVoltage: number;
  /** Amperes, positive = charging. */
  current: number;
  /** State of charge, percent. */
  soc: number;
  /** State of health, percent, where the device reports it. */
  soh?: number;
  cellVoltages: number[];
  temperatures: number[];
  /** Bitfield over STATUS_FLAGS. */
  status: number;
  /** Bitfield over ALARM_FLAGS. */
  alarms: number;
  /**
   * The board's own highest and lowest cell and temperature, where it reports them (Daly 0x91 and
   * 0x92); cell and sensor numbers are 1-based.
   */
  extremes?: TelemetryExtremes;
  /**
   * Protection and state bits the board reported that have no ALARM_FLAGS equivalent, by the
   * vendor's name (JBD 'mos_software_lock', 'charge_timeout', 'protection_bit_15' …), so no bit
   * the board sets is dropped silently.
   */
  deviceFlags?: string[];
}

export interface TelemetryExtremes {
  maxCell: number;
  maxCellVoltage: number;
  minCell: number;
  minCellVoltage: number;
  maxSensor: number;
  maxTemperature: number;
  minSensor: number;
  minTemperature: number;
}

/**
 * One decoded black-box record. The rule engine, the CSV export and the charts work on these.
 * `index` is the record's position in the whole log (0-based, across segments), so a finding can
 * point at the exact records that prove it.
 */
export interface LogRecord {
  index: number;
  /** Segment counter of the segment holding this record (null for desktop recordings without segments). */
  segment: number | null;
  t: number;
  packVoltage: number;
  current: number;
  soc: number;
  cellVoltages: number[];
  temperatures: number[];
  status: number;
  alarms: number;
  /** Event code (0 = none); see shared/blackbox for the table. */
  event: number;
}

/** Counters a link keeps; reported by `--json` outputs so errors are visible, not hidden by retries. */
export interface LinkStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  crcErrors: number;
  decodeErrors: number;
  timeouts: number;
  retries: number;
  /** Bytes skipped as line noise while hunting for a frame start (protocols without COBS sync). */
  garbageBytes?: number;
}

export function emptyLinkStats(): LinkStats {
  return { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, crcErrors: 0, decodeErrors: 0, timeouts: 0, retries: 0 };
}

/** Progress of a long transfer (log pull, flash). */
export interface TransferProgress {
  done: number;
  total: number;
  /** Payload bytes per second over a recent window. */
  rate: number;
  /** Seconds remaining at the current rate; null until a rate is known. */
  etaSeconds: number | null;
  phase?: string;
}
