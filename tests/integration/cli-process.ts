import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freshBundle } from '../../bin/cli-bundle.mjs';

/**
 * The CLI as users run it, for integration tests: `packscope …` as a separate process, and
 * `packscope sim --pty …` as a long-running one whose first line names its pseudo-terminal.
 */
export const ROOT = path.resolve(import.meta.dirname, '../..');
/** What `npx packscope` runs. */
export const BIN = path.join(ROOT, 'bin/packscope.mjs');
/**
 * What the tests start as `packscope`: the bundle `npm run build` made (npm test builds before it
 * runs the suites) when it was built from the sources as they are, which starts without tsx; else
 * bin/packscope.mjs, which then runs the sources.
 */
export const CLI = freshBundle(ROOT) ?? BIN;

/** The simulator relays its line through python3's pty module. */
export function requirePython(): void {
  const r = spawnSync('python3', ['-c', 'import pty']);
  if (r.status !== 0) throw new Error('python3 (with its pty module) is required for pseudo-terminal tests: apt-get install python3');
}

export interface CliRun {
  /** null when the run was killed (timeoutMs). */
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs one `packscope ARGS` to its end; with timeoutMs it is killed (SIGKILL) after that long. */
export function runCli(args: string[], o: { timeoutMs?: number; onSpawn?: (c: ChildProcess) => void } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = o.timeoutMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
    child.once('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
    o.onSpawn?.(child);
  });
}

export interface SimProcess {
  child: ChildProcess;
  /** The first line it printed ('pty /dev/pts/N'). */
  firstLine: string;
  /** The pseudo-terminal path from that line. */
  path: string;
  /** The simulator's own process id, from its second line ('pid N'): what stops it. */
  pid: number;
  /** What it has written to stderr so far (its start-up summary, errors). */
  stderr(): string;
}

/**
 * The first line a long-running child prints on stdout (sim: its pty; serve: its URL). Rejects,
 * with what it wrote to stderr, if it exits or stays silent for timeoutMs.
 */
export function firstLineOf(child: ChildProcess, what: string, stderr: () => string, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not print its first line within ${timeoutMs / 1000} s: ${stderr()}`)), timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}): ${stderr()}`));
    });
  });
}

/** Starts `packscope sim --pty ARGS` and resolves once it has printed its pty and its pid. */
export async function spawnSim(args: string[], o: { timeoutMs?: number } = {}): Promise<SimProcess> {
  const child = spawn(process.execPath, [CLI, 'sim', '--pty', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  let out = '';
  const pid = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sim did not print its pid: ${err}`)), o.timeoutMs ?? 30_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = /^pid (\d+)$/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    child.once('exit', () => clearTimeout(timer));
  });
  pid.catch(() => undefined);
  const firstLine = await firstLineOf(child, 'sim', () => err, o.timeoutMs ?? 30_000);
  return { child, firstLine, path: firstLine.replace(/^pty /, ''), pid: await pid, stderr: () => err };
}

/** Stops a child process (SIGTERM unless told otherwise) and waits until it has exited. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await done;
}
