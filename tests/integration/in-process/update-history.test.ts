import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { SIGNING_KEY_FILE } from '../../../firmware/sim/boot/firmware-store.js';
import { runSim } from '../../../firmware/sim/run.js';
import { openNativeTarget } from '../../../electron/host/flasher/native-backend.js';
import { flashImage } from '../../../electron/host/flasher/flasher.js';
import { firmwareHistory } from '../../../shared/evidence/blackbox-evidence.js';
import { parsePrivateKeyPem, parseVersion, signImage } from '../../../shared/image/index.js';
import { encodeContainer, signRecord, verifySettingsEvidence } from '../../../shared/settings/evidence.js';
import { DecodeError } from '../../../shared/errors.js';
import { decodeUpdate, encodeUpdateBody, isUpdateRecord, UPDATE_OUTCOMES } from '../../../shared/settings/update-record.js';
import { EVENTS } from '../../../shared/blackbox/events.js';
import { SimTransport } from '../../../electron/host/transport/sim.js';

/**
 * The board's signed firmware history, in process against the simulated native board (its state
 * in a folder, so it keeps flash and journal between runs): a release announced, installed,
 * test-booted and confirmed; another announced, test-booted and reverted. The board signs each step
 * into its journal with old and new version and the release's sequence, raises the black-box
 * events, and a verifier reads the history back; a record taken out of the chain is noticed.
 */
let dir = '';
let boardId = '';
const port = () => `sim:?${new URLSearchParams({ state: path.join(dir, 'board'), seed: '5', unpaced: '1' })}`;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ps-fw-history-'));
  const sim = await runSim({ personality: 'native', stateDir: path.join(dir, 'board'), seed: 5 });
  boardId = sim.board.identity.boardId;
  await sim.stop();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function image(version: string, counter: number): Uint8Array {
  const key = parsePrivateKeyPem(readFileSync(path.join(dir, 'board', SIGNING_KEY_FILE), 'utf8'));
  return signImage({ payload: syntheticApplication(16 * 1024, counter), version: parseVersion(version), key, securityCounter: counter, boardId });
}

describe('firmware history signed by the board', () => {
  it('records test boot, confirm and revert with versions and the release sequence', async () => {
    const opened = await openNativeTarget(port());
    const t = opened.target;
    const raised: number[] = [];
    (opened.session.transport as SimTransport).running!.board.onEvent((e) => raised.push(e.code));
    try {
      expect(await t.announceRelease!({ sequence: 12, metadataSha256: new Uint8Array(32).fill(0xab) })).toBe(true);
      expect((await flashImage(t, image('1.2.0', 2), { confirm: false })).outcome).toBe('installed-test');
      expect(await t.confirm()).toEqual({ changed: true });
      await t.announceRelease!({ sequence: 13, metadataSha256: new Uint8Array(32).fill(0xcd) });
      await flashImage(t, image('1.3.0', 3), { confirm: false });
      await t.revert();
      await t.reset();
      expect((await t.status()).runningVersion).toBe('1.2.0+0');
    } finally {
      await opened.close();
    }

    const sim = await runSim({ personality: 'native', stateDir: path.join(dir, 'board'), seed: 5 });
    try {
      const b = sim.board;
      const entries = b.settingsJournal.page(0, Number.MAX_SAFE_INTEGER).entries;
      const container = encodeContainer(b.settingsSnapshot(new Uint8Array(16)), entries);
      const ev = verifySettingsEvidence(container, b.deviceKey.publicKeyRaw);
      expect(ev.problems).toEqual([]);
      expect(ev.updates.map((u) => [u.outcome, u.oldVersion, u.newVersion, u.releaseSequence])).toEqual([
        ['test-boot', '1.0.0+0', '1.2.0+0', 12],
        ['confirmed', '1.0.0+0', '1.2.0+0', 12],
        ['test-boot', '1.2.0+0', '1.3.0+0', 13],
        ['reverted', '1.3.0+0', '1.2.0+0', 13],
      ]);
      expect(ev.updates[0]!.releaseDigest).toBe('ab'.repeat(32));
      expect(firmwareHistory(ev.updates)).toMatch(/1\.0\.0\+0 → 1\.2\.0\+0 test boot \(release 12\).*1\.3\.0\+0 → 1\.2\.0\+0 reverted \(release 13\)/);
      // The black box got the matching events as they happened.
      const fw = raised.filter((c) => c === EVENTS.firmware_update || c === EVENTS.firmware_confirmed || c === EVENTS.firmware_reverted);
      expect(fw).toEqual([EVENTS.firmware_update, EVENTS.firmware_confirmed, EVENTS.firmware_update, EVENTS.firmware_reverted]);

      // A record taken out of the chain is noticed.
      const i = entries.findIndex((e) => isUpdateRecord(e) && decodeUpdate(e).outcome === 'reverted');
      const cut = verifySettingsEvidence(encodeContainer(b.settingsSnapshot(new Uint8Array(16)), entries.slice(0, i)), b.deviceKey.publicKeyRaw);
      expect(cut.verified).toBe(false);
      expect(cut.problems.join(' ')).toMatch(/evidence ends at/);
    } finally {
      await sim.stop();
    }
  });
});

describe('firmware update record codec (property)', () => {
  const record = fc.record({
    seq: fc.integer({ min: 1, max: 0xffff_ffff }),
    rtcMs: fc.integer({ min: 0, max: 2 ** 48 }),
    bootCount: fc.integer({ min: 0, max: 0xffff_ffff }),
    outcome: fc.constantFrom(...UPDATE_OUTCOMES),
    releaseSequence: fc.integer({ min: 0, max: 0xffff_ffff }),
    releaseDigest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    prevHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    oldVersion: fc.string({ maxLength: 40 }),
    newVersion: fc.string({ maxLength: 40 }),
  });
  it('round-trips every record through body and signature', () => {
    fc.assert(
      fc.property(record, fc.uint8Array({ minLength: 64, maxLength: 64 }), (u, sig) => {
        const d = decodeUpdate(signRecord(encodeUpdateBody(u), () => sig));
        expect({ ...d, hash: undefined, signature: undefined, body: undefined }).toEqual({ ...u, hash: undefined, signature: undefined, body: undefined });
        expect(d.signature).toEqual(sig);
      }),
      { numRuns: 200 },
    );
  });
  it('turns arbitrary bytes into a record or a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const withMagic = Uint8Array.of(0x50, 0x53, 0x46, 0x55, 1, ...bytes);
        for (const b of [bytes, withMagic]) {
          try {
            decodeUpdate(b);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
