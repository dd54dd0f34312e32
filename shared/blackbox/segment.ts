import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError } from '../errors.js';
import type { LogRecord } from '../types/domain.js';
import {
  hashedRange,
  readHeader,
  readTrailer,
  recordCapacity,
  recordReader,
  slotErased,
  slotSynced,
  type SegmentHeader,
  type SegmentTrailer,
} from './format.js';

/**
 * One parsed segment: header, trailer (null while open), and how many records it holds. Parsing
 * checks structure only; hashes and signatures are checked by verify.ts.
 */
export interface ParsedSegment {
  bytes: Uint8Array;
  header: SegmentHeader;
  trailer: SegmentTrailer | null;
  recordCount: number;
  /** Record capacity of the segment. */
  capacity: number;
}

export function parseSegment(bytes: Uint8Array): ParsedSegment {
  const header = readHeader(bytes);
  if (bytes.length !== header.segmentSize) {
    throw new DecodeError(`segment ${header.counter}: ${bytes.length} bytes where the header says ${header.segmentSize}`);
  }
  const capacity = recordCapacity(header.segmentSize, header.headerLen, header.recordSize);
  const trailer = readTrailer(bytes, header);
  let recordCount: number;
  const rs = header.recordSize;
  if (trailer) {
    recordCount = trailer.recordCount;
  } else {
    // Open segment: records run until the first erased slot.
    recordCount = 0;
    while (recordCount < capacity && !slotErased(bytes, header.headerLen + recordCount * rs)) recordCount++;
  }
  for (let i = 0; i < recordCount; i++) {
    if (!slotSynced(bytes, header.headerLen + i * rs)) throw new DecodeError(`segment ${header.counter}: record ${i} has no sync word`);
  }
  return { bytes, header, trailer, recordCount, capacity };
}

/** SHA-256 over the range a segment's hash and signature cover. */
export function segmentDigest(bytes: Uint8Array): Uint8Array {
  return sha256(hashedRange(bytes));
}

/** All records of a segment as LogRecords, numbered from firstIndex. */
export function* segmentRecords(seg: ParsedSegment, firstIndex: number, limit = seg.recordCount): Generator<LogRecord> {
  yield* segmentRecordArray(seg, firstIndex, limit);
}

/** The records of a segment as an array (the fast path: no generator step per record). */
export function segmentRecordArray(seg: ParsedSegment, firstIndex: number, limit = seg.recordCount): LogRecord[] {
  const reader = recordReader(seg.header.schema);
  const { headerLen, recordSize, rtcMs, counter } = seg.header;
  const n = Math.min(limit, seg.recordCount);
  const out = new Array<LogRecord>(n);
  for (let i = 0; i < n; i++) out[i] = reader.record(seg.bytes, headerLen + i * recordSize, rtcMs, firstIndex + i, counter);
  return out;
}
