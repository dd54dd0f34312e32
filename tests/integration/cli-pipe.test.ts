import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../electron/host/cli/main.js';
import { CLI, ROOT } from './cli-process.js';

/**
 * `packscope … | head -1`: the reader closes the pipe after what it wanted. The CLI must end
 * quietly with exit 0 (README, "Exit codes"), never with an unhandled EPIPE and a stack trace, and
 * a command that would run on (monitor) must stop.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'ps-pipe-'));
const log = path.join(dir, 'pack.pslog');

beforeAll(async () => {
  const quiet = { out: () => undefined, err: () => undefined, signal: new AbortController().signal, isTTY: false };
  expect(await main(['log', 'pull', '--port', 'sim:?prefill=2&unpaced=1', '--out', log], quiet)).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Spawns `packscope ARGS`, closes its stdout after `lines` lines (0: at once), waits for its exit.
 * A process still running after 30 s is killed (signal SIGKILL in the result).
 */
function closedEarly(args: string[], lines: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; got: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let got = '';
    child.stderr.on('data', (d) => (stderr += d));
    const close = () => child.stdout.destroy();
    if (lines === 0) close();
    else {
      child.stdout.on('data', (d) => {
        got += d;
        if (got.split('\n').length > lines) close();
      });
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, got });
    });
  });
}

describe('standard output closed early by its reader', () => {
  it('a one-shot command (policy schema) exits 0 without an EPIPE stack', async () => {
    const r = await closedEarly(['policy', 'schema'], 0);
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
  });

  it('ports | head -1', async () => {
    const r = await closedEarly(['ports'], 1);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
  });

  it('a running monitor stops at once and exits 0', async () => {
    const r = await closedEarly(['monitor', '--port', 'sim:', '--json', '--rate', '20'], 1);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.got).toMatch(/^\{"t":/);
    // It ended by itself (exit 0, no signal), not at the 30 s kill: the closed pipe stopped it.
    expect(r.signal).toBeNull();
  });

  it('log export --csv /dev/stdout | head: exits 0, and /dev/stdout is written through, never replaced', async () => {
    const r = await closedEarly(['log', 'export', log, '--csv', '/dev/stdout'], 2);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.got).toMatch(/^index,segment,time_utc/);
    // The same through a shell pipe, as a user types it (stdout is then a pipe, not a socket).
    const sh = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const cmd = `node ${JSON.stringify(CLI)} log export ${JSON.stringify(log)} --csv /dev/stdout | head -2; echo "status \${PIPESTATUS[0]}" >&2`;
      const child = spawn('bash', ['-c', cmd], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.once('close', (code) => resolve({ code, out, err }));
    });
    expect(sh.err).toMatch(/^status 0$/m);
    expect(sh.err).not.toMatch(/EPIPE|Error/);
    expect(sh.out.split('\n')[0]).toMatch(/^index,segment,time_utc/);
    expect(lstatSync('/dev/stdout').isSymbolicLink()).toBe(true);
  });

  it('log export --csv /dev/stdout read to the end: all rows on stdout, the summary on stderr', async () => {
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'log', 'export', log, '--csv', '/dev/stdout'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.once('close', (code) => resolve({ code, out, err }));
    });
    expect(r.code, r.err).toBe(0);
    const rows = r.out.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^index,/);
    expect(r.err).toMatch(new RegExp(`^${rows.length - 1} records → /dev/stdout`, 'm'));
    expect(r.out).not.toMatch(/records →/);
  });
});
