import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planComponents } from '../../../electron/host/bundle/component-targets.js';
import { InstallRecords, type NewInstallRecord } from '../../../electron/host/bundle/install-records.js';
import { FileKeyStore } from '../../../electron/host/evidence/keystore.js';
import { createBundle, openBundle, type BundleRefusal } from '../../../shared/bundle/bundle.js';
import type { BundleComponent } from '../../../shared/bundle/metadata.js';
import { BOARD, makeImage } from '../firmware/boot-env.js';
import { board, boardEnv, cert, memoryHistory, NOW, release, root } from './helpers.js';
import { applyBundle } from '../../../electron/host/bundle/apply.js';
import { PackscopeError } from '../../../shared/errors.js';
import { generateKey } from '../../../shared/image/index.js';

/**
 * Whole-pack bundles without a process: the install order (irreversible components first in the
 * metadata's order, PackScope UDS ECUs next, the board's own slot last), the refusals of targets
 * that cannot be reached or do not take the component's format, and the installation's signed,
 * chained record of each component (an edited, removed or reordered line is found).
 */
const dir = mkdtempSync(path.join(tmpdir(), 'ps-bundle-components-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Spec = Omit<BundleComponent, 'size' | 'sha256'>;
const signing = generateKey('ed25519');

function bundleOf(components: Spec[]) {
  const images = components.map((c) => ({
    name: c.name,
    bytes: c.format === 'mcuboot' ? makeImage(signing, { version: '1.1.0', counter: 2 }) : new Uint8Array(64).fill(c.name.length),
  }));
  return openBundle(
    createBundle({
      metadata: {
        schema: 1,
        sequence: 3,
        vendorId: 'acme',
        boards: [{ boardId: BOARD, hardwareRevisions: ['B2'] }],
        created: '2026-12-01T00:00:00Z',
        expires: '2027-06-01T00:00:00Z',
        notes: '',
        preconditions: {},
        components,
      },
      images,
      releaseKey: release,
      certificate: cert,
    }),
  );
}

const app: Spec = { name: 'app', target: { kind: 'mcuboot', slot: 'secondary' }, format: 'mcuboot', version: '1.1.0', securityCounter: 2 };
const afe: Spec = { name: 'afe', target: { kind: 'stm32-rom', address: 0x0800_0000 }, format: 'bin', version: '2.0', securityCounter: 0 };
const ecu: Spec = { name: 'ecu', target: { kind: 'uds', txId: 0x7e0, rxId: 0x7e8, profile: 'generic' }, format: 'ihex', version: '3.1', securityCounter: 0 };
const ps: Spec = {
  name: 'psecu',
  target: { kind: 'uds', txId: 0x7e1, rxId: 0x7e9, profile: 'packscope' },
  format: 'mcuboot',
  version: '1.1.0',
  securityCounter: 2,
};
const ports = { can: { port: '/dev/ttyACM0' }, rom: { port: '/dev/ttyUSB1' }, profileDir: dir };

function refusal(f: () => unknown): BundleRefusal {
  try {
    f();
  } catch (e) {
    return e as BundleRefusal;
  }
  throw new Error('not refused');
}

describe('whole-pack bundle plan', () => {
  it('installs what cannot be taken back first (metadata order), then PackScope ECUs, the board last', () => {
    const plan = planComponents(bundleOf([app, ps, afe, ecu]), ports);
    expect(plan.map((p) => [p.component.name, p.class])).toEqual([
      ['afe', 'raw'],
      ['ecu', 'raw'],
      ['psecu', 'ecu-mcuboot'],
      ['app', 'board-mcuboot'],
    ]);
    expect(plan.map((p) => p.where)).toEqual([
      'STM32 ROM on /dev/ttyUSB1',
      'ECU 0x7E0/0x7E8 on /dev/ttyACM0',
      'ECU 0x7E1/0x7E9 on /dev/ttyACM0',
      'the board (native link)',
    ]);
  });

  it('refuses a component whose port was not given, whose profile is unknown, or whose format its target cannot take', () => {
    expect(refusal(() => planComponents(bundleOf([app, afe]), { can: ports.can })).reason).toBe('target_unavailable');
    expect(refusal(() => planComponents(bundleOf([ecu]), { rom: ports.rom })).message).toMatch(/--can-port/);
    const custom = { ...ecu, target: { ...ecu.target, profile: 'tb-boot' } } as Spec;
    expect(refusal(() => planComponents(bundleOf([custom]), ports)).message).toMatch(
      /profile 'tb-boot', which is neither built in nor in .*uds-profiles\/tb-boot\.json/,
    );
    // Installed in the config directory, the same profile is found by name.
    mkdirSync(path.join(dir, 'uds-profiles'), { recursive: true });
    writeFileSync(path.join(dir, 'uds-profiles', 'tb-boot.json'), JSON.stringify({ name: 'tb-boot', securityAccess: { level: 1, algorithm: 'xor' } }));
    expect(planComponents(bundleOf([custom]), ports)[0]!.profile?.securityAccess).toEqual({ level: 1, algorithm: 'xor' });
    expect(refusal(() => planComponents(bundleOf([{ ...afe, format: 'mcuboot', version: '1.1.0', securityCounter: 2 } as Spec]), ports)).reason).toBe(
      'malformed',
    );
    expect(refusal(() => planComponents(bundleOf([{ ...ps, format: 'bin' } as Spec]), ports)).message).toMatch(/takes MCUboot images/);
    expect(refusal(() => planComponents(bundleOf([{ ...ecu, format: 'mcuboot', version: '1.1.0', securityCounter: 2 } as Spec]), ports)).message).toMatch(
      /ordinary bootloader/,
    );
  });
});

describe('installation records', () => {
  const entry = (name: string, outcome: NewInstallRecord['outcome']): NewInstallRecord => ({
    release: { sequence: 3, metadataSha256: 'a'.repeat(64), vendorId: 'acme', releaseKeyId: 'b'.repeat(64) },
    board: { boardId: BOARD, hardwareRevision: 'B2', serial: 'PS-1' },
    component: { name, target: 'uds', format: 'bin', version: '3.1', size: 64, sha256: 'c'.repeat(64) },
    where: 'ECU 0x7E0/0x7E8 on /dev/ttyACM0',
    outcome,
    error: outcome === 'failed' ? 'the ECU did not answer' : null,
    reported: { softwareBefore: '3.0', serial: 'TB-1' },
    attestation: 'installation',
  });

  it('signs and chains each record; an edited, removed or reordered line is found', async () => {
    const keys = new FileKeyStore(path.join(dir, 'keys'));
    const records = new InstallRecords(path.join(dir, 'rec'), () => keys.load());
    await records.append(entry('ecu', 'failed'));
    await records.append(entry('ecu', 'installed'));
    await records.append(entry('afe', 'installed'));
    const ok = records.read();
    expect(ok.map((r) => [r.record?.index, r.record?.component.name, r.record?.outcome, r.problems])).toEqual([
      [1, 'ecu', 'failed', []],
      [2, 'ecu', 'installed', []],
      [3, 'afe', 'installed', []],
    ]);
    expect(ok[0]!.publicKey).toBe(Buffer.from((await keys.load()).publicKey).toString('hex'));

    const lines = readFileSync(records.file, 'utf8').trimEnd().split('\n');
    const check = (text: string[]) => {
      writeFileSync(records.file, text.join('\n') + '\n');
      return records.read().flatMap((r) => r.problems);
    };
    expect(check([lines[0]!, lines[1]!.replace('"installed"', '"reverted"'), lines[2]!])).toEqual([
      'line 2: the installation signature does not verify',
      // The next line no longer follows the edited one.
      'line 3 does not follow the line before it (the history was edited)',
    ]);
    expect(check([lines[0]!, lines[2]!])).toEqual([
      'line 2 says it is record 3 (a record was removed or moved)',
      'line 2 does not follow the line before it (the history was edited)',
    ]);
    expect(check([lines[1]!, lines[0]!, lines[2]!]).length).toBeGreaterThan(0);
    expect(check(lines)).toEqual([]);
  });
});

describe('whole-pack apply', () => {
  it('samples the preconditions again before each component and stops between components when one no longer holds', async () => {
    const b = await boardEnv();
    const romState = path.join(dir, 'rom');
    const image = makeImage(b.env.signingKey, { version: '1.1.0', counter: 2 });
    const afeImage = new Uint8Array(1024).map((_, i) => i & 0xff);
    const bundle = createBundle({
      metadata: {
        schema: 1,
        sequence: 4,
        vendorId: 'acme',
        boards: [{ boardId: BOARD, hardwareRevisions: ['B2'] }],
        created: '2026-12-01T00:00:00Z',
        expires: '2027-06-01T00:00:00Z',
        notes: '',
        preconditions: { minSocPercent: 30 },
        components: [app, { ...afe, format: 'bin' }],
      },
      images: [
        { name: 'app', bytes: image },
        { name: 'afe', bytes: afeImage },
      ],
      releaseKey: release,
      certificate: cert,
    });
    // The pack is above 30 % for the checks (and so for the first component), then drops below.
    const socs = [62, 18];
    const before = { ...b.env.flash.stats };
    const e = await applyBundle({
      bundle,
      target: b.target,
      board,
      trust: { roots: [root.publicKey], revoked: new Set<string>() },
      history: memoryHistory(),
      now: () => NOW,
      sample: async () => ({ soc: socs.shift() ?? 18, current: 0, temperatures: [20] }),
      ports: { rom: { port: `sim:?${new URLSearchParams({ personality: 'stm32-rom', unpaced: '1', state: romState })}` } },
    }).then(
      () => null,
      (x: unknown) => x as PackscopeError,
    );
    expect(e).toBeInstanceOf(PackscopeError);
    expect(e!.details).toMatchObject({ reason: 'precondition' });
    expect(e!.message).toMatch(
      /stopped at component 'app'.*state of charge ≥ 30 % \(now 18\.0 %\).*Installed: afe; not started: none; the board keeps its confirmed image/,
    );
    // The ROM component went in first; the board's flash was never erased.
    expect(b.env.flash.stats.erases).toBe(before.erases);
    expect((await b.target.status()).runningVersion).toBe('1.0.0+0');
  }, 60_000);
});
