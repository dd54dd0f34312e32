import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPylontech, decodePylontech, meanTemperature, alarmsToPylontech, type PylontechState } from '../../../shared/can/pylontech.js';
import { encodeImageMeta, parseImage, parsePrivateKeyPem, signImage } from '../../../shared/image/index.js';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import { SlcanPersonality } from '../../../firmware/sim/can/index.js';
import { SIGNING_KEY_FILE } from '../../../firmware/sim/boot/firmware-store.js';
import type { BootMode } from '../../../firmware/sim/boot/bootloader.js';
import { openCanChannel, closeCanChannel } from '../../../electron/host/can/open.js';
import type { ReceivedFrame, SlcanChannel } from '../../../electron/host/can/slcan-channel.js';
import { UdsClient } from '../../../electron/host/can/uds-client.js';
import { UdsFirmwareTarget } from '../../../electron/host/can/uds-target.js';
import { flashImage } from '../../../electron/host/flasher/flasher.js';
import { packscopeHmacSeedKey } from '../../../shared/can/seedkey.js';
import { pipeTransport } from '../../support/mock-transport.js';

/**
 * The whole CAN stack in one process: host SLCAN channel ↔ simulated adapter ↔ simulated bus with
 * real timing ↔ Pylontech and UDS nodes. The pty integration tests repeat the key paths through a
 * real tty and the CLI. Real time: the tests wait for conditions, and judge rates by the
 * adapter's own timestamps, never by the runner's clock.
 */
let sim: RunningSim | null = null;
let dir: string | null = null;
let channel: SlcanChannel | null = null;

afterEach(async () => {
  if (channel) await closeCanChannel(channel).catch(() => undefined);
  channel = null;
  await sim?.stop();
  sim = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

async function start(bitrate = 500_000, bootMode?: BootMode) {
  dir = mkdtempSync(path.join(tmpdir(), 'ps-can-'));
  // The adapter's serial side at 1 Mbaud, as a USB adapter's virtual serial port is: the CAN bus
  // (simulated bit-exactly) limits the transfers, not the line to the host.
  sim = await runSim({ personality: 'slcan', baud: 1_000_000, seed: 7, stateDir: dir, ...(bootMode ? { bootMode } : {}) });
  channel = await openCanChannel('sim:slcan', { bitrate, timestamps: true }, pipeTransport(sim.host!, { path: 'sim:slcan', open: false }));
  return { sim, channel };
}

describe('simulated SLCAN adapter and bus', () => {
  it("carries the pack broadcasts at 1 Hz with the pack model's values", async () => {
    const { sim, channel } = await start();
    expect(channel.info.softwareVersion).toBe('13');
    const frames: ReceivedFrame[] = [];
    channel.onFrame((f) => frames.push(f));
    const broadcasts = [0x351, 0x355, 0x356, 0x359, 0x35c, 0x35e];
    const stamps = (id: number) => frames.filter((f) => f.frame.id === id).map((f) => f.adapterTimestamp!);
    await waitFor(() => broadcasts.every((id) => stamps(id).length >= 3), 'three rounds of broadcasts');
    for (const id of broadcasts) {
      // 1 Hz on the adapter's clock (ms, modulo 60 s): never early by more than the bus's
      // arbitration jitter, and a period apart when nothing delayed them (a loaded machine only
      // delays a broadcast; the one after it comes a period later again).
      const t = stamps(id);
      const gaps = t.slice(1).map((x, i) => (x - t[i]! + 60_000) % 60_000);
      expect(Math.min(...gaps), `0x${id.toString(16)}`).toBeGreaterThanOrEqual(1000 - 20);
      expect(Math.min(...gaps), `0x${id.toString(16)}`).toBeLessThan(2000);
    }
    const state: PylontechState = {};
    for (const f of frames) {
      const m = decodePylontech(f.frame.id, f.frame.data);
      if (m) applyPylontech(state, m);
      expect(f.adapterTimestamp).toBeGreaterThanOrEqual(0);
    }
    const s = sim.board.pack.state();
    expect(state.measurements!.voltage).toBeCloseTo(s.packVoltage, 0);
    expect(state.soc!.soc).toBeCloseTo(s.soc, -1);
    expect(state.measurements!.temperature).toBeCloseTo(meanTemperature(s.temperatures), 0);
    expect(state.alarms!.protection).toEqual(alarmsToPylontech(s.alarms));
    expect(state.manufacturer).toBe('PYLON');
    const personality = sim.personality as SlcanPersonality;
    expect(personality.bus.stats.errors).toBe(0);
  });

  it('at the wrong bitrate nothing arrives and the adapter reports bus errors', async () => {
    const { sim, channel } = await start(250_000);
    const frames: ReceivedFrame[] = [];
    channel.onFrame((f) => frames.push(f));
    await channel.send({ id: 0x7e0, extended: false, remote: false, data: Uint8Array.of(2, 0x10, 2), dlc: 3 });
    // Two broadcast rounds (six frames each) cross the 500 kbit/s bus meanwhile; none reaches the
    // 250 kbit/s adapter.
    const bus = (sim.personality as SlcanPersonality).bus;
    const onBus = bus.stats.frames;
    await waitFor(() => bus.stats.frames >= onBus + 2 * 6, 'two broadcast rounds on the bus');
    expect(frames).toEqual([]);
    expect(await channel.status()).toEqual(expect.arrayContaining(['bus_error', 'error_passive']));
    expect(channel.stats.busErrors).toBe(1);
  });

  it('UDS onto a swap bootloader: a signed image flashes, is refused before erasing when bad, and a wrong key is named', async () => {
    const { sim, channel } = await start(500_000, 'swap');
    const key = parsePrivateKeyPem(readFileSync(path.join(dir!, SIGNING_KEY_FILE), 'utf8'));
    const boardId = sim.board.identity.boardId;
    const payload = new Uint8Array(12_000).map((_, i) => (i * 31) & 0xff);
    const good = signImage({ payload, version: { major: 2, minor: 1, revision: 0, build: 0 }, key, securityCounter: 2, boardId });

    // Wrong seed-to-key: the ECU answers invalidKey, by name.
    const badKey = new UdsFirmwareTarget(new UdsClient(channel), { seedKey: () => Uint8Array.of(1, 2, 3, 4) });
    await expect(badKey.begin(new Uint8Array(40))).rejects.toThrow(/SecurityAccess refused by the ECU: invalidKey \(0x35\)/);
    badKey.uds.dispose();

    const client = new UdsClient(channel);
    const target = new UdsFirmwareTarget(client, { seedKey: packscopeHmacSeedKey() });
    // An image for another board: refused by the host's checks before anything is erased.
    const other = signImage({ payload, version: { major: 2, minor: 1, revision: 0, build: 0 }, key, securityCounter: 2, boardId: 'OTHER-BOARD' });
    const before = await target.status();
    await expect(flashImage(target, other)).rejects.toMatchObject({ code: 'REFUSED' });
    expect((await target.status()).secondary).toEqual(before.secondary);

    const progress: number[] = [];
    const report = await flashImage(target, good, { confirm: true, onProgress: (p) => progress.push(p.done) });
    expect(report.outcome).toBe('installed-confirmed');
    expect(report.status.runningVersion).toBe('2.1.0+0');
    expect(report.status.testing).toBe(false);
    expect(report.status).toMatchObject({ mode: 'swap', activeBank: 'a' }); // copied into the first bank
    expect(progress[progress.length - 1]).toBe(good.length);
    expect(sim.board.firmwareVersion).toBe('2.1.0+0');

    // The secondary slot now holds the previous image, so the next erase takes block erases:
    // the ECU answers 0x78 (response pending) first and the client keeps waiting.
    const pendingBefore = client.pendingSeen;
    const next = signImage({ payload, version: { major: 2, minor: 2, revision: 0, build: 0 }, key, securityCounter: 2, boardId });
    await target.begin(encodeImageMeta(parseImage(next)));
    expect(client.pendingSeen).toBeGreaterThan(pendingBefore);
    // Transfer data out of sequence: a clear, named negative response.
    await client.request({ service: 'RequestDownload', dataFormat: 0, address: 0, size: 100 });
    await expect(client.request({ service: 'TransferData', sequence: 2, data: new Uint8Array(10) })).rejects.toThrow(
      'TransferData refused by the ECU: wrongBlockSequenceCounter (0x73)',
    );
    client.dispose();
  });

  it('UDS with small blocks: the client honours maxNumberOfBlockLength and the block counter wraps FF → 00', async () => {
    process.env.PACKSCOPE_SIM_CAN = 'block=130'; // 128 data bytes per TransferData
    try {
      const { sim, channel } = await start();
      const key = parsePrivateKeyPem(readFileSync(path.join(dir!, SIGNING_KEY_FILE), 'utf8'));
      const payload = Uint8Array.from({ length: 34_000 }, (_, i) => (i * 13) & 0xff);
      const image = signImage({
        payload,
        version: { major: 1, minor: 9, revision: 0, build: 0 },
        key,
        securityCounter: 1,
        boardId: sim.board.identity.boardId,
      });
      const counters: number[] = [];
      (sim.personality as SlcanPersonality).bus.onFrame((f) => {
        // First frames of TransferData requests: 1L LL 36 SEQ …
        if (f.id === 0x7e0 && f.data[0]! >> 4 === 1 && f.data[2] === 0x36) counters.push(f.data[3]!);
      });
      const target = new UdsFirmwareTarget(new UdsClient(channel));
      const report = await flashImage(target, image);
      expect(report.outcome).toBe('installed-test');
      expect(report.status.runningVersion).toBe('1.9.0+0');
      // The CAN ECU is dual bank by default: the test boot switched to the other bank, nothing was copied.
      expect(report.status).toMatchObject({ mode: 'dual-bank', activeBank: 'b', testing: true });
      expect(target.blockPayload).toBe(128);
      expect(counters.length).toBe(Math.ceil(image.length / 128));
      const wrap = counters.indexOf(0xff);
      expect(wrap).toBe(254);
      expect(counters.slice(wrap, wrap + 3)).toEqual([0xff, 0x00, 0x01]);
    } finally {
      delete process.env.PACKSCOPE_SIM_CAN;
    }
  });
});

/** Waits (polling every 20 ms of real time, 30 s at most) until cond holds. */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + 30_000;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
