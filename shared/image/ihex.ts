import { DecodeError } from '../errors.js';
import { concatByteList } from '../util/bytes.js';

/**
 * Intel HEX (records 00 data, 01 EOF, 02/04 extended segment/linear address, 03/05 start address),
 * as emitted by compilers, objcopy and python-intelhex. Every line is checked (syntax, length,
 * checksum); overlapping records with different data are an error, never silently merged.
 */
export interface HexSegment {
  address: number;
  data: Uint8Array;
}

export interface IntelHex {
  /** Non-overlapping segments sorted by address, adjacent records merged. */
  segments: HexSegment[];
  /** Start address from a 03/05 record, if any. */
  startAddress: number | null;
}

/** A flat image larger than this is refused (guards against a sparse file allocating gigabytes). */
export const MAX_HEX_SPAN = 64 * 1024 * 1024;

function hexByte(line: string, i: number, lineNo: number): number {
  const v = parseInt(line.substr(i, 2), 16);
  if (!/^[0-9a-fA-F]{2}$/.test(line.substr(i, 2))) throw new DecodeError(`Intel HEX line ${lineNo}: invalid hex digits`);
  return v;
}

export function parseIntelHex(text: string): IntelHex {
  const chunks: HexSegment[] = [];
  let base = 0;
  let startAddress: number | null = null;
  let sawEof = false;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const lineNo = n + 1;
    if (sawEof) throw new DecodeError(`Intel HEX line ${lineNo}: data after the end-of-file record`);
    if (line[0] !== ':' || line.length < 11 || line.length % 2 !== 1) throw new DecodeError(`Intel HEX line ${lineNo}: not a record`);
    const bytes = new Uint8Array((line.length - 1) / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = hexByte(line, 1 + 2 * i, lineNo);
    const len = bytes[0]!;
    if (bytes.length !== len + 5) throw new DecodeError(`Intel HEX line ${lineNo}: length byte says ${len}, record holds ${bytes.length - 5}`);
    let sum = 0;
    for (const b of bytes) sum = (sum + b) & 0xff;
    if (sum !== 0) throw new DecodeError(`Intel HEX line ${lineNo}: checksum error`);
    const offset = (bytes[1]! << 8) | bytes[2]!;
    const type = bytes[3]!;
    const data = bytes.subarray(4, 4 + len);
    switch (type) {
      case 0x00:
        if (len > 0) chunks.push({ address: base + offset, data: data.slice() });
        break;
      case 0x01:
        sawEof = true;
        break;
      case 0x02:
        if (len !== 2) throw new DecodeError(`Intel HEX line ${lineNo}: bad segment address record`);
        base = ((data[0]! << 8) | data[1]!) * 16;
        break;
      case 0x04:
        if (len !== 2) throw new DecodeError(`Intel HEX line ${lineNo}: bad linear address record`);
        base = ((data[0]! << 24) | (data[1]! << 16)) >>> 0;
        break;
      case 0x03:
      case 0x05:
        if (len !== 4) throw new DecodeError(`Intel HEX line ${lineNo}: bad start address record`);
        startAddress = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
        break;
      default:
        throw new DecodeError(`Intel HEX line ${lineNo}: unknown record type ${type}`);
    }
  }
  if (!sawEof) throw new DecodeError('Intel HEX: no end-of-file record (truncated file?)');
  return { segments: mergeSegments(chunks), startAddress };
}

function mergeSegments(chunks: HexSegment[]): HexSegment[] {
  chunks.sort((a, b) => a.address - b.address);
  const out: Array<{ address: number; parts: Uint8Array[]; end: number }> = [];
  for (const c of chunks) {
    const last = out[out.length - 1];
    if (last && c.address < last.end) {
      // Overlap: allowed only when identical (some tools repeat records).
      const prev = concatParts(last.parts);
      for (let i = 0; i < c.data.length && c.address + i < last.end; i++) {
        if (prev[c.address - last.address + i] !== c.data[i]) {
          throw new DecodeError(`Intel HEX: conflicting data at address 0x${(c.address + i).toString(16)}`);
        }
      }
      const tail = c.data.subarray(Math.max(0, last.end - c.address));
      if (tail.length) {
        last.parts = [prev, tail];
        last.end += tail.length;
      }
    } else if (last && c.address === last.end) {
      last.parts.push(c.data);
      last.end += c.data.length;
    } else {
      out.push({ address: c.address, parts: [c.data], end: c.address + c.data.length });
    }
  }
  return out.map((s) => ({ address: s.address, data: concatParts(s.parts) }));
}

/** A single part is returned as is, without a copy. */
function concatParts(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : concatByteList(parts);
}

/** One contiguous image from the lowest to the highest address, gaps filled with `fill`. */
export function hexToBinary(hex: IntelHex, fill = 0xff): { address: number; data: Uint8Array } {
  if (hex.segments.length === 0) throw new DecodeError('Intel HEX: no data records');
  const start = hex.segments[0]!.address;
  const last = hex.segments[hex.segments.length - 1]!;
  const span = last.address + last.data.length - start;
  if (span > MAX_HEX_SPAN) throw new DecodeError(`Intel HEX: data spans ${span} bytes (more than ${MAX_HEX_SPAN})`);
  const out = new Uint8Array(span).fill(fill);
  for (const s of hex.segments) out.set(s.data, s.address - start);
  return { address: start, data: out };
}

const H = (v: number, w: number) => v.toString(16).toUpperCase().padStart(w, '0');

function record(type: number, offset: number, data: Uint8Array): string {
  let sum = data.length + (offset >> 8) + (offset & 0xff) + type;
  let s = `:${H(data.length, 2)}${H(offset, 4)}${H(type, 2)}`;
  for (const b of data) {
    s += H(b, 2);
    sum += b;
  }
  return s + H((0x100 - (sum & 0xff)) & 0xff, 2);
}

/** Writes data at `address` as Intel HEX (extended linear address records, 16 bytes per line). */
export function writeIntelHex(segments: HexSegment[], startAddress: number | null = null, bytesPerLine = 16): string {
  const lines: string[] = [];
  let upper = -1;
  for (const seg of segments) {
    let p = 0;
    while (p < seg.data.length) {
      const addr = seg.address + p;
      const hi = Math.floor(addr / 0x10000);
      if (hi !== upper) {
        lines.push(record(0x04, 0, Uint8Array.of(hi >> 8, hi & 0xff)));
        upper = hi;
      }
      const lo = addr & 0xffff;
      const n = Math.min(bytesPerLine, seg.data.length - p, 0x10000 - lo);
      lines.push(record(0x00, lo, seg.data.subarray(p, p + n)));
      p += n;
    }
  }
  if (startAddress !== null) {
    lines.push(record(0x05, 0, Uint8Array.of(startAddress >>> 24, (startAddress >>> 16) & 255, (startAddress >>> 8) & 255, startAddress & 255)));
  }
  lines.push(':00000001FF');
  return lines.join('\n') + '\n';
}

/** True if the text looks like Intel HEX (first non-blank character is ':'). */
export function looksLikeIntelHex(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x3a;
  }
  return false;
}
