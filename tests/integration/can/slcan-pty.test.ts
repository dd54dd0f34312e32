import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alarmsToPylontech, meanTemperature, pylontechToAlarms } from '../../../shared/can/pylontech.js';
import { encodeImageMeta, parseImage, parsePrivateKeyPem, signImage, generateKey } from '../../../shared/image/index.js';
import type { TelemetryFrame } from '../../../shared/types/domain.js';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import { runCli, spawnSim, stopChild } from '../cli-process.js';
import { SIGNING_KEY_FILE } from '../../../firmware/sim/boot/firmware-store.js';
import { closeCanChannel, openCanChannel } from '../../../electron/host/can/open.js';
import type { SlcanChannel } from '../../../electron/host/can/slcan-channel.js';
import { UdsClient } from '../../../electron/host/can/uds-client.js';
import { UdsFirmwareTarget } from '../../../electron/host/can/uds-target.js';
import { driverFactory } from '../../../electron/host/drivers/registry.js';
import { SerialTransport } from '../../../electron/host/transport/serial.js';

/**
 * The CAN stream end to end over a real pseudo-terminal: `sim --personality slcan` (runSim with a
 * pty) on one side, the host's serial SLCAN channel, the CLI and the flasher on the other.
 */
let sims: RunningSim[] = [];
let channel: SlcanChannel | null = null;
let dir: string | null = null;

afterEach(async () => {
  if (channel) await closeCanChannel(channel).catch(() => undefined);
  channel = null;
  for (const s of sims) await s.stop();
  sims = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

async function startSim(stateDir: string): Promise<RunningSim> {
  const sim = await runSim({ personality: 'slcan', pty: true, seed: 11, stateDir });
  sims.push(sim);
  return sim;
}

describe('SLCAN simulator over a pty', () => {
  it('can monitor shows the pack broadcasts at their real rate (1 Hz each), candump style and JSON', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ps-can-'));
    const sim = await startSim(dir);
    // 13 frames in a row hold every one of the six broadcasts at least twice, however long the CLI takes to start.
    const r = await runCli(['can', 'monitor', '--port', sim.path!, '--bitrate', '500000', '--json', '--timestamps', '--count', '13']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { t: number; adapterTs: number; id: number; dlc: number; data: string });
    for (const id of [0x351, 0x355, 0x356, 0x359, 0x35c, 0x35e]) {
      // The rate on the adapter's own clock, not the runner's: 1 Hz each.
      expectPeriod(
        lines.filter((l) => l.id === id).map((l) => l.adapterTs),
        1000,
        `0x${id.toString(16)}`,
      );
    }
    expect(r.stderr).toMatch(/0 overrun reports, 0 bus-error reports/);

    const human = await runCli(['can', 'monitor', '--port', sim.path!, '--count', '6', '--timestamps']);
    expect(human.code, human.stderr).toBe(0);
    const rows = human.stdout.trim().split('\n');
    expect(rows).toHaveLength(6);
    for (const row of rows) expect(row).toMatch(/^\(\d\d\.\d{3}\)  35[1569CE]   \[[0-8]\]  ([0-9A-F]{2}( |$))*/);
  });

  it('the pylontech-can driver reports voltage, current, SOC, SOH, temperature and alarms matching the simulator', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ps-can-'));
    const sim = await startSim(dir);
    const factory = await driverFactory('pylontech-can');
    const transport = new SerialTransport(sim.path!, factory.defaultLine);
    await transport.open();
    const driver = await factory.create(transport);
    try {
      const info = await driver.identify();
      expect(info.protocol).toBe('pylontech-can');
      expect(info.model).toMatch(/^PYLON/);
      await driver.startTelemetry(1);
      const frame = await new Promise<TelemetryFrame>((resolve) => {
        const off = driver.onTelemetry((f) => {
          off();
          resolve(f);
        });
      });
      const s = sim.board.pack.state();
      expect(frame.packVoltage).toBeCloseTo(s.packVoltage, 0);
      expect(Math.abs(frame.current - s.current)).toBeLessThan(2);
      expect(Math.abs(frame.soc - s.soc)).toBeLessThanOrEqual(1);
      expect(frame.soh).toBe(Math.round(s.soh));
      expect(frame.temperatures[0]).toBeCloseTo(meanTemperature(s.temperatures), 0);
      expect(frame.alarms).toBe(pylontechToAlarms(alarmsToPylontech(s.alarms)));
      expect(driver.stats().framesIn).toBeGreaterThan(5);
    } finally {
      await driver.dispose();
      await transport.close();
    }
  });

  it('info, monitor and can pylontech --protocol pylontech-can report values matching the simulator', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ps-can-'));
    const sim = await startSim(dir);
    const info = await runCli(['info', '--port', sim.path!, '--protocol', 'pylontech-can', '--json']);
    expect(info.code, info.stderr).toBe(0);
    const infoDoc = JSON.parse(info.stdout) as { device: unknown; telemetry: TelemetryFrame | null };
    expect(infoDoc.device).toMatchObject({ protocol: 'pylontech-can', model: 'PYLON (CAN, 1 module)' });
    // info carries one decoded broadcast round: voltage, current, SOC, SOH, temperature and alarms.
    {
      const t = infoDoc.telemetry!;
      expect(t, 'info --json has a telemetry sample').not.toBeNull();
      const s = sim.board.pack.state();
      expect(Math.abs(t.packVoltage - s.packVoltage)).toBeLessThan(0.3);
      expect(Math.abs(t.soc - s.soc)).toBeLessThanOrEqual(1);
      expect(Math.abs(t.soh! - s.soh)).toBeLessThanOrEqual(1);
      expect(Math.abs(t.temperatures[0]! - meanTemperature(s.temperatures))).toBeLessThan(1);
      expect(t.alarms).toBe(pylontechToAlarms(alarmsToPylontech(s.alarms)));
    }

    const mon = await runCli(['monitor', '--port', sim.path!, '--protocol', 'pylontech-can', '--json', '--count', '2']);
    expect(mon.code, mon.stderr).toBe(0);
    const frames = mon.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => typeof o.packVoltage === 'number') as unknown as TelemetryFrame[];
    expect(frames.length).toBeGreaterThanOrEqual(2);
    const s = sim.board.pack.state();
    const last = frames[frames.length - 1]!;
    expect(Math.abs(last.packVoltage - s.packVoltage)).toBeLessThan(0.3);
    expect(Math.abs(last.current - s.current)).toBeLessThan(2);
    expect(Math.abs(last.soc - s.soc)).toBeLessThanOrEqual(1);
    expect(last.soh).toBe(Math.round(s.soh));
    expect(Math.abs(last.temperatures[0]! - meanTemperature(s.temperatures))).toBeLessThan(0.5);
    expect(last.alarms).toBe(pylontechToAlarms(alarmsToPylontech(s.alarms)));

    const py = await runCli(['can', 'pylontech', '--port', sim.path!]);
    expect(py.code, py.stderr).toBe(0);
    expect(py.stdout).toMatch(/^Voltage\s+\d+\.\d\d V$/m);
    expect(py.stdout).toMatch(/^SOC \/ SOH\s+\d+ % \/ \d+ %$/m);
    expect(py.stdout).toMatch(/^Protection\s+/m);
  });

  it('UDS flash: refuses a bad image before erasing, survives a power cut mid-transfer, and the re-run completes', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ps-can-'));
    let sim = await startSim(dir);
    const key = parsePrivateKeyPem(readFileSync(path.join(dir, SIGNING_KEY_FILE), 'utf8'));
    const boardId = sim.board.identity.boardId;
    const payload = new Uint8Array(100_000).map((_, i) => (i * 131 + (i >> 7)) & 0xff);
    const image = signImage({ payload, version: { major: 3, minor: 0, revision: 1, build: 0 }, key, securityCounter: 3, boardId });

    channel = await openCanChannel(sim.path!, { bitrate: 500_000 });
    const before = await new UdsFirmwareTarget(new UdsClient(channel)).status();

    await closeCanChannel(channel);
    channel = null;
    const file = path.join(dir, 'app-3.0.1.bin');
    writeFileSync(file, image);

    // `packscope flash --protocol uds`; power cut (simulator stopped) once a third is across.
    let cutAt = 0;
    const watchProgress = (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        const m = /"progress":\{"done":(\d+),"total":(\d+)/.exec(line);
        if (m && !cutAt && Number(m[1]) > Number(m[2]) / 3 && Number(m[1]) < Number(m[2])) {
          cutAt = Number(m[1]);
          sims = sims.filter((x) => x !== sim);
          void sim.stop();
        }
      }
    };
    const run = await runCli(['flash', '--protocol', 'uds', '--port', sim.path!, file, '--tx', '0x7E0', '--rx', '0x7E8', '--bitrate', '500000', '--json'], {
      onSpawn: (c) => c.stderr!.on('data', watchProgress),
    });
    const code = run.code ?? -1;
    const errText = run.stderr;
    expect(cutAt, errText).toBeGreaterThan(0);
    // The adapter vanished with the board (exit 4) or the ECU fell silent first (exit 5, timeout).
    expect([4, 5], errText.split('\n').slice(-3).join('\n')).toContain(code);
    expect(errText).toMatch(/packscope: .*(N_TIMEOUT|no UDS response|closed|disconnect)/i);

    // Power back: the old image still runs; the same command completes.
    sim = await startSim(dir);
    channel = await openCanChannel(sim.path!, { bitrate: 500_000 });
    const after = await new UdsFirmwareTarget(new UdsClient(channel)).status();
    expect(after.runningVersion).toBe(before.runningVersion);
    await closeCanChannel(channel);
    channel = null;
    const r = await runCli(['flash', '--protocol', 'uds', '--port', sim.path!, file, '--confirm', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      outcome: string;
      status: { runningVersion: string; testing: boolean };
      payloadRate: number;
      lineRatio: number;
      compressed: boolean;
    };
    expect(report.outcome).toBe('installed-confirmed');
    expect(report.status.runningVersion).toBe('3.0.1+0');
    expect(report.status.testing).toBe(false);
    expect(report.compressed).toBe(false);
    expect(report.lineRatio).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/"progress":\{"done":\d+,"total":\d+,"rate":[\d.]+,"etaSeconds":[\d.]+/);

    // Now the secondary slot holds the previous image. An image signed by a key the board does not
    // trust is refused by the CLI's checks (exit 7), and by the ECU's own precheck when asked
    // directly; either way nothing is erased.
    const rogue = signImage({ payload, version: { major: 3, minor: 1, revision: 0, build: 0 }, key: generateKey('ed25519'), securityCounter: 3, boardId });
    const rogueFile = path.join(dir, 'rogue.bin');
    writeFileSync(rogueFile, rogue);
    const refused = await runCli(['flash', '--protocol', 'uds', '--port', sim.path!, rogueFile]);
    expect(refused.code, refused.stderr).toBe(7);
    expect(refused.stderr).toMatch(/unknown key/);
    channel = await openCanChannel(sim.path!, { bitrate: 500_000 });
    const target = new UdsFirmwareTarget(new UdsClient(channel));
    const held = (await target.status()).secondary;
    expect(held.present).toBe(true);
    await expect(target.begin(encodeImageMeta(parseImage(rogue)))).rejects.toThrow(/refused by the ECU: unknown key/);
    expect((await target.status()).secondary).toEqual(held);
  });

  it('packscope sim --can sets the bus: monitor at that bitrate sees the broadcasts at the set period, at another sees none', async () => {
    const sim = await spawnSim(['--personality', 'slcan', '--seed', '3', '--can', 'bitrate=250000,period=250,uds=0']);
    try {
      const r = await runCli(['can', 'monitor', '--port', sim.path, '--bitrate', '250000', '--json', '--timestamps', '--duration', '2']);
      expect(r.code, r.stderr).toBe(0);
      expect(sim.stderr()).toContain('CAN 250000 bit/s with Pylontech broadcasts');
      expect(sim.stderr()).not.toContain('UDS');
      const frames = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: number; adapterTs: number });
      // Every 250 ms instead of every second, on the adapter's clock.
      expectPeriod(
        frames.filter((f) => f.id === 0x356).map((f) => f.adapterTs),
        250,
        '0x356',
      );
      const wrong = await runCli(['can', 'monitor', '--port', sim.path, '--bitrate', '500000', '--json', '--duration', '1']);
      expect(wrong.stdout.trim()).toBe('');
      expect(wrong.stderr).toContain('0 frames shown (0 received)');
      expect(wrong.stderr).toContain('no frames received: check the bitrate (500000 bit/s now');
    } finally {
      await stopChild(sim.child);
    }
  });
});

/**
 * Broadcasts of one id come every periodMs by their adapter timestamps (ms, modulo 60 s): at least
 * two of them, none early by more than the bus's arbitration jitter, and the shortest gap under
 * two periods. A loaded machine only ever delays a broadcast (and the one after a late broadcast
 * comes a period later again), so neither bound depends on the load.
 */
function expectPeriod(stamps: number[], periodMs: number, what: string): void {
  expect(stamps.length, what).toBeGreaterThanOrEqual(2);
  const gaps = stamps.slice(1).map((t, i) => (t - stamps[i]! + 60_000) % 60_000);
  expect(Math.min(...gaps), what).toBeGreaterThanOrEqual(periodMs - 20);
  expect(Math.min(...gaps), what).toBeLessThan(2 * periodMs);
}
