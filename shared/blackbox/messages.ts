import type { ByteReader, ByteWriter } from '../protocol/bytes-io.js';
import { codec as sharedCodec, type Codec } from '../protocol/codec.js';
import { ATTESTATION_SIZE, decodeAttestation, encodeAttestation, type Attestation } from './verify.js';

/**
 * Native-protocol commands of the black box (0x02xx; PROTOCOL.md "Black box") and their payload
 * codecs. The log itself travels over the generic bulk transfer from two regions: the flash ring
 * (physical slot addressing: segment with counter c lives at (c mod slotCount) × segmentSize) and
 * the checkpoint snapshot of the open segment.
 */
export const BB_CMD = {
  STATUS: 0x0200,
  CERTIFICATE: 0x0201,
  CHECKPOINT: 0x0202,
  SEGMENTS: 0x0203,
} as const;

/**
 * Regions: the ring, the frozen checkpoint, and the device certificate (also served by 0x0201; as a
 * region it travels in small retransmitted chunks, which gets it through a noisy line).
 */
export const BB_REGION = { RING: 0x10, CHECKPOINT: 0x11, CERTIFICATE: 0x12 } as const;
export const BB_REGION_NAME = { RING: 'blackbox', CHECKPOINT: 'blackbox-checkpoint', CERTIFICATE: 'device-certificate' } as const;
/** u32 "none" in status fields. */
export const NONE32 = 0xffffffff;

export type { Codec } from '../protocol/codec.js';

/** Black-box payloads report every malformed field as a DecodeError naming the message. */
function codec<T>(name: string, write: (w: ByteWriter, v: T) => void, read: (r: ByteReader) => T): Codec<T> {
  return sharedCodec(name, write, read, { wrapErrors: true });
}

export interface BlackBoxStatus {
  segmentSize: number;
  slotCount: number;
  ringRegion: number;
  checkpointRegion: number;
  /** Oldest closed segment still in the ring (NONE32 when there is none). */
  oldestCounter: number;
  /** Newest closed segment (NONE32 when none). */
  newestCounter: number;
  /** Open segment counter (NONE32 when none) and its records so far. */
  openCounter: number;
  openRecords: number;
  recordSize: number;
  recordIntervalMs: number;
  bootCount: number;
  /** Records written since the ring was created (for the user; not evidence). */
  recordsWritten: number;
}

export const BB_STATUS = codec<BlackBoxStatus>(
  'blackbox-status',
  (w, v) =>
    w
      .u32(v.segmentSize)
      .u32(v.slotCount)
      .u8(v.ringRegion)
      .u8(v.checkpointRegion)
      .u32(v.oldestCounter)
      .u32(v.newestCounter)
      .u32(v.openCounter)
      .u16(v.openRecords)
      .u16(v.recordSize)
      .u32(v.recordIntervalMs)
      .u32(v.bootCount)
      .u64(v.recordsWritten),
  (r) => ({
    segmentSize: r.u32('segmentSize'),
    slotCount: r.u32('slotCount'),
    ringRegion: r.u8('ringRegion'),
    checkpointRegion: r.u8('checkpointRegion'),
    oldestCounter: r.u32('oldestCounter'),
    newestCounter: r.u32('newestCounter'),
    openCounter: r.u32('openCounter'),
    openRecords: r.u16('openRecords'),
    recordSize: r.u16('recordSize'),
    recordIntervalMs: r.u32('recordIntervalMs'),
    bootCount: r.u32('bootCount'),
    recordsWritten: r.u64('recordsWritten'),
  }),
);

export const BB_CERTIFICATE = codec<{ certificate: Uint8Array }>(
  'blackbox-certificate',
  (w, v) => w.blob16(v.certificate),
  (r) => ({ certificate: r.blob16('certificate') }),
);

export const BB_CHECKPOINT_REQ = codec<{ nonce: Uint8Array }>(
  'checkpoint-request',
  (w, v) => w.u8(v.nonce.length).bytes(v.nonce),
  (r) => {
    const n = r.u8('nonceLength');
    return { nonce: r.bytes(n, 'nonce') };
  },
);

/**
 * The answer to BB_CHECKPOINT. A current board keeps it short (18 bytes) and puts the seal, the
 * signature and the attestation, after the prefix in the checkpoint region, where the bulk engine
 * moves it in small retransmitted chunks: a 170-byte answer reaches the host only about one time
 * in fifteen on a line that damages 1.5 % of its bytes. A board of the first format answered with
 * the signature (and, briefly, the attestation) inline; both still decode.
 */
export interface CheckpointResponse {
  counter: number;
  recordCount: number;
  /** Bytes of the frozen prefix (header + records) at the start of the checkpoint region. */
  length: number;
  segmentSize: number;
  /** Newest closed segment the board attests (NONE32: none); null from a board that answers inline. */
  newestCounter: number | null;
  /** Inline signature (first format); null when the seal follows the prefix in the region. */
  signature: Uint8Array | null;
  /** Inline attestation (first boards of format 2); null otherwise. */
  attestation: Attestation | null;
}

/** Bytes after the prefix in the checkpoint region of a current board: signature[64] | attestation[84]. */
export const CHECKPOINT_SEAL_SIZE = 64 + ATTESTATION_SIZE;

export const BB_CHECKPOINT_RES = codec<CheckpointResponse>(
  'checkpoint-response',
  (w, v) => {
    w.u32(v.counter).u16(v.recordCount).u32(v.length).u32(v.segmentSize);
    if (v.signature) {
      w.bytes(v.signature);
      if (v.attestation) w.bytes(encodeAttestation(v.attestation));
    } else w.u32(v.newestCounter ?? NONE32);
  },
  (r) => {
    const head = { counter: r.u32('counter'), recordCount: r.u16('recordCount'), length: r.u32('length'), segmentSize: r.u32('segmentSize') };
    if (r.remaining === 4) return { ...head, newestCounter: r.u32('newestCounter'), signature: null, attestation: null };
    const signature = r.bytes(64, 'signature');
    const attestation = r.remaining > 0 ? decodeAttestation(r.bytes(ATTESTATION_SIZE, 'attestation')) : null;
    return { ...head, newestCounter: null, signature, attestation };
  },
);

/**
 * Splits a current board's checkpoint region into the prefix, its seal and, from a board that keeps
 * them, the signed lifetime counters after the seal (PROTOCOL.md 7.7; null from older boards).
 */
export function splitCheckpointRegion(
  region: Uint8Array,
  length: number,
): { prefix: Uint8Array; signature: Uint8Array; attestation: Attestation; lifetime: Uint8Array | null } {
  if (region.length < length + CHECKPOINT_SEAL_SIZE)
    throw new RangeError(`checkpoint region holds ${region.length} bytes, expected at least ${length + CHECKPOINT_SEAL_SIZE}`);
  const end = length + CHECKPOINT_SEAL_SIZE;
  return {
    prefix: region.slice(0, length),
    signature: region.slice(length, length + 64),
    attestation: decodeAttestation(region.subarray(length + 64, end)),
    lifetime: region.length > end ? region.slice(end) : null,
  };
}

export const BB_SEGMENTS_REQ = codec<{ from: number; max: number }>(
  'segments-request',
  (w, v) => w.u32(v.from).u16(v.max),
  (r) => ({ from: r.u32('from'), max: r.u16('max') }),
);

export interface SegmentListEntry {
  counter: number;
  slot: number;
  rtcMs: number;
  recordCount: number;
  flags: number;
}

export const BB_SEGMENTS_RES = codec<{ segments: SegmentListEntry[] }>(
  'segments-response',
  (w, v) => {
    w.u16(v.segments.length);
    for (const s of v.segments) w.u32(s.counter).u32(s.slot).u64(s.rtcMs).u16(s.recordCount).u16(s.flags);
  },
  (r) => {
    const n = r.u16('count');
    const segments: SegmentListEntry[] = [];
    for (let i = 0; i < n; i++)
      segments.push({ counter: r.u32('counter'), slot: r.u32('slot'), rtcMs: r.u64('rtcMs'), recordCount: r.u16('recordCount'), flags: r.u16('flags') });
    return { segments };
  },
);
