import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import type { BoardWithFirmware } from '../../../firmware/sim/boot/install.js';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { main } from '../../../electron/host/cli/main.js';
import { generateKey, parsePrivateKeyPem, parseVersion, signImage, type PrivateKey } from '../../../shared/image/index.js';

/**
 * The host flashing the simulated board over a real pseudo-terminal, through the CLI: a signed
 * image end to end (upload, read-back hash, test boot, confirm), test mode and revert, and the
 * refusals (unknown key, other board, lower security counter) before any flash operation. The
 * board's settings are backed up into the data folder after the checks, before anything is
 * erased, compared after the flash, and that backup restores them.
 */
const BAUD = 921600;
let dir: string;
let sim: RunningSim;
let key: PrivateKey;
let boardId: string;
const savedData = process.env.PACKSCOPE_DATA_DIR;
const backups = () => path.join(dir, 'data', 'settings-backups');
const backupFiles = () => (existsSync(backups()) ? readdirSync(backups()) : []);

function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  return main(args, { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal, isTTY: false }).then((code) => ({
    code,
    out,
    err,
  }));
}

function image(name: string, o: { version: string; counter: number; board?: string; signer?: PrivateKey; size?: number }): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    signImage({
      payload: syntheticApplication(o.size ?? 32 * 1024, o.counter * 7 + 1),
      version: parseVersion(o.version),
      key: o.signer ?? key,
      securityCounter: o.counter,
      boardId: o.board ?? boardId,
    }),
  );
  return file;
}

const flashOps = () => (sim.board as BoardWithFirmware).firmware!.flash.opCount;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'psfw-'));
  process.env.PACKSCOPE_DATA_DIR = path.join(dir, 'data');
  sim = await runSim({ pty: true, stateDir: path.join(dir, 'state'), baud: BAUD, seed: 5 });
  key = parsePrivateKeyPem(readFileSync(path.join(dir, 'state', 'firmware-signing-key.pem'), 'utf8'));
  boardId = sim.board.identity.boardId;
});

afterAll(async () => {
  if (savedData === undefined) delete process.env.PACKSCOPE_DATA_DIR;
  else process.env.PACKSCOPE_DATA_DIR = savedData;
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('flash over a pty', () => {
  it('first start: the board runs the factory image 1.0.0 signed with its supplier test key', async () => {
    const r = await cli(['fw', 'status', '--port', sim.path!, '--baud', String(BAUD), '--json']);
    expect(r.code, r.err.join('\n')).toBe(0);
    const s = JSON.parse(r.out[0]!);
    expect(s).toMatchObject({ runningVersion: '1.0.0+0', testing: false, securityCounter: 1, boardId });
    expect(s.primary).toMatchObject({ valid: true, signedBy: 'supplier test key' });
  });

  it('flashes a signed image end to end and confirms it', async () => {
    const img = image('v110.img', { version: '1.1.0', counter: 2 });
    const r = await cli(['flash', '--port', sim.path!, '--baud', String(BAUD), img, '--confirm', '--json']);
    expect(r.code, r.err.join('\n')).toBe(0);
    const rep = JSON.parse(r.out[0]!);
    expect(rep.outcome).toBe('installed-confirmed');
    expect(rep.status).toMatchObject({ runningVersion: '1.1.0+0', testing: false, securityCounter: 2 });
    expect(rep.bytesSent).toBeGreaterThan(32 * 1024);
    expect(sim.board.firmwareVersion).toBe('1.1.0+0');
    expect(r.err.some((l) => l.includes('read-back hash verified'))).toBe(true);
    expect(r.err.some((l) => l.includes('"progress"'))).toBe(true);
  });

  it('refuses an unknown key, another board and a lower security counter before any flash operation', async () => {
    const cases: Array<[string, RegExp]> = [
      [image('stranger.img', { version: '1.2.0', counter: 3, signer: generateKey('ecdsa-p256') }), /unknown key/],
      [image('other-board.img', { version: '1.2.0', counter: 3, board: 'PSB-SOMETHING-ELSE' }), /for board 'PSB-SOMETHING-ELSE'/],
      [image('rollback.img', { version: '1.0.5', counter: 1 }), /security counter 1 is lower than the board's 2/],
    ];
    const taken = backupFiles().length;
    for (const [file, message] of cases) {
      const before = flashOps();
      const r = await cli(['flash', '--port', sim.path!, '--baud', String(BAUD), file]);
      expect(r.code).toBe(7);
      expect(r.err.join('\n')).toMatch(message);
      expect(flashOps()).toBe(before);
    }
    // A refused image takes no backup either: nothing was going to be erased.
    expect(backupFiles().length).toBe(taken);
  });

  it('leaves a new image in test mode without --confirm; fw revert brings the previous one back', async () => {
    const img = image('v120.img', { version: '1.2.0', counter: 3 });
    const r = await cli(['flash', '--port', sim.path!, '--baud', String(BAUD), img]);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out.join('\n')).toMatch(/test mode/);
    const st = await cli(['fw', 'status', '--port', sim.path!, '--baud', String(BAUD), '--json']);
    expect(JSON.parse(st.out[0]!)).toMatchObject({ runningVersion: '1.2.0+0', testing: true, securityCounter: 2 });
    const rv = await cli(['fw', 'revert', '--port', sim.path!, '--baud', String(BAUD), '--json']);
    expect(rv.code, rv.err.join('\n')).toBe(0);
    expect(JSON.parse(rv.out[0]!).status).toMatchObject({ runningVersion: '1.1.0+0', testing: false, securityCounter: 2 });
  });
  it('backs the settings up before erasing, compares them after the flash, and the backup restores them', async () => {
    const port = ['--port', sim.path!, '--baud', String(BAUD)];
    const before = JSON.parse((await cli(['settings', 'get', ...port, '--json'])).out.join('\n')).values;
    const img = image('v130.img', { version: '1.3.0', counter: 3 });
    const r = await cli(['flash', ...port, img, '--confirm', '--json']);
    expect(r.code, r.err.join('\n')).toBe(0);
    const rep = JSON.parse(r.out[0]!);
    expect(rep.status.runningVersion).toBe('1.3.0+0');
    expect(rep.settings.changed).toEqual([]);
    expect(path.dirname(rep.settings.backup.path)).toBe(backups());
    const backup = JSON.parse(readFileSync(rep.settings.backup.path, 'utf8'));
    expect(backup).toMatchObject({ protocol: 'native', digest: rep.settings.backup.digest, values: before });
    // Taken after the checks, before the first erase: the log says so in that order.
    const log = r.err.map((l) => (JSON.parse(l) as { log?: string }).log ?? '');
    const at = (re: RegExp) => log.findIndex((l) => re.test(l));
    expect(at(/settings backed up to/)).toBeGreaterThan(at(/accepted for/));
    expect(at(/settings backed up to/)).toBeLessThan(at(/read-back hash verified/));

    // Whatever changed them since (a new image's defaults), the backup puts them back.
    expect((await cli(['settings', 'set', ...port, 'discharge_oc_protect=250'])).code).toBe(0);
    const restore = await cli(['settings', 'restore', ...port, rep.settings.backup.path, '--json']);
    expect(restore.code, restore.err.join('\n')).toBe(0);
    expect(JSON.parse((await cli(['settings', 'get', ...port, '--json'])).out.join('\n')).values).toEqual(before);
  });
});
