import { describe, expect, it } from 'vitest';
import { PylonLineExtractor } from '../../../electron/host/drivers/pylontech-rs485-lines.js';
import { Session } from '../../../electron/host/session.js';
import type { SimTransport } from '../../../electron/host/transport/sim.js';
import { createPylonRs485Extractor, encodePylonFrame } from '../../../shared/bms/pylontech-rs485.js';
import type { TelemetryFrame } from '../../../shared/types/domain.js';
import { VirtualClock } from '../../../shared/util/clock.js';
import fc from 'fast-check';
// Loaded here, not inside the virtual clock's run (a first import can take longer than its grace).
import '../../../electron/host/drivers/pylontech-rs485.js';
import '../../../firmware/sim/bms/pylontech-rs485.js';

/**
 * The Pylontech RS485 driver against the simulated module stack in-process on virtual time, and
 * the host's line framer (@serialport/parser-readline) against the pure one of the simulator.
 */
describe('Pylontech RS485 line framing', () => {
  it('the readline framer and the pure framer find the same frames in any chunking, and count the same damage', () => {
    const arbFrame = fc.record({ adr: fc.integer({ min: 0, max: 255 }), info: fc.uint8Array({ maxLength: 60 }) });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arbFrame, fc.boolean(), fc.uint8Array({ maxLength: 6 })), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 40 })),
        (items, cuts) => {
          const parts: number[] = [];
          for (const [f, damage, noise] of items) {
            parts.push(...noise.filter((b) => b !== 0x7e && b !== 0x0d && b !== 0x7e));
            const w = encodePylonFrame({ ver: 0x20, adr: f.adr, cid1: 0x46, cid2: 0, info: f.info });
            if (damage) w[w.length - 2] = w[w.length - 2] === 0x41 ? 0x42 : 0x41;
            parts.push(...w);
          }
          const bytes = Uint8Array.from(parts);
          const a = new PylonLineExtractor();
          const b = createPylonRs485Extractor();
          const fa = [];
          const fb = [];
          let at = 0;
          for (const c of [...cuts, bytes.length]) {
            const chunk = bytes.subarray(at, Math.min(bytes.length, at + c));
            at += chunk.length;
            fa.push(...a.push(chunk)); // returned by the same call: the parser emits synchronously
            fb.push(...b.push(chunk));
            if (at >= bytes.length) break;
          }
          expect(fa).toEqual(fb);
          expect(fa).toHaveLength(items.filter(([, d]) => !d).length);
          expect(a.stats.crcErrors).toBe(b.stats.crcErrors);
        },
      ),
    );
  });
});

describe('Pylontech RS485 driver against the simulated stack', () => {
  it('identifies a module by address and streams its telemetry; auto-detection finds the stack', async () => {
    const clock = new VirtualClock();
    const s = await clock.run(Session.open('sim:?personality=pylontech-rs485&cells=15&capacity=50', { protocol: 'pylontech-rs485', address: 3, clock }));
    try {
      expect(s.info).toMatchObject({ protocol: 'pylontech-rs485', model: 'US2000C', cellCount: 15, nominalCapacityAh: 50 });
      expect(s.info!.serial).toMatch(/02$/);
      const sim = (s.transport as SimTransport).running!;
      const frame = new Promise<TelemetryFrame>((r) => s.on('telemetry', r));
      await clock.run(s.startTelemetry(1));
      const f = await clock.run(frame);
      expect(f.cellVoltages).toHaveLength(15);
      expect(f.temperatures.length).toBeGreaterThan(1);
      expect(f.soc).toBeGreaterThan(0);
      expect(sim.personality.name).toBe('pylontech-rs485');
    } finally {
      await clock.run(s.close());
    }
    const auto = await clock.run(Session.open('sim:?personality=pylontech-rs485', { clock, probeTimeoutMs: 150 }));
    try {
      expect(auto.protocol).toBe('pylontech-rs485');
      expect(auto.info?.model).toBe('US3000C');
    } finally {
      await clock.run(auto.close());
    }
  });
});
