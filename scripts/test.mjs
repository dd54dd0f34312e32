// What `npm test` runs: every check and suite, ordered so that the machine's two kinds of work
// overlap. The integration and end-to-end suites spend most of their time waiting (on paced
// serial lines, on pseudo-terminals, on Chromium), about a fifth of a core per test file; the
// static checks and the unit tests want whole cores and wait on nothing. Run one after the other
// they add up; run side by side the CPU-bound lane fills the waiting lane's idle time.
//
// 1. lint (layering) and dupes: seconds, and a failure there stops the run at once.
// 2. Side by side, each lane in order:
//    - suites:  build, then the integration and end-to-end projects (two Vitest runs at once);
//    - checks:  style (prettier + eslint), typecheck, then the unit project.
//    Both lanes run at the same priority: a lower one for the checks would starve them whenever
//    anything else loads the machine, and the suites must not depend on machine load anyway.
// A step whose prerequisite failed is skipped; every other step runs, so one run reports every
// failure. The exit code is 1 if anything failed. The output of a step running beside others is
// printed as one block when it ends; then, for every failed step, what failed once more (Vitest's
// "Failed Tests" section, or the step's last lines), so a log read from its end names the failure,
// and every test that passed only when Vitest ran it again (tests/support/flaky-reporter.ts);
// the summary table last.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(root, 'node_modules/.bin/vitest');

/** @typedef {{ name: string, cmd: string[], after?: string[] }} Step */
/** Stages run one after the other; the steps of a side-by-side stage start together, each once its `after` steps passed. */
const stages = [
  {
    sideBySide: false,
    steps: [
      { name: 'lint', cmd: ['npm', 'run', '-s', 'lint'] },
      { name: 'dupes', cmd: ['npm', 'run', '-s', 'dupes'], after: ['lint'] },
    ],
  },
  {
    sideBySide: true,
    steps: [
      { name: 'build', cmd: ['npm', 'run', '-s', 'build'] },
      { name: 'integration', cmd: [vitest, 'run', '--project', 'integration'], after: ['build'] },
      { name: 'e2e', cmd: [vitest, 'run', '--project', 'e2e'], after: ['build'] },
      { name: 'style', cmd: ['npm', 'run', '-s', 'style'] },
      { name: 'typecheck', cmd: ['npm', 'run', '-s', 'typecheck'], after: ['style'] },
      { name: 'unit', cmd: [vitest, 'run', '--project', 'unit'], after: ['typecheck'] },
    ],
  },
];

/** @type {Map<string, { ok: boolean | null, seconds: number }>} ok null: skipped */
const results = new Map();
const running = new Set();
let stopping = false;

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopping = true;
    for (const child of running) child.kill(signal);
  });
}

const since = (t0) => (performance.now() - t0) / 1000;

/** Runs one step; alone, its output goes straight through; beside others, it is collected and printed when the step ends. */
function run(step, alone) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const env = { ...process.env };
    // Vitest colours only a terminal: keep the colours when its output is collected for one.
    if (process.stdout.isTTY && !alone) env.FORCE_COLOR = '1';
    const cmd = step.cmd;
    const child = spawn(cmd[0], cmd.slice(1), { cwd: root, env, stdio: alone ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const chunks = [];
    child.stdout?.on('data', (d) => chunks.push(d));
    child.stderr?.on('data', (d) => chunks.push(d));
    child.once('error', (e) => chunks.push(Buffer.from(`${cmd[0]}: ${e.message}\n`)));
    child.once('close', (code) => {
      running.delete(child);
      const ok = code === 0;
      const seconds = since(t0);
      const output = Buffer.concat(chunks).toString();
      if (!alone) process.stdout.write(`\n── ${step.name} (${ok ? 'passed' : 'FAILED'}, ${seconds.toFixed(0)} s) ──\n${output}\n`);
      resolve({ ok, seconds, output: alone ? '' : output });
    });
  });
}

const t0 = performance.now();
for (const stage of stages) {
  /** @type {Map<string, Promise<boolean>>} */
  const passed = new Map();
  // Steps are declared after what they wait for, so every `after` is in the map when it is read.
  for (const step of stage.steps) {
    const deps = (step.after ?? []).map((n) => passed.get(n));
    passed.set(
      step.name,
      Promise.all(deps).then(async (oks) => {
        if (stopping || !oks.every(Boolean)) {
          results.set(step.name, { ok: null, seconds: 0 });
          return false;
        }
        if (stage.sideBySide) process.stdout.write(`▶ ${step.name}\n`);
        const r = await run(step, !stage.sideBySide);
        results.set(step.name, r);
        return r.ok;
      }),
    );
  }
  const oks = await Promise.all(passed.values());
  if (!oks.every(Boolean)) break;
}

/** What failed in a step's output: Vitest's failure section, else the last lines. */
function failureExcerpt(output) {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const lines = plain.split('\n');
  const from = lines.findIndex((l) => /Failed Tests? \d+|Unhandled Errors?/.test(l));
  const picked = from >= 0 ? lines.slice(from) : lines.slice(-60);
  return picked.slice(0, 250).join('\n');
}

const all = stages.flatMap((s) => s.steps);
for (const s of all) {
  const r = results.get(s.name);
  if (r?.ok === false && r.output) process.stdout.write(`\n══ what failed in ${s.name} ══\n${failureExcerpt(r.output)}\n`);
}
// The mark written by tests/support/flaky-reporter.ts.
const flaky = all.flatMap((s) => (results.get(s.name)?.output ?? '').split('\n').filter((l) => l.startsWith('PASSED ONLY WHEN RUN AGAIN:')));
if (flaky.length > 0) process.stdout.write(`\n══ ${flaky.length} test(s) passed only when run again: defects to fix ══\n${flaky.join('\n')}\n`);
const failed = all.some((s) => results.get(s.name)?.ok !== true);
const rows = all.map((s) => {
  const r = results.get(s.name);
  const state = r === undefined || r.ok === null ? 'skipped' : r.ok ? 'passed' : 'FAILED';
  return `  ${s.name.padEnd(12)} ${state.padEnd(8)} ${r && r.ok !== null ? `${r.seconds.toFixed(0).padStart(4)} s` : ''}`;
});
process.stdout.write(`\n${rows.join('\n')}\n  ${'total'.padEnd(12)} ${(failed ? 'FAILED' : 'passed').padEnd(8)} ${since(t0).toFixed(0).padStart(4)} s\n`);
process.exitCode = failed ? 1 : 0;
