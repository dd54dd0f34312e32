import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Global setup of every test run: the run leaves no process behind. It marks the run with
 * PACKSCOPE_TEST_RUN=<random id> in the environment before the test workers start, so the workers
 * and every process they start (the CLI, the simulator and its pty relay, `packscope serve`,
 * Chromium, stock tools) carry it. At the end of the run, any process still alive with the mark
 * (found through /proc/<pid>/environ, so Linux only) is listed, killed, and fails the run.
 * Chromium's helper processes write their titles over their environment, so only its browser
 * process shows the mark; the helpers end with it.
 */
export const MARK = 'PACKSCOPE_TEST_RUN';
/** Processes that were ending when the run ended get this long to be gone before they count. */
const GRACE_MS = 10_000;

export interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
}

/** The running processes (other than this one and Vitest's workers) that carry the mark. */
export function marked(mark: string): Proc[] {
  const needle = `${MARK}=${mark}`;
  const found: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      // A zombie's environ reads empty, so only processes still running match.
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(needle)) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const ppid = Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      found.push({ pid, ppid, cmdline });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  // Vitest's own workers carry the mark too; it ends them itself after this teardown.
  return found.filter((p) => !(p.ppid === process.pid && /[\\/]vitest[\\/]dist[\\/]workers[\\/]/.test(p.cmdline)));
}

export default function setup(): () => Promise<void> {
  const mark = randomUUID();
  process.env[MARK] = mark;
  return async () => {
    if (!existsSync('/proc/self/environ')) {
      console.warn(`process check skipped: it needs /proc (Linux) to find the processes marked ${MARK}`);
      return;
    }
    let left = marked(mark);
    const until = Date.now() + GRACE_MS;
    while (left.length > 0 && Date.now() < until) {
      await delay(100);
      left = marked(mark);
    }
    if (left.length === 0) return;
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    process.exitCode = 1;
    console.error(
      `\nFAIL: ${left.length} process(es) started by the tests were still running at the end of the run (now killed):\n` +
        left.map((p) => `  pid ${p.pid} (parent ${p.ppid}): ${p.cmdline.replace(/\s+/g, ' ').slice(0, 200)}`).join('\n') +
        '\nA test must stop what it starts and wait for it to exit.\n',
    );
  };
}
