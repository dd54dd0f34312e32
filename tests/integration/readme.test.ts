import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The README's example sessions, run in order exactly as a new user would type them: every
 * ```sh block preceded by `<!-- readme-run -->` is taken verbatim and run in one bash session in
 * an empty directory. `npx packscope` resolves to this checkout's bin (as it does after
 * `npm install`); nothing else is rewritten, so a README that drifts from the CLI fails here.
 */
const root = path.resolve(import.meta.dirname, '../..');

export function readmeBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const re = /<!-- readme-run -->\s*\n```sh\n([\s\S]*?)\n```/g;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) blocks.push(m[1]!);
  return blocks;
}

function requireTools(): void {
  for (const [tool, args] of [
    ['python3', ['-c', 'import pty']],
    ['openssl', ['version']],
    ['ssh-keygen', ['-?']],
    ['sha256sum', ['--version']],
  ] as const) {
    const r = spawnSync(tool, [...args]);
    if (r.error) throw new Error(`${tool} is required by the README's example sessions (apt-get install python3 openssl openssh-client coreutils)`);
  }
}

/**
 * Processes a README session left running: whatever works in `dir` (the simulator and its python3
 * pty relay run there) or names it on its command line. Linux /proc only.
 */
export function processesIn(dir: string): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (cwd === dir || cwd.startsWith(dir + '/') || cmd.includes(dir)) found.push({ pid, cmd });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

describe('README example sessions', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'packscope-readme-'));
  afterAll(() => {
    // Should a session fail half-way, stop what it started, each by its own pid.
    for (const p of processesIn(dir)) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the four sessions (bench engineer, supplier ticket, customer, supplier decision)', () => {
    expect(readmeBlocks(readFileSync(path.join(root, 'README.md'), 'utf8'))).toHaveLength(4);
  });

  it('runs them in order on a fresh directory, as written', async () => {
    requireTools();
    const blocks = readmeBlocks(readFileSync(path.join(root, 'README.md'), 'utf8'));
    const script = [
      'set -euo pipefail',
      // What `npm install` gives a user: npx packscope → this checkout's bin.
      `npx() { if [ "$1" = packscope ]; then shift; node ${JSON.stringify(path.join(root, 'bin/packscope.mjs'))} "$@"; else command npx "$@"; fi; }`,
      // A failing step must not leave the simulated board running: stop it by the pid it printed.
      'trap \'kill $(awk "/^pid /{print \\$2}" sim.out 2>/dev/null) $(jobs -p) 2>/dev/null || true\' EXIT',
      ...blocks,
    ].join('\n');
    writeFileSync(path.join(dir, 'session.sh'), script);
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('bash', ['session.sh'], {
        cwd: dir,
        env: { ...process.env, PACKSCOPE_CONFIG_DIR: path.join(dir, 'config'), PACKSCOPE_DATA_DIR: path.join(dir, 'data') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
    expect(result.code, result.out.slice(-4000)).toBe(0);
    // What each session promises the reader.
    expect(result.out).toMatch(/pack\.pslog: VERIFIED/);
    expect(result.out).toMatch(/No problem found|File a claim/);
    expect(result.out).toMatch(/EXCLUDED by clause over-discharge-current/);
    expect(result.out).toMatch(/^VERIFIED: EXCLUDED/m);
    expect(result.out).toMatch(/ok {3}ticket: claim C-/);
    expect(result.out).toMatch(/freshness: pulled for claim ticket/);
    expect(result.out).toMatch(/decided by policy packscope-default-lfp-1 .*yours/);
    expect(readFileSync(path.join(dir, 'claim-report.html'), 'utf8')).toMatch(/over-discharge-current/);
    expect(result.out).toContain('Signature Verified Successfully');
    expect(result.out).toContain('Good "packscope-diagnosis" signature');
    expect(result.out).toMatch(/running 1\.1\.0\+0 \(confirmed\)/);

    // The sessions stop what they started: no simulator, pty relay or server is left running.
    let left = processesIn(dir);
    for (let i = 0; i < 50 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = processesIn(dir);
    }
    expect(left, 'processes the README sessions left running').toEqual([]);
  }, 300_000);
});
