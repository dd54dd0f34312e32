import {
  DEFAULT_SEGMENT_SIZE,
  TRAILER_FLAG,
  hashedRange,
  parseSchema,
  recordCapacity,
  writeHeader,
  writeRecord,
  writeTrailerHead,
  writeTrailerSeal,
  type RecordSchema,
  type RecordValues,
  type SegmentHeaderInput,
} from './format.js';
import { sha256 } from '@noble/hashes/sha2.js';

/**
 * Builds one segment the way the board's flash sees it: the header is programmed when the segment
 * opens, records are appended into erased (FF) space, and closing programs the trailer with the
 * hash and the device signature. `sign` receives the 32-byte digest and the message it digests
 * (ECDSA-with-SHA-256 over the message is the same signature) and returns raw r‖s.
 */
export type DigestSigner = (digest: Uint8Array, message: Uint8Array) => Uint8Array;

export class SegmentBuilder {
  readonly bytes: Uint8Array;
  readonly schema: RecordSchema;
  readonly headerLen: number;
  readonly capacity: number;
  readonly rtcMs: number;
  readonly counter: number;
  recordCount = 0;
  closed = false;
  /** SHA-256 of the closed segment (its chain link), set by close(). */
  sha256: Uint8Array | null = null;

  constructor(h: SegmentHeaderInput) {
    this.bytes = new Uint8Array(h.segmentSize ?? DEFAULT_SEGMENT_SIZE).fill(0xff);
    this.schema = parseSchema(h.schemaText);
    this.headerLen = writeHeader(this.bytes, h);
    this.capacity = recordCapacity(this.bytes.length, this.headerLen, this.schema.recordSize);
    this.rtcMs = h.rtcMs;
    this.counter = h.counter;
  }

  get full(): boolean {
    return this.recordCount >= this.capacity;
  }

  /** Whether a record at time t fits this segment's u32 millisecond offset (and is not in the past). */
  accepts(t: number): boolean {
    const dt = t - this.rtcMs;
    return !this.closed && !this.full && dt >= 0 && dt < 0xffffffff;
  }

  /** Appends a record; returns the byte range written (what the flash programs). */
  append(r: RecordValues): { offset: number; length: number } {
    if (!this.accepts(r.t)) throw new RangeError('record does not fit this segment');
    const offset = this.headerLen + this.recordCount * this.schema.recordSize;
    writeRecord(this.bytes, offset, this.schema, this.rtcMs, r);
    this.recordCount++;
    return { offset, length: this.schema.recordSize };
  }

  /** Length of the programmed prefix (header + records). */
  get usedBytes(): number {
    return this.headerLen + this.recordCount * this.schema.recordSize;
  }

  close(sign: DigestSigner, flags: number = TRAILER_FLAG.CLOSED): Uint8Array {
    writeTrailerHead(this.bytes, this.recordCount, flags | TRAILER_FLAG.CLOSED);
    const message = hashedRange(this.bytes);
    const digest = sha256(message);
    writeTrailerSeal(this.bytes, digest, sign(digest, message));
    this.closed = true;
    this.sha256 = digest;
    return digest;
  }
}
