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
  GET_CHECKSUM: 0xa1,
} as const;

/** Largest Read Memory / Write Memory payload. */
export const MAX_BLOCK = 256;

/** The AN3155 checksum: XOR of the bytes, starting from `seed` (e.g. the length byte). */
export function xor(bytes: Iterable<number>, seed = 0): number {
  let x = seed;
  for (const b of bytes) x ^= b;
  return x & 0xff;
}

const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) c = c & 0x8000_0000 ? (c << 1) ^ 0x04c1_1db7 : c << 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * The CRC that Get Checksum (0xA1) answers with: the STM32 CRC unit in its reset configuration
 * (polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR) fed with the
 * memory's 32-bit words. The words are little-endian in memory and the unit shifts each one in
 * MSB first, so this is CRC-32/MPEG-2 over every 4-byte group taken in reverse order. `data`
 * must be whole words; `previous` continues an earlier computation over the preceding words.
 */
export function stm32Crc(data: Uint8Array, previous = 0xffff_ffff): number {
  if (data.length % 4 !== 0) throw new RangeError(`the STM32 CRC runs over whole 32-bit words, got ${data.length} bytes`);
  let c = previous >>> 0;
  for (let i = 0; i < data.length; i += 4) {
    c = ((c << 8) ^ CRC_TABLE[((c >>> 24) ^ data[i + 3]!) & 0xff]!) >>> 0;
    c = ((c << 8) ^ CRC_TABLE[((c >>> 24) ^ data[i + 2]!) & 0xff]!) >>> 0;
    c = ((c << 8) ^ CRC_TABLE[((c >>> 24) ^ data[i + 1]!) & 0xff]!) >>> 0;
    c = ((c << 8) ^ CRC_TABLE[((c >>> 24) ^ data[i]!) & 0xff]!) >>> 0;
  }
  return c;
}
