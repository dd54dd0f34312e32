import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePython, runCli, spawnSim, stopChild, type SimProcess } from '../cli-process.js';

/**
 * Acceptance of the foundation, end to end through real pseudo-terminals and serialport:
 * `packscope sim --pty` as a child process, `info` and `monitor` as separate CLI runs against it.
 * Real time: rates are judged by the board's own frame timestamps, waits are for conditions.
 */

/** A CLI run is killed after 40 s at the latest: a hung run fails its test, not the whole suite. */
const cli = (args: string[]) => runCli(args, { timeoutMs: 40_000 });

async function startSim(args: string[]): Promise<SimProcess> {
  const sim = await spawnSim(args, { timeoutMs: 20_000 });
  expect(sim.firstLine).toMatch(/^pty \/dev\/pts\/\d+$/);
  // Its second line names the process to stop: the simulator itself, not a launcher.
  expect(sim.pid).toBe(sim.child.pid);
  return sim;
}

interface FrameJson {
  /** Board time of the sample, ms since epoch. */
  t: number;
  packVoltage: number;
  cellVoltages: number[];
  temperatures: number[];
  soc: number;
  statusFlags: string[];
  alarmFlags: string[];
}

function checkFrames(stdout: string): { frames: FrameJson[]; summary: { frames: number; link: Record<string, number> } } {
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const summary = lines.pop().summary;
  const frames = lines as FrameJson[];
  for (const f of frames) {
    const sum = f.cellVoltages.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - f.packVoltage) / f.packVoltage).toBeLessThan(0.01);
    expect(f.cellVoltages).toHaveLength(16);
    expect(f.soc).toBeGreaterThanOrEqual(0);
    expect(Array.isArray(f.alarmFlags)).toBe(true);
  }
  expect(summary.frames).toBe(frames.length);
  return { frames, summary };
}

/**
 * The stream's rate by the board's own timestamps, not the runner's clock: never faster than
 * periodMs (ms rounding aside), and typically (median gap) within twice it. A loaded machine only
 * delays samples, so neither bound depends on the load.
 */
function expectPeriod(frames: FrameJson[], periodMs: number): void {
  const gaps = frames
    .slice(1)
    .map((f, i) => f.t - frames[i]!.t)
    .sort((a, b) => a - b);
  expect(gaps[0]).toBeGreaterThanOrEqual(periodMs - 2);
  expect(gaps[Math.floor(gaps.length / 2)]).toBeLessThan(2 * periodMs);
}

const dirs: string[] = [];
let stateDir = '';
let identity: Record<string, unknown> = {};

beforeAll(() => {
  requirePython();
  stateDir = mkdtempSync(path.join(tmpdir(), 'packscope-state-'));
  dirs.push(stateDir);
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('packscope sim --pty with info and monitor over a real tty', () => {
  it('identifies the board and streams 20 frames at 20 Hz', async () => {
    const sim = await startSim(['--state', stateDir]);
    try {
      const info = await cli(['info', '--port', sim.path, '--json']);
      expect(info.code, info.stderr).toBe(0);
      const doc = JSON.parse(info.stdout);
      identity = doc.device;
      expect(doc.device).toMatchObject({
        protocol: 'native',
        model: 'PackScope Sim BMS',
        boardId: 'PSB-16S-LFP-A',
        cellCount: 16,
        chemistry: 'lfp',
        nominalCapacityAh: 100,
      });
      expect(doc.device.publicKeyFingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(doc.transport).toMatchObject({ kind: 'serial', path: sim.path });

      const mon = await cli(['monitor', '--port', sim.path, '--rate', '20', '--count', '20', '--json']);
      expect(mon.code, mon.stderr).toBe(0);
      const { frames, summary } = checkFrames(mon.stdout);
      expect(frames.length).toBe(20);
      expectPeriod(frames, 50);
      expect(summary.link.crcErrors).toBe(0);

      // A second run asks for exactly the same things; the board must run them again, not answer
      // from its replay cache as if they were retries of the first run's requests (a cached
      // TELEMETRY_START would start no stream at all).
      const again = await cli(['monitor', '--port', sim.path, '--rate', '20', '--count', '3', '--json']);
      expect(again.code, again.stderr).toBe(0);
      const second = checkFrames(again.stdout).frames;
      expect(second.length).toBeGreaterThanOrEqual(2);
      expect(second[0]!.t).toBeGreaterThan(frames.at(-1)!.t);
    } finally {
      await stopChild(sim.child);
    }
  });

  it('is the same board after a restart with the same --state, and survives corrupt=0.01', async () => {
    const sim = await startSim(['--state', stateDir, '--faults', 'corrupt=0.01']);
    try {
      const info = await cli(['info', '--port', sim.path, '--json']);
      expect(info.code, info.stderr).toBe(0);
      const doc = JSON.parse(info.stdout);
      for (const k of ['serial', 'boardId', 'publicKeyFingerprint', 'model', 'cellCount']) expect(doc.device[k]).toEqual(identity[k]);
      expect(doc.link.crcErrors + doc.link.decodeErrors + doc.link.timeouts).toBeGreaterThan(0);

      const mon = await cli(['monitor', '--port', sim.path, '--rate', '20', '--count', '30', '--json']);
      expect(mon.code, mon.stderr).toBe(0);
      const { frames, summary } = checkFrames(mon.stdout);
      expect(frames.length).toBe(30);
      expect(summary.link.crcErrors + summary.link.decodeErrors).toBeGreaterThan(0);
    } finally {
      await stopChild(sim.child);
    }
  });

  it('ends monitor by itself with "device disconnected" and exit 4 when the simulator dies', async () => {
    const sim = await startSim(['--seed', '4']);
    // Kill the simulator once frames flow, however long the CLI takes to start.
    const monitor = runCli(['monitor', '--port', sim.path, '--rate', '10', '--json'], {
      timeoutMs: 40_000,
      onSpawn: (child) => child.stdout!.once('data', () => sim.child.kill('SIGKILL')),
    });
    const res = await monitor;
    // Exit 4 is the monitor's own answer to the lost line (a run still going at 40 s is killed: no code).
    expect(res.code).toBe(4);
    expect(res.stderr).toMatch(/device disconnected/);
    expect(res.stdout.split('\n').filter((l) => l.startsWith('{"t"')).length).toBeGreaterThan(0);
  });

  it('answers with a usage error (exit 2) for a bad option and exit 3 for a missing port', async () => {
    expect((await cli(['monitor', '--port', '/dev/nonexistent-tty', '--json'])).code).toBe(3);
    expect((await cli(['monitor', '--rate', 'fast', '--port', 'x'])).code).toBe(2);
  });
});
