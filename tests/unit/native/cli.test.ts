import net from 'node:net';
import { describe, expect, it } from 'vitest';
import info from '../../../electron/host/cli/commands/info.js';
import monitor from '../../../electron/host/cli/commands/monitor.js';
import type { CliContext } from '../../../electron/host/cli/context.js';
import { Session } from '../../../electron/host/session.js';
import { parseSimPath } from '../../../electron/host/transport/sim.js';
import { runSim } from '../../../firmware/sim/run.js';
import { VirtualClock } from '../../../shared/util/clock.js';

/**
 * CLI commands run in-process against the built-in demo device (sim:), command and board on a
 * virtual clock (run the command with `clock.run`), and the tcp:// transport on the real one.
 */
function context(signal = new AbortController().signal) {
  const out: string[] = [];
  const err: string[] = [];
  const clock = new VirtualClock();
  const ctx: CliContext = { out: (l) => out.push(l), err: (l) => err.push(l), signal, isTTY: false, clock };
  return { ctx, out, err, clock };
}

describe('info and monitor on the demo device', () => {
  it('info prints the identity as text and as JSON', async () => {
    const a = context();
    expect(await a.clock.run(info.run(['--port', 'sim:?cells=8&seed=2'], a.ctx))).toBe(0);
    expect(a.out.join('\n')).toMatch(/Board id\s+PSB-8S-LFP-A/);
    const b = context();
    expect(await b.clock.run(info.run(['--port', 'sim:?cells=8&seed=2', '--json'], b.ctx))).toBe(0);
    const doc = JSON.parse(b.out.join('\n'));
    expect(doc.device.cellCount).toBe(8);
    expect(doc.link.framesIn).toBeGreaterThan(0);
    // One telemetry sample rides along, with 8 cells summing to the pack voltage.
    expect(doc.telemetry.cellVoltages).toHaveLength(8);
    const sum = doc.telemetry.cellVoltages.reduce((a: number, v: number) => a + v, 0);
    expect(Math.abs(sum - doc.telemetry.packVoltage) / doc.telemetry.packVoltage).toBeLessThan(0.01);
    expect(a.out.join('\n')).toMatch(/Cell voltages\s+\d\.\d{3}–\d\.\d{3} V/);
  });

  it('info --port with an adapter key that is not plugged in is a clear NOT_FOUND (exit 3 in the CLI)', async () => {
    const a = context();
    await expect(info.run(['--port', 'usb:1a86:7523:sn:NOPE'], a.ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('monitor stops cleanly with exit 0 on Ctrl-C (abort) and reports a summary', async () => {
    const ac = new AbortController();
    const m = context(ac.signal);
    // Ctrl-C 1.45 s after the first frame: at 10 Hz, the frames of 0 to 1.4 s are printed.
    const print = m.ctx.out;
    m.ctx.out = (line) => {
      if (m.out.length === 0) m.clock.after(1450, () => ac.abort());
      print(line);
    };
    expect(await m.clock.run(monitor.run(['--port', 'sim:?scenario=over-current', '--rate', '10', '--json'], m.ctx))).toBe(0);
    const lines = m.out.map((l) => JSON.parse(l));
    const summary = lines.pop().summary;
    expect(summary.outcome).toBe('interrupted');
    expect(summary.frames).toBe(lines.length);
    expect(lines.length).toBe(15);
    for (let i = 1; i < lines.length; i++) expect(lines[i].t - lines[i - 1].t).toBe(100);
    for (const f of lines) expect(f.statusFlags).toBeInstanceOf(Array);
  });

  it('monitor exits 4 with "device disconnected" when the line drops', async () => {
    const m = context();
    const code = await m.clock.run(monitor.run(['--port', 'sim:?faults=disconnect-after%3D1', '--rate', '10'], m.ctx));
    expect(code).toBe(4);
    expect(m.err.join('\n')).toMatch(/device disconnected/);
    // The line dropped exactly 1 s after the host's first byte, in the session's first second.
    expect(m.clock.now()).toBeGreaterThanOrEqual(1000);
    expect(m.clock.now()).toBeLessThan(2000);
  });

  it('rejects bad sim: options with a usage error', () => {
    expect(() => parseSimPath('sim:?cells=99')).toThrow(/cells/);
    expect(() => parseSimPath('sim:?colour=red')).toThrow(/unknown option/);
    expect(parseSimPath('sim:?scenario=weak-cell&cells=16&chemistry=nmc')).toMatchObject({ scenario: 'weak-cell', cells: 16, chemistry: 'nmc' });
  });
});

describe('tcp:// transport (ser2net-style)', () => {
  it('talks to a board behind a TCP serial server', async () => {
    // A minimal ser2net: one TCP connection ↔ the simulated board's line.
    const sim = await runSim({ seed: 9, subsystems: false });
    const server = net.createServer((sock) => {
      sock.on('data', (d) => sim.host!.write(new Uint8Array(d)));
      sim.host!.onData((d) => sock.write(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const s = await Session.open(`tcp://127.0.0.1:${port}`, { protocol: 'native' });
      expect(s.info!.model).toBe('PackScope Sim BMS');
      expect(s.transport.info.kind).toBe('tcp');
      await s.close();
      await expect(Session.open('tcp://127.0.0.1:1', { protocol: 'native' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      server.close();
      await sim.stop();
    }
  });
});

describe('auto-detection', () => {
  it('reports every protocol it tried when nothing answers', async () => {
    const clock = new VirtualClock();
    const err = await clock.run(Session.open('sim:?personality=stm32-rom', { probeTimeoutMs: 200, clock })).catch((e) => e);
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/no device answered/);
    expect(err.message).toMatch(/native at 115200/);
    expect(err.details.detection.every((d: { answered: boolean }) => !d.answered)).toBe(true);
  });
});
