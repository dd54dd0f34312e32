import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPslog } from '../../../electron/host/blackbox/pslog.js';
import { requirePython, runCli, spawnSim, stopChild, type CliRun, type SimProcess } from '../cli-process.js';

/**
 * The black-box pull end to end: `packscope sim --pty` as a child process on a real pseudo-terminal,
 * `packscope log pull|verify|export|info` as another, talking through serialport.
 */
const BAUD = '921600';
const children = new Set<ChildProcess>();
const dirs: string[] = [];

beforeAll(requirePython);

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'psbb-it-'));
  dirs.push(d);
  return d;
}

async function startSim(state: string, extra: string[] = []): Promise<SimProcess> {
  const sim = await spawnSim(['--state', state, '--baud', BAUD, '--seed', '7', ...extra]);
  children.add(sim.child);
  return sim;
}

function cli(args: string[], onSpawn?: (c: ChildProcess) => void): Promise<CliRun> {
  return runCli(args, { onSpawn: (c) => (children.add(c), onSpawn?.(c)) });
}

async function segmentsOf(file: string): Promise<Map<number, Buffer>> {
  const r = await openPslog(file);
  const m = new Map<number, Buffer>();
  try {
    for await (const it of r.segments()) if ('segment' in it) m.set(it.segment.header.counter, Buffer.from(it.segment.bytes));
  } finally {
    await r.close();
  }
  return m;
}

describe('log pull over a real pty', () => {
  it('pulls, verifies against the state dir root, exports one CSV row per record', async () => {
    const state = tempDir();
    const sim = await startSim(state, ['--prefill-hours', '1']);
    const a = path.join(state, 'clean.pslog');
    const pull = await cli(['log', 'pull', '--port', sim.path, '--baud', BAUD, '--out', a, '--json']);
    expect(pull.code, pull.stderr).toBe(0);
    const res = JSON.parse(pull.stdout);
    expect(res.signaturesOk).toBe(true);
    expect(res.segments).toBeGreaterThanOrEqual(55);
    expect(res.records).toBeGreaterThan(3500);
    expect(pull.stderr).toMatch(/"etaSeconds"/);
    expect(existsSync(`${a}.partial`)).toBe(false);
    await stopChild(sim.child);

    const verify = await cli(['log', 'verify', a, '--root', path.join(state, 'manufacturing-root.pem'), '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const v = JSON.parse(verify.stdout);
    expect(v.ok).toBe(true);
    expect(v.checkpoint.ok).toBe(true);

    const csv = path.join(state, 'clean.csv');
    const exp = await cli(['log', 'export', a, '--csv', csv]);
    expect(exp.code, exp.stderr).toBe(0);
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
    expect(lines.length).toBe(res.records + 1);
    expect(lines[0]).toContain('pack_voltage_V');
    const row = lines[100]!.split(',');
    const pack = Number(row[4]);
    const cells = row.slice(7, 23).map(Number);
    expect(Math.abs(cells.reduce((s, x) => s + x, 0) - pack)).toBeLessThan(0.02);
    expect(pack).toBeGreaterThan(40);
    expect(pack).toBeLessThan(60);

    const wrongRoot = await cli(['log', 'verify', a, '--root', path.join(tempDir(), 'missing.pem')]);
    expect(wrongRoot.code).toBe(3);
  });

  it('through a line that corrupts and drops bytes, the pulled segments are byte-identical to a clean pull', async () => {
    // Small log: at 1.5 % damaged bytes the link falls back to short chunks, so it moves slowly.
    const state = tempDir();
    const sim = await startSim(state, ['--prefill-hours', '0.1']);
    const a = path.join(state, 'clean.pslog');
    const pull = await cli(['log', 'pull', '--port', sim.path, '--baud', BAUD, '--out', a]);
    expect(pull.code, pull.stderr).toBe(0);
    await stopChild(sim.child);
    const faulty = await startSim(state, ['--faults', 'corrupt=0.01,drop=0.005']);
    const b = path.join(state, 'faulty.pslog');
    const pull2 = await cli(['log', 'pull', '--port', faulty.path, '--baud', BAUD, '--out', b, '--json']);
    expect(pull2.code, pull2.stderr).toBe(0);
    await stopChild(faulty.child);
    const sa = await segmentsOf(a);
    const sb = await segmentsOf(b);
    expect(sa.size).toBeGreaterThanOrEqual(5);
    for (const [counter, bytes] of sa) expect(sb.get(counter)?.equals(bytes), `segment ${counter}`).toBe(true);
    const verify = await cli(['log', 'verify', b, '--root', path.join(state, 'manufacturing-root.pem')]);
    expect(verify.code, verify.stdout).toBe(0);
  });

  it('a pull cut by the simulator dying resumes after a restart without re-reading verified segments', async () => {
    const state = tempDir();
    const out = path.join(state, 'log.pslog');
    const partial = `${out}.partial`;
    const sim = await startSim(state, ['--prefill-hours', '2']);
    let killed = false;
    const first = await cli(['log', 'pull', '--port', sim.path, '--baud', BAUD, '--out', out], () => {
      const poll = setInterval(() => {
        if (existsSync(partial) && statSync(partial).size > 200 * 1024 && !killed) {
          killed = true;
          clearInterval(poll);
          sim.child.kill('SIGKILL');
        }
      }, 20);
    });
    expect(killed).toBe(true);
    expect(first.code, first.stderr).toBe(4);
    expect(first.stderr).toMatch(/--resume/);
    expect(existsSync(out)).toBe(false);
    const kept = await openPslog(partial);
    expect(kept.complete).toBe(false);
    const keptSegments = kept.segmentCount;
    await kept.close();
    expect(keptSegments).toBeGreaterThan(40);

    const again = await startSim(state);
    const second = await cli(['log', 'pull', '--port', again.path, '--baud', BAUD, '--out', out, '--resume', '--json']);
    expect(second.code, second.stderr).toBe(0);
    await stopChild(again.child);
    const r = JSON.parse(second.stdout);
    expect(r.resumedSegments).toBeGreaterThanOrEqual(keptSegments - 1);
    // Only what was not yet verified crossed the wire: the rest of the segments and the checkpoint.
    expect(r.bytesRead).toBeLessThanOrEqual((r.segments - r.resumedSegments) * 4096 + 4096);
    expect(existsSync(partial)).toBe(false);
    const verify = await cli(['log', 'verify', out, '--root', path.join(state, 'manufacturing-root.pem')]);
    expect(verify.code, verify.stdout).toBe(0);
  });
});
