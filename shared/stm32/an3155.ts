/**
 * Constants of the STM32 system-memory bootloader's USART protocol (ST AN3155), shared by the host
 * that speaks it and the ROM model that answers it, so both sides agree on every code by
 * construction.
 */
export const ACK = 0x79;
export const NACK = 0x1f;
export const SYNC = 0x7f;

export const CMD = {
  GET: 0x00,
  GET_VERSION: 0x01,
  GET_ID: 0x02,
  READ_MEMORY: 0x11,
  GO: 0x21,
  WRITE_MEMORY: 0x31,
  ERASE: 0x43,
  EXTENDED_ERASE: 0x44,
  WRITE_PROTECT: 0x63,
  WRITE_UNPROTECT: 0x73,
  READOUT_PROTECT: 0x82,
  READOUT_UNPROTECT: 0x92,
} as const;

/** Largest Read Memory / Write Memory payload. */
export const MAX_BLOCK = 256;

/** The AN3155 checksum: XOR of the bytes, starting from `seed` (e.g. the length byte). */
export function xor(bytes: Iterable<number>, seed = 0): number {
  let x = seed;
  for (const b of bytes) x ^= b;
  return x & 0xff;
}
