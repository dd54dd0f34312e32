import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError } from '../errors.js';
import type { LogRecord } from '../types/domain.js';
import {
  hashedRange, readHeader, readTrailer, recordCapacity, recordReader, slotErased, slotSynced,
  type RecordValues, type SegmentHeader, type SegmentTrailer,
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

/** Decoded values of record i of a parsed segment. */
export function segmentRecord(seg: ParsedSegment, i: number): RecordValues {
  return recordReader(seg.header.schema).read(seg.bytes, seg.header.headerLen + i * seg.header.recordSize, seg.header.rtcMs);
}

/** All records of a segment as LogRecords, numbered from firstIndex. */
export function* segmentRecords(seg: ParsedSegment, firstIndex: number, limit = seg.recordCount): Generator<LogRecord> {
  const reader = recordReader(seg.header.schema);
  const { headerLen, recordSize, rtcMs, counter } = seg.header;
  for (let i = 0; i < Math.min(limit, seg.recordCount); i++) {
    const v = reader.read(seg.bytes, headerLen + i * recordSize, rtcMs);
    yield {
      index: firstIndex + i,
      segment: counter,
      t: v.t,
      packVoltage: v.packVoltage,
      current: v.current,
      soc: v.soc,
      cellVoltages: v.cellVoltages,
      temperatures: v.temperatures,
      status: v.status,
      alarms: v.alarms,
      event: v.event,
    };
  }
}
