import { describe, expect, it } from 'vitest';
import { applyBundle, type ApplyBundleOptions } from '../../../electron/host/bundle/apply.js';
import { certifyReleaseKey, keyId, openBundle } from '../../../shared/bundle/bundle.js';
import { readZipFiles } from '../../../shared/codec/zip.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { PackscopeError } from '../../../shared/errors.js';
import { generateKey } from '../../../shared/image/index.js';
import { utf8Decode, utf8Encode } from '../../../shared/util/bytes.js';
import { board, boardEnv, bundleFor, cert, goodSample, memoryHistory, NOW, release, root } from './helpers.js';

/**
 * Applying release bundles to a simulated board (MCUboot two-slot bootloader, in process): the
 * happy path with test boot, self-test and confirm; automatic revert on a failed self-test; and
 * one test per refusal, each proving that the board's flash saw no erase at all.
 */
async function setup() {
  const b = await boardEnv();
  const history = memoryHistory();
  const opts = (bundle: Uint8Array, more: Partial<ApplyBundleOptions> = {}): ApplyBundleOptions => ({
    bundle,
    target: b.target,
    board,
    trust: { roots: [root.publicKey], revoked: new Set<string>() },
    history,
    now: () => NOW,
    sample: goodSample,
    ...more,
  });
  return { ...b, history, opts };
}

/** Runs an apply that must be refused with `reason`, and proves no sector was erased or programmed. */
async function expectRefusedBeforeErase(s: Awaited<ReturnType<typeof setup>>, o: ApplyBundleOptions, reason: string, message?: RegExp) {
  const before = { ...s.env.flash.stats };
  const image = s.env.flash.dump();
  const e = await applyBundle(o).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(PackscopeError);
  expect(((e as PackscopeError).details as { reason?: string } | undefined)?.reason).toBe(reason);
  if (message) expect((e as PackscopeError).message).toMatch(message);
  expect(s.env.flash.stats.erases).toBe(before.erases);
  expect(s.env.flash.stats.programs).toBe(before.programs);
  expect(s.env.flash.dump()).toEqual(image);
}

describe('release bundle apply', () => {
  it('checks, installs, test-boots, self-tests and confirms; records the sequence and reports the event', async () => {
    const s = await setup();
    const steps: string[] = [];
    const events: unknown[] = [];
    const r = await applyBundle(s.opts(bundleFor(s.env.signingKey), { onStep: (st) => steps.push(st), onApplied: async (e) => void events.push(e) }));
    expect(r.outcome).toBe('installed');
    expect(r.components).toEqual([{ name: 'app', target: 'the board (native link)', from: '1.0.0+0', to: '1.1.0+0', outcome: 'installed' }]);
    expect(r.selfTest).toEqual({ ok: true, problems: [] });
    expect(r.preconditions.map((p) => p.ok)).toEqual([true, true, true]);
    expect(steps).toEqual(['check', 'preconditions', 'install', 'test-boot', 'self-test', 'confirm', 'done']);
    const st = await s.target.status();
    expect(st.runningVersion).toBe('1.1.0+0');
    expect(st.testing).toBe(false);
    expect(s.history.seen(board.serial).installation?.sequence).toBe(10);
    expect(events).toEqual([{ sequence: 10, metadataSha256: r.metadataSha256, component: 'app', oldVersion: '1.0.0+0', newVersion: '1.1.0+0' }]);
    // The same bundle again: nothing to do.
    expect((await applyBundle(s.opts(bundleFor(s.env.signingKey)))).outcome).toBe('already-installed');
  });

  it('a failed self-test reverts automatically: the board runs its previous image, confirmed', async () => {
    const s = await setup();
    const r = await applyBundle(s.opts(bundleFor(s.env.signingKey), { selfTest: async () => ['cell voltages implausible'] }));
    expect(r.outcome).toBe('reverted');
    expect(r.selfTest).toEqual({ ok: false, problems: ['cell voltages implausible'] });
    const st = await s.target.status();
    expect(st.runningVersion).toBe('1.0.0+0');
    expect(st.testing).toBe(false);
    expect(s.history.seen(board.serial).installation).toBeNull();
  });

  it('refuses expired metadata before any erase', async () => {
    const s = await setup();
    await expectRefusedBeforeErase(s, s.opts(bundleFor(s.env.signingKey), { now: () => new Date('2027-06-02T00:00:00Z') }), 'expired', /expired on 2027-06-01/);
  });

  it('refuses a bundle for another board before any erase', async () => {
    const s = await setup();
    const b = bundleFor(s.env.signingKey, { meta: { boards: [{ boardId: 'PSB-OTHER', hardwareRevisions: ['B2'] }] } });
    await expectRefusedBeforeErase(s, s.opts(b), 'wrong_board', /fits PSB-OTHER, the connected board is 'PSB-TEST-A'/);
  });

  it('refuses a bundle for another hardware revision before any erase', async () => {
    const s = await setup();
    const b = bundleFor(s.env.signingKey, { meta: { boards: [{ boardId: board.boardId, hardwareRevisions: ['C1'] }] } });
    await expectRefusedBeforeErase(s, s.opts(b), 'wrong_hardware_revision', /revision C1.*the board is revision B2/);
  });

  it('refuses a sequence lower than this installation has seen, and lower than this board has seen, before any erase', async () => {
    const s = await setup();
    const seen = { sequence: 11, metadataSha256: '0'.repeat(64) };
    await expectRefusedBeforeErase(
      s,
      s.opts(bundleFor(s.env.signingKey), { history: memoryHistory({ installation: seen }) }),
      'sequence_too_low',
      /this installation/,
    );
    await expectRefusedBeforeErase(s, s.opts(bundleFor(s.env.signingKey), { history: memoryHistory({ board: seen }) }), 'sequence_too_low', /this board/);
    // The same sequence with other metadata: a reused counter (freeze / mix-and-match).
    await expectRefusedBeforeErase(s, s.opts(bundleFor(s.env.signingKey), { history: memoryHistory({ board: { ...seen, sequence: 10 } }) }), 'sequence_reused');
  });

  it('refuses mixed components (an image from another release) before any erase', async () => {
    const s = await setup();
    const a = readZipFiles(bundleFor(s.env.signingKey, { version: '1.1.0' }));
    const other = readZipFiles(bundleFor(s.env.signingKey, { version: '1.2.0', counter: 3, seed: 9 }));
    a.set('images/app', other.get('images/app')!);
    await expectRefusedBeforeErase(s, s.opts(writeZip(a)), 'component_mismatch', /does not match the metadata's size and SHA-256/);
  });

  it('refuses a revoked release key, an untrusted root and tampered metadata before any erase', async () => {
    const s = await setup();
    const b = bundleFor(s.env.signingKey);
    await expectRefusedBeforeErase(s, s.opts(b, { trust: { roots: [root.publicKey], revoked: new Set([keyId(release.publicKey)]) } }), 'revoked_key');
    await expectRefusedBeforeErase(s, s.opts(b, { trust: { roots: [generateKey('ed25519').publicKey], revoked: new Set() } }), 'untrusted_key');
    const files = readZipFiles(b);
    files.set('metadata.json', utf8Encode(utf8Decode(files.get('metadata.json')!).replace('"sequence": 10', '"sequence": 99')));
    await expectRefusedBeforeErase(s, s.opts(writeZip(files)), 'bad_signature');
  });

  it('refuses while a precondition does not hold (or telemetry is missing), before any erase', async () => {
    const s = await setup();
    const b = bundleFor(s.env.signingKey);
    await expectRefusedBeforeErase(
      s,
      s.opts(b, { sample: async () => ({ soc: 12, current: 0.2, temperatures: [20] }) }),
      'precondition',
      /state of charge ≥ 30 % \(now 12\.0 %\)/,
    );
    await expectRefusedBeforeErase(s, s.opts(b, { sample: async () => null }), 'precondition', /no telemetry/);
  });

  it('a rotated release key certified by the same root is accepted without touching the trust', async () => {
    const s = await setup();
    const next = generateKey('ecdsa-p256');
    const nextCert = certifyReleaseKey(root, next.publicKey, {
      vendorId: 'acme',
      notBefore: new Date('2026-06-01T00:00:00Z'),
      notAfter: new Date('2029-01-01T00:00:00Z'),
    });
    const b = bundleFor(s.env.signingKey, { releaseKey: next, certificate: nextCert });
    expect(openBundle(b).releaseKeyId).toBe(keyId(next.publicKey));
    expect((await applyBundle(s.opts(b))).outcome).toBe('installed');
    expect(cert.body.rootKeyId).toBe(nextCert.body.rootKeyId);
  });
});
