import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './tests/support/sequencer.js';

// Three projects, run one after the other in this order (sequence.groupOrder):
// - unit (tests/unit, tests/lint): pure and fast; no build, no processes
//   (tests/support/no-child-processes.ts makes sure), and host and simulated board together only
//   on a VirtualClock;
// - integration: the CLI and the simulated board as processes over real pseudo-terminals, stock
//   tools, and what `npm run build` made; in tests/integration/in-process, host services against
//   the in-process simulator on the real clock;
// - e2e: Debian Chromium against `packscope serve`.
// Unit runs a file per CPU at a time. Integration files mostly wait (on paced serial lines and
// pseudo-terminals, about a fifth of a core each), so two run per CPU; e2e keeps to two Chromiums
// at a time, which want the CPU more. `npm test` (scripts/test.mjs) runs integration and e2e as
// two runs side by side, next to the static checks and the unit project.
// The timeouts only catch a hang: a slow machine must never fail a test.
// Integration and e2e run a failed test once more: they race real processes, pseudo-terminals and
// a browser on a machine others load too. Every test that passed only the second time is named at
// the end of the run with its first failure (tests/support/flaky-reporter.ts), and is a defect to
// fix; a test that fails twice fails the run.
// A run fails if a process its tests started is still running at its end (tests/support/process-check.ts).
// Benchmarks are not tests: they live in tests/bench and run via `npm run bench`.
const cpus = availableParallelism();
// expect.poll waits up to a fifth of that (its default of one second is a wall-clock window that
// a loaded machine misses); a condition that never comes still fails with its own message.
const timeouts = (ms: number) => ({ testTimeout: ms, hookTimeout: ms, expect: { poll: { timeout: ms / 5 } } });

export default defineConfig({
  test: {
    reporters: ['default', './tests/support/flaky-reporter.ts'],
    globalSetup: ['tests/support/process-check.ts'],
    // Longest file first, also on a fresh clone (tests/support/sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/{unit,lint}/**/*.test.ts'],
          setupFiles: ['tests/support/no-child-processes.ts'],
          pool: 'forks',
          // Files share a worker's module cache: the host's module graph is loaded once per worker,
          // not once per file (a third of the project's CPU time went to loading it again).
          isolate: false,
          maxWorkers: cpus,
          sequence: { groupOrder: 0 },
          ...timeouts(45_000),
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          pool: 'forks',
          maxWorkers: cpus * 2,
          sequence: { groupOrder: 1 },
          retry: 1,
          ...timeouts(300_000),
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          pool: 'forks',
          maxWorkers: Math.min(cpus, 2),
          sequence: { groupOrder: 2 },
          retry: 1,
          ...timeouts(300_000),
        },
      },
    ],
  },
});
