import { afterEach, describe, expect, it } from 'vitest';
import { SerialTransport } from '../../../electron/host/transport/serial.js';
import { driverFactory } from '../../../electron/host/drivers/registry.js';
import type { TelemetryFrame } from '../../../shared/types/domain.js';
import { expectMatchesBoard, startRig, type BmsRig } from './harness.js';

/**
 * Host drivers against the simulated JBD, Daly and JK boards over a real pseudo-terminal:
 * identity, telemetry equal to the simulator's within each protocol's resolution, probes, and
 * what happens when the board goes silent.
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
      await driver.startTelemetry(2);
      const frame = await nextFrame(driver, 3000);
      expectMatchesBoard(protocol, frame, rig.board);
      expect(Math.abs(frame.t - Date.now())).toBeLessThan(5000);
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
      const frames: TelemetryFrame[] = [];
      driver.onTelemetry((f) => frames.push(f));
      await driver.startTelemetry(5);
      await new Promise((r) => setTimeout(r, 800));
      expect(frames).toHaveLength(0);
      expect(driver.stats().timeouts).toBeGreaterThan(0);
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
      await new Promise((r) => setTimeout(r, 3000));
      await driver.stopTelemetry();
      const s = driver.stats();
      expect(frames.length, JSON.stringify(s)).toBeGreaterThan(3);
      for (const f of frames) expectMatchesBoard(protocol, f, rig.board);
      expect(s.crcErrors + s.decodeErrors + s.timeouts, JSON.stringify(s)).toBeGreaterThan(0);
      await driver.dispose();
    });
  }
});
