import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../electron/host/cli/main.js';
import { CLI, ROOT } from '../cli-process.js';
import { expectMatchesBoard, startRig, type BmsRig } from './harness.js';

/**
 * Acceptance of the commodity-BMS stream, through the CLI over a real pty: `info --protocol X
 * --json`, `info --protocol auto --json` and `monitor --json` against each simulated board
 * report voltage, current, SOC, cells and temperatures equal to the simulator's within each
 * protocol's resolution (the simulated board's clock is held, so its state is fixed).
 */
let rig: BmsRig | null = null;

afterEach(async () => {
  await rig?.stop();
  rig = null;
});

/** Runs the CLI in this process; `stopAfter` lines on stdout interrupt it as Ctrl-C would (a condition, not a length of time). */
async function cli(argv: string[], stopAfter?: number): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const ac = new AbortController();
  const onOut = (l: string) => {
    out.push(l);
    if (stopAfter !== undefined && out.length >= stopAfter) ac.abort();
  };
  const code = await main(argv, { out: onOut, err: (l) => err.push(l), signal: ac.signal, isTTY: false });
  return { code, out, err };
}

for (const protocol of ['jbd', 'daly', 'jk'] as const) {
  describe(`packscope CLI against the ${protocol} personality`, () => {
    it('info (forced and auto) and monitor --json match the simulator', async () => {
      rig = await startRig(protocol);
      const forced = await cli(['info', '--port', rig.pty.path, '--protocol', protocol, '--json']);
      expect(forced.code, forced.err.join('\n')).toBe(0);
      const doc = JSON.parse(forced.out.join('\n'));
      expect(doc.device).toMatchObject({ protocol, cellCount: 16, signsEvidence: false, publicKeyFingerprint: null });
      expect(doc.line.baudRate).toBe(protocol === 'jk' ? 115200 : 9600);

      const auto = await cli(['info', '--port', rig.pty.path, '--protocol', 'auto', '--json']);
      expect(auto.code, auto.err.join('\n')).toBe(0);
      const adoc = JSON.parse(auto.out.join('\n'));
      expect(adoc.device.protocol).toBe(protocol);
      expect(adoc.detection.map((d: { protocol: string; answered: boolean }) => `${d.protocol}:${d.answered}`)).toContain(`${protocol}:true`);

      const mon = await cli(['monitor', '--port', rig.pty.path, '--protocol', protocol, '--json', '--rate', '4'], 2);
      expect(mon.code, mon.err.join('\n')).toBe(0);
      const lines = mon.out.map((l) => JSON.parse(l));
      const frames = lines.filter((l) => !l.summary);
      expect(frames.length).toBeGreaterThanOrEqual(2);
      expect(lines.at(-1).summary.outcome).toBe('interrupted');
      for (const f of frames) expectMatchesBoard(protocol, f, rig.board);
      const summary = lines.find((l) => l.summary).summary;
      expect(summary.link.crcErrors).toBe(0);
    });
  });
}

describe('the packscope binary', () => {
  it('`packscope monitor --protocol auto --json` finds a JK board and streams its frames', async () => {
    rig = await startRig('jk');
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'monitor', '--port', rig!.pty.path, '--json', '--rate', '5'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      // Ctrl-C once three frames are out: it ends with its summary and exit 0.
      let interrupted = false;
      child.stdout.on('data', (d) => {
        stdout += d;
        if (!interrupted && stdout.split('\n').length > 3) interrupted = child.kill('SIGINT');
      });
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const frames = lines.filter((l) => !l.summary);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const f of frames) expectMatchesBoard('jk', f, rig.board);
  });
});
