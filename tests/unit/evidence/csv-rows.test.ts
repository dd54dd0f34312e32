import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CsvRowWriter } from '../../../shared/evidence/csv-rows.js';
import { csvRow } from '../../../shared/blackbox/export.js';
import { buildSchemaText, parseSchema, recordReader, type RecordSchema } from '../../../shared/blackbox/format.js';
import type { ParsedSegment } from '../../../shared/blackbox/segment.js';
import { concatByteList, utf8Decode } from '../../../shared/util/bytes.js';

/**
 * The byte-level CSV row writer must print exactly what csvRow prints for the same record, for
 * any raw field values (the extremes of every width and sign included), any segment clock and
 * counter, and layouts it formats itself as well as those it hands to csvRow.
 */

const HEADER_LEN = 16;

function segmentOf(schema: RecordSchema, raw: Uint8Array, rtcMs: number, counter: number): ParsedSegment {
  const n = Math.floor(raw.length / schema.recordSize);
  const bytes = new Uint8Array(HEADER_LEN + n * schema.recordSize);
  bytes.set(raw.subarray(0, n * schema.recordSize), HEADER_LEN);
  return {
    bytes,
    header: { headerLen: HEADER_LEN, recordSize: schema.recordSize, rtcMs, counter, schema } as ParsedSegment['header'],
    trailer: null,
    recordCount: n,
    capacity: n,
  };
}

function viaWriter(seg: ParsedSegment, first: number, bufSize: number): string {
  const parts: Uint8Array[] = [];
  const w = new CsvRowWriter((b) => parts.push(b), bufSize);
  w.segment(seg, first, seg.recordCount);
  w.flush();
  return utf8Decode(concatByteList(parts));
}

function viaCsvRow(seg: ParsedSegment, first: number): string {
  const r = recordReader(seg.header.schema);
  let s = '';
  for (let i = 0; i < seg.recordCount; i++)
    s += csvRow(r.record(seg.bytes, HEADER_LEN + i * seg.header.recordSize, seg.header.rtcMs, first + i, seg.header.counter));
  return s;
}

const SCHEMAS = [
  buildSchemaText(16, ['cells1', 'mosfet', 's3', 's4', 's5', 's6']),
  buildSchemaText(4, ['t1']),
  buildSchemaText(1, ['only']),
  // Another layout with power-of-ten scales: formatted by the writer too.
  'sync:u16;dt:u32:1:ms;pack_v:u16:0.01:V;current:i16:0.1:A;soc:u8:1:%;status:u8;alarms:u32;event:u8;cell_v:u16*3:0.01:V;temp:i8*2:1:C',
  // Scales that are not powers of ten, or finer than csvRow prints: csvRow itself.
  'sync:u16;dt:u32:1:ms;pack_v:u32:0.0001:V;current:i32:0.001:A;soc:u16:0.01:%;status:u16;alarms:u16;event:u16;cell_v:u16*2:0.001:V;temp:i16*1:0.1:C',
  'sync:u16;dt:u32:1:ms;pack_v:u32:0.001:V;current:i32:0.001:A;soc:u8:0.5:%;status:u16;alarms:u16;event:u16;cell_v:u16*2:0.001:V;temp:i16*1:0.25:C',
].map(parseSchema);

describe('CsvRowWriter', () => {
  it('prints what csvRow prints for any raw record, clock and counter', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SCHEMAS),
        fc.uint8Array({ minLength: 0, maxLength: 700, size: 'max' }),
        fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom(0, 253_402_300_799_000, 253_402_300_800_000, 2 ** 53, 2 ** 60)),
        fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constant(0)),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.constantFrom(64, 300, 4096),
        (schema, raw, rtcMs, counter, first, bufSize) => {
          const seg = segmentOf(schema, raw, rtcMs, counter);
          expect(viaWriter(seg, first, bufSize)).toBe(viaCsvRow(seg, first));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('prints the extremes of every field as csvRow does', () => {
    const schema = SCHEMAS[0]!;
    const raw = new Uint8Array(schema.recordSize * 3);
    raw.fill(0xff, 0, schema.recordSize); // u32 max, i32 −1, all flags, event 0xffff, temps −0.1
    raw.fill(0x80, schema.recordSize, 2 * schema.recordSize); // i16/i32 minimum, high flags
    const seg = segmentOf(schema, raw, Date.UTC(2026, 5, 1, 23, 59, 59, 999) - 0xffffffff, 7);
    expect(viaWriter(seg, 0, 64)).toBe(viaCsvRow(seg, 0));
  });
});
