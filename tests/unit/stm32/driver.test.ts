import { describe, expect, it } from 'vitest';
import stm32RomDriverFactory from '../../../electron/host/stm32/driver.js';
import { VirtualClock } from '../../../shared/util/clock.js';
import { inProcessRom, silentTransport } from './harness.js';

describe('stm32-rom driver', () => {
  it('identifies the chip, its ROM version and its unique ID, and has no telemetry', async () => {
    const sim = inProcessRom();
    try {
      const { clock } = sim;
      expect(await clock.run(stm32RomDriverFactory.probe(sim.transport, 500, clock))).toBe(true);
      const d = await stm32RomDriverFactory.create(sim.transport, { clock });
      const info = await clock.run(d.identify());
      expect(info.model).toBe('STM32F40xxx/41xxx');
      expect(info.bootloaderVersion).toBe('ROM v3.1');
      expect(info.serial).toBe(Buffer.from(sim.rom.memory.signature.subarray(0, 12)).toString('hex'));
      await expect(d.startTelemetry(1)).rejects.toMatchObject({ code: 'DEVICE' });
      await d.dispose();
    } finally {
      sim.stop();
    }
  });

  it('probe says no when nothing answers', async () => {
    const clock = new VirtualClock();
    expect(await clock.run(stm32RomDriverFactory.probe(silentTransport(), 100, clock))).toBe(false);
    expect(clock.now()).toBeGreaterThanOrEqual(100);
  });
});
