/**
 * Get Checksum (AN3155 0xA1): the STM32 CRC definition, its frames, the simulated ROM that offers
 * it (and the one that does not), and the flasher verifying by the chip's CRC with the full
 * read-back as the fallback. Host and ROM share one virtual clock (harness.ts): nothing waits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flashStm32, type Stm32FlashOptions } from '../../../electron/host/stm32/rom-flasher.js';
import { Stm32RomClient } from '../../../electron/host/stm32/client.js';
import { checksumSizeFrame, decodeChecksum } from '../../../electron/host/stm32/protocol.js';
import { STM32F40X, STM32F40X_CHECKSUM } from '../../../firmware/sim/stm32rom/index.js';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { CMD, stm32Crc } from '../../../shared/stm32/an3155.js';
import { inProcessRom } from './harness.js';

const BASE = 0x0800_0000;

/** The CRC unit as its reference manual describes it: each word shifted in MSB first, bit by bit. */
function crcBitByBit(data: Uint8Array): number {
  let crc = 0xffff_ffff;
  for (let i = 0; i < data.length; i += 4) {
    crc = (crc ^ ((data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0)) >>> 0;
    for (let b = 0; b < 32; b++) crc = crc & 0x8000_0000 ? ((crc << 1) ^ 0x04c1_1db7) >>> 0 : (crc << 1) >>> 0;
  }
  return crc;
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  for (let i = 0; i < n; i++) if (out[i] === 0xff) out[i] = 0xfe;
  return out;
}

function flashOnSim(sim: ReturnType<typeof inProcessRom>, options: Omit<Stm32FlashOptions, 'clock'>) {
  return sim.clock.run(flashStm32(sim.transport, { ...options, clock: sim.clock }));
}

describe('the STM32 CRC (Get Checksum)', () => {
  it('is the CRC unit in its reset configuration: 0x12345678 gives 0xDF8A8A2B', () => {
    expect(stm32Crc(Uint8Array.of(0x78, 0x56, 0x34, 0x12))).toBe(0xdf8a8a2b);
    expect(stm32Crc(new Uint8Array(0))).toBe(0xffff_ffff);
  });

  it('matches the bit-by-bit definition and continues over concatenated words', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (a0, b0) => {
        const a = a0.subarray(0, a0.length & ~3);
        const b = b0.subarray(0, b0.length & ~3);
        const ab = new Uint8Array([...a, ...b]);
        expect(stm32Crc(ab)).toBe(crcBitByBit(ab));
        expect(stm32Crc(b, stm32Crc(a))).toBe(stm32Crc(ab));
      }),
    );
  });

  it('refuses data that is not whole words', () => {
    expect(() => stm32Crc(new Uint8Array(6))).toThrow(RangeError);
  });

  it('frames the size like an address and decodes any 5 bytes into a CRC or a DecodeError', () => {
    expect(Array.from(checksumSizeFrame(0x10000))).toEqual([0x00, 0x01, 0x00, 0x00, 0x01]);
    expect(() => checksumSizeFrame(6)).toThrow(PackscopeError);
    expect(() => checksumSizeFrame(0)).toThrow(PackscopeError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), (bytes) => {
        try {
          const crc = decodeChecksum(bytes);
          expect(bytes.length).toBe(5);
          expect(crc).toBe(((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0);
          expect(bytes[4]).toBe(bytes[0]! ^ bytes[1]! ^ bytes[2]! ^ bytes[3]!);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
    );
  });
});

describe('the simulated ROM with and without Get Checksum', () => {
  it('lists 0xA1 in Get only on the ROM that has it, and answers with the CRC of the area', async () => {
    const data = pattern(1024, 4);
    const sim = inProcessRom({ device: STM32F40X_CHECKSUM, seedFlash: (f) => f.set(data, 0x100) });
    try {
      const client = new Stm32RomClient(sim.transport, { baudRate: 115200, clock: sim.clock });
      const crc = await sim.clock.run(
        (async () => {
          await client.sync();
          await client.get();
          return client.getChecksum(BASE + 0x100, data.length);
        })(),
      );
      expect(client.supports(CMD.GET_CHECKSUM)).toBe(true);
      expect(crc).toBe(stm32Crc(data));
      client.dispose();
    } finally {
      sim.stop();
    }
    const plain = inProcessRom({ device: STM32F40X });
    try {
      const client = new Stm32RomClient(plain.transport, { baudRate: 115200, clock: plain.clock });
      await plain.clock.run(
        (async () => {
          await client.sync();
          await client.get();
        })(),
      );
      expect(client.supports(CMD.GET_CHECKSUM)).toBe(false);
      await expect(plain.clock.run(client.getChecksum(BASE, 4))).rejects.toMatchObject({ code: 'DEVICE' });
      client.dispose();
    } finally {
      plain.stop();
    }
  });

  it('NACKs a size that is not whole words and stays at a command boundary', async () => {
    const sim = inProcessRom({ device: STM32F40X_CHECKSUM });
    try {
      const client = new Stm32RomClient(sim.transport, { baudRate: 115200, clock: sim.clock });
      const version = await sim.clock.run(
        (async () => {
          await client.sync();
          await client.get();
          // A size of 6 bytes framed by hand: the ROM must refuse it.
          await sim.transport.write(Uint8Array.of(0xa1, 0x5e, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x06, 0x06));
          await sim.clock.sleep(50);
          // ACK (command), ACK (address), NACK (size): the ROM waits for a command again.
          expect(await client.sync()).toBe('resumed');
          return client.getVersion();
        })(),
      );
      expect(version.bootloaderVersion).toBe(0x33);
      expect(sim.rom.bootloader!.stats.nacks).toBe(2); // the size, then sync's lone 0x7F
      client.dispose();
    } finally {
      sim.stop();
    }
  });
});

describe('the flasher verifying by Get Checksum', () => {
  it('verifies by the CRC without reading anything back, and skips erasing sectors that are blank already', async () => {
    const sim = inProcessRom({ device: STM32F40X_CHECKSUM });
    try {
      // 16 KiB of code, 16 KiB blank (sector 1, erased already), 1 KiB of code in sector 2.
      const image = new Uint8Array(33 * 1024).fill(0xff);
      image.set(pattern(16 * 1024, 1), 0);
      image.set(pattern(1024, 2), 32 * 1024);
      const r = await flashOnSim(sim, { baudRate: 115200, segments: [{ address: BASE, data: image }] });
      expect(r.verifiedBy).toBe('checksum');
      expect(r.readBackBytes).toBe(0);
      expect(r.eraseSkipped).toEqual([1]);
      expect(r.erased.map((e) => e.index)).toEqual([0, 2]);
      expect(sim.trace.filter((e) => e.command === CMD.READ_MEMORY && e.length! > 4)).toEqual([]);
      expect(Buffer.from(sim.rom.memory.flash.subarray(0, image.length)).equals(Buffer.from(image))).toBe(true);
    } finally {
      sim.stop();
    }
  });

  it('erases a sector the image leaves blank when the flash there is not blank', async () => {
    const sim = inProcessRom({ device: STM32F40X_CHECKSUM, seedFlash: (f) => f.fill(0x00, 0x4000, 0x4010) });
    try {
      const image = new Uint8Array(32 * 1024).fill(0xff);
      image.set(pattern(4096, 3), 0);
      const r = await flashOnSim(sim, { baudRate: 115200, segments: [{ address: BASE, data: image }] });
      expect(r.eraseSkipped).toEqual([]);
      expect(r.erased.map((e) => e.index)).toEqual([0, 1]);
      expect(r.verifiedBy).toBe('checksum');
      expect(sim.rom.memory.flash[0x4000]).toBe(0xff);
    } finally {
      sim.stop();
    }
  });

  it('reads back a segment whose CRC differs, finds the block that did not take and reprograms it', async () => {
    let lost = false;
    const sim = inProcessRom({
      device: STM32F40X_CHECKSUM,
      onTrace: (e, rom) => {
        // One write acknowledged but not in flash (a brown-out during programming, say).
        if (!lost && e.command === CMD.WRITE_MEMORY && e.address === BASE + 0x700) {
          lost = true;
          rom.memory.flash.fill(0xff, 0x700, 0x800);
        }
      },
    });
    try {
      const image = pattern(2048, 5);
      const logs: string[] = [];
      const r = await flashOnSim(sim, { baudRate: 115200, segments: [{ address: BASE, data: image }], log: (l) => logs.push(l) });
      expect(r.verifiedBy).toBe('checksum+read-back');
      expect(r.readBackBytes).toBe(2048);
      expect(logs.some((l) => /checksum of 0x08000000\.\.0x080007ff differs/.test(l))).toBe(true);
      expect(Buffer.from(sim.rom.memory.flash.subarray(0, 2048)).equals(Buffer.from(image))).toBe(true);
    } finally {
      sim.stop();
    }
  });

  it('fails with the address when the read-back after a CRC mismatch finds a bit that will not program', async () => {
    const sim = inProcessRom({
      device: STM32F40X_CHECKSUM,
      onTrace: (e, rom) => {
        if (e.command === CMD.WRITE_MEMORY && e.address === BASE + 0x700) rom.memory.flash[0x703] = 0x00;
      },
    });
    try {
      const image = pattern(2048, 5);
      const e = await sim.clock.run(flashStm32(sim.transport, { baudRate: 115200, segments: [{ address: BASE, data: image }], clock: sim.clock })).then(
        () => null,
        (x: unknown) => x as PackscopeError,
      );
      expect(e?.code).toBe('VERIFY_FAILED');
      expect(e?.message).toContain('0x08000703');
    } finally {
      sim.stop();
    }
  });

  it('reads everything back on the ROM without Get Checksum', async () => {
    const sim = inProcessRom({ device: STM32F40X });
    try {
      const image = pattern(3000, 7);
      const r = await flashOnSim(sim, { baudRate: 115200, segments: [{ address: BASE, data: image }] });
      expect(r.verifiedBy).toBe('read-back');
      expect(r.readBackBytes).toBe(3000);
      expect(sim.trace.some((e) => e.command === CMD.GET_CHECKSUM)).toBe(false);
    } finally {
      sim.stop();
    }
  });
});
