import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkLayout,
  decodeCheckpoint,
  decodeIndexEntry,
  decodeMeta,
  decodePreamble,
  encodeCheckpoint,
  encodeIndex,
  encodeIndexEntry,
  encodeMeta,
  encodePreamble,
  INDEX_ENTRY_SIZE,
  partialPreamble,
  PREAMBLE_SIZE,
  type Preamble,
  type PslogMeta,
} from '../../../shared/blackbox/pslog-format.js';
import { DecodeError } from '../../../shared/errors.js';
import { utf8Encode } from '../../../shared/util/bytes.js';

/** The .pslog container codec on its own: bytes in, bytes out, no files. */
const u32 = fc.nat(0xffff_ffff);
const u53 = fc.nat(Number.MAX_SAFE_INTEGER);
const preambleArb: fc.Arbitrary<Preamble> = fc.record({
  version: fc.constant(1),
  complete: fc.boolean(),
  segmentSize: u32,
  metaOffset: u32,
  metaLength: u32,
  segmentsOffset: u53,
  segmentCount: u32,
  checkpointOffset: u53,
  checkpointLength: u32,
  indexOffset: u53,
});
const meta: PslogMeta = { format: 'pslog', tool: 'packscope 0.1.0', pulledAt: '2026-06-01T08:00:00.000Z', identity: null, certificate: 'abcd', nonce: '00ff' };

describe('.pslog container format', () => {
  it('preambles and index entries round-trip; the preamble CRC catches any flipped byte', () => {
    fc.assert(
      fc.property(preambleArb, fc.nat(55), fc.integer({ min: 1, max: 255 }), (p, at, x) => {
        const b = encodePreamble(p);
        expect(b.length).toBe(PREAMBLE_SIZE);
        expect(decodePreamble(b)).toEqual(p);
        const bad = b.slice();
        bad[at] ^= x;
        expect(() => decodePreamble(bad)).toThrow(DecodeError);
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ counter: u32, recordCount: fc.nat(0xffff), flags: fc.nat(0xffff), firstRecord: u53, rtcMs: u53 }), { maxLength: 20 }),
        (entries) => {
          const block = encodeIndex(entries);
          expect(block.length).toBe(entries.length * INDEX_ENTRY_SIZE);
          entries.forEach((e, i) => {
            expect(decodeIndexEntry(block, i * INDEX_ENTRY_SIZE)).toEqual(e);
            expect(decodeIndexEntry(encodeIndexEntry(e))).toEqual(e);
          });
        },
      ),
    );
  });

  it('a checkpoint block round-trips, with and without the attestation', () => {
    const cp = {
      counter: 7,
      recordCount: 2,
      segmentSize: 512,
      nonce: new Uint8Array(16).fill(1),
      signature: new Uint8Array(64).fill(2),
      prefix: new Uint8Array(200).fill(3),
    };
    expect(decodeCheckpoint(encodeCheckpoint(cp))).toEqual({ ...cp, attestation: null });
    expect(() => decodeCheckpoint(encodeCheckpoint(cp).subarray(0, 100))).toThrow(/truncated/);
  });

  it('the meta block is tagged JSON', () => {
    expect(decodeMeta(encodeMeta(meta))).toEqual(meta);
    expect(() => decodeMeta(utf8Encode('{"format":'))).toThrow(/not valid JSON/);
    expect(() => decodeMeta(utf8Encode('{"format":"other"}'))).toThrow(/wrong format tag/);
    expect(() => decodeMeta(utf8Encode('null'))).toThrow(/wrong format tag/);
  });

  it('a new partial file puts meta after the preamble and segments after the meta', () => {
    const p = partialPreamble(4096, 300);
    expect(p).toMatchObject({ complete: false, metaOffset: PREAMBLE_SIZE, metaLength: 300, segmentsOffset: PREAMBLE_SIZE + 300, segmentCount: 0 });
    expect(() => checkLayout(p, PREAMBLE_SIZE + 300)).not.toThrow();
    expect(() => checkLayout(p, PREAMBLE_SIZE + 299)).toThrow(/meta block out of range/);
  });

  it('layout checks refuse blocks outside the file and implausible sizes before anything is allocated', () => {
    const ok: Preamble = { ...partialPreamble(4096, 100), complete: true, segmentCount: 2, checkpointOffset: 8356, checkpointLength: 400, indexOffset: 8756 };
    const size = ok.indexOffset + 2 * INDEX_ENTRY_SIZE;
    expect(() => checkLayout(ok, size)).not.toThrow();
    expect(() => checkLayout(ok, size - 1)).toThrow(/truncated/);
    expect(() => checkLayout({ ...ok, segmentSize: 100 }, size)).toThrow(/implausible segment size/);
    expect(() => checkLayout({ ...ok, segmentSize: 2 << 20 }, size)).toThrow(/implausible segment size/);
    expect(() => checkLayout({ ...ok, metaLength: 17 << 20 }, 1 << 30)).toThrow(/meta block out of range/);
    expect(() => checkLayout({ ...ok, checkpointLength: 3 << 20 }, 1 << 30)).toThrow(/checkpoint out of range/);
    expect(() => checkLayout({ ...ok, checkpointOffset: size }, size)).toThrow(/checkpoint out of range/);
  });

  it('arbitrary bytes give DecodeError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        for (const fn of [decodePreamble, decodeCheckpoint, decodeMeta]) {
          try {
            fn(b);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }
      }),
    );
  });
});
