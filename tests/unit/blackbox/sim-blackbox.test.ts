import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBoard } from '../../../firmware/sim/board.js';
import { blackBoxOf } from '../../../firmware/sim/blackbox/index.js';
import {
  BB_REGION,
  ChainVerifier,
  EVENTS,
  checkpointMessage,
  decodeCertificate,
  decodeSegments,
  nobleVerifier,
  parsePublicKeyPem,
  segmentRecords,
  verifyCertificate,
  verifyCheckpoint,
  verifySegmentBytes,
} from '../../../shared/blackbox/index.js';
import { sha256 } from '@noble/hashes/sha2.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function readLog(board: Awaited<ReturnType<typeof createBoard>>): Promise<Uint8Array> {
  const rec = blackBoxOf(board)!;
  const region = board.native.region(BB_REGION.RING);
  const parts: Uint8Array[] = [];
  for (let c = rec.oldest!; c <= rec.newest!; c++) parts.push(await region.read(rec.slotOf(c) * 4096, 4096));
  const out = new Uint8Array(parts.length * 4096);
  parts.forEach((p, i) => out.set(p, i * 4096));
  return out;
}

describe('simulated black box', () => {
  it('prefills history quickly, signs a hash chain, and certifies its key to the state dir root', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'psbb-'));
    dirs.push(dir);
    const board = await createBoard({ stateDir: dir, prefillHours: 2, seed: 9, scenario: 'over-current', startTimeMs: Date.UTC(2026, 2, 1) });
    const rec = blackBoxOf(board)!;
    expect(rec.oldest).toBe(0);
    expect(rec.newest! + 1).toBeGreaterThanOrEqual(Math.floor(7200 / 60));
    // Sparse ring: 64 MiB logical, only written pages on disk.
    expect(statSync(path.join(dir, 'blackbox.ring')).size).toBe(64 * 1024 * 1024);
    const root = parsePublicKeyPem(readFileSync(path.join(dir, 'manufacturing-root.pem'), 'utf8'));
    expect(readFileSync(path.join(dir, 'manufacturing-root.pem'), 'utf8')).not.toMatch(/PRIVATE/);
    const cert = decodeCertificate(new Uint8Array(readFileSync(path.join(dir, 'device-cert.bin'))));
    expect(() => verifyCertificate(cert, root.spki)).not.toThrow();
    expect(cert.serial).toBe(board.identity.serial);
    const log = await readLog(board);
    const summary = verifySegmentBytes(log, { publicKey: cert.devicePublicKey, serial: cert.serial });
    expect(summary.issues).toEqual([]);
    expect(summary.records).toBeGreaterThanOrEqual(7100);
    // The scenario's abuse is in the evidence: > 2C discharge and the alarm event.
    let over = 0;
    const events = new Set<number>();
    let idx = 0;
    for (const it of decodeSegments(log)) {
      if (it.kind !== 'segment') continue;
      for (const r of segmentRecords(it.segment, idx)) {
        if (r.current < -200) over++;
        if (r.event) events.add(r.event);
        idx++;
      }
    }
    expect(over).toBeGreaterThan(20);
    expect(events.has(EVENTS.boot)).toBe(true);
    expect(events.has(0x0100 + 5)).toBe(true); // discharge_overcurrent raised
    await board.stop();

    // Restart on the same state: the open segment is closed at boot and the chain continues.
    const again = await createBoard({ stateDir: dir, prefillHours: 2, seed: 9 });
    const rec2 = blackBoxOf(again)!;
    expect(rec2.oldest).toBe(0);
    expect(rec2.newest).toBeGreaterThan(rec.newest!);
    const log2 = await readLog(again);
    const s2 = verifySegmentBytes(log2, { publicKey: cert.devicePublicKey });
    expect(s2.issues).toEqual([]);
    expect(s2.records).toBeGreaterThan(summary.records);

    // Checkpoint of the open segment with a tool nonce.
    for (let i = 0; i < 3; i++)
      rec2.append({
        t: rec2.open!.rtcMs + 60_000 + i * 1000,
        packVoltage: 52,
        current: 0,
        soc: 50,
        cellVoltages: new Array(16).fill(3.25),
        temperatures: new Array(6).fill(20),
        status: 0,
        alarms: 0,
        event: 0,
      });
    const nonce = new Uint8Array(16).fill(5);
    const cp = rec2.checkpoint(nonce, rec2.open!.rtcMs + 70_000);
    expect(cp.recordCount).toBeGreaterThanOrEqual(4);
    const chain = new ChainVerifier({ publicKey: cert.devicePublicKey });
    for (const it of decodeSegments(log2)) if (it.kind === 'segment') chain.addSegment(it.segment);
    expect(verifyCheckpoint(chain, { ...cp, nonce }, cert.devicePublicKey, nonce)).toEqual([]);
    // Format 2: the signature covers the attested extent too.
    expect(cp.attestation.newestCounter).toBe(cp.counter - 1);
    expect(cp.attestation.oldestCounter).toBe(rec2.oldest);
    const msg = checkpointMessage(cp.counter, cp.recordCount, nonce, cp.prefix, cp.attestation);
    const msg1 = checkpointMessage(cp.counter, cp.recordCount, nonce, cp.prefix);
    expect(nobleVerifier(cp.signature, sha256(msg1), cert.devicePublicKey, msg1)).toBe(false);
    expect(nobleVerifier(cp.signature, sha256(msg), cert.devicePublicKey, msg)).toBe(true);
    await again.stop();
  }, 60_000);

  it('a ring smaller than the history keeps the newest segments, still chained', async () => {
    const board = await createBoard({ prefillHours: 1, seed: 3, blackboxSlots: 20 } as never);
    const rec = blackBoxOf(board)!;
    expect(rec.newest! - rec.oldest!).toBe(18); // 19 closed segments + the open one fill 20 slots
    const log = await readLog(board);
    const cert = decodeCertificate(board.storage.read('device-cert.bin')!);
    const s = verifySegmentBytes(log, { publicKey: cert.devicePublicKey });
    expect(s.issues).toEqual([]);
    expect(s.firstCounter).toBe(rec.oldest);
    await board.stop();
  });
});
