import { afterEach, describe, expect, it } from 'vitest';
import { SerialTransport } from '../../../electron/host/transport/serial.js';
import { driverFactory } from '../../../electron/host/drivers/registry.js';
import type { TelemetryFrame } from '../../../shared/types/domain.js';
import { expectMatchesBoard, startRig, until, type BmsRig } from './harness.js';

/**
 * Host drivers against the simulated JBD, Daly and JK boards over a real pseudo-terminal:
 * identity, telemetry equal to the simulator's within each protocol's resolution, probes, and
 * what happens when the board goes silent. Real time on a real pty: the tests wait for
 * conditions (generous limits), never for a fixed time.
 */
let rig: BmsRig | null = null;
let transport: SerialTransport | null = null;

afterEach(async () => {
  await transport?.close();
  transport = null;
  await rig?.stop();
  rig = null;
});

function nextFrame(driver: { onTelemetry(l: (f: TelemetryFrame) => void): () => void }, timeoutMs: number): Promise<TelemetryFrame> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new Error(`no telemetry within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = driver.onTelemetry((f) => {
      clearTimeout(t);
      off();
      resolve(f);
    });
  });
}

for (const protocol of ['jbd', 'daly', 'jk'] as const) {
  describe(`${protocol} driver over a pty`, () => {
    it('identifies the board and reads telemetry equal to the simulator within the protocol resolution', async () => {
      rig = await startRig(protocol);
      const factory = await driverFactory(protocol);
      transport = new SerialTransport(rig.pty.path, factory.defaultLine);
      await transport.open();
      expect(await factory.probe(transport, 500)).toBe(true);
      const driver = await factory.create(transport, {});
      const info = await driver.identify();
      expect(info).toMatchObject({ protocol, cellCount: 16, signsEvidence: false, publicKeyFingerprint: null });
      if (protocol === 'jbd') expect(info.model).toBe('JBD-SP16S-SIM-B2');
      if (protocol === 'jk') {
        expect(info.model).toBe('JK-SIM16S');
        expect(info.chemistry).toBe('lfp');
        expect(info.firmwareVersion).toBe(rig.board.firmwareVersion);
        expect(info.nominalCapacityAh).toBe(rig.board.pack.config.capacityAh);
      }
      const before = Date.now();
      await driver.startTelemetry(2);
      const frame = await nextFrame(driver, 10_000);
      expectMatchesBoard(protocol, frame, rig.board);
      // Stamped by the host when the poll round completed: between asking and receiving.
      expect(frame.t).toBeGreaterThanOrEqual(before);
      expect(frame.t).toBeLessThanOrEqual(Date.now());
      const stats = driver.stats();
      expect(stats.framesIn).toBeGreaterThan(0);
      expect(stats.crcErrors).toBe(0);
      await driver.dispose();
    });

    it('emits nothing while the board is silent, counts the timeouts, and reports the unplug', async () => {
      rig = await startRig(protocol);
      const factory = await driverFactory(protocol);
      transport = new SerialTransport(rig.pty.path, factory.defaultLine);
      await transport.open();
      const driver = await factory.create(transport, { timeoutMs: 100 });
      await driver.identify();
      rig.personality.detach(); // the board stops answering (power cut to its MCU)
      // An answer the board sent before it went silent is still real data: on a loaded machine a
      // retried identification request leaves one in flight. Let every byte already sent arrive
      // before polling, so any frame after this point would be made up.
      await rig.link.drained();
      await until(() => driver.stats().bytesIn >= rig!.link.stats.bytesToHost, 10_000, 'the bytes already sent to arrive');
      const frames: TelemetryFrame[] = [];
      driver.onTelemetry((f) => frames.push(f));
      await driver.startTelemetry(5);
      // Several poll rounds time out against the silent board, and none makes up a frame.
      await until(() => driver.stats().timeouts >= 4, 10_000, 'four timed-out polls');
      expect(frames).toHaveLength(0);
      const lost = new Promise<string>((r) => driver.onDisconnect(r));
      rig.pty.close(); // cable pulled
      expect(await lost).toBeTruthy();
      await driver.dispose();
    });
  });
}

describe('probes tell the protocols apart', () => {
  it('each simulated board answers its own probe only', async () => {
    for (const board of ['jbd', 'daly', 'jk'] as const) {
      rig = await startRig(board);
      transport = new SerialTransport(rig.pty.path, { baudRate: 9600 });
      await transport.open();
      for (const protocol of ['jbd', 'daly', 'jk'] as const) {
        const f = await driverFactory(protocol);
        expect(await f.probe(transport, 300), `${protocol} probe on a ${board} board`).toBe(protocol === board);
      }
      await transport.close();
      transport = null;
      await rig.stop();
      rig = null;
    }
  });
});

describe('line noise', () => {
  for (const protocol of ['jbd', 'daly', 'jk'] as const) {
    it(`the ${protocol} driver keeps reading through corrupted and dropped bytes, counts them, and emits only correct frames`, async () => {
      rig = await startRig(protocol, { faults: protocol === 'jk' ? 'corrupt=0.0005,drop=0.0003' : 'corrupt=0.003,drop=0.002' });
      const factory = await driverFactory(protocol);
      transport = new SerialTransport(rig.pty.path, factory.defaultLine);
      await transport.open();
      const driver = await factory.create(transport, { timeoutMs: 120 });
      const frames: TelemetryFrame[] = [];
      driver.onTelemetry((f) => frames.push(f));
      await driver.startTelemetry(10);
      // Frames keep coming through the noise, and the damage is counted.
      const damage = () => {
        const s = driver.stats();
        return s.crcErrors + s.decodeErrors + s.timeouts;
      };
      await until(() => frames.length > 3 && damage() > 0, 30_000, `frames through the noise (${JSON.stringify(driver.stats())})`);
      await driver.stopTelemetry();
      for (const f of frames) expectMatchesBoard(protocol, f, rig.board);
      await driver.dispose();
    });
  }
});
