import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { SIGNING_KEY_FILE } from '../../../firmware/sim/boot/firmware-store.js';
import { runSim } from '../../../firmware/sim/run.js';
import { parsePrivateKeyPem, parseVersion, signImage } from '../../../shared/image/index.js';
import { cli } from '../../unit/evidence/cli-harness.js';

/**
 * `packscope flash --ports`: one signed image onto several simulated boards at once (each its own
 * `sim:` port and state directory, all trusting the same supplier key), one report as JSON and
 * CSV; a port with no board gets a failed row and does not stop the others.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'ps-line-'));
const savedData = process.env.PACKSCOPE_DATA_DIR;
process.env.PACKSCOPE_DATA_DIR = path.join(dir, 'data');
afterAll(() => {
  if (savedData === undefined) delete process.env.PACKSCOPE_DATA_DIR;
  else process.env.PACKSCOPE_DATA_DIR = savedData;
  rmSync(dir, { recursive: true, force: true });
});

async function board(n: number, key?: string): Promise<{ port: string; state: string; boardId: string; serial: string }> {
  const state = path.join(dir, `board${n}`);
  mkdirSync(state);
  if (key) copyFileSync(key, path.join(state, SIGNING_KEY_FILE));
  const sim = await runSim({ personality: 'native', stateDir: state, seed: n });
  const { boardId, serial } = sim.board.identity;
  await sim.stop();
  return { port: `sim:?${new URLSearchParams({ state, seed: String(n), unpaced: '1' })}`, state, boardId, serial };
}

describe('production line', () => {
  it('flashes every board at once and reports each, CSV and JSON; a dead port fails alone', async () => {
    const a = await board(1);
    const keyFile = path.join(a.state, SIGNING_KEY_FILE);
    const b = await board(2, keyFile);
    expect(b.boardId).toBe(a.boardId);
    const key = parsePrivateKeyPem(readFileSync(keyFile, 'utf8'));
    const img = path.join(dir, 'app-2.1.0.img');
    writeFileSync(img, signImage({ payload: syntheticApplication(24 * 1024, 5), version: parseVersion('2.1.0'), key, securityCounter: 2, boardId: a.boardId }));
    const report = path.join(dir, 'line.csv');
    const dead = path.join(dir, 'no-such-port');

    const r = await cli('flash', '--ports', `${a.port},${b.port},${dead}`, img, '--confirm', '--report', report, '--json');
    expect(r.code, r.err).toBe(3);
    const doc = JSON.parse(r.out) as { boards: number; ok: number; rows: Array<Record<string, unknown>> };
    expect(doc).toMatchObject({ boards: 3, ok: 2 });
    expect(doc.rows[0]).toMatchObject({
      port: a.port,
      serial: a.serial,
      boardId: a.boardId,
      oldVersion: '1.0.0+0',
      newVersion: '2.1.0+0',
      result: 'ok',
      message: 'installed-confirmed',
    });
    expect(doc.rows[1]).toMatchObject({ port: b.port, serial: b.serial, newVersion: '2.1.0+0', result: 'ok' });
    // Each board's settings were backed up into the data folder before anything was erased.
    for (const [row, serial] of [
      [doc.rows[0]!, a.serial],
      [doc.rows[1]!, b.serial],
    ] as const) {
      expect(path.dirname(row['settingsBackup'] as string)).toBe(path.join(dir, 'data', 'settings-backups'));
      expect(JSON.parse(readFileSync(row['settingsBackup'] as string, 'utf8')).board.serial).toBe(serial);
    }
    expect(doc.rows[2]).not.toHaveProperty('settingsBackup');
    expect(doc.rows[2]).toMatchObject({ port: dead, result: 'failed', code: 'NOT_FOUND', serial: null });

    const csv = readFileSync(report, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('port,board,serial,old_version,new_version,result,code,seconds,message');
    expect(csv).toHaveLength(4);
    expect(csv[1]).toContain(`,${a.serial},1.0.0+0,2.1.0+0,ok,,`);
    expect(csv[3]).toContain(',failed,NOT_FOUND,');

    // Again: both boards already run it; every board succeeds, exit 0.
    const again = await cli('flash', '--ports', `${a.port},${b.port}`, img, '--confirm');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('2 of 2 board(s) done');
  });

  it('bad input: no ports, a port twice', async () => {
    expect((await cli('flash', '--ports', '', 'x.img')).code).toBe(2);
    const twice = await cli('flash', '--ports', 'sim:,sim:', 'x.img');
    expect(twice.code).toBe(2);
    expect(twice.err).toContain('--ports lists a port twice');
  });
});
