import { describe, expect, it } from 'vitest';
import { MARK, marked } from '../support/process-check.js';
import { requirePython, spawnSim, stopChild } from './cli-process.js';

/**
 * The end-of-run check (tests/support/process-check.ts) sees what the tests start: the mark reaches
 * the CLI's processes and the ones they start in turn, and a stopped process no longer counts.
 */
describe('processes left running', () => {
  it("are found by the run's mark: the simulator and its pty relay while they run, nothing once stopped", async () => {
    if (process.platform !== 'linux') return;
    requirePython();
    const mark = process.env[MARK];
    if (!mark) throw new Error(`${MARK} is not set: the suite runs with tests/support/process-check.ts as its global setup (vitest.config.ts)`);
    const sim = await spawnSim([]);
    try {
      const running = marked(mark);
      expect(
        running.map((p) => p.pid),
        JSON.stringify(running),
      ).toContain(sim.pid);
      expect(running.some((p) => p.ppid === sim.pid && /python3/.test(p.cmdline.split(' ')[0]!))).toBe(true);
    } finally {
      await stopChild(sim.child);
    }
    // Its relay ends when the simulator's end of the relay's pipe closes: wait for that, not for a time.
    const gone = () => !marked(mark).some((p) => p.pid === sim.pid || p.ppid === sim.pid);
    while (!gone()) await new Promise((r) => setTimeout(r, 20));
    expect(gone()).toBe(true);
  });
});
