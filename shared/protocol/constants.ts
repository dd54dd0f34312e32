/**
 * Numbers of the native protocol (firmware/PROTOCOL.md is the normative text; keep both in step).
 */
export const PROTOCOL_VERSION = 1;

export const MSG = {
  REQUEST: 0,
  RESPONSE: 1,
  ERROR: 2,
  EVENT: 3,
} as const;
export type MessageType = (typeof MSG)[keyof typeof MSG];

/** Largest payload a frame may carry; a receiver drops longer frames as decode errors. */
export const MAX_PAYLOAD = 16384;
/** version, type, seq (u16), cmd (u16), len (u16). */
export const HEADER_SIZE = 8;
export const CRC_SIZE = 4;

/** Command ids. 0x00xx core, 0x01xx bulk transfer, 0x02xx black box, 0x03xx firmware. Events have bit 7 of the low byte set. */
export const CMD = {
  // core
  IDENTITY: 0x0001,
  PING: 0x0002,
  DEVICE_KEY: 0x0006,
  TELEMETRY_START: 0x0003,
  TELEMETRY_STOP: 0x0004,
  TELEMETRY_GET: 0x0005,
  PARAM_LIST: 0x0010,
  PARAM_GET: 0x0011,
  PARAM_SET: 0x0012,
  FAULTS_GET: 0x0020,
  EVENTS_LIST: 0x0021,
  FAULTS_CLEAR: 0x0022,
  TIME_GET: 0x0028,
  TIME_SET: 0x0029,
  RESET: 0x0030,
  CAPACITY_TEST_START: 0x0040,
  CAPACITY_TEST_STATUS: 0x0041,
  CAPACITY_TEST_ABORT: 0x0042,
  EV_TELEMETRY: 0x0080,
  EV_BOARD_EVENT: 0x0081,
  // bulk transfer
  REGION_LIST: 0x0100,
  REGION_INFO: 0x0101,
  REGION_HASH: 0x0102,
  BULK_READ_OPEN: 0x0103,
  BULK_WRITE_OPEN: 0x0104,
  BULK_CLOSE: 0x0105,
  REGION_ERASE: 0x0106,
  EV_BULK_DATA: 0x0180,
  EV_BULK_ACK: 0x0181,
  EV_BULK_ABORT: 0x0182,
  EV_BULK_NAK: 0x0183,
} as const;

/** Typed device errors (payload of an ERROR message: u16 code, str8 message). */
export const ERR = {
  UNKNOWN_COMMAND: 0x0001,
  MALFORMED: 0x0002,
  BAD_ARGUMENT: 0x0003,
  UNSUPPORTED_VERSION: 0x0004,
  BUSY: 0x0005,
  NOT_FOUND: 0x0006,
  OUT_OF_RANGE: 0x0007,
  READ_ONLY: 0x0008,
  WRITE_FAILED: 0x0009,
  UNKNOWN_TRANSFER: 0x000a,
  DENIED: 0x000b,
  INTERNAL: 0x000c,
  VERIFY_FAILED: 0x000d,
  REFUSED: 0x000e,
  CANCELLED: 0x000f,
} as const;
export type DeviceErrorCode = (typeof ERR)[keyof typeof ERR];

export const ERROR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ERR).map(([k, v]) => [v, k]));

export function commandName(cmd: number): string {
  for (const [k, v] of Object.entries(CMD)) if (v === cmd) return k;
  return `0x${cmd.toString(16).padStart(4, '0')}`;
}
