import { readFile } from 'node:fs/promises';
import { PackscopeError } from '../../../shared/errors.js';
import { looksLikeIntelHex, parseIntelHex } from '../../../shared/image/ihex.js';
import { utf8Decode } from '../../../shared/util/bytes.js';
import type { Stm32Segment } from './rom-flasher.js';

/** Where a raw .bin goes when --address is not given: the start of STM32 main flash. */
export const DEFAULT_BIN_ADDRESS = 0x0800_0000;

/**
 * A firmware file for the ROM flasher: Intel HEX keeps its own addresses and gaps (gaps are not
 * written, so a sparse HEX costs only its data); a raw binary is placed at --address.
 */
export async function loadFirmware(path: string, address?: number): Promise<{ format: 'bin' | 'ihex'; segments: Stm32Segment[]; start: number | null }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `no such file: ${path}`);
    if (err.code === 'EISDIR') throw new PackscopeError('NOT_FOUND', `${path} is a directory, not a firmware file`);
    if (err.code === 'EACCES') throw new PackscopeError('PERMISSION', `cannot read ${path}: permission denied`);
    throw new PackscopeError('IO', `cannot read ${path}: ${err.message}`);
  }
  return parseFirmware(bytes, path, address);
}

/** The same for a firmware file's bytes; `path` names the file in messages. */
export function parseFirmware(bytes: Uint8Array, path: string, address?: number): { format: 'bin' | 'ihex'; segments: Stm32Segment[]; start: number | null } {
  if (bytes.length === 0) throw new PackscopeError('DECODE', `${path} is empty`);
  if (looksLikeIntelHex(bytes)) {
    if (address !== undefined) throw new PackscopeError('USAGE', '--address applies to raw .bin files; an Intel HEX file carries its own addresses');
    const hex = parseIntelHex(utf8Decode(bytes));
    if (hex.segments.length === 0) throw new PackscopeError('DECODE', `${path}: Intel HEX without data records`);
    return { format: 'ihex', segments: hex.segments.map((s) => ({ address: s.address, data: s.data })), start: hex.startAddress };
  }
  return { format: 'bin', segments: [{ address: address ?? DEFAULT_BIN_ADDRESS, data: bytes }], start: null };
}
