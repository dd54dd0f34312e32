import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { ACK, CMD, MAX_BLOCK, NACK, SYNC, xor } from '../../../shared/stm32/an3155.js';

/**
 * AN3155 (STM32 USART bootloader) frames as the host builds and parses them. Pure functions:
 * encoders throw a USAGE error for arguments the ROM would refuse, decoders turn any byte
 * sequence into a value or a DecodeError, nothing else.
 */
export { ACK, NACK, SYNC, CMD, MAX_BLOCK, xor };

/** A command: its code and the code's complement. */
export function commandFrame(code: number): Uint8Array {
  return Uint8Array.of(code & 0xff, ~code & 0xff);
}

/** A 32-bit address, MSB first, followed by the XOR of its four bytes. */
export function addressFrame(address: number): Uint8Array {
  if (!Number.isInteger(address) || address < 0 || address > 0xffff_ffff) {
    throw new PackscopeError('USAGE', `address out of range: ${address}`);
  }
  const b = Uint8Array.of(address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff, 0);
  b[4] = xor(b.subarray(0, 4));
  return b;
}

/** Get Checksum memory-area size: a whole number of 32-bit words, MSB first, then the XOR of the four bytes. */
export function checksumSizeFrame(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 4 || length % 4 !== 0 || length > 0xffff_fffc) {
    throw new PackscopeError('USAGE', `checksum area must be a non-zero multiple of 4 bytes, got ${length}`);
  }
  return addressFrame(length);
}

/** The Get Checksum answer after its last ACK: the CRC MSB first and the XOR of its four bytes. */
export function decodeChecksum(bytes: Uint8Array): number {
  if (bytes.length !== 5) throw new DecodeError(`Get Checksum reply: expected 5 bytes, got ${bytes.length}`);
  if (xor(bytes.subarray(0, 4)) !== bytes[4]) throw new DecodeError('Get Checksum reply: its XOR check does not match');
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

/** Read Memory length: N-1 and its complement. */
export function readLengthFrame(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > MAX_BLOCK) {
    throw new PackscopeError('USAGE', `read length must be 1..${MAX_BLOCK}, got ${length}`);
  }
  return commandFrame(length - 1);
}

/** Write Memory payload: N-1, the bytes, XOR of all of them. The ROM wants whole 32-bit words. */
export function writeDataFrame(data: Uint8Array): Uint8Array {
  if (data.length < 4 || data.length > MAX_BLOCK || data.length % 4 !== 0) {
    throw new PackscopeError('USAGE', `write block must be 4..${MAX_BLOCK} bytes and a multiple of 4, got ${data.length}`);
  }
  const out = new Uint8Array(data.length + 2);
  out[0] = data.length - 1;
  out.set(data, 1);
  out[data.length + 1] = xor(data, data.length - 1);
  return out;
}

/** Extended Erase of a list of pages/sectors: N-1 (16 bit), the numbers (16 bit each), XOR. */
export function extendedEraseFrame(pages: readonly number[]): Uint8Array {
  if (pages.length === 0 || pages.length > 0xfff0) throw new PackscopeError('USAGE', `cannot erase ${pages.length} pages in one command`);
  const out = new Uint8Array(2 + 2 * pages.length + 1);
  const n = pages.length - 1;
  out[0] = n >> 8;
  out[1] = n & 0xff;
  pages.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 0 || p >= 0xfff0) throw new PackscopeError('USAGE', `bad page number ${p}`);
    out[2 + 2 * i] = p >> 8;
    out[3 + 2 * i] = p & 0xff;
  });
  out[out.length - 1] = xor(out.subarray(0, out.length - 1));
  return out;
}

/** Extended Erase special codes: 0xFFFF mass erase (0xFFFE/0xFFFD bank 1/2 on dual-bank parts). */
export function extendedSpecialEraseFrame(code: 0xffff | 0xfffe | 0xfffd): Uint8Array {
  return Uint8Array.of(code >> 8, code & 0xff, (code >> 8) ^ (code & 0xff));
}

/** Legacy Erase (0x43, 8-bit page numbers) for ROMs without Extended Erase. */
export function legacyEraseFrame(pages: readonly number[]): Uint8Array {
  if (pages.length === 0 || pages.length > 255) throw new PackscopeError('USAGE', `legacy erase takes 1..255 pages, got ${pages.length}`);
  const out = new Uint8Array(pages.length + 2);
  out[0] = pages.length - 1;
  pages.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 0 || p > 0xff) throw new PackscopeError('USAGE', `bad page number ${p}`);
    out[1 + i] = p;
  });
  out[out.length - 1] = xor(out.subarray(0, out.length - 1));
  return out;
}

export interface GetReply {
  bootloaderVersion: number;
  commands: number[];
}

/**
 * Body of the Get reply (between the two ACKs): N, version, N command codes.
 * `bytes` must start at N; the function reports how many bytes it consumed.
 */
export function decodeGet(bytes: Uint8Array): GetReply {
  if (bytes.length < 2) throw new DecodeError('Get reply: too short');
  const n = bytes[0]!;
  if (bytes.length !== n + 2) throw new DecodeError(`Get reply: announces ${n + 1} bytes, got ${bytes.length - 1}`);
  return { bootloaderVersion: bytes[1]!, commands: Array.from(bytes.subarray(2)) };
}

export interface VersionReply {
  bootloaderVersion: number;
  option1: number;
  option2: number;
}

export function decodeGetVersion(bytes: Uint8Array): VersionReply {
  if (bytes.length !== 3) throw new DecodeError(`Get Version reply: expected 3 bytes, got ${bytes.length}`);
  return { bootloaderVersion: bytes[0]!, option1: bytes[1]!, option2: bytes[2]! };
}

/** Body of the Get ID reply: N (=1 on STM32), then the product ID MSB first. */
export function decodeGetId(bytes: Uint8Array): number {
  if (bytes.length < 3) throw new DecodeError('Get ID reply: too short');
  const n = bytes[0]!;
  if (bytes.length !== n + 2) throw new DecodeError(`Get ID reply: announces ${n + 1} bytes, got ${bytes.length - 1}`);
  return (bytes[1]! << 8) | bytes[2]!;
}

/** Bootloader version byte 0x31 → "3.1". */
export function formatVersion(v: number): string {
  return `${v >> 4}.${v & 0x0f}`;
}

export const COMMAND_NAMES: Record<number, string> = {
  [CMD.GET]: 'Get',
  [CMD.GET_VERSION]: 'Get Version',
  [CMD.GET_ID]: 'Get ID',
  [CMD.READ_MEMORY]: 'Read Memory',
  [CMD.GO]: 'Go',
  [CMD.WRITE_MEMORY]: 'Write Memory',
  [CMD.ERASE]: 'Erase',
  [CMD.EXTENDED_ERASE]: 'Extended Erase',
  [CMD.WRITE_PROTECT]: 'Write Protect',
  [CMD.WRITE_UNPROTECT]: 'Write Unprotect',
  [CMD.READOUT_PROTECT]: 'Readout Protect',
  [CMD.READOUT_UNPROTECT]: 'Readout Unprotect',
  [CMD.GET_CHECKSUM]: 'Get Checksum',
};
