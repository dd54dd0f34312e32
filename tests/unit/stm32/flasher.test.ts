import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Stm32RomClient } from '../../../electron/host/stm32/client.js';
import { flashStm32, type Stm32FlashOptions } from '../../../electron/host/stm32/rom-flasher.js';
import { PackscopeError } from '../../../shared/errors.js';
import { VirtualClock } from '../../../shared/util/clock.js';
import { MockTransport, pipeTransport } from '../../support/mock-transport.js';
import { inProcessRom, silentTransport } from './harness.js';

const BASE = 0x0800_0000;

/** Flashes through the simulated ROM, host and ROM on the simulator's virtual clock. */
function flashOnSim(sim: ReturnType<typeof inProcessRom>, options: Omit<Stm32FlashOptions, 'clock'>) {
  return sim.clock.run(flashStm32(sim.transport, { ...options, clock: sim.clock }));
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function rejection(p: Promise<unknown>): Promise<PackscopeError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PackscopeError);
    return e as PackscopeError;
  }
  throw new Error('expected a rejection');
}

describe('STM32 ROM flasher against the simulated bootloader', () => {
  it('erases only the sectors the image touches, skips 0xFF blocks, verifies every byte', async () => {
    const sim = inProcessRom({ seedFlash: (f) => f.fill(0x00) });
    try {
      const code = pattern(3000, 1);
      const gap = new Uint8Array(1024).fill(0xff);
      const seg1 = new Uint8Array([...code, ...gap, ...pattern(100, 2)]);
      const seg2 = pattern(10, 3); // lands in sector 4 (64 KiB at 0x08010000)
      const progress: string[] = [];
      const r = await flashOnSim(sim, {
        baudRate: 115200,
        segments: [
          { address: BASE, data: seg1 },
          { address: 0x0801_0000 + 6, data: seg2 },
        ],
        onProgress: (p) => progress.push(p.phase),
      });
      const erased = sim.trace.filter((e) => e.command === 0x44).map((e) => e.erased);
      expect(erased).toEqual([[0, 4]]);
      expect(r.erased.map((e) => e.index)).toEqual([0, 4]);
      const flash = sim.rom.memory.flash;
      expect(Buffer.from(flash.subarray(0, seg1.length)).equals(Buffer.from(seg1))).toBe(true);
      expect(Buffer.from(flash.subarray(0x10006, 0x10010)).equals(Buffer.from(seg2))).toBe(true);
      // Sector 1 was not touched: still the 0x00 it held.
      expect(flash[0x4000]).toBe(0x00);
      // The 1 KiB of 0xFF in the middle (blocks 12..15 of the first segment, partly) was not sent.
      const writes = sim.trace.filter((e) => e.command === 0x31);
      expect(r.blocksSkipped).toBeGreaterThanOrEqual(3);
      expect(writes.length).toBe(r.blocksWritten);
      expect(r.verified).toBe(true);
      expect(new Set(progress)).toEqual(new Set(['connect', 'erase', 'write', 'verify']));
    } finally {
      sim.stop();
    }
  });

  it('uses legacy Erase with a page list on an STM32F103 (ROM v2.2)', async () => {
    const { STM32F10X_MD } = await import('../../../firmware/sim/stm32rom/index.js');
    const sim = inProcessRom({ device: STM32F10X_MD, seedFlash: (f) => f.fill(0x00) });
    try {
      const img = pattern(2500, 6);
      const r = await flashOnSim(sim, { baudRate: 115200, segments: [{ address: 0x0800_0400, data: img }] });
      expect(r.part).toBe('STM32F10xxx medium-density');
      expect(sim.trace.filter((e) => e.command === 0x43).map((e) => e.erased)).toEqual([[1, 2, 3]]);
      expect(Buffer.from(sim.rom.memory.flash.subarray(0x400, 0x400 + img.length)).equals(Buffer.from(img))).toBe(true);
      expect(sim.rom.memory.flash[0x3ff]).toBe(0x00); // page 0 untouched
    } finally {
      sim.stop();
    }
  });

  it('works strictly stop-and-wait too (pipeline off) and starts the application with Go', async () => {
    const sim = inProcessRom();
    try {
      const image = pattern(600, 9);
      image.set([0x00, 0x00, 0x02, 0x20, 0x01, 0x01, 0x00, 0x08], 0); // SP, reset vector
      const r = await flashOnSim(sim, { baudRate: 115200, segments: [{ address: BASE, data: image }], pipeline: false, goAddress: BASE });
      expect(r.started).toBe(BASE);
      expect(sim.exits).toEqual([{ kind: 'application', address: BASE, stackPointer: 0x2002_0000, entry: 0x0800_0101 }]);
    } finally {
      sim.stop();
    }
  });

  it('refuses an image outside flash before erasing anything', async () => {
    const sim = inProcessRom();
    try {
      const e = await rejection(flashOnSim(sim, { baudRate: 115200, segments: [{ address: 0x080f_ff00, data: new Uint8Array(512) }] }));
      expect(e.code).toBe('REFUSED');
      expect(e.message).toMatch(/outside the flash/);
      expect(sim.trace.some((t) => t.command === 0x44)).toBe(false);
    } finally {
      sim.stop();
    }
  });

  it('refuses a readout-protected part before erasing, saying why', async () => {
    const sim = inProcessRom();
    try {
      const ob = new Uint8Array(sim.rom.memory.optionBytes);
      ob[1] = 0x55;
      sim.rom.memory.setOptionBytes(ob);
      const e = await rejection(flashOnSim(sim, { baudRate: 115200, segments: [{ address: BASE, data: new Uint8Array(64) }] }));
      expect(e.code).toBe('REFUSED');
      expect(e.message).toMatch(/readout protection/);
    } finally {
      sim.stop();
    }
  });

  it('reports a verify failure with the address when flash does not hold what was written', async () => {
    const sim = inProcessRom({
      onTrace: (e, rom) => {
        // A stuck bit in the third block.
        if (e.command === 0x31 && e.address === BASE + 512) rom.memory.flash[512 + 17]! &= 0xfe;
      },
    });
    try {
      const image = new Uint8Array(1024).fill(0x81);
      const e = await rejection(flashOnSim(sim, { baudRate: 115200, segments: [{ address: BASE, data: image }] }));
      expect(e.code).toBe('VERIFY_FAILED');
      expect(e.message).toContain('0x08000211');
    } finally {
      sim.stop();
    }
  });

  it('stops cleanly when cancelled', async () => {
    const sim = inProcessRom();
    try {
      const ac = new AbortController();
      const p = flashOnSim(sim, {
        baudRate: 115200,
        segments: [{ address: BASE, data: pattern(8192, 4) }],
        signal: ac.signal,
        onProgress: (pr) => pr.phase === 'write' && pr.done >= 1024 && ac.abort(),
      });
      const e = await rejection(p);
      expect(e.code).toBe('CANCELLED');
    } finally {
      sim.stop();
    }
  });

  it('says to set BOOT0 and reset when nothing answers', async () => {
    const clock = new VirtualClock();
    const e = await rejection(clock.run(flashStm32(silentTransport(), { baudRate: 115200, segments: [{ address: BASE, data: new Uint8Array(4) }], clock })));
    expect(e.code).toBe('TIMEOUT');
    expect(e.message).toMatch(/BOOT0/);
    // Three autobaud tries of 400 ms, then three rounds of resynchronisation: a few seconds, bounded.
    expect(clock.now()).toBeGreaterThan(3 * 400);
    expect(clock.now()).toBeLessThan(5000);
  });

  it('resumes a session left mid-command (cancelled write) by resynchronising', async () => {
    const sim = inProcessRom();
    try {
      await sim.transport.write(Uint8Array.of(0x7f));
      // Half a Write Memory: command, address, and 10 of 258 data bytes.
      await sim.transport.write(Uint8Array.of(0x31, 0xce, 0x08, 0, 0, 0, 0x08, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9));
      await sim.clock.advance(20);
      const r = await flashOnSim(sim, { baudRate: 115200, segments: [{ address: BASE, data: pattern(256, 5) }] });
      expect(r.verified).toBe(true);
    } finally {
      sim.stop();
    }
  });

  it('client decoders: any reply bytes give a value or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { maxLength: 6 }), fc.integer({ min: 0, max: 3 }), async (replies, op) => {
        let i = 0;
        const clock = new VirtualClock();
        const t = new MockTransport({
          path: 'sim:fuzz',
          clock,
          peer: (_, port) => {
            const reply = replies[i++];
            if (reply) port.reply(reply, 0);
          },
        });
        const c = new Stm32RomClient(t, { baudRate: 115200, pipeline: false, ackTimeoutMs: 5, clock });
        try {
          if (op === 0) await clock.run(c.get());
          else if (op === 1) await clock.run(c.getId());
          else if (op === 2) await clock.run(c.getVersion());
          else await clock.run(c.readMemory(BASE, 16));
        } catch (e) {
          expect(e).toBeInstanceOf(PackscopeError);
        } finally {
          c.dispose();
        }
      }),
      { numRuns: 120 },
    );
  });
});

describe('STM32 ROM flasher on a noisy line', () => {
  it('resynchronises, retries and still writes a verified image when bytes are corrupted or lost both ways', async () => {
    const { createDeviceLink } = await import('../../../firmware/sim/line.js');
    const { createPipePair } = await import('../../../firmware/sim/run.js');
    const { parseFaultSpec } = await import('../../../firmware/sim/faults.js');
    const { Stm32RomPersonality } = await import('../../../firmware/sim/stm32rom/index.js');
    const clock = new VirtualClock();
    const pair = createPipePair(clock);
    const link = createDeviceLink(pair.device, {
      settings: { baudRate: 115200, parity: 'even' },
      faults: parseFaultSpec('corrupt=0.0003,drop=0.0003'),
      seed: 3,
      clock,
    });
    const rom = new Stm32RomPersonality({ clock });
    rom.attach(link);
    const t = pipeTransport(pair.host, { path: 'sim:noisy' });
    try {
      const img = pattern(8192, 77);
      const r = await clock.run(flashStm32(t, { baudRate: 115200, segments: [{ address: BASE, data: img }], retries: 5, ackTimeoutMs: 150, clock }));
      expect(link.stats.corrupted + link.stats.dropped).toBeGreaterThan(0);
      expect(r.retries).toBeGreaterThan(0);
      expect(Buffer.from(rom.memory.flash.subarray(0, img.length)).equals(Buffer.from(img))).toBe(true);
      // Filler and retries never left anything outside the image changed.
      expect(rom.memory.flash.subarray(img.length).every((b) => b === 0xff)).toBe(true);
      expect(rom.memory.rdpActive).toBe(false);
    } finally {
      rom.detach();
      pair.host.close();
    }
  });
});

describe('firmware files for the ROM flasher', () => {
  it('takes Intel HEX with its own addresses and gaps, and a .bin at --address', async () => {
    const { writeIntelHex } = await import('../../../shared/image/ihex.js');
    const { loadFirmware } = await import('../../../electron/host/stm32/image.js');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'stm32-img-'));
    try {
      const a = pattern(300, 1);
      const b = pattern(40, 2);
      const hexFile = path.join(dir, 'fw.hex');
      writeFileSync(
        hexFile,
        writeIntelHex(
          [
            { address: BASE, data: a },
            { address: 0x0802_0000, data: b },
          ],
          BASE + 1,
        ),
      );
      const hex = await loadFirmware(hexFile);
      expect(hex.format).toBe('ihex');
      expect(hex.segments.map((s) => [s.address, s.data.length])).toEqual([
        [BASE, 300],
        [0x0802_0000, 40],
      ]);
      await expect(loadFirmware(hexFile, BASE)).rejects.toMatchObject({ code: 'USAGE' });

      const sim = inProcessRom();
      try {
        const r = await flashOnSim(sim, { baudRate: 115200, segments: hex.segments });
        // Sector 0 and sector 5 (0x08020000): the gap between them is neither erased nor written.
        expect(r.erased.map((e) => e.index)).toEqual([0, 5]);
        expect(Buffer.from(sim.rom.memory.flash.subarray(0x20000, 0x20028)).equals(Buffer.from(b))).toBe(true);
      } finally {
        sim.stop();
      }

      const binFile = path.join(dir, 'fw.bin');
      writeFileSync(binFile, a);
      expect((await loadFirmware(binFile, 0x0800_8000)).segments[0]!.address).toBe(0x0800_8000);
      expect((await loadFirmware(binFile)).segments[0]!.address).toBe(BASE);
      writeFileSync(path.join(dir, 'bad.hex'), ':10000000ZZ\n');
      await expect(loadFirmware(path.join(dir, 'bad.hex'))).rejects.toMatchObject({ code: 'DECODE' });
      await expect(loadFirmware(path.join(dir, 'missing.bin'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
