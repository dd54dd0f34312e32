import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { p256 } from '@noble/curves/nist.js';
import {
  ChainVerifier,
  DEFAULT_SEGMENT_SIZE,
  SegmentBuilder,
  SegmentStreamDecoder,
  assembleCertificate,
  buildSchemaText,
  certificateTbs,
  checkpointMessage,
  csvHeader,
  csvRow,
  decodeCertificate,
  decodeSegments,
  jsonlRow,
  parseSchema,
  parsePublicKeyPem,
  publicKeyPem,
  segmentRecords,
  spkiFromPoint,
  verifyCertificate,
  verifyCheckpoint,
  verifySegmentBytes,
  type Checkpoint,
} from '../../../shared/blackbox/index.js';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { PUBLIC, SCHEMA, SECRET, buildChain, record, sign } from './helpers.js';

const CHAIN = buildChain(4);

describe('record and segment format', () => {
  it('records round-trip within their scale', () => {
    const schema = parseSchema(buildSchemaText(16, ['a', 'b', 'c', 'd', 'mosfet', 'board']));
    expect(schema.recordSize).toBe(66);
    fc.assert(
      fc.property(
        fc.record({
          dt: fc.integer({ min: 0, max: 4_000_000_000 }),
          packVoltage: fc.double({ min: 0, max: 150, noNaN: true }),
          current: fc.double({ min: -2_000_000, max: 2_000_000, noNaN: true }),
          soc: fc.double({ min: 0, max: 100, noNaN: true }),
          cells: fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: 16, maxLength: 16 }),
          temps: fc.array(fc.double({ min: -40, max: 150, noNaN: true }), { minLength: 6, maxLength: 6 }),
          status: fc.integer({ min: 0, max: 0xffff }),
          alarms: fc.integer({ min: 0, max: 0xffff }),
          event: fc.integer({ min: 0, max: 0xffff }),
        }),
        (v) => {
          const rtc = 1_750_000_000_000;
          const b = new SegmentBuilder({
            counter: 1,
            bootCount: 1,
            rtcMs: rtc,
            uptimeMs: 0,
            prevHash: new Uint8Array(32),
            serial: 'X',
            schemaText: schema.text,
          });
          b.append({
            t: rtc + v.dt,
            packVoltage: v.packVoltage,
            current: v.current,
            soc: v.soc,
            cellVoltages: v.cells,
            temperatures: v.temps,
            status: v.status,
            alarms: v.alarms,
            event: v.event,
          });
          b.close(sign);
          const [item] = decodeSegments(b.bytes);
          expect(item!.kind).toBe('segment');
          if (item!.kind !== 'segment') return;
          const [r] = [...segmentRecords(item.segment, 0)];
          expect(r!.t).toBe(rtc + v.dt);
          expect(Math.abs(r!.packVoltage - v.packVoltage)).toBeLessThanOrEqual(0.0005 + 1e-9);
          expect(Math.abs(r!.current - v.current)).toBeLessThanOrEqual(0.0005 + 1e-9);
          expect(Math.abs(r!.soc - v.soc)).toBeLessThanOrEqual(0.005 + 1e-9);
          r!.cellVoltages.forEach((c, i) => expect(Math.abs(c - v.cells[i]!)).toBeLessThanOrEqual(0.0005 + 1e-9));
          r!.temperatures.forEach((c, i) => expect(Math.abs(c - v.temps[i]!)).toBeLessThanOrEqual(0.05 + 1e-9));
          expect([r!.status, r!.alarms, r!.event]).toEqual([v.status, v.alarms, v.event]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a 4 KiB segment holds 60 records of a 16-cell pack', () => {
    const b = new SegmentBuilder({
      counter: 0,
      bootCount: 1,
      rtcMs: 0,
      uptimeMs: 0,
      prevHash: new Uint8Array(32),
      serial: 'PS',
      schemaText: buildSchemaText(16, ['a', 'b', 'c', 'd', 'mosfet', 'board']),
    });
    expect(b.bytes.length).toBe(DEFAULT_SEGMENT_SIZE);
    expect(b.capacity).toBeGreaterThanOrEqual(55);
  });

  it('a chain decodes segment by segment in any chunking and verifies', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), (cuts) => {
        const d = new SegmentStreamDecoder();
        const items = [];
        let o = 0;
        for (let i = 0; o < CHAIN.bytes.length; i++) {
          const n = cuts[i % cuts.length]!;
          items.push(...d.push(CHAIN.bytes.subarray(o, o + n)));
          o += n;
        }
        items.push(...d.finish());
        expect(items.map((x) => (x.kind === 'segment' ? x.segment.header.counter : -1))).toEqual([100, 101, 102, 103]);
      }),
      { numRuns: 50 },
    );
    const s = verifySegmentBytes(CHAIN.bytes, { publicKey: PUBLIC, serial: 'PS24-000123' });
    expect(s.ok).toBe(true);
    expect(s.records).toBe(16);
    expect([s.firstCounter, s.lastCounter]).toEqual([100, 103]);
  });

  it('arbitrary bytes give only typed damage reports, never an exception or a hang', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        for (const item of decodeSegments(bytes)) if (item.kind === 'damage') expect(item.error).toBeInstanceOf(DecodeError);
      }),
      { numRuns: 300 },
    );
  });

  it('fuzzed and truncated segments give only typed errors', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: CHAIN.bytes.length }),
        fc.array(fc.tuple(fc.nat(CHAIN.bytes.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        (cut, edits) => {
          const b = CHAIN.bytes.slice(0, cut);
          for (const [p, v] of edits) if (p < b.length) b[p] = v;
          const s = verifySegmentBytes(b, { publicKey: PUBLIC });
          for (const i of s.issues) expect(typeof i.message).toBe('string');
          if (cut < CHAIN.bytes.length && cut % 512 !== 0) expect(s.ok).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('flipping any single byte of a segment makes verification fail and name that segment', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 }), fc.nat(511), fc.integer({ min: 1, max: 255 }), (k, pos, x) => {
        const b = CHAIN.bytes.slice();
        b[k * 512 + pos]! ^= x;
        const s = verifySegmentBytes(b, { publicKey: PUBLIC });
        expect(s.ok).toBe(false);
        expect(s.issues.some((i) => i.segment === 100 + k)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('removing a middle segment is reported as a gap naming it', () => {
    const b = new Uint8Array([...CHAIN.segments[0]!, ...CHAIN.segments[1]!, ...CHAIN.segments[3]!]);
    const s = verifySegmentBytes(b, { publicKey: PUBLIC });
    expect(s.ok).toBe(false);
    expect(s.issues).toEqual([expect.objectContaining({ kind: 'gap', segment: 102 })]);
    expect(s.missingSegments).toBe(1);
  });

  it('a segment signed by another key is reported as a bad signature', () => {
    const other = p256.getPublicKey(p256.utils.randomSecretKey(new Uint8Array(48).fill(9)), false);
    const s = verifySegmentBytes(CHAIN.bytes, { publicKey: other });
    expect(s.issues.filter((i) => i.kind === 'signature').map((i) => i.segment)).toEqual([100, 101, 102, 103]);
  });

  it('checkpoint: seals the open segment with the tool nonce and chains to the last closed one', () => {
    const last = decodeSegments(CHAIN.segments[3]!)[0]!;
    if (last.kind !== 'segment') throw new Error('no segment');
    const open = new SegmentBuilder({
      segmentSize: 512,
      counter: 104,
      bootCount: 3,
      rtcMs: 1_800_000_000_000,
      uptimeMs: 1,
      prevHash: last.segment.trailer!.sha256,
      serial: 'PS24-000123',
      schemaText: SCHEMA,
    });
    open.append(record(1_800_000_000_000, 1));
    open.append(record(1_800_000_001_000, 2));
    const nonce = new Uint8Array(16).fill(0x42);
    const prefix = open.bytes.slice(0, open.usedBytes);
    const cp: Checkpoint = {
      counter: 104,
      recordCount: 2,
      nonce,
      prefix,
      segmentSize: 512,
      signature: p256.sign(checkpointMessage(104, 2, nonce, prefix), SECRET),
    };
    const chain = new ChainVerifier({ publicKey: PUBLIC });
    for (const it of decodeSegments(CHAIN.bytes)) if (it.kind === 'segment') chain.addSegment(it.segment);
    expect(verifyCheckpoint(chain, cp, PUBLIC, nonce)).toEqual([]);
    expect(verifyCheckpoint(chain, cp, PUBLIC, new Uint8Array(16))[0]!.message).toMatch(/nonce/);
    const bad = { ...cp, prefix: cp.prefix.slice() };
    bad.prefix[bad.prefix.length - 3]! ^= 1;
    expect(verifyCheckpoint(chain, bad, PUBLIC, nonce).length).toBeGreaterThan(0);
  });

  it('CSV and JSONL rows carry units and one row per record', () => {
    const seg = decodeSegments(CHAIN.segments[0]!)[0]!;
    if (seg.kind !== 'segment') throw new Error('no segment');
    const rows = [...segmentRecords(seg.segment, 0)];
    const header = csvHeader(4, seg.segment.header.schema.tempLabels);
    expect(header).toContain('pack_voltage_V');
    expect(header).toContain('temp_mosfet_C');
    const line = csvRow(rows[0]!);
    expect(line.split(',').length).toBe(header.split(',').length);
    expect(line).toContain('charger_connected');
    const j = JSON.parse(jsonlRow(rows[0]!));
    expect(j.eventName).toBe('charger_connected');
    expect(j.cellVoltages).toHaveLength(4);
  });
});

describe('device certificate', () => {
  const caSecret = p256.utils.randomSecretKey(new Uint8Array(48).fill(1));
  const caSpki = spkiFromPoint(p256.getPublicKey(caSecret, false));
  const tbs = certificateTbs({
    issuedMs: 1_750_000_000_123,
    serial: 'PS24-000123',
    model: 'PackScope Sim BMS',
    boardId: 'PSB-16S-LFP-A',
    devicePublicKey: PUBLIC,
    issuerSpki: caSpki,
  });
  const raw = assembleCertificate(tbs, p256.sign(tbs, caSecret));

  it('round-trips and chains to its root; PEM round-trips', () => {
    const c = decodeCertificate(raw);
    expect(c).toMatchObject({ serial: 'PS24-000123', model: 'PackScope Sim BMS', boardId: 'PSB-16S-LFP-A', issuedMs: 1_750_000_000_123 });
    expect(() => verifyCertificate(c, caSpki)).not.toThrow();
    expect(parsePublicKeyPem(publicKeyPem(caSpki)).spki).toEqual(caSpki);
  });

  it('fails against another root or when altered', () => {
    const other = spkiFromPoint(p256.getPublicKey(p256.utils.randomSecretKey(new Uint8Array(48).fill(2)), false));
    expect(() => verifyCertificate(decodeCertificate(raw), other)).toThrow(PackscopeError);
    const bad = raw.slice();
    bad[20]! ^= 1;
    expect(() => verifyCertificate(decodeCertificate(bad), caSpki)).toThrow(/signature/);
  });

  it('arbitrary bytes decode to a certificate or a DecodeError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(raw.length), (junk, cut) => {
        for (const b of [junk, raw.slice(0, cut)]) {
          try {
            decodeCertificate(b);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }
      }),
    );
    expect(sha256(raw).length).toBe(32);
  });
});

describe('record view', () => {
  it('the reusable view decodes the same values as the LogRecord path', async () => {
    const { createRecordView, recordReader } = await import('../../../shared/blackbox/format.js');
    for (const it of decodeSegments(CHAIN.bytes)) {
      if (it.kind !== 'segment') continue;
      const s = it.segment;
      const reader = recordReader(s.header.schema);
      const v = createRecordView(s.header.schema);
      for (const r of segmentRecords(s, 0)) {
        reader.view(s.bytes, s.header.headerLen + r.index * s.header.recordSize, s.header.rtcMs, v);
        expect({ ...v, cellVoltages: [...v.cellVoltages], temperatures: [...v.temperatures] }).toEqual({
          t: r.t,
          packVoltage: r.packVoltage,
          current: r.current,
          soc: r.soc,
          cellVoltages: r.cellVoltages,
          temperatures: r.temperatures,
          status: r.status,
          alarms: r.alarms,
          event: r.event,
        });
      }
    }
  });
});
