import { DecodeError } from '../errors.js';
import { utf8Decode, utf8Encode } from '../util/bytes.js';

/** Little-endian writer that grows as needed. Every multi-byte field of the native protocol is LE. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  constructor(initial = 64) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }
  i16(v: number): this {
    this.ensure(2);
    this.view.setInt16(this.pos, v, true);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
    return this;
  }
  i32(v: number): this {
    this.ensure(4);
    this.view.setInt32(this.pos, v | 0, true);
    this.pos += 4;
    return this;
  }
  /** Unsigned 64-bit from a JS number (exact up to 2^53). */
  u64(v: number): this {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt(Math.max(0, Math.floor(v))), true);
    this.pos += 8;
    return this;
  }
  f32(v: number): this {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** u8 length + UTF-8 (≤ 255 bytes; longer strings are a programming error). */
  str8(s: string): this {
    const b = utf8Encode(s);
    if (b.length > 255) throw new RangeError(`string too long for a str8 field (${b.length} bytes)`);
    return this.u8(b.length).bytes(b);
  }
  /** u16 length + bytes. */
  blob16(b: Uint8Array): this {
    if (b.length > 0xffff) throw new RangeError('blob too long for a blob16 field');
    return this.u16(b.length).bytes(b);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Little-endian reader; every overrun is a DecodeError naming the field. */
export class ByteReader {
  private view: DataView;
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what = 'payload',
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  private need(n: number, field: string): void {
    if (this.pos + n > this.buf.length)
      throw new DecodeError(`${this.what}: truncated at ${field} (need ${n} bytes at ${this.pos}, have ${this.buf.length - this.pos})`);
  }
  u8(field = 'u8'): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }
  u16(field = 'u16'): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  i16(field = 'i16'): number {
    this.need(2, field);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(field = 'u32'): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(field = 'i32'): number {
    this.need(4, field);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(field = 'u64'): number {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`${this.what}: ${field} out of range`);
    return Number(v);
  }
  f32(field = 'f32'): number {
    this.need(4, field);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  bytes(n: number, field = 'bytes'): Uint8Array {
    this.need(n, field);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  rest(): Uint8Array {
    const b = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return b;
  }
  str8(field = 'string'): string {
    const n = this.u8(field);
    return utf8Decode(this.bytes(n, field));
  }
  blob16(field = 'blob'): Uint8Array {
    const n = this.u16(field);
    return this.bytes(n, field);
  }
  /** Trailing bytes are tolerated (a newer minor version may append fields), per PROTOCOL.md §7. */
  end(): void {}
}
