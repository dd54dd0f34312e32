import { DecodeError } from '../errors.js';
import { crc32 } from '../protocol/crc32.js';
import type { DeviceInfo } from '../types/domain.js';
import { utf8Decode, utf8Encode } from '../util/bytes.js';
import { rd16, rd32, rd64, wr16, wr32, wr64 } from '../util/le.js';
import { MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE } from './format.js';
import { ATTESTATION_SIZE, decodeAttestation, encodeAttestation, type Attestation, type Checkpoint } from './verify.js';

/**
 * The `.pslog` file: a black-box download kept as evidence. Layout (little-endian):
 *
 *   preamble (64 bytes)
 *     0  magic "PSLOG\r\n\x1a"        8  version u16 (1)        10 flags u16 (bit 0: complete)
 *     12 segmentSize u32              16 metaOffset u32          20 metaLength u32
 *     24 segmentsOffset u64           32 segmentCount u32 (0 in a partial file)
 *     36 checkpointOffset u64 (0: none)  44 checkpointLength u32  48 indexOffset u64
 *     56 CRC-32 of bytes 0–55 u32     60 reserved
 *   meta       JSON (UTF-8): identity, device certificate (hex), board status at pull time, nonce, tool
 *   segments   the device's segments byte for byte (header, records, trailer with signature), in
 *              counter order; a gap in the device's ring shows as a jump in counters, never filled
 *   checkpoint counter u32 · recordCount u16 · segmentSize u32 · nonceLen u8 · nonce · signature[64] ·
 *              prefixLen u32 · prefix (the open segment's header and records, as the board froze them)
 *              [· tag u8 (2) · attestation[84]] for a format-2 checkpoint: the board's signed extent
 *              (oldest and newest closed segment with their SHA-256, board clock, boot count;
 *              shared/blackbox/verify.ts encodeAttestation). Absent in files of first-format boards.
 *              [· tag u8 (3) · length u16 · lifetime counters] the board's signed lifetime counters
 *              (shared/health/lifetime.ts), after the attestation; absent from boards without them.
 *   index      per segment 24 bytes: counter u32 · recordCount u16 · flags u16 · firstRecord u64 · rtcMs u64
 *
 * A download in progress is `FILE.pslog.partial`: the same preamble with flags = 0, meta, and the
 * segments verified so far (segments run to the end of the file). It is renamed to FILE.pslog only
 * when complete, so a partial can never be mistaken for a log.
 *
 * This module is the container format only, byte for byte and platform-free: the blocks' encoders
 * and decoders and the layout checks. Reading and writing files is the host's
 * (electron/host/blackbox/pslog.ts: PslogReader, PslogWriter).
 */
export const PSLOG_MAGIC = utf8Encode('PSLOG\r\n\x1a');
export const PSLOG_VERSION = 1;
export const PREAMBLE_SIZE = 64;
export const INDEX_ENTRY_SIZE = 24;
const FLAG_COMPLETE = 1;

/** The meta block: JSON (UTF-8). */
export interface PslogMeta {
  format: 'pslog';
  tool: string;
  pulledAt: string;
  identity: DeviceInfo | null;
  /** Hex of the device certificate (shared/blackbox/certificate.ts). */
  certificate: string;
  /** Board's black-box status when the pull started. */
  board?: Record<string, unknown>;
  /** Nonce (hex) the tool sent for the checkpoint. */
  nonce?: string;
  source?: { port?: string; baud?: number };
  /** Hex of the board's signed settings snapshot (over the pull's nonce) and change records (shared/settings/evidence.ts). */
  settings?: string;
}

export interface Preamble {
  version: number;
  complete: boolean;
  segmentSize: number;
  metaOffset: number;
  metaLength: number;
  segmentsOffset: number;
  segmentCount: number;
  checkpointOffset: number;
  checkpointLength: number;
  indexOffset: number;
}

export interface IndexEntry {
  counter: number;
  recordCount: number;
  flags: number;
  /** Index of the segment's first record in the whole log. */
  firstRecord: number;
  rtcMs: number;
}

export function encodePreamble(p: Preamble): Uint8Array {
  const b = new Uint8Array(PREAMBLE_SIZE);
  b.set(PSLOG_MAGIC);
  b[8] = PSLOG_VERSION;
  b[10] = p.complete ? FLAG_COMPLETE : 0;
  wr32(b, 12, p.segmentSize);
  wr32(b, 16, p.metaOffset);
  wr32(b, 20, p.metaLength);
  wr64(b, 24, p.segmentsOffset);
  wr32(b, 32, p.segmentCount);
  wr64(b, 36, p.checkpointOffset);
  wr32(b, 44, p.checkpointLength);
  wr64(b, 48, p.indexOffset);
  wr32(b, 56, crc32(b.subarray(0, 56)));
  return b;
}

export function decodePreamble(b: Uint8Array): Preamble {
  if (b.length < PREAMBLE_SIZE) throw new DecodeError('file too short for a .pslog preamble');
  for (let i = 0; i < 8; i++) if (b[i] !== PSLOG_MAGIC[i]) throw new DecodeError('not a .pslog file (magic)');
  if (crc32(b.subarray(0, 56)) !== rd32(b, 56)) throw new DecodeError('.pslog preamble is damaged (CRC)');
  const version = rd16(b, 8);
  if (version !== PSLOG_VERSION) throw new DecodeError(`unsupported .pslog version ${version}`);
  return {
    version,
    complete: (rd16(b, 10) & FLAG_COMPLETE) !== 0,
    segmentSize: rd32(b, 12),
    metaOffset: rd32(b, 16),
    metaLength: rd32(b, 20),
    segmentsOffset: rd64(b, 24),
    segmentCount: rd32(b, 32),
    checkpointOffset: rd64(b, 36),
    checkpointLength: rd32(b, 44),
    indexOffset: rd64(b, 48),
  };
}

/** Tag of the attestation that follows the prefix in a checkpoint block. */
export const CHECKPOINT_ATTESTATION_TAG = 2;
/** Tag of the signed lifetime counters that may follow the attestation. */
export const CHECKPOINT_LIFETIME_TAG = 3;

export function encodeCheckpoint(cp: Checkpoint): Uint8Array {
  const att = cp.attestation ? encodeAttestation(cp.attestation) : null;
  const life = att && cp.lifetime ? cp.lifetime : null;
  if (life && life.length > 0xffff) throw new RangeError('lifetime counters too large for a checkpoint block');
  const b = new Uint8Array(4 + 2 + 4 + 1 + cp.nonce.length + 64 + 4 + cp.prefix.length + (att ? 1 + ATTESTATION_SIZE : 0) + (life ? 3 + life.length : 0));
  let o = 0;
  wr32(b, o, cp.counter);
  o += 4;
  b[o++] = cp.recordCount & 0xff;
  b[o++] = cp.recordCount >>> 8;
  wr32(b, o, cp.segmentSize);
  o += 4;
  b[o++] = cp.nonce.length;
  b.set(cp.nonce, o);
  o += cp.nonce.length;
  b.set(cp.signature, o);
  o += 64;
  wr32(b, o, cp.prefix.length);
  o += 4;
  b.set(cp.prefix, o);
  o += cp.prefix.length;
  if (att) {
    b[o++] = CHECKPOINT_ATTESTATION_TAG;
    b.set(att, o);
    o += ATTESTATION_SIZE;
  }
  if (life) {
    b[o++] = CHECKPOINT_LIFETIME_TAG;
    wr16(b, o, life.length);
    b.set(life, o + 2);
  }
  return b;
}

export function decodeCheckpoint(b: Uint8Array): Checkpoint {
  const need = (o: number, n: number) => {
    if (o + n > b.length) throw new DecodeError('checkpoint block truncated');
  };
  need(0, 11);
  const counter = rd32(b, 0);
  const recordCount = rd16(b, 4);
  const segmentSize = rd32(b, 6);
  const nl = b[10]!;
  need(11, nl + 68);
  const nonce = b.slice(11, 11 + nl);
  const signature = b.slice(11 + nl, 75 + nl);
  const pl = rd32(b, 75 + nl);
  need(79 + nl, pl);
  if (pl > segmentSize || segmentSize > MAX_SEGMENT_SIZE) throw new DecodeError('checkpoint prefix larger than a segment');
  const end = 79 + nl + pl;
  let attestation: Attestation | null = null;
  let lifetime: Uint8Array | null = null;
  if (end < b.length) {
    if (b[end] !== CHECKPOINT_ATTESTATION_TAG) throw new DecodeError(`checkpoint block: unknown extension tag ${b[end]} after the prefix`);
    if (b.length - end - 1 < ATTESTATION_SIZE) throw new DecodeError(`checkpoint block: attestation is ${b.length - end - 1} bytes, not ${ATTESTATION_SIZE}`);
    attestation = decodeAttestation(b.subarray(end + 1, end + 1 + ATTESTATION_SIZE));
    const o = end + 1 + ATTESTATION_SIZE;
    if (o < b.length) {
      if (b[o] !== CHECKPOINT_LIFETIME_TAG) throw new DecodeError(`checkpoint block: unknown extension tag ${b[o]} after the attestation`);
      if (o + 3 > b.length || o + 3 + rd16(b, o + 1) !== b.length) throw new DecodeError('checkpoint block: lifetime counters truncated');
      lifetime = b.slice(o + 3);
    }
  }
  return { counter, recordCount, segmentSize, nonce, signature, prefix: b.slice(79 + nl, end), attestation, ...(lifetime ? { lifetime } : {}) };
}

export function encodeIndexEntry(e: IndexEntry): Uint8Array {
  const b = new Uint8Array(INDEX_ENTRY_SIZE);
  wr32(b, 0, e.counter);
  wr16(b, 4, e.recordCount);
  wr16(b, 6, e.flags);
  wr64(b, 8, e.firstRecord);
  wr64(b, 16, e.rtcMs);
  return b;
}

/** Decodes the index entry at offset `o` of `b` (a whole index block, or one entry). */
export function decodeIndexEntry(b: Uint8Array, o = 0): IndexEntry {
  return { counter: rd32(b, o), recordCount: rd16(b, o + 4), flags: rd16(b, o + 6), firstRecord: rd64(b, o + 8), rtcMs: rd64(b, o + 16) };
}

/** Upper bounds a reader trusts before it allocates: larger values mean a damaged or hostile file. */
export const MAX_META_BYTES = 16 << 20;
export const MAX_CHECKPOINT_BYTES = 2 << 20;

/** The meta block's bytes. */
export function encodeMeta(meta: PslogMeta): Uint8Array {
  return utf8Encode(JSON.stringify(meta));
}

export function decodeMeta(b: Uint8Array): PslogMeta {
  let meta: PslogMeta;
  try {
    meta = JSON.parse(utf8Decode(b)) as PslogMeta;
  } catch {
    throw new DecodeError('.pslog meta block is not valid JSON');
  }
  if (!meta || meta.format !== 'pslog') throw new DecodeError('.pslog meta block has the wrong format tag');
  return meta;
}

/** The preamble of a new partial file: meta right after the preamble, segments right after the meta. */
export function partialPreamble(segmentSize: number, metaLength: number): Preamble {
  return {
    version: PSLOG_VERSION,
    complete: false,
    segmentSize,
    metaOffset: PREAMBLE_SIZE,
    metaLength,
    segmentsOffset: PREAMBLE_SIZE + metaLength,
    segmentCount: 0,
    checkpointOffset: 0,
    checkpointLength: 0,
    indexOffset: 0,
  };
}

/**
 * Checks that the blocks a preamble names lie inside a file of `fileSize` bytes and have plausible
 * sizes (before anything is read or allocated); throws DecodeError naming the first that does not.
 */
export function checkLayout(p: Preamble, fileSize: number): void {
  if (p.metaLength > MAX_META_BYTES || p.metaOffset + p.metaLength > fileSize) throw new DecodeError('.pslog meta block out of range');
  if (p.segmentSize < MIN_SEGMENT_SIZE || p.segmentSize > MAX_SEGMENT_SIZE) throw new DecodeError('.pslog has an implausible segment size');
  if (!p.complete) return;
  if (p.segmentsOffset + p.segmentCount * p.segmentSize > fileSize || p.indexOffset + p.segmentCount * INDEX_ENTRY_SIZE > fileSize) {
    throw new DecodeError('.pslog is truncated (segments or index beyond the end of the file)');
  }
  if (p.checkpointOffset && (p.checkpointOffset + p.checkpointLength > fileSize || p.checkpointLength > MAX_CHECKPOINT_BYTES)) {
    throw new DecodeError('.pslog checkpoint out of range');
  }
}

/** The index block: one entry per stored segment, in file order. */
export function encodeIndex(entries: readonly IndexEntry[]): Uint8Array {
  const b = new Uint8Array(entries.length * INDEX_ENTRY_SIZE);
  entries.forEach((e, i) => b.set(encodeIndexEntry(e), i * INDEX_ENTRY_SIZE));
  return b;
}
