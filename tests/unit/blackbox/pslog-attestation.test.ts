import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ExtentTracker, PslogWriter, openPslog } from '../../../electron/host/blackbox/pslog.js';
import { CHECKPOINT_ATTESTATION_TAG, decodeCheckpoint, encodeCheckpoint, type PslogMeta } from '../../../shared/blackbox/pslog-format.js';
import {
  ATTESTATION_NONE,
  ATTESTATION_SIZE,
  SegmentBuilder,
  assembleCertificate,
  certificateTbs,
  checkpointMessage,
  decodeSegments,
  spkiFromPoint,
  type Attestation,
  type Checkpoint,
  type ParsedSegment,
} from '../../../shared/blackbox/index.js';
import { DecodeError } from '../../../shared/errors.js';
import { toHex } from '../../../shared/util/bytes.js';
import { PUBLIC, SCHEMA, buildChain, record, sign } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pslog-att-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const caSecret = p256.utils.randomSecretKey(new Uint8Array(48).fill(3));
const rootSpki = spkiFromPoint(p256.getPublicKey(caSecret, false));
const tbs = certificateTbs({ issuedMs: 1, serial: 'PS24-000123', model: 'M', boardId: 'B', devicePublicKey: PUBLIC, issuerSpki: rootSpki });
const cert = assembleCertificate(tbs, p256.sign(tbs, caSecret));
const NONCE = new Uint8Array(16).fill(0x5a);
const meta: PslogMeta = { format: 'pslog', tool: 'test', pulledAt: '2026-01-01T00:00:00Z', identity: null, certificate: toHex(cert), nonce: toHex(NONCE) };

// Closed segments 100…105, then segment 106 open, checkpointed with an attestation.
const CHAIN = buildChain(6);
const parsed = decodeSegments(CHAIN.bytes).flatMap((i) => (i.kind === 'segment' ? [i.segment] : [])) as ParsedSegment[];
const byCounter = new Map(parsed.map((s) => [s.header.counter, s]));

function checkpointFor(oldest: number, newest = 105, extra: Partial<Attestation> = {}): Checkpoint {
  const head = byCounter.get(newest)!;
  const b = new SegmentBuilder({
    segmentSize: 512,
    counter: newest + 1,
    bootCount: 3,
    rtcMs: 1_700_000_100_000,
    uptimeMs: 9000,
    prevHash: head.trailer!.sha256,
    serial: 'PS24-000123',
    schemaText: SCHEMA,
  });
  b.append(record(1_700_000_100_000, 1));
  b.append(record(1_700_000_101_000, 2));
  const prefix = b.bytes.slice(0, b.usedBytes);
  const attestation: Attestation = {
    oldestCounter: oldest,
    oldestHash: byCounter.get(oldest)!.trailer!.sha256,
    newestCounter: newest,
    newestHash: head.trailer!.sha256,
    boardTimeMs: 1_700_000_102_000,
    bootCount: 3,
    ...extra,
  };
  const signature = sign(sha256(checkpointMessage(newest + 1, 2, NONCE, prefix, attestation)));
  return { counter: newest + 1, recordCount: 2, nonce: NONCE, signature, prefix, segmentSize: 512, attestation };
}

async function write(name: string, segs: ParsedSegment[], cp: Checkpoint | null): Promise<string> {
  const file = path.join(dir, name);
  const w = await PslogWriter.create(file, meta, 512);
  await w.appendMany(segs);
  await w.finish(cp);
  return file;
}

describe('.pslog checkpoint attestation', () => {
  it('round-trips the attestation in the checkpoint block; a block without one decodes with null', () => {
    const cp = checkpointFor(100);
    const block = encodeCheckpoint(cp);
    expect(block[block.length - ATTESTATION_SIZE - 1]).toBe(CHECKPOINT_ATTESTATION_TAG);
    expect(decodeCheckpoint(block)).toEqual(cp);
    const old = encodeCheckpoint({ ...cp, attestation: null });
    expect(old.length).toBe(block.length - 1 - ATTESTATION_SIZE);
    expect(decodeCheckpoint(old).attestation).toBeNull();
    const { attestation: _, ...first } = cp;
    expect(decodeCheckpoint(encodeCheckpoint(first))).toEqual({ ...first, attestation: null });
    // Another tag, or a cut attestation, is a decode error.
    const tag = block.slice();
    tag[block.length - ATTESTATION_SIZE - 1] = 3;
    expect(() => decodeCheckpoint(tag)).toThrow(DecodeError);
    expect(() => decodeCheckpoint(block.subarray(0, block.length - 1))).toThrow(DecodeError);
  });

  it('a file holding every attested segment verifies; the reader exposes the attestation and the extent', async () => {
    const cp = checkpointFor(100);
    const file = await write('full.pslog', parsed, cp);
    const r = await openPslog(file);
    expect(r.checkpoint!.attestation).toEqual(cp.attestation);
    const rep = await r.verify(rootSpki);
    expect(rep.issues).toEqual([]);
    expect(rep.ok && rep.checkpoint.ok).toBe(true);
    expect(rep.attestation).toMatchObject({
      oldestCounter: 100,
      newestCounter: 105,
      boardTimeMs: 1_700_000_102_000,
      bootCount: 3,
      complete: true,
      missingCount: 0,
      historyFrom: parsed[0]!.header.rtcMs,
    });
    expect(await r.attestedExtent()).toEqual(rep.attestation);
    await r.close();
  });

  it('the file may hold segments older than the attested oldest (pulled before the ring overwrote them)', async () => {
    const file = await write('older.pslog', parsed, checkpointFor(102));
    const r = await openPslog(file);
    const rep = await r.verify(rootSpki);
    expect(rep.issues).toEqual([]);
    expect(rep.attestation).toMatchObject({ oldestCounter: 102, complete: true, historyFrom: byCounter.get(102)!.header.rtcMs });
    await r.close();
  });

  it('a file lacking attested segments fails verification naming them, though its own chain is whole', async () => {
    const file = await write('cut.pslog', parsed.slice(2), checkpointFor(100));
    const r = await openPslog(file);
    const rep = await r.verify(rootSpki);
    expect(rep.ok).toBe(false);
    expect(rep.checkpoint.ok).toBe(true); // the board's signature is fine: the file is what lacks
    expect(rep.attestation).toMatchObject({ complete: false, missingCount: 2, missing: [{ from: 100, to: 101 }], historyFrom: null });
    expect(rep.issues.map((i) => i.message)).toContain('the board attests segments 100–105, but the file lacks segments 100–101');
    expect((await r.attestedExtent())!.missing).toEqual([{ from: 100, to: 101 }]);
    await r.close();
  });

  it('a gap in the middle and a wrong oldest segment are named', () => {
    const a = checkpointFor(100).attestation!;
    const t = new ExtentTracker();
    for (const s of parsed)
      if (s.header.counter !== 103) t.add(s.header.counter, s.header.counter === 100 ? new Uint8Array(32) : s.trailer!.sha256, s.header.rtcMs);
    const e = t.check(a);
    expect(e.missing).toEqual([{ from: 103, to: 103 }]);
    expect(e.issues.map((i) => i.message)).toEqual([
      'the board attests segments 100–105, but the file lacks segment 103',
      'segment 100 in the file is not the segment the board attests as its oldest (SHA-256 differs)',
    ]);
    expect(e.historyFrom).toBeNull();
    expect(new ExtentTracker().check({ ...a, oldestCounter: 106 }).issues[0]!.kind).toBe('checkpoint');
    expect(new ExtentTracker().check({ ...a, oldestCounter: ATTESTATION_NONE, newestCounter: ATTESTATION_NONE }).complete).toBe(true);
  });

  it('a first-format checkpoint has no attestation and no extent', async () => {
    const { attestation: _, ...cp } = checkpointFor(100);
    const signature = sign(sha256(checkpointMessage(cp.counter, cp.recordCount, NONCE, cp.prefix)));
    const file = await write('v1.pslog', parsed, { ...cp, signature });
    const r = await openPslog(file);
    expect(r.checkpoint!.attestation).toBeNull();
    const rep = await r.verify(rootSpki);
    expect(rep.issues).toEqual([]);
    expect(rep.attestation).toBeNull();
    expect(await r.attestedExtent()).toBeNull();
    await r.close();
  });

  it('the checkpoint block decoder throws only DecodeError on arbitrary bytes, and on a valid block with anything appended', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        try {
          decodeCheckpoint(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
    const block = encodeCheckpoint(checkpointFor(100));
    fc.assert(
      fc.property(fc.nat(block.length), fc.uint8Array({ maxLength: 120 }), (cut, tail) => {
        const b = new Uint8Array(cut + tail.length);
        b.set(block.subarray(0, cut));
        b.set(tail, cut);
        try {
          const cp = decodeCheckpoint(b);
          if (cp.attestation) expect(cp.attestation.oldestHash.length).toBe(32);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
