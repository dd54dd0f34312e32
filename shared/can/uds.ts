import { DecodeError, PackscopeError } from '../errors.js';

/**
 * UDS (ISO 14229-1) request and response codecs for the services a flashing sequence needs:
 * diagnostic session control (0x10), ECU reset (0x11), security access (0x27), routine control
 * (0x31), request download (0x34), transfer data (0x36), request transfer exit (0x37) and tester
 * present (0x3E), plus the negative response (0x7F) with its code decoded by name.
 */
export const SID = {
  DiagnosticSessionControl: 0x10,
  EcuReset: 0x11,
  ReadDataByIdentifier: 0x22,
  SecurityAccess: 0x27,
  RoutineControl: 0x31,
  RequestDownload: 0x34,
  TransferData: 0x36,
  RequestTransferExit: 0x37,
  TesterPresent: 0x3e,
} as const;
export type ServiceName = keyof typeof SID;
const SERVICE_BY_ID = new Map<number, ServiceName>(Object.entries(SID).map(([k, v]) => [v, k as ServiceName]));

export function serviceName(sid: number): string {
  return SERVICE_BY_ID.get(sid) ?? `service 0x${sid.toString(16).padStart(2, '0')}`;
}

export const SESSION = { default: 0x01, programming: 0x02, extended: 0x03 } as const;
export const RESET = { hard: 0x01, keyOffOn: 0x02, soft: 0x03 } as const;
export const ROUTINE_CONTROL = { start: 0x01, stop: 0x02, results: 0x03 } as const;
/** Routine identifiers of the PackScope bootloader (the common OEM choices). */
export const ROUTINE = {
  eraseMemory: 0xff00,
  checkProgrammingDependencies: 0xff01,
  /** PackScope bootloader: mark the verified image for a test boot (option 00) or for good (01). */
  activateImage: 0xff02,
  /** PackScope bootloader: confirm the running test image. */
  confirmImage: 0xff03,
  /** PackScope bootloader: ask for the previous image back at the next boot. */
  revertImage: 0xff04,
} as const;
/** Data identifiers (ISO 14229-1 Annex C, plus the PackScope bootloader's firmware status). */
export const DID = {
  ecuSerialNumber: 0xf18c,
  applicationSoftwareId: 0xf181,
  bootSoftwareId: 0xf180,
  /** ISO 14229-1 C.1 activeDiagnosticSessionDataIdentifier: one byte, the session the ECU is in. */
  activeDiagnosticSession: 0xf186,
  firmwareStatus: 0xfd00,
} as const;

/** ISO 14229-1 Annex A negative response codes. */
export const NRC_NAMES: Record<number, string> = {
  0x10: 'generalReject',
  0x11: 'serviceNotSupported',
  0x12: 'subFunctionNotSupported',
  0x13: 'incorrectMessageLengthOrInvalidFormat',
  0x14: 'responseTooLong',
  0x21: 'busyRepeatRequest',
  0x22: 'conditionsNotCorrect',
  0x24: 'requestSequenceError',
  0x25: 'noResponseFromSubnetComponent',
  0x26: 'failurePreventsExecutionOfRequestedAction',
  0x31: 'requestOutOfRange',
  0x33: 'securityAccessDenied',
  0x34: 'authenticationRequired',
  0x35: 'invalidKey',
  0x36: 'exceedNumberOfAttempts',
  0x37: 'requiredTimeDelayNotExpired',
  0x70: 'uploadDownloadNotAccepted',
  0x71: 'transferDataSuspended',
  0x72: 'generalProgrammingFailure',
  0x73: 'wrongBlockSequenceCounter',
  0x78: 'requestCorrectlyReceivedResponsePending',
  0x7e: 'subFunctionNotSupportedInActiveSession',
  0x7f: 'serviceNotSupportedInActiveSession',
  0x81: 'rpmTooHigh',
  0x82: 'rpmTooLow',
  0x83: 'engineIsRunning',
  0x84: 'engineIsNotRunning',
  0x85: 'engineRunTimeTooLow',
  0x86: 'temperatureTooHigh',
  0x87: 'temperatureTooLow',
  0x88: 'vehicleSpeedTooHigh',
  0x89: 'vehicleSpeedTooLow',
  0x8a: 'throttlePedalTooHigh',
  0x8b: 'throttlePedalTooLow',
  0x8c: 'transmissionRangeNotInNeutral',
  0x8d: 'transmissionRangeNotInGear',
  0x8f: 'brakeSwitchesNotClosed',
  0x90: 'shifterLeverNotInPark',
  0x91: 'torqueConverterClutchLocked',
  0x92: 'voltageTooHigh',
  0x93: 'voltageTooLow',
};
export const NRC = {
  generalReject: 0x10,
  serviceNotSupported: 0x11,
  subFunctionNotSupported: 0x12,
  incorrectMessageLength: 0x13,
  busyRepeatRequest: 0x21,
  conditionsNotCorrect: 0x22,
  requestSequenceError: 0x24,
  requestOutOfRange: 0x31,
  securityAccessDenied: 0x33,
  invalidKey: 0x35,
  exceedNumberOfAttempts: 0x36,
  requiredTimeDelayNotExpired: 0x37,
  uploadDownloadNotAccepted: 0x70,
  transferDataSuspended: 0x71,
  generalProgrammingFailure: 0x72,
  wrongBlockSequenceCounter: 0x73,
  responsePending: 0x78,
  serviceNotSupportedInActiveSession: 0x7f,
} as const;

export function nrcName(code: number): string {
  return NRC_NAMES[code] ?? (code >= 0x38 && code <= 0x4f ? 'reservedByExtendedDataLinkSecurity' : `NRC 0x${code.toString(16).padStart(2, '0')}`);
}

/** A negative response as a typed error: code DEVICE, message names the service and the NRC. */
export class UdsNegativeResponseError extends PackscopeError {
  constructor(
    readonly sid: number,
    readonly nrc: number,
  ) {
    super('DEVICE', `${serviceName(sid)} refused by the ECU: ${nrcName(nrc)} (0x${nrc.toString(16).padStart(2, '0')})`);
    this.name = 'UdsNegativeResponseError';
  }
}

export type UdsRequest =
  | { service: 'DiagnosticSessionControl'; session: number; suppressResponse?: boolean }
  | { service: 'EcuReset'; resetType: number; suppressResponse?: boolean }
  | { service: 'ReadDataByIdentifier'; did: number }
  | { service: 'SecurityAccess'; subFunction: number; key?: Uint8Array }
  | { service: 'RoutineControl'; control: number; routineId: number; data: Uint8Array }
  | { service: 'RequestDownload'; dataFormat: number; address: number; size: number; addressBytes?: number; sizeBytes?: number }
  | { service: 'TransferData'; sequence: number; data: Uint8Array }
  | { service: 'RequestTransferExit'; data: Uint8Array }
  | { service: 'TesterPresent'; suppressResponse?: boolean };

export type UdsPositiveResponse =
  | { service: 'DiagnosticSessionControl'; session: number; p2Ms: number; p2StarMs: number }
  | { service: 'EcuReset'; resetType: number; powerDownTime?: number }
  | { service: 'ReadDataByIdentifier'; did: number; data: Uint8Array }
  | { service: 'SecurityAccess'; subFunction: number; seed: Uint8Array }
  | { service: 'RoutineControl'; control: number; routineId: number; status: Uint8Array }
  | { service: 'RequestDownload'; maxNumberOfBlockLength: number; lengthBytes?: number }
  | { service: 'TransferData'; sequence: number; data: Uint8Array }
  | { service: 'RequestTransferExit'; data: Uint8Array }
  | { service: 'TesterPresent' };

export type UdsResponse = UdsPositiveResponse | { service: 'negative'; sid: number; nrc: number };

/** value as n big-endian bytes (UDS fields are big-endian). */
export function uintBytes(value: number, n: number, what: string): number[] {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * n)) throw new DecodeError(`${what} ${value} does not fit in ${n} bytes`);
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
  return out;
}

function readUint(b: Uint8Array, off: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[off + i]!;
  return v;
}

function byte(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new DecodeError(`${what} ${v} is not a byte`);
  return v;
}

/**
 * The addressAndLengthFormatIdentifier ‖ memoryAddress ‖ memorySize record of ISO 14229 memory
 * services (RequestDownload's tail, and the usual eraseMemory option record).
 */
export function addressAndLengthRecord(address: number, size: number, addressBytes: number, sizeBytes: number): Uint8Array {
  return Uint8Array.of((sizeBytes << 4) | addressBytes, ...uintBytes(address, addressBytes, 'address'), ...uintBytes(size, sizeBytes, 'size'));
}

export function encodeRequest(r: UdsRequest): Uint8Array {
  const sup = (s?: boolean) => (s ? 0x80 : 0);
  switch (r.service) {
    case 'DiagnosticSessionControl':
      return Uint8Array.of(SID.DiagnosticSessionControl, (byte(r.session, 'session') & 0x7f) | sup(r.suppressResponse));
    case 'EcuReset':
      return Uint8Array.of(SID.EcuReset, (byte(r.resetType, 'reset type') & 0x7f) | sup(r.suppressResponse));
    case 'ReadDataByIdentifier':
      return Uint8Array.of(SID.ReadDataByIdentifier, ...uintBytes(r.did, 2, 'data identifier'));
    case 'SecurityAccess': {
      const sf = byte(r.subFunction, 'security level');
      if (sf === 0 || sf > 0x7e) throw new DecodeError(`security access sub-function 0x${sf.toString(16)} out of range`);
      if (sf % 2 === 1) return Uint8Array.of(SID.SecurityAccess, sf);
      return Uint8Array.of(SID.SecurityAccess, sf, ...(r.key ?? []));
    }
    case 'RoutineControl':
      return Uint8Array.of(SID.RoutineControl, byte(r.control, 'routine control type'), ...uintBytes(r.routineId, 2, 'routine id'), ...r.data);
    case 'RequestDownload': {
      const a = r.addressBytes ?? 4;
      const s = r.sizeBytes ?? 4;
      if (a < 1 || a > 4 || s < 1 || s > 4) throw new DecodeError('address and size fields are 1..4 bytes here');
      return Uint8Array.of(
        SID.RequestDownload,
        byte(r.dataFormat, 'data format'),
        (s << 4) | a,
        ...uintBytes(r.address, a, 'address'),
        ...uintBytes(r.size, s, 'size'),
      );
    }
    case 'TransferData':
      return Uint8Array.of(SID.TransferData, byte(r.sequence, 'block sequence counter'), ...r.data);
    case 'RequestTransferExit':
      return Uint8Array.of(SID.RequestTransferExit, ...r.data);
    case 'TesterPresent':
      return Uint8Array.of(SID.TesterPresent, sup(r.suppressResponse));
  }
}

function need(b: Uint8Array, n: number, what: string): void {
  if (b.length < n) throw new DecodeError(`UDS ${what}: ${b.length} bytes, at least ${n} needed`);
}

export function decodeRequest(b: Uint8Array): UdsRequest {
  need(b, 1, 'request');
  const sid = b[0]!;
  switch (sid) {
    case SID.DiagnosticSessionControl:
      if (b.length !== 2) throw new DecodeError('UDS DiagnosticSessionControl request must be 2 bytes');
      return { service: 'DiagnosticSessionControl', session: b[1]! & 0x7f, suppressResponse: (b[1]! & 0x80) !== 0 };
    case SID.EcuReset:
      if (b.length !== 2) throw new DecodeError('UDS EcuReset request must be 2 bytes');
      return { service: 'EcuReset', resetType: b[1]! & 0x7f, suppressResponse: (b[1]! & 0x80) !== 0 };
    case SID.ReadDataByIdentifier:
      if (b.length !== 3) throw new DecodeError('UDS ReadDataByIdentifier request must name exactly one identifier here');
      return { service: 'ReadDataByIdentifier', did: readUint(b, 1, 2) };
    case SID.SecurityAccess: {
      need(b, 2, 'SecurityAccess request');
      const sf = b[1]!;
      if (sf === 0 || sf > 0x7e) throw new DecodeError(`UDS SecurityAccess sub-function 0x${sf.toString(16)} out of range`);
      if (sf % 2 === 1) {
        if (b.length !== 2) throw new DecodeError('UDS SecurityAccess requestSeed carries no data here');
        return { service: 'SecurityAccess', subFunction: sf };
      }
      return { service: 'SecurityAccess', subFunction: sf, key: b.slice(2) };
    }
    case SID.RoutineControl:
      need(b, 4, 'RoutineControl request');
      return { service: 'RoutineControl', control: b[1]!, routineId: readUint(b, 2, 2), data: b.slice(4) };
    case SID.RequestDownload: {
      need(b, 3, 'RequestDownload request');
      const s = b[2]! >> 4;
      const a = b[2]! & 0x0f;
      if (a < 1 || a > 4 || s < 1 || s > 4) throw new DecodeError(`UDS RequestDownload addressAndLengthFormatIdentifier 0x${b[2]!.toString(16)} not supported`);
      if (b.length !== 3 + a + s) throw new DecodeError(`UDS RequestDownload request must be ${3 + a + s} bytes`);
      return { service: 'RequestDownload', dataFormat: b[1]!, address: readUint(b, 3, a), size: readUint(b, 3 + a, s), addressBytes: a, sizeBytes: s };
    }
    case SID.TransferData:
      need(b, 2, 'TransferData request');
      return { service: 'TransferData', sequence: b[1]!, data: b.slice(2) };
    case SID.RequestTransferExit:
      return { service: 'RequestTransferExit', data: b.slice(1) };
    case SID.TesterPresent:
      if (b.length !== 2 || (b[1]! & 0x7f) !== 0) throw new DecodeError('UDS TesterPresent request must be 3E 00 or 3E 80');
      return { service: 'TesterPresent', suppressResponse: b[1] === 0x80 };
    default:
      throw new DecodeError(`UDS: ${serviceName(sid)} is not supported`);
  }
}

export function encodeResponse(r: UdsResponse): Uint8Array {
  switch (r.service) {
    case 'negative':
      return Uint8Array.of(0x7f, byte(r.sid, 'service id'), byte(r.nrc, 'NRC'));
    case 'DiagnosticSessionControl':
      return Uint8Array.of(0x50, byte(r.session, 'session'), ...uintBytes(r.p2Ms, 2, 'P2'), ...uintBytes(Math.round(r.p2StarMs / 10), 2, 'P2*'));
    case 'EcuReset':
      return r.powerDownTime === undefined
        ? Uint8Array.of(0x51, byte(r.resetType, 'reset type'))
        : Uint8Array.of(0x51, byte(r.resetType, 'reset type'), byte(r.powerDownTime, 'power down time'));
    case 'ReadDataByIdentifier':
      return Uint8Array.of(0x62, ...uintBytes(r.did, 2, 'data identifier'), ...r.data);
    case 'SecurityAccess':
      return Uint8Array.of(0x67, byte(r.subFunction, 'security level'), ...r.seed);
    case 'RoutineControl':
      return Uint8Array.of(0x71, byte(r.control, 'routine control type'), ...uintBytes(r.routineId, 2, 'routine id'), ...r.status);
    case 'RequestDownload': {
      const n = r.lengthBytes ?? 2;
      if (n < 1 || n > 4) throw new DecodeError('maxNumberOfBlockLength field is 1..4 bytes');
      return Uint8Array.of(0x74, n << 4, ...uintBytes(r.maxNumberOfBlockLength, n, 'maxNumberOfBlockLength'));
    }
    case 'TransferData':
      return Uint8Array.of(0x76, byte(r.sequence, 'block sequence counter'), ...r.data);
    case 'RequestTransferExit':
      return Uint8Array.of(0x77, ...r.data);
    case 'TesterPresent':
      return Uint8Array.of(0x7e, 0x00);
  }
}

export function decodeResponse(b: Uint8Array): UdsResponse {
  need(b, 1, 'response');
  const sid = b[0]!;
  switch (sid) {
    case 0x7f:
      if (b.length !== 3) throw new DecodeError('UDS negative response must be 3 bytes');
      return { service: 'negative', sid: b[1]!, nrc: b[2]! };
    case 0x50:
      if (b.length !== 6) throw new DecodeError('UDS DiagnosticSessionControl response must be 6 bytes');
      return { service: 'DiagnosticSessionControl', session: b[1]!, p2Ms: readUint(b, 2, 2), p2StarMs: readUint(b, 4, 2) * 10 };
    case 0x51:
      if (b.length !== 2 && b.length !== 3) throw new DecodeError('UDS EcuReset response must be 2 or 3 bytes');
      return b.length === 3 ? { service: 'EcuReset', resetType: b[1]!, powerDownTime: b[2]! } : { service: 'EcuReset', resetType: b[1]! };
    case 0x62:
      need(b, 3, 'ReadDataByIdentifier response');
      return { service: 'ReadDataByIdentifier', did: readUint(b, 1, 2), data: b.slice(3) };
    case 0x67:
      need(b, 2, 'SecurityAccess response');
      return { service: 'SecurityAccess', subFunction: b[1]!, seed: b.slice(2) };
    case 0x71:
      need(b, 4, 'RoutineControl response');
      return { service: 'RoutineControl', control: b[1]!, routineId: readUint(b, 2, 2), status: b.slice(4) };
    case 0x74: {
      need(b, 2, 'RequestDownload response');
      const n = b[1]! >> 4;
      if (n < 1 || n > 4 || (b[1]! & 0x0f) !== 0) throw new DecodeError(`UDS RequestDownload lengthFormatIdentifier 0x${b[1]!.toString(16)} not supported`);
      if (b.length !== 2 + n) throw new DecodeError(`UDS RequestDownload response must be ${2 + n} bytes`);
      return { service: 'RequestDownload', maxNumberOfBlockLength: readUint(b, 2, n), lengthBytes: n };
    }
    case 0x76:
      need(b, 2, 'TransferData response');
      return { service: 'TransferData', sequence: b[1]!, data: b.slice(2) };
    case 0x77:
      return { service: 'RequestTransferExit', data: b.slice(1) };
    case 0x7e:
      if (b.length !== 2 || b[1] !== 0) throw new DecodeError('UDS TesterPresent response must be 7E 00');
      return { service: 'TesterPresent' };
    default:
      throw new DecodeError(`UDS: unexpected response id 0x${sid.toString(16).padStart(2, '0')}`);
  }
}

/** The transfer-data block sequence counter: starts at 1, wraps from 0xFF to 0x00 (ISO 14229-1 14.5). */
export function nextBlockSequence(counter: number): number {
  return (counter + 1) & 0xff;
}

/**
 * Turns a security-access seed into a key. Pluggable: real ECUs each have their own (secret)
 * algorithm; the PackScope bootloader's default is below.
 */
export type SeedKeyAlgorithm = (seed: Uint8Array, level: number) => Uint8Array | Promise<Uint8Array>;
