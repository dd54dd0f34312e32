import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNING_KEY_FILE } from '../../../firmware/sim/boot/firmware-store.js';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { runSim } from '../../../firmware/sim/run.js';
import { parsePrivateKeyPem, parseVersion, signImage } from '../../../shared/image/index.js';
import { cli } from '../../unit/evidence/cli-harness.js';

/**
 * `packscope bundle` as a supplier and a customer use it, in process, against the simulated board
 * (native protocol, `sim:` port with a state directory so the board keeps its flash between runs):
 * keys, certificate, bundle, inspect (untrusted, then trusted), apply, and a rollback refused.
 */
let dir = '';
let port = '';
let boardId = '';
const savedConfig = process.env.PACKSCOPE_CONFIG_DIR;
const savedData = process.env.PACKSCOPE_DATA_DIR;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ps-bundle-cli-'));
  process.env.PACKSCOPE_CONFIG_DIR = path.join(dir, 'config');
  process.env.PACKSCOPE_DATA_DIR = path.join(dir, 'data');
  const state = path.join(dir, 'board');
  const sim = await runSim({ personality: 'native', stateDir: state, seed: 3 });
  boardId = sim.board.identity.boardId;
  await sim.stop();
  port = `sim:?${new URLSearchParams({ state, seed: '3', unpaced: '1', soc: '70' })}`;
});

afterAll(() => {
  if (savedConfig === undefined) delete process.env.PACKSCOPE_CONFIG_DIR;
  else process.env.PACKSCOPE_CONFIG_DIR = savedConfig;
  if (savedData === undefined) delete process.env.PACKSCOPE_DATA_DIR;
  else process.env.PACKSCOPE_DATA_DIR = savedData;
  rmSync(dir, { recursive: true, force: true });
});

function release(version: string, counter: number, sequence: number): string {
  const key = parsePrivateKeyPem(readFileSync(path.join(dir, 'board', SIGNING_KEY_FILE), 'utf8'));
  const img = path.join(dir, `app-${version}.img`);
  writeFileSync(img, signImage({ payload: syntheticApplication(20 * 1024, counter), version: parseVersion(version), key, securityCounter: counter, boardId }));
  const meta = path.join(dir, `meta-${version}.json`);
  const now = Date.now();
  writeFileSync(
    meta,
    JSON.stringify({
      schema: 1,
      sequence,
      vendorId: 'acme',
      boards: [{ boardId, hardwareRevisions: ['B2'] }],
      created: new Date(now - 3600_000).toISOString(),
      expires: new Date(now + 30 * 86_400_000).toISOString(),
      notes: `PackScope test release ${version}\nFixes balancing.`,
      preconditions: { minSocPercent: 30, temperatureC: { min: -10, max: 50 } },
      components: [{ name: 'app', target: { kind: 'mcuboot' }, format: 'mcuboot' }],
    }),
  );
  return meta;
}

describe('packscope bundle', () => {
  it('certify, create, inspect, trust, apply; a lower sequence is refused', async () => {
    const k = (n: string) => path.join(dir, n);
    expect((await cli('image', 'keygen', '--type', 'ed25519', '--out', k('root.pem'))).code).toBe(0);
    expect((await cli('image', 'keygen', '--type', 'ed25519', '--out', k('release.pem'))).code).toBe(0);
    const c = await cli('bundle', 'certify', '--root', k('root.pem'), '--key', k('release.pub.pem'), '--vendor', 'acme', '--out', k('cert.json'));
    expect(c.code, c.err).toBe(0);

    /** `bundle create` of the app image of `version`, signed by the certified release key. */
    const create = (metadata: string, version: string, out: string, ...more: string[]) =>
      cli(
        'bundle',
        'create',
        '--key',
        k('release.pem'),
        '--cert',
        k('cert.json'),
        '--metadata',
        metadata,
        '--image',
        `app=${k(`app-${version}.img`)}`,
        '--out',
        k(out),
        ...more,
      );
    const made = await create(release('1.4.0', 4, 20), '1.4.0', 'r20.psfw', '--json');
    expect(made.code, made.err).toBe(0);
    expect(JSON.parse(made.out)).toMatchObject({ sequence: 20 });

    const untrusted = await cli('bundle', 'inspect', k('r20.psfw'), '--json');
    expect(untrusted.code).toBe(7);
    expect(JSON.parse(untrusted.out)).toMatchObject({
      trusted: false,
      refusal: { refused: 'untrusted_key' },
      metadata: { sequence: 20, components: [{ version: '1.4.0+0', securityCounter: 4 }] },
    });

    expect((await cli('bundle', 'trust', '--add-root', k('root.pub.pem'), '--name', 'acme root')).code).toBe(0);
    const shown = await cli('bundle', 'inspect', k('r20.psfw'));
    expect(shown.code, shown.out).toBe(0);
    expect(shown.out).toContain('trusted by this installation');
    expect(shown.out).toContain('Fixes balancing.');

    const applied = await cli('bundle', 'apply', '--port', port, k('r20.psfw'), '--json');
    expect(applied.code, applied.err).toBe(0);
    expect(JSON.parse(applied.out)).toMatchObject({
      outcome: 'installed',
      sequence: 20,
      runningVersion: '1.4.0+0',
      components: [{ name: 'app', to: '1.4.0+0', outcome: 'installed' }],
    });
    // The settings were backed up into the data folder before the install, and are unchanged.
    const applyJson = JSON.parse(applied.out);
    expect(applyJson.settingsBackup.path.startsWith(path.join(dir, 'data', 'settings-backups'))).toBe(true);
    expect(applyJson.settingsChanged).toEqual([]);

    // An older release (lower sequence) is refused before anything is erased.
    expect((await create(release('1.5.0', 5, 19), '1.5.0', 'r19.psfw')).code).toBe(0);
    const refused = await cli('bundle', 'apply', '--port', port, k('r19.psfw'));
    expect(refused.code).toBe(7);
    expect(refused.err).toMatch(/sequence 19 is lower than 20/);

    // Revoking the release key refuses its bundles.
    const id = JSON.parse((await cli('bundle', 'inspect', k('r20.psfw'), '--json')).out).releaseKeyId as string;
    expect((await cli('bundle', 'trust', '--revoke', id)).code).toBe(0);
    expect((await cli('bundle', 'inspect', k('r20.psfw'))).code).toBe(7);
  });

  it('bad input: a file that is not a bundle, a missing subcommand', async () => {
    const junk = path.join(dir, 'junk.psfw');
    writeFileSync(junk, 'not a zip');
    const r = await cli('bundle', 'inspect', junk);
    expect(r.code).toBe(8);
    expect(r.err).toMatch(/not a readable \.psfw archive/);
    expect((await cli('bundle')).code).toBe(2);
  });
});
