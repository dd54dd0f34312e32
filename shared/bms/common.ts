import { DecodeError } from '../errors.js';

/**
 * Pieces every commodity-BMS codec shares: big-endian field access with typed errors (these
 * protocols are all big-endian), and the counters a streaming frame extractor keeps so a driver
 * can report garbage, partial frames and bad checksums instead of hiding them.
 */

export function u8(b: Uint8Array, o: number, what: string): number {
  if (o < 0 || o >= b.length) throw new DecodeError(`${what}: byte ${o} is past the end (${b.length} bytes)`);
  return b[o]!;
}

export function u16(b: Uint8Array, o: number, what: string): number {
  if (o < 0 || o + 2 > b.length) throw new DecodeError(`${what}: 16-bit field at ${o} is past the end (${b.length} bytes)`);
  return (b[o]! << 8) | b[o + 1]!;
}

export function s16(b: Uint8Array, o: number, what: string): number {
  const v = u16(b, o, what);
  return v >= 0x8000 ? v - 0x10000 : v;
}

export function u32(b: Uint8Array, o: number, what: string): number {
  if (o < 0 || o + 4 > b.length) throw new DecodeError(`${what}: 32-bit field at ${o} is past the end (${b.length} bytes)`);
  return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

export function putU16(b: Uint8Array, o: number, v: number): void {
  const x = Math.round(v) & 0xffff;
  b[o] = x >> 8;
  b[o + 1] = x & 0xff;
}

export function putU32(b: Uint8Array, o: number, v: number): void {
  const x = Math.round(v) >>> 0;
  b[o] = x >>> 24;
  b[o + 1] = (x >>> 16) & 0xff;
  b[o + 2] = (x >>> 8) & 0xff;
  b[o + 3] = x & 0xff;
}

/** Upper-case hex, two and four digits (version and id fields of the commodity protocols). */
export function hex2(v: number): string {
  return v.toString(16).toUpperCase().padStart(2, '0');
}
export function hex4(v: number): string {
  return v.toString(16).toUpperCase().padStart(4, '0');
}

/** One decimal (temperatures and voltages as the vendors' apps show them). */
export function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** Clamps and rounds a physical value into an unsigned integer field of `bits` bits. */
export function toUnsigned(v: number, bits: number): number {
  const max = 2 ** bits - 1;
  if (!Number.isFinite(v)) return 0;
  return Math.min(max, Math.max(0, Math.round(v)));
}

/** Clamps and rounds into a signed 16-bit field, returned as its unsigned bit pattern. */
export function toS16(v: number): number {
  const r = Number.isFinite(v) ? Math.min(32767, Math.max(-32768, Math.round(v))) : 0;
  return r & 0xffff;
}

/** Sum of bytes [from, to) as a plain number. */
export function byteSum(b: Uint8Array, from = 0, to = b.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += b[i]!;
  return s;
}

/** Printable ASCII of an identity field, NULs and trailing padding removed. */
export function asciiField(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    if (c === 0) continue;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s.trim();
}

export function asciiBytes(s: string, length?: number): Uint8Array {
  const n = length ?? s.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n && i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i] = c >= 0x20 && c < 0x7f ? c : 0x3f;
  }
  return out;
}

/** Counters of a streaming frame extractor. */
export interface ExtractorStats {
  /** Frames that passed every check. */
  frames: number;
  /** Frames whose framing was intact but whose checksum did not match. */
  crcErrors: number;
  /** Frames with a plausible header but a broken body (bad end byte, impossible length). */
  malformed: number;
  /** Bytes skipped while hunting for a frame start (line noise, stale or foreign traffic). */
  garbageBytes: number;
  /** Partial frames thrown away by flush() (a reply cut short, then silence). */
  partial: number;
}

export function emptyExtractorStats(): ExtractorStats {
  return { frames: 0, crcErrors: 0, malformed: 0, garbageBytes: 0, partial: 0 };
}

/**
 * Growable receive buffer for the extractors. Frames are at most a few hundred bytes, so
 * compacting by copy is cheap and keeps indexing simple.
 */
export class RxBuffer {
  private buf = new Uint8Array(512);
  private len = 0;

  get length(): number {
    return this.len;
  }

  at(i: number): number {
    return this.buf[i]!;
  }

  view(from: number, to: number): Uint8Array {
    return this.buf.subarray(from, to);
  }

  push(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + chunk.length));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
  }

  /** Removes the first n bytes. */
  drop(n: number): void {
    if (n >= this.len) {
      this.len = 0;
      return;
    }
    this.buf.copyWithin(0, n, this.len);
    this.len -= n;
  }

  /** Copy of bytes [from, to) (frames handed out must not alias the buffer). */
  copy(from: number, to: number): Uint8Array {
    return this.buf.slice(from, to);
  }

  clear(): void {
    this.len = 0;
  }
}
