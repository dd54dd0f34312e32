import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePython, runCli, spawnSim, stopChild, type CliRun } from '../cli-process.js';

/**
 * The guided capacity test end to end: `packscope sim --pty --time-scale 2000` as a child process
 * (an hours-long test passes in seconds), `packscope health capacity-test` on its pseudo-terminal,
 * then a pull of its black box, whose signed records `packscope health` integrates again.
 */
const children = new Set<ChildProcess>();
const dir = mkdtempSync(path.join(tmpdir(), 'ps-captest-it-'));

beforeAll(requirePython);
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<CliRun> {
  return runCli(args, { onSpawn: (c) => children.add(c) });
}

describe('packscope health capacity-test over a real pty', () => {
  it('measures the normal pack, and the pulled black box proves the figure', async () => {
    const sim = await spawnSim(['--baud', '921600', '--seed', '3', '--time-scale', '2000']);
    children.add(sim.child);
    try {
      const run = await cli(['health', 'capacity-test', '--port', sim.path, '--baud', '921600', '--current', '50', '--rest', '300', '--poll', '0.1', '--json']);
      expect(run.code, run.stderr).toBe(0);
      const res = JSON.parse(run.stdout);
      expect(res).toMatchObject({ outcome: 'complete', ratedCapacityAh: 100, reason: null });
      // The simulated pack holds about 97–100 Ah (its weakest cell); the test is within 3 % of that.
      expect(res.capacityAh).toBeGreaterThan(94);
      expect(res.capacityAh).toBeLessThan(101);

      const log = path.join(dir, 'after-test.pslog');
      const pull = await cli(['log', 'pull', '--port', sim.path, '--baud', '921600', '--out', log, '--json']);
      expect(pull.code, pull.stderr).toBe(0);
      const health = await cli(['health', '--log', log, '--json']);
      expect(health.code, health.stderr).toBe(0);
      const [logged] = JSON.parse(health.stdout).report.capacityTests;
      expect(logged).toMatchObject({ outcome: 'complete' });
      // At this time scale the board writes a record per tick (many seconds of pack time), so the
      // records' integral is coarser than the board's own count.
      expect(Math.abs(logged.dischargedAh - res.capacityAh) / res.capacityAh).toBeLessThan(0.05);
    } finally {
      await stopChild(sim.child);
    }
  });
});
