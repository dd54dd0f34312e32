import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createBoard } from '../../../firmware/sim/board.js';
import { BlackBoxRecorder, MemoryRing, blackBoxOf, boardRating, nodeKeyFromSecret, signMessage } from '../../../firmware/sim/blackbox/index.js';
import { ExtentTracker } from '../../../electron/host/blackbox/pslog.js';
import {
  ATTESTATION_NONE,
  ATTESTATION_SIZE,
  BB_CHECKPOINT_REQ,
  BB_CHECKPOINT_RES,
  CHECKPOINT_SEAL_SIZE,
  splitCheckpointRegion,
  BB_CMD,
  ChainVerifier,
  assembleCertificate,
  certificateTbs,
  checkpointMessage,
  decodeAttestation,
  decodeCertificate,
  decodeSegments,
  encodeAttestation,
  hashedRange,
  nobleVerifier,
  parsePublicKeyPem,
  verifyCertificate,
  verifyCheckpoint,
  type Attestation,
} from '../../../shared/blackbox/index.js';
import { IDENTITY } from '../../../shared/protocol/messages.js';
import { CMD, MSG } from '../../../shared/protocol/constants.js';
import { decodeFrame } from '../../../shared/protocol/frame.js';
import { fromHex } from '../../../shared/util/bytes.js';
import type { NativeSession } from '../../../firmware/sim/native/dispatcher.js';
import { PUBLIC, SCHEMA, SECRET, record } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'psatt-'));
  dirs.push(d);
  return d;
}

const KEY = nodeKeyFromSecret(SECRET);
const T0 = 1_750_000_000_000;

function recorder(ring: MemoryRing, boot = 3): BlackBoxRecorder {
  return new BlackBoxRecorder(ring, { serial: 'PS24-000123', schemaText: SCHEMA, deviceKey: KEY, bootCount: () => boot, uptimeMs: () => 1234 });
}

/** The closed segments oldest…newest as the ring holds them, in counter order. */
function ringSegments(rec: BlackBoxRecorder): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let c = rec.oldest!; c <= rec.newest!; c++) out.push(rec.ring.readSlot(rec.slotOf(c)));
  return out;
}

function chainOf(segments: Uint8Array[]): ChainVerifier {
  const chain = new ChainVerifier({ publicKey: PUBLIC });
  for (const s of segments) for (const it of decodeSegments(s)) if (it.kind === 'segment') expect(chain.addSegment(it.segment)).toEqual([]);
  return chain;
}

const fakeSession = (): NativeSession => ({
  emit: () => undefined,
  link: { backlog: 0, settings: { baudRate: 115200 } } as never,
  data: new Map(),
  onClose: () => undefined,
  onDamagedFrame: () => undefined,
  closed: false,
});

async function call(board: Awaited<ReturnType<typeof createBoard>>, cmd: number, payload: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
  const out = await board.native.dispatch({ version: 1, type: MSG.REQUEST, seq: 9, cmd, payload }, fakeSession());
  const f = decodeFrame(out!.subarray(0, -1));
  expect(f.type).toBe(MSG.RESPONSE);
  return f.payload;
}

describe('checkpoint attestation (format 2)', () => {
  it('attests oldest and newest closed segment with their hashes after the ring wrapped', () => {
    const ring = new MemoryRing(8, 512);
    const rec = recorder(ring);
    for (let i = 0; i < 70; i++) rec.append(record(T0 + i * 1000, i), i * 1000);
    expect(rec.newest!).toBeGreaterThan(8); // wrapped more than once
    const nonce = new Uint8Array(16).fill(9);
    const cp = rec.checkpoint(nonce, T0 + 99_000);
    const a = cp.attestation;
    // 8 slots: the open segment and the 7 closed segments before it.
    expect(a.newestCounter).toBe(cp.counter - 1);
    expect(a.oldestCounter).toBe(cp.counter - 7);
    expect(a.oldestCounter).toBe(rec.oldest);
    expect(a.newestCounter).toBe(rec.newest);
    const oldestBytes = ring.readSlot(rec.slotOf(a.oldestCounter));
    const newestBytes = ring.readSlot(rec.slotOf(a.newestCounter));
    expect(a.oldestHash).toEqual(sha256(hashedRange(oldestBytes)));
    expect(a.newestHash).toEqual(sha256(hashedRange(newestBytes)));
    expect(a.boardTimeMs).toBe(T0 + 99_000);
    expect(a.bootCount).toBe(3);
    // The signature covers the attestation (format 2 message), and the checkpoint verifies
    // against the chain of the ring's segments.
    const msg = checkpointMessage(cp.counter, cp.recordCount, nonce, cp.prefix, a);
    expect(nobleVerifier(cp.signature, sha256(msg), PUBLIC, msg)).toBe(true);
    const segments = ringSegments(rec);
    expect(segments.length).toBe(7);
    const chain = chainOf(segments);
    expect(verifyCheckpoint(chain, { ...cp, nonce }, PUBLIC, nonce)).toEqual([]);
    // A changed attestation no longer verifies.
    const forged = { ...cp, nonce, attestation: { ...a, oldestCounter: a.oldestCounter - 1 } };
    expect(verifyCheckpoint(chainOf(segments), forged, PUBLIC, nonce).map((i) => i.kind)).toContain('checkpoint');
    // The segments match the extent.
    const extent = new ExtentTracker();
    for (const s of segments)
      for (const it of decodeSegments(s)) if (it.kind === 'segment') extent.add(it.segment.header.counter, it.segment.trailer!.sha256, it.segment.header.rtcMs);
    const e = extent.check(a);
    expect(e).toMatchObject({ complete: true, missingCount: 0, oldestCounter: a.oldestCounter, newestCounter: a.newestCounter, issues: [] });
    const oldestItem = decodeSegments(oldestBytes)[0]!;
    expect(oldestItem.kind).toBe('segment');
    expect(e.historyFrom).toBe(oldestItem.kind === 'segment' ? oldestItem.segment.header.rtcMs : null);
  });

  it('a checkpoint that opens a segment in a full ring attests the oldest segment still held', () => {
    const ring = new MemoryRing(8, 512);
    const rec = recorder(ring);
    let i = 0;
    // Fill until a segment closes with no open one behind it.
    while (rec.open !== null || rec.newest === null || rec.newest < 12) rec.append(record(T0 + i * 1000, i), i++ * 1000);
    const before = rec.oldest!;
    const cp = rec.checkpoint(new Uint8Array(8).fill(1), T0 + i * 1000);
    // Opening the segment for the checkpoint overwrote the oldest slot.
    expect(cp.attestation.oldestCounter).toBe(before + 1);
    expect(cp.attestation.oldestHash).toEqual(sha256(hashedRange(ring.readSlot(rec.slotOf(before + 1)))));
    expect(cp.attestation.newestCounter).toBe(cp.counter - 1);
  });

  it('with no closed segment it attests none, with zero hashes', () => {
    const rec = recorder(new MemoryRing(8, 512));
    const nonce = new Uint8Array(8).fill(4);
    let cp = rec.checkpoint(nonce, T0);
    expect(cp.attestation).toEqual({
      oldestCounter: ATTESTATION_NONE,
      oldestHash: new Uint8Array(32),
      newestCounter: ATTESTATION_NONE,
      newestHash: new Uint8Array(32),
      boardTimeMs: T0,
      bootCount: 3,
    });
    expect(verifyCheckpoint(new ChainVerifier({ publicKey: PUBLIC }), { ...cp, nonce }, PUBLIC, nonce)).toEqual([]);
    expect(new ExtentTracker().check(cp.attestation)).toMatchObject({ complete: true, oldestCounter: null, newestCounter: null, historyFrom: null });
    rec.append(record(T0, 0), 0);
    cp = rec.checkpoint(nonce, T0 + 1000);
    expect(cp.attestation.newestCounter).toBe(ATTESTATION_NONE);
    expect(cp.recordCount).toBe(1);
  });

  it('after a reboot the recovered recorder attests the segment it closed at boot', () => {
    const ring = new MemoryRing(8, 512);
    const rec = recorder(ring);
    for (let i = 0; i < 30; i++) rec.append(record(T0 + i * 1000, i), i * 1000);
    const open = rec.open!.counter;
    const again = recorder(ring, 4);
    expect(again.newest).toBe(open);
    const cp = again.checkpoint(new Uint8Array(8).fill(2), T0 + 60_000);
    expect(cp.attestation.newestCounter).toBe(open);
    expect(cp.attestation.bootCount).toBe(4);
    expect(cp.attestation.newestHash).toEqual(sha256(hashedRange(ring.readSlot(again.slotOf(open)))));
    expect(cp.attestation.oldestHash).toEqual(sha256(hashedRange(ring.readSlot(again.slotOf(cp.attestation.oldestCounter)))));
    expect(verifyCheckpoint(chainOf(ringSegments(again)), { ...cp, nonce: new Uint8Array(8).fill(2) }, PUBLIC)).toEqual([]);
  });

  it('encodeAttestation / decodeAttestation round-trip any extent, and any 84 bytes', () => {
    const attestation = fc.record({
      oldestCounter: fc.nat(0xffffffff),
      oldestHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      newestCounter: fc.nat(0xffffffff),
      newestHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      boardTimeMs: fc.nat(Number.MAX_SAFE_INTEGER),
      bootCount: fc.nat(0xffffffff),
    });
    fc.assert(
      fc.property(attestation, (a: Attestation) => {
        const b = encodeAttestation(a);
        expect(b.length).toBe(ATTESTATION_SIZE);
        expect(decodeAttestation(b)).toEqual(a);
      }),
    );
    // Any bytes whose clock fits a JavaScript number exactly (below 2^53 ms) come back unchanged.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: ATTESTATION_SIZE, maxLength: ATTESTATION_SIZE }), (b) => {
        b[78]! &= 0x1f;
        b[79] = 0;
        expect(encodeAttestation(decodeAttestation(b))).toEqual(b);
      }),
    );
  });
});

describe('simulated board: format-2 checkpoints, certificate version 2, its own key', () => {
  it('answers BB_CHECKPOINT with the attestation of its ring (blackboxSlots: 8)', async () => {
    const board = await createBoard({ prefillHours: 0.5, seed: 4, blackboxSlots: 8 } as never);
    const rec = blackBoxOf(board)!;
    const nonce = new Uint8Array(12).fill(7);
    const res = BB_CHECKPOINT_RES.decode(await call(board, BB_CMD.CHECKPOINT, BB_CHECKPOINT_REQ.encode({ nonce })));
    // The answer stays short (it must cross noisy lines whole); the seal follows the prefix in the region.
    expect(res.signature).toBeNull();
    expect(res.newestCounter).toBe(res.counter - 1);
    const region = board.native.region(0x11);
    const sealed = splitCheckpointRegion(await region.read(0, res.length + CHECKPOINT_SEAL_SIZE), res.length);
    const a = sealed.attestation;
    expect(a.newestCounter).toBe(res.counter - 1);
    expect(a.oldestCounter).toBe(res.counter - 7);
    expect(a.oldestCounter).toBe(rec.oldest);
    expect(a.oldestHash).toEqual(sha256(hashedRange(rec.ring.readSlot(rec.slotOf(a.oldestCounter)))));
    expect(a.newestHash).toEqual(sha256(hashedRange(rec.ring.readSlot(rec.slotOf(a.newestCounter)))));
    expect(a.boardTimeMs).toBe(board.now());
    expect(a.bootCount).toBe(board.bootCount);
    const cert = decodeCertificate(board.storage.read('device-cert.bin')!);
    const bytes = sealed.prefix;
    const chain = new ChainVerifier({ publicKey: cert.devicePublicKey });
    for (let c = a.oldestCounter; c <= a.newestCounter; c++)
      for (const it of decodeSegments(rec.ring.readSlot(rec.slotOf(c)))) if (it.kind === 'segment') chain.addSegment(it.segment);
    const cp = {
      counter: res.counter,
      recordCount: res.recordCount,
      nonce,
      signature: sealed.signature,
      prefix: bytes,
      segmentSize: res.segmentSize,
      attestation: a,
    };
    expect(verifyCheckpoint(chain, cp, cert.devicePublicKey, nonce)).toEqual([]);
    await board.stop();
  });

  it('certifies the rating IDENTITY reports (version 2), and reissues a version-1 or re-rated certificate with its own CA', async () => {
    const dir = tempDir();
    const board = await createBoard({ stateDir: dir, seed: 5, cells: 8, chemistry: 'nmc', capacityAh: 42.5 });
    const id = IDENTITY.decode(await call(board, CMD.IDENTITY));
    const rootPem = readFileSync(path.join(dir, 'manufacturing-root.pem'), 'utf8');
    const root = parsePublicKeyPem(rootPem).spki;
    const cert = decodeCertificate(new Uint8Array(readFileSync(path.join(dir, 'device-cert.bin'))));
    expect(cert.version).toBe(2);
    expect(cert.cellCount).toBe(id.cellCount);
    expect(cert.chemistry).toBe(id.chemistry);
    expect(Math.round(cert.ratedCapacityAh! * 1000)).toBe(id.nominalCapacityMah);
    expect(cert).toMatchObject({ chemistry: 'nmc', cellCount: 8, ratedCapacityAh: 42.5 });
    expect(boardRating(board)).toEqual({ chemistry: 'nmc', cellCount: 8, ratedCapacityAh: 42.5 });
    verifyCertificate(cert, root);
    await board.stop();

    // Kept as issued across a restart with the same rating.
    const same = await createBoard({ stateDir: dir, seed: 5, cells: 8, chemistry: 'nmc', capacityAh: 42.5 });
    expect(new Uint8Array(readFileSync(path.join(dir, 'device-cert.bin')))).toEqual(cert.raw);
    await same.stop();

    // A version-1 certificate from before the rating: reissued as version 2 by the same CA.
    const ca = JSON.parse(readFileSync(path.join(dir, 'manufacturing-ca.json'), 'utf8')) as { secretKey: string };
    const tbs = certificateTbs({
      issuedMs: 1,
      serial: cert.serial,
      model: cert.model,
      boardId: cert.boardId,
      devicePublicKey: cert.devicePublicKey,
      issuerSpki: root,
    });
    writeFileSync(path.join(dir, 'device-cert.bin'), assembleCertificate(tbs, signMessage(nodeKeyFromSecret(fromHex(ca.secretKey)), tbs)));
    expect(decodeCertificate(new Uint8Array(readFileSync(path.join(dir, 'device-cert.bin')))).version).toBe(1);
    const upgraded = await createBoard({ stateDir: dir, seed: 5, cells: 8, chemistry: 'nmc', capacityAh: 42.5 });
    const v2 = decodeCertificate(upgraded.storage.read('device-cert.bin')!);
    expect(v2).toMatchObject({ version: 2, chemistry: 'nmc', cellCount: 8, ratedCapacityAh: 42.5, serial: cert.serial });
    expect(v2.devicePublicKey).toEqual(cert.devicePublicKey);
    verifyCertificate(v2, root);
    expect(readFileSync(path.join(dir, 'manufacturing-root.pem'), 'utf8')).toBe(rootPem);
    await upgraded.stop();

    // Another rating: reissued with it.
    const rerated = await createBoard({ stateDir: dir, seed: 5, cells: 8, chemistry: 'nmc', capacityAh: 50 });
    const c50 = decodeCertificate(rerated.storage.read('device-cert.bin')!);
    expect(c50.ratedCapacityAh).toBe(50);
    verifyCertificate(c50, root);
    await rerated.stop();
  });

  it('every state directory and every in-memory board has its own key, whatever the seed; a state dir keeps its key', async () => {
    const d1 = tempDir();
    const d2 = tempDir();
    const a = await createBoard({ stateDir: d1, seed: 7 });
    const b = await createBoard({ stateDir: d2, seed: 7 });
    const m1 = await createBoard({ seed: 7 });
    const m2 = await createBoard({ seed: 7 });
    const prints = [a, b, m1, m2].map((x) => x.deviceKey.fingerprint);
    expect(new Set(prints).size).toBe(4);
    // The seed still chooses the simulated values: same serial for the same seed.
    expect(b.identity.serial).toBe(a.identity.serial);
    expect(m1.identity.serial).toBe(a.identity.serial);
    // The black box signs with the key the board reports, and the certificate names it.
    for (const x of [a, b, m1, m2]) {
      expect(decodeCertificate(x.storage.read('device-cert.bin')!).devicePublicKey).toEqual(x.deviceKey.publicKeyRaw);
      const msg = new Uint8Array([1, 2, 3]);
      const sig = x.deviceKey.sign(msg);
      expect(p256.verify(sig, msg, x.deviceKey.publicKeyRaw)).toBe(true);
    }
    await Promise.all([a, b, m1, m2].map((x) => x.stop()));
    const again = await createBoard({ stateDir: d1, seed: 99 });
    expect(again.deviceKey.fingerprint).toBe(prints[0]);
    await again.stop();
  });
});
