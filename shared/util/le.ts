/**
 * Little-endian fields at a byte offset, as plain functions: the black-box segment and .pslog
 * headers, ZIP records, MCUboot headers and TLVs, the ROM bootloader's vector table. Plain byte
 * arithmetic is faster than a DataView on unaligned offsets and needs no view object.
 * ByteReader/ByteWriter (shared/protocol/bytes-io.ts) are for walking a payload field by field;
 * these are for fixed layouts. 64-bit values are JS numbers, exact up to 2^53.
 *
 * No bounds checks: a read past the end gives NaN or garbage, so callers check lengths first.
 * The black-box record decoder's inner loops read fields with the same arithmetic written inline,
 * on purpose (it is the decode benchmark's hot path); they do not call these.
 */

export function rd16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function rd32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** Signed 32-bit. */
export function rdI32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

export function rd64(b: Uint8Array, o: number): number {
  return rd32(b, o) + rd32(b, o + 4) * 4294967296;
}

export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function wr64(b: Uint8Array, o: number, v: number): void {
  wr32(b, o, v % 4294967296);
  wr32(b, o + 4, Math.floor(v / 4294967296));
}
