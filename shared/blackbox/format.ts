import { DecodeError } from '../errors.js';
import { crc32 } from '../protocol/crc32.js';
import { utf8Decode, utf8Encode } from '../util/bytes.js';
import { rd16, rd32, rd64, rdI32, wr16, wr32, wr64 } from '../util/le.js';
import type { LogRecord } from '../types/domain.js';

/**
 * The black-box segment and record format (normative description: firmware/PROTOCOL.md, "Black
 * box"). All integers little-endian.
 *
 * A segment is one flash page (4096 bytes by default):
 *
 *   header   magic "PSBX" · version u8 · flags u8 · headerLen u16 · segmentSize u32 · counter u32 ·
 *            bootCount u32 · rtcMs u64 · uptimeMs u64 · prevHash[32] · serial[16] (ASCII, NUL-padded) ·
 *            recordSize u16 · schemaLen u16 · schema (ASCII) · headerCrc u32 (CRC-32 of everything before)
 *   records  recordCount × recordSize bytes, each starting with the sync word A5 5A; erased space is FF
 *   trailer  (last 104 bytes) magic "PSBE" · recordCount u16 · flags u16 · sha256[32] · signature[64]
 *
 * sha256 covers bytes [0, segmentSize − 96) (everything before the hash itself); signature is ECDSA
 * P-256 (raw r‖s) by the device key over that digest — i.e. a standard ECDSA-with-SHA-256 signature
 * over the same byte range. The next segment's prevHash is this sha256, which chains the log.
 *
 * The schema is self-describing text, `;`-separated fields `name:type[*count]:scale:unit[:labels]`,
 * e.g. `sync:u16;dt:u32:1:ms;pack_v:u32:0.001:V;…;cell_v:u16*16:0.001:V;temp:i16*6:0.1:C:cells1|…`.
 * A decoder locates every field by the schema, so a future layout with more fields still decodes.
 */

export const SEGMENT_MAGIC = 0x58425350; // "PSBX" little-endian
export const TRAILER_MAGIC = 0x45425350; // "PSBE"
export const FORMAT_VERSION = 1;
export const DEFAULT_SEGMENT_SIZE = 4096;
export const TRAILER_SIZE = 104;
/** Offset of the hash in the trailer relative to the segment end: the hash covers everything before. */
export const HASH_FROM_END = 96;
export const SIGNATURE_SIZE = 64;
export const HEADER_FIXED = 88;
export const RECORD_SYNC0 = 0xa5;
export const RECORD_SYNC1 = 0x5a;
export const SERIAL_BYTES = 16;
export const MIN_SEGMENT_SIZE = 512;
export const MAX_SEGMENT_SIZE = 1 << 20;

export const SEGMENT_FLAG = {
  /** First segment written after a boot. */
  FIRST_AFTER_BOOT: 1,
} as const;

export const TRAILER_FLAG = {
  CLOSED: 1,
  /** Closed at boot: the board lost power while this segment was open. */
  CLOSED_AT_BOOT: 2,
  /** Closed early because the record time offset would overflow or the RTC jumped. */
  CLOSED_EARLY: 4,
} as const;

export type FieldType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32';
const TYPE_SIZE: Record<FieldType, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4 };

export interface SchemaField {
  name: string;
  type: FieldType;
  count: number;
  scale: number;
  unit: string;
  labels: string[];
  /** Byte offset in the record. */
  offset: number;
}

export interface RecordSchema {
  text: string;
  fields: SchemaField[];
  recordSize: number;
  cells: number;
  temps: number;
  /** Temperature sensor names (from the schema's labels), e.g. cells1…, mosfet, board. */
  tempLabels: string[];
}

export interface SegmentHeader {
  version: number;
  flags: number;
  headerLen: number;
  segmentSize: number;
  counter: number;
  bootCount: number;
  rtcMs: number;
  uptimeMs: number;
  prevHash: Uint8Array;
  serial: string;
  recordSize: number;
  schema: RecordSchema;
}

export interface SegmentTrailer {
  recordCount: number;
  flags: number;
  sha256: Uint8Array;
  signature: Uint8Array;
}

/** Decoded record values in SI units (what LogRecord carries without index/segment). */
export type RecordValues = Omit<LogRecord, 'index' | 'segment'>;

// ---------------------------------------------------------------------------------------------
// Schema

export function buildSchemaText(cells: number, tempLabels: readonly string[]): string {
  return [
    'sync:u16',
    'dt:u32:1:ms',
    'pack_v:u32:0.001:V',
    'current:i32:0.001:A',
    'soc:u16:0.01:%',
    'status:u16',
    'alarms:u16',
    'event:u16',
    `cell_v:u16*${cells}:0.001:V`,
    `temp:i16*${tempLabels.length}:0.1:C:${tempLabels.join('|')}`,
  ].join(';');
}

const REQUIRED: Record<string, FieldType[]> = {
  sync: ['u16'],
  dt: ['u32'],
  pack_v: ['u32', 'u16'],
  current: ['i32', 'i16'],
  soc: ['u16', 'u8'],
  status: ['u16', 'u32', 'u8'],
  alarms: ['u16', 'u32', 'u8'],
  event: ['u16', 'u8'],
  cell_v: ['u16'],
  temp: ['i16', 'i8'],
};

const schemaCache = new Map<string, RecordSchema>();

/** Parses a schema text; throws DecodeError when it is malformed or lacks a required field. */
export function parseSchema(text: string): RecordSchema {
  const cached = schemaCache.get(text);
  if (cached) return cached;
  if (text.length === 0 || text.length > 2048) throw new DecodeError('record schema is empty or too long');
  const fields: SchemaField[] = [];
  let offset = 0;
  for (const part of text.split(';')) {
    const bits = part.split(':');
    const name = bits[0] ?? '';
    const typeSpec = bits[1] ?? '';
    const m = /^(u8|i8|u16|i16|u32|i32)(?:\*(\d{1,3}))?$/.exec(typeSpec);
    if (!/^[a-z_][a-z0-9_]*$/.test(name) || !m) throw new DecodeError(`bad schema field "${part.slice(0, 40)}"`);
    const type = m[1] as FieldType;
    const count = m[2] ? Number(m[2]) : 1;
    if (count < 1 || count > 64) throw new DecodeError(`bad element count in schema field "${name}"`);
    const scale = bits[2] === undefined || bits[2] === '' ? 1 : Number(bits[2]);
    if (!Number.isFinite(scale) || scale <= 0) throw new DecodeError(`bad scale in schema field "${name}"`);
    const labels = bits[4] ? bits[4].split('|') : [];
    if (fields.some((f) => f.name === name)) throw new DecodeError(`duplicate schema field "${name}"`);
    fields.push({ name, type, count, scale, unit: bits[3] ?? '', labels, offset });
    offset += TYPE_SIZE[type] * count;
  }
  for (const [name, types] of Object.entries(REQUIRED)) {
    const f = fields.find((x) => x.name === name);
    if (!f || !types.includes(f.type)) throw new DecodeError(`record schema lacks field "${name}"`);
    if (f.count !== 1 && name !== 'cell_v' && name !== 'temp') throw new DecodeError(`schema field "${name}" must be scalar`);
  }
  if (fields[0]!.name !== 'sync' || fields[0]!.offset !== 0) throw new DecodeError('record schema must start with the sync word');
  if (offset > 1024) throw new DecodeError('record size too large');
  const cellsF = fields.find((f) => f.name === 'cell_v')!;
  const tempF = fields.find((f) => f.name === 'temp')!;
  const tempLabels = Array.from({ length: tempF.count }, (_, i) => tempF.labels[i] || `t${i + 1}`);
  const schema: RecordSchema = { text, fields, recordSize: offset, cells: cellsF.count, temps: tempF.count, tempLabels };
  if (schemaCache.size > 64) schemaCache.clear();
  schemaCache.set(text, schema);
  return schema;
}

function readField(b: Uint8Array, o: number, type: FieldType): number {
  switch (type) {
    case 'u8':
      return b[o]!;
    case 'i8':
      return (b[o]! << 24) >> 24;
    case 'u16':
      return rd16(b, o);
    case 'i16':
      return (rd16(b, o) << 16) >> 16;
    case 'u32':
      return rd32(b, o);
    case 'i32':
      return rdI32(b, o);
  }
}

function writeField(b: Uint8Array, o: number, type: FieldType, v: number): void {
  switch (type) {
    case 'u8':
    case 'i8':
      b[o] = v & 0xff;
      return;
    case 'u16':
    case 'i16':
      wr16(b, o, v);
      return;
    case 'u32':
    case 'i32':
      wr32(b, o, v);
  }
}

const LIMITS: Record<FieldType, [number, number]> = {
  u8: [0, 255],
  i8: [-128, 127],
  u16: [0, 65535],
  i16: [-32768, 32767],
  u32: [0, 4294967295],
  i32: [-2147483648, 2147483647],
};

function scaled(v: number, scale: number, type: FieldType): number {
  const lim = LIMITS[type];
  const lo = lim[0];
  const hi = lim[1];
  const x = Math.round(v / scale);
  // Saturate rather than wrap: a sensor reading beyond the field's range stays at the rail.
  return Number.isFinite(x) ? Math.min(hi, Math.max(lo, x)) : 0;
}

// ---------------------------------------------------------------------------------------------
// Header and trailer

export interface SegmentHeaderInput {
  flags?: number;
  segmentSize?: number;
  counter: number;
  bootCount: number;
  rtcMs: number;
  uptimeMs: number;
  prevHash: Uint8Array;
  serial: string;
  schemaText: string;
}

/** Encodes a header (including its CRC) into `seg` (a segment-sized, FF-filled buffer); returns headerLen. */
export function writeHeader(seg: Uint8Array, h: SegmentHeaderInput): number {
  const schema = parseSchema(h.schemaText);
  const schemaBytes = utf8Encode(h.schemaText);
  const headerLen = HEADER_FIXED + schemaBytes.length + 4;
  const size = h.segmentSize ?? seg.length;
  wr32(seg, 0, SEGMENT_MAGIC);
  seg[4] = FORMAT_VERSION;
  seg[5] = h.flags ?? 0;
  wr16(seg, 6, headerLen);
  wr32(seg, 8, size);
  wr32(seg, 12, h.counter);
  wr32(seg, 16, h.bootCount);
  wr64(seg, 20, h.rtcMs);
  wr64(seg, 28, h.uptimeMs);
  seg.set(h.prevHash.subarray(0, 32), 36);
  const serial = utf8Encode(h.serial).subarray(0, SERIAL_BYTES);
  seg.fill(0, 68, 68 + SERIAL_BYTES);
  seg.set(serial, 68);
  wr16(seg, 84, schema.recordSize);
  wr16(seg, 86, schemaBytes.length);
  seg.set(schemaBytes, HEADER_FIXED);
  wr32(seg, HEADER_FIXED + schemaBytes.length, crc32(seg.subarray(0, HEADER_FIXED + schemaBytes.length)));
  return headerLen;
}

/** Records that fit in a segment of this size with this header and record size. */
export function recordCapacity(segmentSize: number, headerLen: number, recordSize: number): number {
  return Math.max(0, Math.floor((segmentSize - TRAILER_SIZE - headerLen) / recordSize));
}

/**
 * Decodes and checks a segment header at `seg[0…]`. `available` bytes are present (a header may be
 * examined before the whole segment has arrived). Throws DecodeError with a precise reason.
 */
export function readHeader(seg: Uint8Array): SegmentHeader {
  return readHeaderChecked(seg);
}

// Consecutive segments carry the same schema: compare bytes instead of decoding text each time.
let lastSchemaBytes: Uint8Array | null = null;
let lastSchema: RecordSchema | null = null;
function schemaFromBytes(b: Uint8Array): RecordSchema {
  if (lastSchemaBytes && lastSchema && lastSchemaBytes.length === b.length) {
    let same = true;
    for (let i = 0; i < b.length; i++) {
      if (lastSchemaBytes[i] !== b[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastSchema;
  }
  const schema = parseSchema(utf8Decode(b));
  lastSchemaBytes = b.slice();
  lastSchema = schema;
  return schema;
}

function readHeaderChecked(seg: Uint8Array): SegmentHeader {
  if (seg.length < HEADER_FIXED + 4) throw new DecodeError('segment shorter than a header');
  if (rd32(seg, 0) !== SEGMENT_MAGIC) throw new DecodeError('no segment magic');
  const version = seg[4]!;
  if (version !== FORMAT_VERSION) throw new DecodeError(`unsupported segment format version ${version}`);
  const headerLen = rd16(seg, 6);
  const segmentSize = rd32(seg, 8);
  const schemaLen = rd16(seg, 86);
  if (headerLen !== HEADER_FIXED + schemaLen + 4) throw new DecodeError('inconsistent header length');
  if (segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE || segmentSize % 256 !== 0) {
    throw new DecodeError(`implausible segment size ${segmentSize}`);
  }
  if (headerLen + TRAILER_SIZE > segmentSize) throw new DecodeError('header does not fit the segment');
  if (seg.length < headerLen) throw new DecodeError('segment shorter than its header');
  if (crc32(seg.subarray(0, headerLen - 4)) !== rd32(seg, headerLen - 4)) throw new DecodeError('header CRC mismatch');
  const schema = schemaFromBytes(seg.subarray(HEADER_FIXED, HEADER_FIXED + schemaLen));
  const recordSize = rd16(seg, 84);
  if (recordSize !== schema.recordSize) throw new DecodeError('record size disagrees with the schema');
  let serialEnd = 68;
  while (serialEnd < 68 + SERIAL_BYTES && seg[serialEnd] !== 0) serialEnd++;
  return {
    version,
    flags: seg[5]!,
    headerLen,
    segmentSize,
    counter: rd32(seg, 12),
    bootCount: rd32(seg, 16),
    rtcMs: rd64(seg, 20),
    uptimeMs: rd64(seg, 28),
    prevHash: seg.slice(36, 68),
    serial: utf8Decode(seg.subarray(68, serialEnd)),
    recordSize,
    schema,
  };
}

/** Writes the trailer's magic, count and flags (the part the hash covers). */
export function writeTrailerHead(seg: Uint8Array, recordCount: number, flags: number): void {
  const o = seg.length - TRAILER_SIZE;
  wr32(seg, o, TRAILER_MAGIC);
  wr16(seg, o + 4, recordCount);
  wr16(seg, o + 6, flags);
}

/** The byte range the segment hash and signature cover. */
export function hashedRange(seg: Uint8Array): Uint8Array {
  return seg.subarray(0, seg.length - HASH_FROM_END);
}

export function writeTrailerSeal(seg: Uint8Array, sha: Uint8Array, signature: Uint8Array): void {
  seg.set(sha.subarray(0, 32), seg.length - HASH_FROM_END);
  seg.set(signature.subarray(0, SIGNATURE_SIZE), seg.length - SIGNATURE_SIZE);
}

/** The trailer, or null when the segment is still open (erased trailer). Throws on a damaged one. */
export function readTrailer(seg: Uint8Array, header: SegmentHeader): SegmentTrailer | null {
  const o = seg.length - TRAILER_SIZE;
  const magic = rd32(seg, o);
  if (magic === 0xffffffff) return null;
  if (magic !== TRAILER_MAGIC) throw new DecodeError(`segment ${header.counter}: damaged trailer`);
  const recordCount = rd16(seg, o + 4);
  if (recordCount > recordCapacity(header.segmentSize, header.headerLen, header.recordSize)) {
    throw new DecodeError(`segment ${header.counter}: record count ${recordCount} exceeds the segment's capacity`);
  }
  return { recordCount, flags: rd16(seg, o + 6), sha256: seg.slice(o + 8, o + 40), signature: seg.slice(o + 40, o + 104) };
}

// ---------------------------------------------------------------------------------------------
// Records

/**
 * A compiled record writer for one schema (offsets, types and scales resolved once): the board's
 * recorder and the prefill write hundreds of thousands of records, so this path stays lean.
 */
class RecordWriter {
  private readonly plan: { f: SchemaField; kind: number }[];
  constructor(readonly schema: RecordSchema) {
    const kinds: Record<string, number> = { sync: 0, dt: 1, pack_v: 2, current: 3, soc: 4, status: 5, alarms: 6, event: 7, cell_v: 8, temp: 9 };
    this.plan = schema.fields.filter((f) => f.name in kinds).map((f) => ({ f, kind: kinds[f.name]! }));
  }
  write(seg: Uint8Array, offset: number, rtcMs: number, r: RecordValues): void {
    const size = this.schema.recordSize;
    // Unknown fields (a newer layout) are written as zero.
    if (this.plan.length !== this.schema.fields.length) seg.fill(0, offset, offset + size);
    for (const { f, kind } of this.plan) {
      const o = offset + f.offset;
      switch (kind) {
        case 0:
          seg[o] = RECORD_SYNC0;
          seg[o + 1] = RECORD_SYNC1;
          break;
        case 1:
          writeField(seg, o, f.type, scaled(Math.max(0, r.t - rtcMs), f.scale, f.type));
          break;
        case 2:
          writeField(seg, o, f.type, scaled(r.packVoltage, f.scale, f.type));
          break;
        case 3:
          writeField(seg, o, f.type, scaled(r.current, f.scale, f.type));
          break;
        case 4:
          writeField(seg, o, f.type, scaled(r.soc, f.scale, f.type));
          break;
        case 5:
          writeField(seg, o, f.type, r.status);
          break;
        case 6:
          writeField(seg, o, f.type, r.alarms);
          break;
        case 7:
          writeField(seg, o, f.type, r.event);
          break;
        case 8: {
          const inv = 1 / f.scale;
          for (let i = 0; i < f.count; i++) {
            const v = Math.round((r.cellVoltages[i] ?? 0) * inv);
            const x = v > 65535 ? 65535 : v > 0 ? v : 0;
            seg[o + 2 * i] = x & 0xff;
            seg[o + 2 * i + 1] = x >>> 8;
          }
          break;
        }
        case 9: {
          const w = TYPE_SIZE[f.type];
          for (let i = 0; i < f.count; i++) writeField(seg, o + w * i, f.type, scaled(r.temperatures[i] ?? 0, f.scale, f.type));
          break;
        }
      }
    }
  }
}

const writerCache = new WeakMap<RecordSchema, RecordWriter>();

/** Encodes one record at `seg[offset…]` relative to the segment's RTC start. */
export function writeRecord(seg: Uint8Array, offset: number, schema: RecordSchema, rtcMs: number, r: RecordValues): void {
  let w = writerCache.get(schema);
  if (!w) writerCache.set(schema, (w = new RecordWriter(schema)));
  w.write(seg, offset, rtcMs, r);
}

/** True when the record slot at offset is erased flash (the end of an open segment). */
export function slotErased(seg: Uint8Array, offset: number): boolean {
  return seg[offset] === 0xff && seg[offset + 1] === 0xff;
}

export function slotSynced(seg: Uint8Array, offset: number): boolean {
  return seg[offset] === RECORD_SYNC0 && seg[offset + 1] === RECORD_SYNC1;
}

/**
 * A compiled record reader for one schema: fixed offsets and scales resolved once, so decoding is
 * a handful of byte reads per field (the decode benchmark measures this path).
 */
export class RecordReader {
  private readonly dt: SchemaField;
  private readonly pack: SchemaField;
  private readonly cur: SchemaField;
  private readonly soc: SchemaField;
  private readonly st: SchemaField;
  private readonly al: SchemaField;
  private readonly ev: SchemaField;
  private readonly cells: SchemaField;
  private readonly temps: SchemaField;
  private readonly tempW: number;
  constructor(readonly schema: RecordSchema) {
    const f = (n: string) => schema.fields.find((x) => x.name === n)!;
    this.dt = f('dt');
    this.pack = f('pack_v');
    this.cur = f('current');
    this.soc = f('soc');
    this.st = f('status');
    this.al = f('alarms');
    this.ev = f('event');
    this.cells = f('cell_v');
    this.temps = f('temp');
    this.tempW = TYPE_SIZE[this.temps.type];
    // The layout buildSchemaText() writes: fixed offsets, so the hot path needs no lookups.
    const std = (f: SchemaField, off: number, type: FieldType, scale: number) => f.offset === off && f.type === type && f.scale === scale;
    this.standard =
      std(this.dt, 2, 'u32', 1) &&
      std(this.pack, 6, 'u32', 0.001) &&
      std(this.cur, 10, 'i32', 0.001) &&
      std(this.soc, 14, 'u16', 0.01) &&
      std(this.st, 16, 'u16', 1) &&
      std(this.al, 18, 'u16', 1) &&
      std(this.ev, 20, 'u16', 1);
  }
  private readonly standard: boolean;

  /** Decodes the record at `seg[o…]` whose segment started at rtcMs. */
  read(seg: Uint8Array, o: number, rtcMs: number): RecordValues {
    return this.record(seg, o, rtcMs, 0, null);
  }

  /** Fills a reusable view in place (no allocation). */
  view(seg: Uint8Array, o: number, rtcMs: number, v: RecordView): void {
    const c = this.cells;
    const cv = v.cellVoltages;
    for (let i = 0, p = o + c.offset, n = Math.min(c.count, cv.length); i < n; i++, p += 2) cv[i] = (seg[p]! | (seg[p + 1]! << 8)) * c.scale;
    const t = this.temps;
    const tv = v.temperatures;
    const tn = Math.min(t.count, tv.length);
    if (this.tempW === 2) for (let i = 0, p = o + t.offset; i < tn; i++, p += 2) tv[i] = (((seg[p]! | (seg[p + 1]! << 8)) << 16) >> 16) * t.scale;
    else for (let i = 0, p = o + t.offset; i < tn; i++, p++) tv[i] = ((seg[p]! << 24) >> 24) * t.scale;
    if (this.standard) {
      v.t = rtcMs + ((seg[o + 2]! | (seg[o + 3]! << 8) | (seg[o + 4]! << 16) | (seg[o + 5]! << 24)) >>> 0);
      v.packVoltage = ((seg[o + 6]! | (seg[o + 7]! << 8) | (seg[o + 8]! << 16) | (seg[o + 9]! << 24)) >>> 0) * 0.001;
      v.current = (seg[o + 10]! | (seg[o + 11]! << 8) | (seg[o + 12]! << 16) | (seg[o + 13]! << 24)) * 0.001;
      v.soc = (seg[o + 14]! | (seg[o + 15]! << 8)) * 0.01;
      v.status = seg[o + 16]! | (seg[o + 17]! << 8);
      v.alarms = seg[o + 18]! | (seg[o + 19]! << 8);
      v.event = seg[o + 20]! | (seg[o + 21]! << 8);
      return;
    }
    v.t = rtcMs + readField(seg, o + this.dt.offset, this.dt.type) * this.dt.scale;
    v.packVoltage = readField(seg, o + this.pack.offset, this.pack.type) * this.pack.scale;
    v.current = readField(seg, o + this.cur.offset, this.cur.type) * this.cur.scale;
    v.soc = readField(seg, o + this.soc.offset, this.soc.type) * this.soc.scale;
    v.status = readField(seg, o + this.st.offset, this.st.type);
    v.alarms = readField(seg, o + this.al.offset, this.al.type);
    v.event = readField(seg, o + this.ev.offset, this.ev.type);
  }

  /**
   * Decodes the record at `seg[o…]` straight into a LogRecord (one object, two arrays): the hot
   * path of decoding and export, kept free of per-field dispatch for the standard layout.
   */
  record(seg: Uint8Array, o: number, rtcMs: number, index: number, segment: number | null): LogRecord {
    const c = this.cells;
    const n = c.count;
    const cs = c.scale;
    const cellVoltages = new Array<number>(n);
    for (let i = 0, p = o + c.offset; i < n; i++, p += 2) cellVoltages[i] = (seg[p]! | (seg[p + 1]! << 8)) * cs;
    const t = this.temps;
    const tn = t.count;
    const ts = t.scale;
    const temperatures = new Array<number>(tn);
    if (this.tempW === 2) {
      for (let i = 0, p = o + t.offset; i < tn; i++, p += 2) temperatures[i] = (((seg[p]! | (seg[p + 1]! << 8)) << 16) >> 16) * ts;
    } else {
      for (let i = 0, p = o + t.offset; i < tn; i++, p++) temperatures[i] = ((seg[p]! << 24) >> 24) * ts;
    }
    if (this.standard) {
      const b = o;
      return {
        index,
        segment,
        t: rtcMs + ((seg[b + 2]! | (seg[b + 3]! << 8) | (seg[b + 4]! << 16) | (seg[b + 5]! << 24)) >>> 0),
        packVoltage: ((seg[b + 6]! | (seg[b + 7]! << 8) | (seg[b + 8]! << 16) | (seg[b + 9]! << 24)) >>> 0) * 0.001,
        current: (seg[b + 10]! | (seg[b + 11]! << 8) | (seg[b + 12]! << 16) | (seg[b + 13]! << 24)) * 0.001,
        soc: (seg[b + 14]! | (seg[b + 15]! << 8)) * 0.01,
        cellVoltages,
        temperatures,
        status: seg[b + 16]! | (seg[b + 17]! << 8),
        alarms: seg[b + 18]! | (seg[b + 19]! << 8),
        event: seg[b + 20]! | (seg[b + 21]! << 8),
      };
    }
    return {
      index,
      segment,
      t: rtcMs + readField(seg, o + this.dt.offset, this.dt.type) * this.dt.scale,
      packVoltage: readField(seg, o + this.pack.offset, this.pack.type) * this.pack.scale,
      current: readField(seg, o + this.cur.offset, this.cur.type) * this.cur.scale,
      soc: readField(seg, o + this.soc.offset, this.soc.type) * this.soc.scale,
      cellVoltages,
      temperatures,
      status: readField(seg, o + this.st.offset, this.st.type),
      alarms: readField(seg, o + this.al.offset, this.al.type),
      event: readField(seg, o + this.ev.offset, this.ev.type),
    };
  }
}

/**
 * A reusable, allocation-free record view: `RecordReader.view()` fills it in place. For consumers
 * that aggregate (rule engine, min/max pyramids, statistics) and need no object per record.
 */
export interface RecordView {
  t: number;
  packVoltage: number;
  current: number;
  soc: number;
  cellVoltages: Float64Array;
  temperatures: Float64Array;
  status: number;
  alarms: number;
  event: number;
}

export function createRecordView(schema: RecordSchema): RecordView {
  return {
    t: 0,
    packVoltage: 0,
    current: 0,
    soc: 0,
    cellVoltages: new Float64Array(schema.cells),
    temperatures: new Float64Array(schema.temps),
    status: 0,
    alarms: 0,
    event: 0,
  };
}

/** Fills `v` with the record at `seg[o…]` (standard layout fast, any layout correct). */
export function readRecordView(reader: RecordReader, seg: Uint8Array, o: number, rtcMs: number, v: RecordView): void {
  reader.view(seg, o, rtcMs, v);
}

const readerCache = new WeakMap<RecordSchema, RecordReader>();
export function recordReader(schema: RecordSchema): RecordReader {
  let r = readerCache.get(schema);
  if (!r) readerCache.set(schema, (r = new RecordReader(schema)));
  return r;
}
