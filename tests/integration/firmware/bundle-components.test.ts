import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import type { SlcanPersonality } from '../../../firmware/sim/can/index.js';
import type { Stm32RomPersonality } from '../../../firmware/sim/stm32rom/index.js';
import { SIGNING_KEY_FILE } from '../../../firmware/sim/boot/firmware-store.js';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { main } from '../../../electron/host/cli/main.js';
import { applyBundleOnPort } from '../../../electron/host/bundle/session-apply.js';
import { BundleTrustStore } from '../../../electron/host/bundle/trust.js';
import { InstallRecords } from '../../../electron/host/bundle/install-records.js';
import { openNativeTarget } from '../../../electron/host/flasher/native-backend.js';
import { FileKeyStore } from '../../../electron/host/evidence/keystore.js';
import { certifyReleaseKey, createBundle, keyId } from '../../../shared/bundle/bundle.js';
import type { BundleMetadataInput } from '../../../shared/bundle/metadata.js';
import { readZipFiles } from '../../../shared/codec/zip.js';
import { parseUdsProfileJson } from '../../../shared/can/uds-profile.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { PackscopeError } from '../../../shared/errors.js';
import { generateKey, parsePrivateKeyPem, parseVersion, signImage, type PrivateKey } from '../../../shared/image/index.js';
import { Iso14229TestBootloader } from '../../support/iso14229-bootloader.js';

/**
 * A release bundle with components for three targets, as a service partner applies it: the
 * board's own MCUboot slot (native protocol, the in-process simulator with a state directory), an
 * ECU behind a CAN adapter (the ISO 14229 test bootloader on the simulated bus at 500 kbit/s,
 * behind the simulated SLCAN adapter on a pseudo-terminal) and a co-processor held in its STM32 ROM
 * bootloader (the simulated ROM on its own pseudo-terminal). It checks the install order, byte-exact
 * writes, the signed records, the refusals before any erase on any target, and a power cut in the
 * middle of the UDS component and an unplugged ROM line in the middle of the STM32 component: each
 * stops the update there, leaves every target able to boot (board on its confirmed image, ECU and
 * ROM in their bootloaders), and applying again finishes.
 */
const ECU_BASE = 0x0800_8000;
const ROM_BASE = 0x0800_0000;
let dir = '';
let native = '';
let boardId = '';
let hwRev = '';
let can: RunningSim;
let ecu: Iso14229TestBootloader;
let romSim: RunningSim;
let romState = '';
let boardKey: PrivateKey;
const root = generateKey('ed25519');
const release = generateKey('ed25519');
const cert = certifyReleaseKey(root, release.publicKey, {
  vendorId: 'acme',
  notBefore: new Date(Date.now() - 86_400_000),
  notAfter: new Date(Date.now() + 365 * 86_400_000),
});
const saved = { config: process.env.PACKSCOPE_CONFIG_DIR, data: process.env.PACKSCOPE_DATA_DIR, part: process.env.PACKSCOPE_SIM_STM32 };
const profileFile = () => path.join(dir, 'tb-boot.json');

async function startRom(): Promise<void> {
  // An F405 whose ROM offers Get Checksum: the write is verified by the chip's CRC unit.
  process.env.PACKSCOPE_SIM_STM32 = 'f405-crc';
  romSim = await runSim({ personality: 'stm32-rom', pty: true, baud: 115200, subsystems: false, stateDir: romState });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ps-bundle-targets-'));
  process.env.PACKSCOPE_CONFIG_DIR = path.join(dir, 'config');
  process.env.PACKSCOPE_DATA_DIR = path.join(dir, 'data');
  new BundleTrustStore(path.join(dir, 'config')).addRoot(root.publicKey, 'acme root');
  const state = path.join(dir, 'board');
  const sim = await runSim({ personality: 'native', stateDir: state, seed: 3 });
  boardId = sim.board.identity.boardId;
  hwRev = sim.board.identity.hardwareRevision;
  await sim.stop();
  boardKey = parsePrivateKeyPem(readFileSync(path.join(state, SIGNING_KEY_FILE), 'utf8'));
  native = `sim:?${new URLSearchParams({ state, seed: '3', unpaced: '1', soc: '70' })}`;
  // The adapter's serial side at 1 Mbaud (a USB adapter's virtual port), so the 500 kbit/s bus limits the transfer.
  can = await runSim({ personality: 'slcan', pty: true, baud: 1_000_000, seed: 3, stateDir: path.join(dir, 'can'), can: { bitrate: 500_000, uds: false } });
  ecu = new Iso14229TestBootloader((can.personality as SlcanPersonality).bus, { security: { level: 0x11, xor: 0x5a3c96e1 }, eraseMs: 150 });
  ecu.start();
  writeFileSync(profileFile(), JSON.stringify({ name: 'tb-boot', securityAccess: { level: '0x11', algorithm: 'xor' }, check: { record: 'crc32' } }));
  romState = path.join(dir, 'rom');
  await startRom();
});

afterAll(async () => {
  ecu?.stop();
  await can?.stop();
  await romSim?.stop();
  for (const [k, v] of [
    ['PACKSCOPE_CONFIG_DIR', saved.config],
    ['PACKSCOPE_DATA_DIR', saved.data],
    ['PACKSCOPE_SIM_STM32', saved.part],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Raw firmware whose version string leads it (the test bootloader reports it as F195 after its reset). */
function raw(version: string, size: number, salt: number): Uint8Array {
  const img = new Uint8Array(size).map((_, i) => ((i + salt) * 2654435761) >>> 24);
  img.set(Buffer.from(`${version}\0`, 'ascii'));
  return img;
}

interface Release {
  sequence: number;
  app: string;
  counter: number;
  ecuImage: Uint8Array;
  romImage: Uint8Array;
  meta?: Partial<Omit<BundleMetadataInput, 'components'>>;
  productId?: number;
}

function bundle(r: Release): Uint8Array {
  const app = signImage({
    payload: syntheticApplication(8 * 1024, r.counter),
    version: parseVersion(r.app),
    key: boardKey,
    securityCounter: r.counter,
    boardId,
  });
  return createBundle({
    metadata: {
      schema: 1,
      sequence: r.sequence,
      vendorId: 'acme',
      boards: [{ boardId, hardwareRevisions: [hwRev] }],
      created: new Date(Date.now() - 3600_000).toISOString(),
      expires: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      notes: `Release ${r.sequence}`,
      preconditions: { minSocPercent: 30 },
      ...r.meta,
      // Listed board first: the install order is PackScope's, not the list's.
      components: [
        { name: 'app', target: { kind: 'mcuboot', slot: 'secondary' }, format: 'mcuboot', version: r.app, securityCounter: r.counter },
        {
          name: 'ecu',
          target: { kind: 'uds', txId: 0x7e0, rxId: 0x7e8, profile: 'tb-boot', address: ECU_BASE },
          format: 'bin',
          version: 'ecu',
          securityCounter: 0,
        },
        {
          name: 'afe',
          target: { kind: 'stm32-rom', address: ROM_BASE, productId: r.productId ?? 0x413 },
          format: 'bin',
          version: 'afe',
          securityCounter: 0,
        },
      ],
    },
    images: [
      { name: 'app', bytes: app },
      { name: 'ecu', bytes: r.ecuImage },
      { name: 'afe', bytes: r.romImage },
    ],
    releaseKey: release,
    certificate: cert,
  });
}

function write(name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal, isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const romFlash = () => (romSim.personality as Stm32RomPersonality).memory.flash;
const romAt = (n: number) => romFlash().slice(0, n);

async function boardStatus() {
  const opened = await openNativeTarget(native);
  try {
    return await opened.target.status();
  } finally {
    await opened.close();
  }
}

function ports() {
  return ['--can-port', can.path!, '--uds-profile', profileFile(), '--rom-port', romSim.path!];
}

describe('bundle apply with UDS and STM32 ROM components', () => {
  const v1 = { ecuImage: raw('ecu-2.0.0', 5_000, 1), romImage: raw('afe-1.1', 3_000, 2) };

  it('installs the ROM and ECU components, then the board with test boot and confirm; byte-exact, with signed records', async () => {
    const file = write('r20.psfw', bundle({ sequence: 20, app: '1.4.0', counter: 4, ...v1 }));
    const r = await cli('bundle', 'apply', '--port', native, file, ...ports(), '--json');
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({ outcome: 'installed', sequence: 20, runningVersion: '1.4.0+0', selfTest: { ok: true } });
    // Irreversible components first, in the metadata's order; the board's own slot last.
    expect(doc.components.map((c: { name: string }) => c.name)).toEqual(['ecu', 'afe', 'app']);
    expect(doc.components[0]).toMatchObject({ from: '1.0.0', to: 'ecu', outcome: 'installed', target: expect.stringContaining('ECU 0x7E0/0x7E8') });
    expect(ecu.read(ECU_BASE, v1.ecuImage.length)).toEqual(v1.ecuImage);
    expect(ecu.softwareVersion).toBe('ecu-2.0.0');
    expect(romAt(v1.romImage.length)).toEqual(v1.romImage);
    expect(await boardStatus()).toMatchObject({ runningVersion: '1.4.0+0', testing: false });
    expect(r.err).toMatch(/targets answer: ecu → ECU 0x7E0\/0x7E8 .*software 1\.0\.0, serial TB-000417.*afe → STM32 ROM .*STM32F40x/);

    // Every component has a record signed by the installation key, chained; the board's is also in its own journal.
    const h = await cli('bundle', 'history', '--json');
    expect(h.code, h.out).toBe(0);
    const hist = JSON.parse(h.out) as { valid: boolean; records: Array<{ record: Record<string, unknown>; publicKey: string; problems: string[] }> };
    expect(hist.valid).toBe(true);
    expect(hist.records.map((x) => [x.record.outcome, (x.record.component as { name: string }).name, x.record.attestation])).toEqual([
      ['installed', 'ecu', 'installation'],
      ['installed', 'afe', 'installation'],
      ['installed', 'app', 'device-journal'],
    ]);
    expect(hist.records[0]!.record.reported).toMatchObject({ softwareBefore: '1.0.0', softwareAfter: 'ecu-2.0.0', checked: true, serial: 'TB-000417' });
    expect(hist.records[1]!.record.reported).toMatchObject({ part: 'STM32F40xxx/41xxx', productId: 0x413, verifiedBy: 'checksum' });
    expect(hist.records[0]!.publicKey).toBe(Buffer.from((await new FileKeyStore().load()).publicKey).toString('hex'));
    // An edited record breaks its signature.
    const records = new InstallRecords(path.join(dir, 'config'));
    const text = readFileSync(records.file, 'utf8');
    writeFileSync(records.file, text.replace('"outcome":"installed"', '"outcome":"failed"'));
    expect((await cli('bundle', 'history')).code).toBe(6);
    writeFileSync(records.file, text);
  });

  it('refuses before any erase on any target: expired, other board, lower sequence, mixed components, revoked key, another STM32 part', async () => {
    const next = { ecuImage: raw('ecu-2.1.0', 5_000, 5), romImage: raw('afe-1.2', 3_000, 6) };
    const erasesBefore = ecu.log.erases.length;
    const ecuBefore = ecu.read(ECU_BASE, 16 * 1024);
    const romBefore = romAt(64 * 1024);
    const boardBefore = await boardStatus();
    const refused = async (name: string, bytes: Uint8Array, reason: RegExp) => {
      const r = await cli('bundle', 'apply', '--port', native, write(name, bytes), ...ports(), '--json');
      expect(r.code, r.err).toBe(7);
      expect(r.err).toMatch(reason);
    };
    await refused(
      'expired.psfw',
      bundle({ sequence: 21, app: '1.5.0', counter: 5, ...next, meta: { created: '2025-01-01T00:00:00Z', expires: '2025-06-01T00:00:00Z' } }),
      /expired on 2025-06-01/,
    );
    await refused(
      'other.psfw',
      bundle({ sequence: 21, app: '1.5.0', counter: 5, ...next, meta: { boards: [{ boardId: 'PSB-OTHER', hardwareRevisions: [hwRev] }] } }),
      /fits PSB-OTHER/,
    );
    await refused('older.psfw', bundle({ sequence: 19, app: '1.5.0', counter: 5, ...next }), /sequence 19 is lower than 20/);
    // The ECU image of another release inside this one: its digest is not the metadata's.
    const mixed = readZipFiles(bundle({ sequence: 21, app: '1.5.0', counter: 5, ...next }));
    mixed.set('images/ecu', readZipFiles(bundle({ sequence: 22, app: '1.5.0', counter: 5, ...next, ecuImage: raw('ecu-9', 5_000, 8) })).get('images/ecu')!);
    await refused('mixed.psfw', writeZip(mixed), /component 'ecu' does not match the metadata's size and SHA-256/);
    await refused('part.psfw', bundle({ sequence: 21, app: '1.5.0', counter: 5, ...next, productId: 0x410 }), /product ID 0x410, the ROM on .* reports 0x413/);
    new BundleTrustStore(path.join(dir, 'config')).revoke(keyId(release.publicKey));
    try {
      await refused('revoked.psfw', bundle({ sequence: 21, app: '1.5.0', counter: 5, ...next }), /release key .* is revoked/);
    } finally {
      const trust = path.join(dir, 'config', 'bundle-trust.json');
      const t = JSON.parse(readFileSync(trust, 'utf8'));
      writeFileSync(trust, JSON.stringify({ ...t, revoked: [] }));
    }
    expect(ecu.log.erases.length).toBe(erasesBefore);
    expect(ecu.read(ECU_BASE, 16 * 1024)).toEqual(ecuBefore);
    expect(romAt(64 * 1024)).toEqual(romBefore);
    expect(await boardStatus()).toMatchObject({ runningVersion: boardBefore.runningVersion, testing: false, securityCounter: boardBefore.securityCounter });
  });

  it('a power cut mid-UDS and an unplugged ROM line mid-STM32 each stop the update there, every target stays bootable, and applying again finishes', async () => {
    const v2 = { ecuImage: raw('ecu-3.0.0', 8_000, 11), romImage: raw('afe-2.0', 4_000, 12) };
    const bytes = bundle({ sequence: 21, app: '1.5.0', counter: 5, ...v2 });
    const keyStore = new FileKeyStore();
    const apply = (onProgress: (p: { phase?: string; done: number; total: number }) => void) =>
      applyBundleOnPort(native, {
        bundle: bytes,
        keyStore,
        ports: { can: { port: can.path! }, udsProfiles: [parseUdsProfileJson(readFileSync(profileFile(), 'utf8'))], rom: { port: romSim.path! } },
        onProgress,
      }).then(
        () => null,
        (e: unknown) => e as PackscopeError,
      );

    // 1. Power cut in the ECU while half its image is written.
    let cut = false;
    const e1 = await apply((p) => {
      if (!cut && p.phase === 'ecu: write' && p.done > p.total / 2) {
        cut = true;
        ecu.cutPower();
      }
    });
    expect(cut, e1?.message).toBe(true);
    expect(e1, 'the update went on after the ECU lost power').toBeInstanceOf(PackscopeError);
    expect(e1!.message).toMatch(/stopped at component 'ecu'.*Installed: none; not started: afe, app; ECU 0x7E0\/0x7E8 on .* stays in its bootloader/);
    expect(e1!.details).toMatchObject({ reason: 'component_failed', component: 'ecu', installed: [], notStarted: ['afe', 'app'] });
    expect(await boardStatus()).toMatchObject({ runningVersion: '1.4.0+0', testing: false });
    expect(romAt(v1.romImage.length)).toEqual(v1.romImage); // not started: untouched
    await ecu.powerOn();

    // 2. The ECU is written this time; the ROM's line is unplugged while half the AFE image is written.
    let unplugged = false;
    const e2 = await apply((p) => {
      if (!unplugged && p.phase === 'afe: write' && p.done > p.total / 2) {
        unplugged = true;
        void romSim.stop();
      }
    });
    expect(unplugged, `the update ended before the AFE write was half done: ${e2?.message}`).toBe(true);
    expect(e2).toBeInstanceOf(PackscopeError);
    expect(e2!.details).toMatchObject({ component: 'afe', installed: ['ecu'], notStarted: ['app'] });
    expect(ecu.read(ECU_BASE, v2.ecuImage.length)).toEqual(v2.ecuImage);
    expect(await boardStatus()).toMatchObject({ runningVersion: '1.4.0+0', testing: false });

    // 3. Plugged in again (the ROM is in system memory: it always answers), the same bundle finishes.
    await startRom();
    const r = await applyBundleOnPort(native, {
      bundle: bytes,
      keyStore,
      ports: { can: { port: can.path! }, udsProfiles: [parseUdsProfileJson(readFileSync(profileFile(), 'utf8'))], rom: { port: romSim.path! } },
    });
    expect(r.outcome).toBe('installed');
    expect(romAt(v2.romImage.length)).toEqual(v2.romImage);
    expect(ecu.read(ECU_BASE, v2.ecuImage.length)).toEqual(v2.ecuImage);
    expect(await boardStatus()).toMatchObject({ runningVersion: '1.5.0+0', testing: false, securityCounter: 5 });

    // The installation's history says what happened, failures included, and still verifies.
    const hist = new InstallRecords(path.join(dir, 'config')).read();
    expect(hist.every((x) => x.problems.length === 0)).toBe(true);
    expect(hist.slice(3).map((x) => `${x.record!.component.name}:${x.record!.outcome}`)).toEqual([
      'ecu:failed',
      'ecu:installed',
      'afe:failed',
      'ecu:installed',
      'afe:installed',
      'app:installed',
    ]);
  });
});
