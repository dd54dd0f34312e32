import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeJkReadAll } from '../../../shared/bms/jk.js';
import { toHex } from '../../../shared/util/bytes.js';
import { requirePython, runCli, spawnSim, stopChild, type SimProcess } from '../cli-process.js';

/**
 * `packscope settings` end to end over real pseudo-terminals: the simulator as a child process in
 * each personality that carries settings, the CLI as separate runs. backup → change a protection
 * limit (on a Daly board, which lets a host write only its SOC and MOSFET switches, a MOSFET
 * switch) → read back → restore → a second backup identical to the first; a value outside its
 * range is refused before anything is sent (exit 2) and the board is unchanged. On a JK board a
 * MOSFET switch written off opens that FET in the telemetry, and a fraction on a field the board
 * keeps in whole units is refused without a byte of it on the line (the capture shows reads only).
 */
const cli = (args: string[]) => runCli(args, { timeoutMs: 60_000 });
const dirs: string[] = [];
let work = '';

beforeAll(() => {
  requirePython();
  work = mkdtempSync(path.join(tmpdir(), 'packscope-settings-'));
  dirs.push(work);
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Case {
  personality: string;
  /** A protection limit to change, a valid new value, a value outside its range. */
  id: string;
  value: number;
  outside: number;
  /** The setting the out-of-range value is tried on (default: id). */
  outsideId?: string;
  /** A value inside the catalogue's range that the board's own limits refuse, and the value it keeps. */
  boardRefuses?: { id: string; value: number; stored: number };
}

const CASES: Case[] = [
  { personality: 'native', id: 'discharge_oc_protect', value: 250, outside: 5000 },
  { personality: 'jbd', id: 'cell_ov_protect', value: 3.7, outside: 5, boardRefuses: { id: 'charge_ot_protect', value: 90, stored: 55 } },
  { personality: 'jk', id: 'cell_ov_protect', value: 3.7, outside: 5, boardRefuses: { id: 'charge_oc_protect', value: 600, stored: 150 } },
  { personality: 'daly', id: 'charge_mosfet', value: 0, outside: 101, outsideId: 'soc' },
];

describe.each(CASES)('settings over a pty: $personality', (c) => {
  let sim: SimProcess;
  beforeAll(async () => {
    sim = await spawnSim(['--personality', c.personality, '--state', path.join(work, c.personality)], { timeoutMs: 20_000 });
  });
  afterAll(async () => {
    await stopChild(sim.child);
  });
  const port = () => ['--port', sim.path, '--protocol', c.personality];

  it('backup → change → read back → restore → identical backup', async () => {
    const b1 = path.join(work, `${c.personality}-1.json`);
    const b2 = path.join(work, `${c.personality}-2.json`);
    const backup1 = await cli(['settings', 'backup', ...port(), '--out', b1, '--json']);
    expect(backup1.code, backup1.stderr).toBe(0);
    const first = JSON.parse(readFileSync(b1, 'utf8'));
    expect(first.values[c.id]).not.toBe(c.value);

    const set = await cli(['settings', 'set', ...port(), `${c.id}=${c.value}`, '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout).outcomes).toEqual([expect.objectContaining({ id: c.id, result: 'written', stored: c.value })]);

    const get = await cli(['settings', 'get', ...port(), '--json']);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout).values[c.id]).toBe(c.value);

    const diff = await cli(['settings', 'diff', ...port(), '--against', b1, '--json']);
    expect(JSON.parse(diff.stdout)).toMatchObject({ identical: false, differences: [{ id: c.id, left: c.value, right: first.values[c.id] }] });

    const restore = await cli(['settings', 'restore', ...port(), b1, '--json']);
    expect(restore.code, restore.stderr).toBe(0);
    expect(JSON.parse(restore.stdout)).toMatchObject({ ok: true, remaining: [], mismatches: [] });

    expect((await cli(['settings', 'backup', ...port(), '--out', b2])).code).toBe(0);
    const second = JSON.parse(readFileSync(b2, 'utf8'));
    expect(second.digest).toBe(first.digest);
    expect(second.values).toEqual(first.values);
    expect(second.board).toEqual(first.board);
  });

  // Only boards whose own limits are narrower than the catalogue's refuse a value themselves
  // (the native board's refusal is tested in process, tests/unit/settings).
  if (c.boardRefuses)
    it('reports the board’s own refusal with the value it keeps', async () => {
      const r = c.boardRefuses!;
      const set = await cli(['settings', 'set', ...port(), `${r.id}=${r.value}`, '--json']);
      expect(set.code, set.stderr).toBe(7);
      expect(JSON.parse(set.stdout).outcomes).toEqual([expect.objectContaining({ id: r.id, result: 'refused', stored: r.stored })]);
      const text = await cli(['settings', 'set', ...port(), `${r.id}=${r.value}`]);
      expect(text.stdout).toMatch(new RegExp(`${r.id}: the board refused.*; the board holds ${r.stored}`));
    });

  it('refuses a value outside its range before sending anything', async () => {
    const id = c.outsideId ?? c.id;
    const r = await cli(['settings', 'set', ...port(), `${id}=${c.outside}`, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toMatch(new RegExp(`nothing was written: ${id}=${c.outside}: outside the allowed range`));
    const get = await cli(['settings', 'get', ...port(), '--json']);
    expect(JSON.parse(get.stdout).values[id]).not.toBe(c.outside);
  });

  if (c.personality === 'jk') {
    it('refuses a fraction on a field the board keeps in whole units, sending nothing but reads', async () => {
      const capture = path.join(work, 'jk-fraction.jsonl');
      const r = await cli(['settings', 'set', ...port(), 'charge_oc_protect=150.5', '--capture', capture, '--json']);
      expect(r.code, r.stderr).toBe(2);
      expect(JSON.parse(r.stdout).error.message).toMatch(/nothing was written: charge_oc_protect=150.5: this board keeps it in whole units \(A\)/);
      const sent = readFileSync(capture, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => JSON.parse(l) as { dir: string; hex: string })
        .filter((l) => l.dir === 'tx');
      expect(sent.length).toBeGreaterThan(0);
      expect(new Set(sent.map((l) => l.hex))).toEqual(new Set([toHex(encodeJkReadAll())]));
      expect((await cli(['settings', 'set', ...port(), 'charge_oc_protect=150', '--json'])).code).toBe(0);
    });

    it('a MOSFET switch written off opens that FET in the telemetry, and on closes it again', async () => {
      const flags = async () => {
        const m = await cli(['monitor', ...port(), '--count', '1', '--json']);
        expect(m.code, m.stderr).toBe(0);
        return JSON.parse(m.stdout.split('\n')[0]!).statusFlags as string[];
      };
      expect(await flags()).toEqual(expect.arrayContaining(['charge_fet_on', 'discharge_fet_on']));
      expect((await cli(['settings', 'set', ...port(), 'discharge_mosfet=0', 'charge_mosfet=0'])).code).toBe(0);
      const off = await flags();
      expect(off).not.toContain('charge_fet_on');
      expect(off).not.toContain('discharge_fet_on');
      expect((await cli(['settings', 'set', ...port(), 'discharge_mosfet=1', 'charge_mosfet=1'])).code).toBe(0);
      expect(await flags()).toEqual(expect.arrayContaining(['charge_fet_on', 'discharge_fet_on']));
    });
  }

  if (c.personality === 'daly') {
    it('sets the SOC the board then reports, and leaves it out of backups', async () => {
      const set = await cli(['settings', 'set', ...port(), 'soc=42.5', '--json']);
      expect(set.code, set.stderr).toBe(0);
      expect(JSON.parse(set.stdout).outcomes).toEqual([expect.objectContaining({ id: 'soc', result: 'written', stored: 42.5 })]);
      const m = await cli(['monitor', ...port(), '--count', '1', '--json']);
      expect(Math.abs(JSON.parse(m.stdout.split('\n')[0]!).soc - 42.5)).toBeLessThanOrEqual(1);
      const b = path.join(work, 'daly-soc.json');
      expect((await cli(['settings', 'backup', ...port(), '--out', b])).code).toBe(0);
      expect(JSON.parse(readFileSync(b, 'utf8')).values).not.toHaveProperty('soc');
    });
  }
});
