import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { createBoard, type SimBoard } from '../../../firmware/sim/board.js';
import { assemblePackage, verifyPackage, FILES, type PackageSigner } from '../../../shared/evidence/package.js';
import { blackboxEvidenceDecoder, decodeDeviceEvidence, deviceFiles, type DeviceEvidenceParts } from '../../../shared/evidence/blackbox-evidence.js';
import { PackageHealthSchema } from '../../../shared/evidence/health-section.js';
import { decodeLifetime } from '../../../shared/health/lifetime.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import type { WarrantyPolicy } from '../../../shared/warranty/policy.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { utf8Decode } from '../../../shared/util/bytes.js';
import { concatSegments, takeCheckpoint } from '../health/sim-board.js';

/**
 * A package from a simulated board whose ring has overwritten most of its life: the health section
 * carries the board's signed lifetime counters, the verifier checks them and shows its own
 * recomputation, and a throughput cap counts the pack's whole life with them.
 */
const sk = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(4));
const signer: PackageSigner = { publicKey: ed25519.getPublicKey(sk), sign: (m) => ed25519.sign(m, sk) };

let board: SimBoard;
let parts: DeviceEvidenceParts;
let root: string;

beforeAll(async () => {
  // 8 slots hold 8 minutes; the board has lived 3 hours.
  board = await createBoard({ prefillHours: 3, seed: 4, blackboxSlots: 8 } as never);
  root = utf8Decode(board.storage.read('manufacturing-root.pem')!);
  const checkpoint = await takeCheckpoint(board, new Uint8Array(16).fill(3));
  parts = {
    identity: {
      model: board.identity.model,
      serial: board.identity.serial,
      boardId: board.identity.boardId,
      hardwareRevision: board.identity.hardwareRevision,
      firmwareVersion: board.firmwareVersion,
      bootloaderVersion: board.identity.bootloaderVersion,
      cellCount: 16,
      chemistry: 'lfp',
      nominalCapacityAh: 100,
      pulledAt: new Date(board.now()).toISOString(),
    },
    certificate: board.storage.read('device-cert.bin')!,
    segments: concatSegments(board),
    checkpoint,
  };
});
afterAll(() => board.stop());

async function packageOf(p: DeviceEvidenceParts, policy: WarrantyPolicy) {
  const files = deviceFiles(p);
  const { files: out } = await assemblePackage({
    evidence: decodeDeviceEvidence(files, { rootPublicKeyPem: null }),
    deviceFiles: files,
    claim: {
      customer: 'A. Customer',
      contact: 'a@example.org',
      model: p.identity.model,
      serial: p.identity.serial,
      purchaseDate: '2026-01-15',
      description: 'It no longer lasts.',
      remedy: 'repair',
      problem: 'capacity',
    },
    policy,
    photos: [],
    createdAt: new Date(board.now() + 60_000),
    toolVersion: '0.1.0',
    signer,
  });
  return { files: out, verification: await verifyPackage(writeZip(out), { decoder: blackboxEvidenceDecoder, rootPublicKeyPem: root, policy }) };
}

/** A policy whose one void clause caps equivalent full cycles. */
const capPolicy = (maxEquivalentCycles: number): WarrantyPolicy => ({
  ...DEFAULT_POLICY,
  voidConditions: [{ id: 'cycle-cap', title: 'More cycles than the warranty covers', kind: 'throughput_above', maxEquivalentCycles }],
});

describe('package health section with signed lifetime counters', () => {
  it('carries and verifies the counters; a cap the held log stays under but the pack’s life exceeds ends coverage', async () => {
    const life = decodeLifetime(parts.checkpoint!.lifetime!).counters;
    const first = await packageOf(parts, capPolicy(1_000_000));
    const held = first.verification.health!.report.equivalentFullCycles!;
    // The ring forgot most of the pack's life; the counters did not.
    expect(life.equivalentFullCycles).toBeGreaterThan(4 * held);
    const cap = (held + life.equivalentFullCycles) / 2;
    const { files, verification: v } = await packageOf(parts, capPolicy(cap));
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.checks.find((c) => c.id === 'lifetime-counters')!.detail).toMatch(/signed by the device/);
    expect(v.checks.find((c) => c.id === 'health')!.ok).toBe(true);
    const health = PackageHealthSchema.parse(JSON.parse(utf8Decode(files.get(FILES.health)!)));
    expect(health).toEqual(v.health);
    expect(health.rating).toEqual({ chemistry: 'lfp', ratedCapacityAh: 100, from: 'certificate' });
    expect(health.lifetime).toMatchObject({ verified: true, problems: [], equivalentFullCycles: life.equivalentFullCycles });
    expect(health.lifetime!.countedH).toBeGreaterThanOrEqual(3);
    const clause = v.evaluation!.clauses.find((c) => c.id === 'cycle-cap')!;
    expect(clause.status).toBe('triggered');
    const finding = v.evaluation!.findings.find((f) => f.clause === 'cycle-cap')!;
    expect(finding.measured.quantity).toMatch(/lifetime counter/);
    expect(finding.measured.value).toBeCloseTo(life.equivalentFullCycles, 1);
    expect(v.evaluation!.verdict).toBe('excluded');
    // The report shows the health section with the counters.
    const html = utf8Decode(files.get(FILES.report)!);
    expect(html).toContain('<h2>Pack health</h2>');
    expect(html).toContain('signed by the device and consistent with the log');
  });

  it('counters edited after the pull fail verification and count for nothing', async () => {
    const edited = parts.checkpoint!.lifetime!.slice();
    edited[53] ^= 0x40; // charge throughput
    const life = decodeLifetime(parts.checkpoint!.lifetime!).counters;
    const { verification: v } = await packageOf({ ...parts, checkpoint: { ...parts.checkpoint!, lifetime: edited } }, capPolicy(life.equivalentFullCycles / 2));
    const check = v.checks.find((c) => c.id === 'lifetime-counters')!;
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(/signature over the lifetime counters does not verify/);
    expect(v.ok).toBe(false);
    expect(v.health!.lifetime!.verified).toBe(false);
    // Unverified counters never decide: the held log alone stays under the cap.
    expect(v.evaluation!.clauses.find((c) => c.id === 'cycle-cap')!.status).toBe('clear');
  });

  it('a board without counters: the section says absent, and nothing fails for it', async () => {
    const { verification: v } = await packageOf({ ...parts, checkpoint: { ...parts.checkpoint!, lifetime: null } }, capPolicy(1_000_000));
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.health!.lifetime).toBeNull();
    expect(v.checks.find((c) => c.id === 'lifetime-counters')!.detail).toMatch(/absent, not zero/);
  });
});
