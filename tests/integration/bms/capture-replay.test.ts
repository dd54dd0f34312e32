import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../electron/host/cli/main.js';
import { createBoard } from '../../../firmware/sim/board.js';
import { createDeviceLink } from '../../../firmware/sim/line.js';
import { PERSONALITIES } from '../../../firmware/sim/personalities.js';
import { openPty } from '../../../firmware/sim/pty.js';
import { NO_FAULTS } from '../../../firmware/sim/faults.js';
import { requirePython } from '../cli-process.js';
import { until } from './harness.js';

/**
 * Raw capture and replay through the CLI over real ptys: `info --capture` against a simulated
 * Pylontech stack records every byte with its time; `packscope replay` then plays that board on
 * a new pty, and the same `info` against the replay reports the same pack.
 */
const dirs: string[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function cli(argv: string[], signal?: AbortSignal, out: string[] = [], err: string[] = []) {
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), signal: signal ?? new AbortController().signal, isTTY: false });
  return { code, out, err };
}

describe('packscope --capture and packscope replay', () => {
  it('a captured board, replayed on a pty, answers the same as the board did', async () => {
    requirePython();
    const dir = mkdtempSync(path.join(tmpdir(), 'packscope-capture-'));
    dirs.push(dir);
    const file = path.join(dir, 'customer.jsonl');

    const board = await createBoard({ cells: 15, capacityAh: 50, subsystems: false, seed: 4, scenario: 'idle', initialSoc: 71 });
    const personality = await (await PERSONALITIES['pylontech-rs485']!())(board, { packs: 2 });
    const pty = await openPty();
    const link = createDeviceLink(pty.pipe, { settings: { baudRate: 115200, parity: 'none' }, faults: NO_FAULTS, seed: 2 });
    personality.attach(link);
    cleanups.push(async () => {
      personality.detach();
      link.disconnect('test done');
      pty.close();
      await board.stop();
    });

    const live = await cli(['info', '--port', pty.path, '--protocol', 'pylontech-rs485', '--address', '3', '--json', '--capture', file]);
    expect(live.code, live.err.join('\n')).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(`${file}.partial`)).toBe(false);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ capture: 'packscope-raw', version: 1, port: pty.path, line: { baudRate: 9600 } });
    expect(lines.some((l) => l.dir === 'tx')).toBe(true);
    expect(lines.some((l) => l.dir === 'rx')).toBe(true);
    for (const l of lines.slice(1)) if (l.dir) expect(typeof l.t).toBe('number');

    // The customer's board is gone; the capture plays it.
    const ac = new AbortController();
    const rout: string[] = [];
    const rerr: string[] = [];
    const replay = cli(['replay', file, '--json'], ac.signal, rout, rerr);
    cleanups.push(async () => {
      ac.abort();
      await replay;
    });
    await until(() => rout.length >= 1, 20_000, `the replay's pty line (${rerr.join(' ')})`);
    const replayPty = rout[0]!.replace(/^pty /, '');
    const again = await cli(['info', '--port', replayPty, '--protocol', 'pylontech-rs485', '--address', '3', '--json']);
    expect(again.code, again.err.join('\n')).toBe(0);
    const a = JSON.parse(live.out.join('\n'));
    const b = JSON.parse(again.out.join('\n'));
    expect(b.device).toEqual(a.device);
    const strip = (t: Record<string, unknown>) => ({ ...t, t: 0, time: '' });
    expect(strip(b.telemetry)).toEqual(strip(a.telemetry));
    ac.abort();
    expect((await replay).code).toBe(0);
    const stats = JSON.parse(rout.at(-1)!);
    expect(stats.answered).toBeGreaterThan(0);
    expect(stats.unknown).toBe(0);
  });
});
