/**
 * The native board's signed firmware-update records (firmware/PROTOCOL.md §5.2). The board writes
 * one into the same hash-chained journal as its settings changes whenever it test-boots a new
 * image, confirms it, or reverts from it, so the evidence a pull and a package carry shows the
 * firmware history with the same signatures and the same chain as the settings history:
 *
 *   update record   "PSFU" | version u8 (1) | flags u8 | seq u32 | rtcMs u64 | bootCount u32 |
 *                   outcome u8 | releaseSequence u32 | releaseDigest[32] | prevHash[32] |
 *                   oldVersion str8 | newVersion str8 | signature[64]
 *
 * outcome: 1 test boot (the new image runs on trial), 2 confirmed (kept), 3 reverted (the board runs
 * the old image again). releaseSequence is the release bundle's sequence number the host announced
 * before the install (FW_RELEASE), 0 when the image came without a bundle; releaseDigest the
 * SHA-256 of that bundle's metadata (zero without one). The signature is the device key's over
 * SHA-256(body), as for the settings records (evidence.ts).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError } from '../errors.js';
import { ByteReader, ByteWriter } from '../protocol/bytes-io.js';
import { codec } from '../protocol/codec.js';

export const UPDATE_MAGIC = [0x50, 0x53, 0x46, 0x55]; // PSFU
export const UPDATE_OUTCOMES = ['test-boot', 'confirmed', 'reverted'] as const;
export type UpdateOutcome = (typeof UPDATE_OUTCOMES)[number];

export interface UpdateRecord {
  seq: number;
  rtcMs: number;
  bootCount: number;
  outcome: UpdateOutcome;
  releaseSequence: number;
  releaseDigest: Uint8Array;
  prevHash: Uint8Array;
  oldVersion: string;
  newVersion: string;
}

export function isUpdateRecord(bytes: Uint8Array): boolean {
  return UPDATE_MAGIC.every((b, i) => bytes[i] === b);
}

export function encodeUpdateBody(u: UpdateRecord): Uint8Array {
  const w = new ByteWriter(160);
  for (const b of UPDATE_MAGIC) w.u8(b);
  w.u8(1)
    .u8(0)
    .u32(u.seq)
    .u64(u.rtcMs)
    .u32(u.bootCount)
    .u8(UPDATE_OUTCOMES.indexOf(u.outcome) + 1);
  w.u32(u.releaseSequence).bytes(u.releaseDigest).bytes(u.prevHash).str8(u.oldVersion).str8(u.newVersion);
  return w.finish();
}

/** Decodes a signed update record (body ‖ 64-byte signature). */
export function decodeUpdate(bytes: Uint8Array): UpdateRecord & { hash: Uint8Array; signature: Uint8Array; body: Uint8Array } {
  if (bytes.length < 64 + 8) throw new DecodeError(`firmware update record: too short (${bytes.length} bytes)`);
  const body = bytes.subarray(0, bytes.length - 64);
  const r = new ByteReader(body, 'firmware update record');
  if (!isUpdateRecord(r.bytes(4, 'magic'))) throw new DecodeError('firmware update record: bad magic');
  const version = r.u8('version');
  if (version !== 1) throw new DecodeError(`firmware update record: version ${version} (this PackScope reads 1)`);
  r.u8('flags');
  const seq = r.u32('seq');
  const rtcMs = r.u64('rtcMs');
  const bootCount = r.u32('bootCount');
  const code = r.u8('outcome');
  const outcome = UPDATE_OUTCOMES[code - 1];
  if (!outcome) throw new DecodeError(`firmware update record: unknown outcome ${code}`);
  const u: UpdateRecord = {
    seq,
    rtcMs,
    bootCount,
    outcome,
    releaseSequence: r.u32('releaseSequence'),
    releaseDigest: r.bytes(32, 'releaseDigest').slice(),
    prevHash: r.bytes(32, 'prevHash').slice(),
    oldVersion: r.str8('oldVersion'),
    newVersion: r.str8('newVersion'),
  };
  if (r.remaining !== 0) throw new DecodeError(`firmware update record: ${r.remaining} unexpected bytes before the signature`);
  return { ...u, hash: sha256(body), signature: bytes.slice(bytes.length - 64), body: body.slice() };
}

/** FW_RELEASE (0x0308): the release bundle the next install belongs to. */
export interface ReleaseAnnouncement {
  sequence: number;
  metadataSha256: Uint8Array;
}

export const FW_RELEASE = codec<ReleaseAnnouncement>(
  'fw-release',
  (w, v) => {
    if (v.metadataSha256.length !== 32) throw new RangeError('the metadata digest must be 32 bytes');
    w.u32(v.sequence).bytes(v.metadataSha256);
  },
  (r) => ({ sequence: r.u32('sequence'), metadataSha256: r.bytes(32, 'metadataSha256').slice() }),
);
