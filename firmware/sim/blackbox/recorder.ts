import type { KeyObject } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { ATTESTATION_NONE, checkpointMessage, type Attestation } from '../../../shared/blackbox/verify.js';
import {
  HASH_FROM_END,
  HEADER_FIXED,
  SEGMENT_FLAG,
  SEGMENT_MAGIC,
  TRAILER_FLAG,
  TRAILER_MAGIC,
  TRAILER_SIZE,
  hashedRange,
  readHeader,
  writeTrailerHead,
  writeTrailerSeal,
  type RecordValues,
} from '../../../shared/blackbox/format.js';
import { parseSegment } from '../../../shared/blackbox/segment.js';
import { rd16, rd32, rd64 } from '../../../shared/util/le.js';
import { SegmentBuilder } from '../../../shared/blackbox/writer.js';
import type { FlashRing } from './ring.js';
import { signMessage } from './signing-keys.js';

/**
 * The black-box recorder as the board's firmware runs it: appends fixed-size records to the open
 * segment in the flash ring, closes full segments with the device signature, chains each segment to
 * the previous one by hash, recovers its position by scanning the ring at boot (closing, with a
 * "closed at boot" flag, a segment that was open when power went), and freezes signed checkpoints of
 * the open segment on request. A checkpoint (format 2) also attests the board's extent: the oldest
 * closed segment the ring still holds and the newest one, each with its SHA-256, the RTC and the
 * boot count, so a verifier can tell whether a log holds everything from oldest to newest.
 */
export interface RecorderIdentity {
  serial: string;
  schemaText: string;
  deviceKey: KeyObject;
  bootCount: () => number;
  uptimeMs: () => number;
}

export interface SegmentLocation {
  counter: number;
  slot: number;
  rtcMs: number;
  recordCount: number;
  flags: number;
}

export interface CheckpointSnapshot {
  counter: number;
  recordCount: number;
  prefix: Uint8Array;
  signature: Uint8Array;
  segmentSize: number;
  /** What the checkpoint signature also covers (format 2): the board's extent. */
  attestation: Attestation;
}

export class BlackBoxRecorder {
  oldest: number | null = null;
  newest: number | null = null;
  open: SegmentBuilder | null = null;
  private lastHash: Uint8Array = new Uint8Array(32);
  private nextCounter = 0;
  recordsInRing = 0;
  /** While true (prefill), records are not programmed one by one: whole segments are written at close. */
  private batch = false;
  private firstAfterBoot = true;

  constructor(
    readonly ring: FlashRing,
    private readonly id: RecorderIdentity,
  ) {
    this.recover();
  }

  get segmentSize(): number {
    return this.ring.segmentSize;
  }

  slotOf(counter: number): number {
    return counter % this.ring.slotCount;
  }

  /** Boot scan: find the newest segment, the oldest one still held, and close a torn open segment. */
  private recover(): void {
    const found: { counter: number; slot: number }[] = [];
    for (const { slot, head } of this.ring.slotHeads(16)) {
      if (rd32(head, 0) === SEGMENT_MAGIC) found.push({ counter: rd32(head, 12), slot });
    }
    found.sort((a, b) => a.counter - b.counter);
    // Keep only the newest contiguous run that agrees with slot addressing (older data is overwritten).
    const valid = found.filter((f) => this.slotOf(f.counter) === f.slot);
    if (valid.length === 0) return;
    const newest = valid[valid.length - 1]!;
    let seg = this.ring.readSlot(newest.slot);
    let header;
    try {
      header = readHeader(seg);
    } catch {
      header = null;
    }
    if (header && rd32(seg, seg.length - TRAILER_SIZE) === 0xffffffff) {
      // Power was lost with this segment open: close it now with what it holds.
      let count = 0;
      try {
        count = parseSegment(seg).recordCount;
      } catch {
        count = 0;
      }
      writeTrailerHead(seg, count, TRAILER_FLAG.CLOSED | TRAILER_FLAG.CLOSED_AT_BOOT);
      const message = hashedRange(seg);
      writeTrailerSeal(seg, sha256(message), signMessage(this.id.deviceKey, message));
      this.ring.write(newest.slot * this.segmentSize + seg.length - TRAILER_SIZE, seg.subarray(seg.length - TRAILER_SIZE));
      seg = this.ring.readSlot(newest.slot);
    }
    this.newest = newest.counter;
    this.nextCounter = newest.counter + 1;
    this.lastHash = seg.slice(seg.length - 96, seg.length - 64);
    const minAllowed = newest.counter - this.ring.slotCount + 1;
    const held = valid.filter((f) => f.counter >= minAllowed);
    this.oldest = held.length ? held[0]!.counter : null;
    let records = 0;
    for (const f of held) {
      const t = this.ring.read(f.slot * this.segmentSize + this.segmentSize - TRAILER_SIZE, 8);
      if (rd32(t, 0) === TRAILER_MAGIC) records += rd16(t, 4);
    }
    this.recordsInRing = records;
  }

  private openSegment(t: number, uptimeMs: number): SegmentBuilder {
    const counter = this.nextCounter++;
    const b = new SegmentBuilder({
      segmentSize: this.segmentSize,
      counter,
      bootCount: this.id.bootCount(),
      rtcMs: t,
      uptimeMs,
      prevHash: this.lastHash,
      serial: this.id.serial,
      schemaText: this.id.schemaText,
      flags: this.firstAfterBoot ? SEGMENT_FLAG.FIRST_AFTER_BOOT : 0,
    });
    this.firstAfterBoot = false;
    // Overwriting the slot erases the oldest segment when the ring has wrapped.
    if (this.oldest !== null && counter - this.oldest >= this.ring.slotCount) {
      const dropped = this.segmentInfo(this.oldest);
      this.recordsInRing -= dropped?.recordCount ?? 0;
      this.oldest++;
    }
    if (!this.batch) this.ring.write(this.slotOf(counter) * this.segmentSize, b.bytes);
    this.open = b;
    return b;
  }

  /** Closes the open segment (signed). */
  closeOpen(flags: number = TRAILER_FLAG.CLOSED): void {
    const b = this.open;
    if (!b) return;
    const digest = b.close((_d, message) => signMessage(this.id.deviceKey, message), flags);
    const base = this.slotOf(b.counter) * this.segmentSize;
    if (this.batch) this.ring.write(base, b.bytes);
    else this.ring.write(base + b.bytes.length - TRAILER_SIZE, b.bytes.subarray(b.bytes.length - TRAILER_SIZE));
    this.lastHash = digest;
    this.newest = b.counter;
    if (this.oldest === null) this.oldest = b.counter;
    this.open = null;
  }

  append(r: RecordValues, uptimeMs = this.id.uptimeMs()): void {
    let b = this.open;
    if (b && !b.accepts(r.t)) {
      this.closeOpen(b.full ? TRAILER_FLAG.CLOSED : TRAILER_FLAG.CLOSED | TRAILER_FLAG.CLOSED_EARLY);
      b = null;
    }
    if (!b) b = this.openSegment(r.t, uptimeMs);
    const w = b.append(r);
    this.recordsInRing++;
    if (!this.batch) this.ring.write(this.slotOf(b.counter) * this.segmentSize + w.offset, b.bytes.subarray(w.offset, w.offset + w.length));
    if (b.full) this.closeOpen();
  }

  /** Runs `fn` with whole-segment writes (prefill), then programs the open segment. */
  batched(fn: () => void): void {
    this.batch = true;
    try {
      fn();
    } finally {
      this.batch = false;
      if (this.open) this.ring.write(this.slotOf(this.open.counter) * this.segmentSize, this.open.bytes);
    }
  }

  /** Marks the next segment as the first after a (re)boot, closing the current one. */
  rebooted(): void {
    this.closeOpen();
    this.firstAfterBoot = true;
  }

  /**
   * Freezes and signs the open segment's current bytes with the tool's nonce, together with the
   * attestation of the ring's extent at this moment (`t`: the board's RTC, ms).
   */
  checkpoint(nonce: Uint8Array, t: number): CheckpointSnapshot {
    // Opening a segment may overwrite the oldest slot: attest after it, so the extent is current.
    const b = this.open ?? this.openSegment(t, this.id.uptimeMs());
    const prefix = b.bytes.slice(0, b.usedBytes);
    const attestation = this.attestation(t);
    const signature = signMessage(this.id.deviceKey, checkpointMessage(b.counter, b.recordCount, nonce, prefix, attestation));
    return { counter: b.counter, recordCount: b.recordCount, prefix, signature, segmentSize: this.segmentSize, attestation };
  }

  /** The extent as the board states it: oldest and newest closed segment with their hashes. */
  attestation(t: number): Attestation {
    const none = { counter: ATTESTATION_NONE, hash: new Uint8Array(32) };
    const newest = this.newest === null ? none : { counter: this.newest, hash: this.lastHash.slice() };
    const oldest = this.oldest === null || this.newest === null ? none : { counter: this.oldest, hash: this.trailerHash(this.oldest) };
    return {
      oldestCounter: oldest.counter,
      oldestHash: oldest.hash,
      newestCounter: newest.counter,
      newestHash: newest.hash,
      boardTimeMs: Math.max(0, Math.round(t)),
      bootCount: this.id.bootCount() >>> 0,
    };
  }

  /** The SHA-256 a closed segment's trailer holds, read from flash. */
  private trailerHash(counter: number): Uint8Array {
    if (counter === this.newest) return this.lastHash.slice();
    return this.ring.read(this.slotOf(counter) * this.segmentSize + this.segmentSize - HASH_FROM_END, 32);
  }

  /** Where a closed segment is and what it holds, read from flash; null when not held. */
  segmentInfo(counter: number): SegmentLocation | null {
    if (this.oldest === null || this.newest === null || counter < this.oldest || counter > this.newest) return null;
    const slot = this.slotOf(counter);
    const head = this.ring.read(slot * this.segmentSize, HEADER_FIXED);
    if (rd32(head, 0) !== SEGMENT_MAGIC || rd32(head, 12) !== counter) return null;
    const t = this.ring.read(slot * this.segmentSize + this.segmentSize - TRAILER_SIZE, 8);
    const rtcMs = rd64(head, 20);
    return { counter, slot, rtcMs, recordCount: rd32(t, 0) === TRAILER_MAGIC ? rd16(t, 4) : 0, flags: rd32(t, 0) === TRAILER_MAGIC ? rd16(t, 6) : 0 };
  }
}
