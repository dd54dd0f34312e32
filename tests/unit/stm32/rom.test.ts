import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STM32F10X_MD, STM32F40X, Stm32Memory, Stm32Rom, type RomExit, type Stm32DeviceModel } from '../../../firmware/sim/stm32rom/index.js';
import { VirtualClock } from '../../../shared/util/clock.js';

/**
 * The ROM on a capture port and a virtual clock: every answer is recorded; a flash operation takes
 * `busyMs` of virtual time (default 0), the transmitter drains at once. `settle` runs the ROM
 * until it waits for its next byte.
 */
function bench(opts: { busyMs?: number; device?: Stm32DeviceModel } = {}) {
  const clock = new VirtualClock();
  const out: number[] = [];
  const exits: RomExit[] = [];
  const dev = opts.device ?? STM32F40X;
  const memory = new Stm32Memory(dev, null);
  const rom = new Stm32Rom(
    dev,
    memory,
    { send: (d) => out.push(...d), drained: () => clock.sleep(0) },
    { delay: () => clock.sleep(opts.busyMs ?? 0), onExit: (e) => exits.push(e) },
  );
  rom.start();
  const settle = () => clock.runUntilIdle();
  const exchange = async (bytes: number[]) => {
    out.length = 0;
    rom.feed(Uint8Array.from(bytes));
    await settle();
    return [...out];
  };
  return { clock, rom, memory, out, exits, exchange, settle };
}

const addr = (a: number) => {
  const b = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255];
  return [...b, b[0]! ^ b[1]! ^ b[2]! ^ b[3]!];
};
const dataFrame = (d: number[]) => [d.length - 1, ...d, d.reduce((x, b) => x ^ b, d.length - 1)];
const ACK = 0x79;
const NACK = 0x1f;

describe('simulated STM32 ROM bootloader (AN3155)', () => {
  it('ignores noise until 0x7F, then ACKs; a second 0x7F is an invalid command', async () => {
    const t = bench();
    expect(await t.exchange([0x00, 0x55])).toEqual([]);
    expect(await t.exchange([0x7f])).toEqual([ACK]);
    expect(await t.exchange([0x7f])).toEqual([]);
    expect(await t.exchange([0x7f])).toEqual([NACK]);
  });

  it('answers Get, Get Version and Get ID as an STM32F40x with bootloader 3.1', async () => {
    const t = bench();
    await t.exchange([0x7f]);
    expect(await t.exchange([0x00, 0xff])).toEqual([ACK, 11, 0x31, 0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92, ACK]);
    expect(await t.exchange([0x01, 0xfe])).toEqual([ACK, 0x31, 0, 0, ACK]);
    expect(await t.exchange([0x02, 0xfd])).toEqual([ACK, 1, 0x04, 0x13, ACK]);
    // The legacy Erase (0x43) is not offered by this ROM.
    expect(await t.exchange([0x43, 0xbc])).toEqual([NACK]);
  });

  it('writes and reads back flash; NOR semantics: programming only clears bits', async () => {
    const t = bench();
    await t.exchange([0x7f]);
    const data = [0x12, 0x34, 0x56, 0x78, 0x0f, 0xf0, 0xaa, 0x55];
    expect(await t.exchange([0x31, 0xce, ...addr(0x0800_0100), ...dataFrame(data)])).toEqual([ACK, ACK, ACK]);
    expect(await t.exchange([0x11, 0xee, ...addr(0x0800_0100), 7, 0xf8])).toEqual([ACK, ACK, ACK, ...data]);
    // Programming over non-erased words yields old AND new, as on the real flash.
    await t.exchange([0x31, 0xce, ...addr(0x0800_0100), ...dataFrame([0xff, 0xff, 0xff, 0xff])]);
    await t.exchange([0x31, 0xce, ...addr(0x0800_0104), ...dataFrame([0xf0, 0x0f, 0xff, 0xff])]);
    expect(Array.from(t.memory.flash.subarray(0x100, 0x108))).toEqual([0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0xaa, 0x55]);
  });

  it('refuses what the ROM refuses', async () => {
    const t = bench();
    await t.exchange([0x7f]);
    // Bad address checksum.
    expect(await t.exchange([0x11, 0xee, 0x08, 0, 0, 0, 0x09])).toEqual([ACK, NACK]);
    // Unmapped address.
    expect(await t.exchange([0x11, 0xee, ...addr(0x0900_0000)])).toEqual([ACK, NACK]);
    // Misaligned write address.
    expect(await t.exchange([0x31, 0xce, ...addr(0x0800_0002)])).toEqual([ACK, NACK]);
    // Length not a multiple of 4.
    expect(await t.exchange([0x31, 0xce, ...addr(0x0800_0000), ...dataFrame([1, 2, 3])])).toEqual([ACK, ACK, NACK]);
    // Bad data checksum.
    expect(await t.exchange([0x31, 0xce, ...addr(0x0800_0000), 3, 1, 2, 3, 4, 0])).toEqual([ACK, ACK, NACK]);
    // RAM the bootloader uses.
    expect(await t.exchange([0x31, 0xce, ...addr(0x2000_0000), ...dataFrame([1, 2, 3, 4])])).toEqual([ACK, ACK, NACK]);
    // System memory is read-only.
    expect(await t.exchange([0x31, 0xce, ...addr(0x1fff_0000)])).toEqual([ACK, NACK]);
    // Erase of a sector that does not exist.
    expect(await t.exchange([0x44, 0xbb, 0, 0, 0, 12, 12])).toEqual([ACK, NACK]);
    expect(t.memory.flash.every((b) => b === 0xff)).toBe(true);
  });

  it('erases exactly the listed sectors, or everything on 0xFFFF', async () => {
    const t = bench();
    t.memory.flash.fill(0x00);
    await t.exchange([0x7f]);
    // Sectors 1 and 4: N-1 = 1, 0x0001, 0x0004, checksum.
    expect(await t.exchange([0x44, 0xbb, 0, 1, 0, 1, 0, 4, 1 ^ 1 ^ 4])).toEqual([ACK, ACK]);
    const f = t.memory.flash;
    expect(f[0x3fff]).toBe(0x00);
    expect(f.subarray(0x4000, 0x8000).every((b) => b === 0xff)).toBe(true);
    expect(f[0x8000]).toBe(0x00);
    expect(f.subarray(0x10000, 0x20000).every((b) => b === 0xff)).toBe(true);
    expect(f[0x20000]).toBe(0x00);
    expect(await t.exchange([0x44, 0xbb, 0xff, 0xff, 0x00])).toEqual([ACK, ACK]);
    expect(f.every((b) => b === 0xff)).toBe(true);
    // Bank erase does not exist on this single-bank part.
    expect(await t.exchange([0x44, 0xbb, 0xff, 0xfe, 0x01])).toEqual([ACK, NACK]);
  });

  it('loses bytes that arrive while it programs flash (USART overrun), keeping one', async () => {
    const t = bench({ busyMs: 20 });
    await t.exchange([0x7f]);
    // A write followed at once by a Get: the Get arrives while the ROM programs.
    t.out.length = 0;
    t.rom.feed(Uint8Array.from([0x31, 0xce, ...addr(0x0800_0000), ...dataFrame([1, 2, 3, 4]), 0x00, 0xff]));
    await t.clock.advance(60);
    expect(t.out).toEqual([ACK, ACK, ACK]);
    expect(t.rom.stats.overruns).toBe(1);
    // The Get's first byte waited in the data register; a new 0xFF completes it.
    expect(await t.exchange([0xff])).toEqual([ACK, 11, 0x31, 0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92, ACK]);
  });

  it('readout protection: reads refused until unprotect, which mass-erases', async () => {
    const t = bench();
    t.memory.flash.fill(0x42, 0, 16);
    await t.exchange([0x7f]);
    expect(await t.exchange([0x82, 0x7d])).toEqual([ACK, ACK]);
    // The part reset: autobaud again.
    expect(await t.exchange([0x7f])).toEqual([ACK]);
    expect(await t.exchange([0x11, 0xee])).toEqual([NACK]);
    expect(await t.exchange([0x31, 0xce])).toEqual([NACK]);
    expect(await t.exchange([0x02, 0xfd])).toEqual([ACK, 1, 0x04, 0x13, ACK]);
    expect(await t.exchange([0x92, 0x6d])).toEqual([ACK, ACK]);
    expect(await t.exchange([0x7f])).toEqual([ACK]);
    expect(t.memory.flash[0]).toBe(0xff);
    expect(await t.exchange([0x11, 0xee, ...addr(0x0800_0000), 3, 0xfc])).toEqual([ACK, ACK, ACK, 0xff, 0xff, 0xff, 0xff]);
  });

  it('write protection blocks erase and write of that sector until unprotected', async () => {
    const t = bench();
    await t.exchange([0x7f]);
    expect(await t.exchange([0x63, 0x9c, 0, 2, 2])).toEqual([ACK, ACK]);
    await t.exchange([0x7f]);
    expect(await t.exchange([0x44, 0xbb, 0, 0, 0, 2, 2])).toEqual([ACK, NACK]);
    expect(await t.exchange([0x31, 0xce, ...addr(0x0800_8000), ...dataFrame([0, 0, 0, 0])])).toEqual([ACK, ACK, NACK]);
    expect(await t.exchange([0x73, 0x8c])).toEqual([ACK, ACK]);
    await t.exchange([0x7f]);
    expect(await t.exchange([0x44, 0xbb, 0, 0, 0, 2, 2])).toEqual([ACK, ACK]);
  });

  it('Go: runs an application with a valid vector table, locks up on erased flash, resets on a reset stub', async () => {
    const t = bench();
    await t.exchange([0x7f]);
    // Erased flash: SP 0xFFFFFFFF is no stack: HardFault, the core locks up.
    expect(await t.exchange([0x21, 0xde, ...addr(0x0800_0000)])).toEqual([ACK, ACK]);
    expect(t.rom.state).toBe('lockup');
    t.rom.reset();
    await t.exchange([0x7f]);
    // stm32flash's reset stub in RAM: the part resets into the bootloader (BOOT0 high).
    const stub = [
      0x00, 0x20, 0x00, 0x20, 0x09, 0x30, 0x00, 0x20, 0x01, 0x49, 0x02, 0x4a, 0x0a, 0x60, 0xfe, 0xe7, 0x0c, 0xed, 0x00, 0xe0, 0x04, 0x00, 0xfa, 0x05,
    ];
    expect(await t.exchange([0x31, 0xce, ...addr(0x2000_3000), ...dataFrame(stub)])).toEqual([ACK, ACK, ACK]);
    expect(await t.exchange([0x21, 0xde, ...addr(0x2000_3000)])).toEqual([ACK, ACK]);
    expect(await t.exchange([0x7f])).toEqual([ACK]);
    // A valid application vector table: SP in RAM, Thumb entry in flash.
    const vt = [0x00, 0x00, 0x02, 0x20, 0x01, 0x02, 0x00, 0x08];
    await t.exchange([0x31, 0xce, ...addr(0x0800_0000), ...dataFrame(vt)]);
    expect(await t.exchange([0x21, 0xde, ...addr(0x0800_0000)])).toEqual([ACK, ACK]);
    expect(t.rom.state).toBe('application');
    expect(t.exits.at(-1)).toEqual({ kind: 'application', address: 0x0800_0000, stackPointer: 0x2002_0000, entry: 0x0800_0201 });
  });

  it('an STM32F103 (ROM v2.2) offers legacy Erase 0x43 with 8-bit page lists, not Extended Erase', async () => {
    const t = bench({ device: STM32F10X_MD });
    t.memory.flash.fill(0x00);
    await t.exchange([0x7f]);
    expect(await t.exchange([0x02, 0xfd])).toEqual([ACK, 1, 0x04, 0x10, ACK]);
    expect(await t.exchange([0x44, 0xbb])).toEqual([NACK]);
    // Pages 3 and 4.
    expect(await t.exchange([0x43, 0xbc, 1, 3, 4, 1 ^ 3 ^ 4])).toEqual([ACK, ACK]);
    expect(t.memory.flash[3 * 1024 - 1]).toBe(0x00);
    expect(t.memory.flash.subarray(3 * 1024, 5 * 1024).every((b) => b === 0xff)).toBe(true);
    expect(t.memory.flash[5 * 1024]).toBe(0x00);
    // Write protection works in groups of 4 pages: group 1 = pages 4..7.
    expect(await t.exchange([0x63, 0x9c, 0, 1, 1])).toEqual([ACK, ACK]);
    await t.exchange([0x7f]);
    expect(await t.exchange([0x43, 0xbc, 0, 7, 7])).toEqual([ACK, NACK]);
    expect(await t.exchange([0x43, 0xbc, 0, 8, 8])).toEqual([ACK, ACK]);
    // Mass erase refused while a group is protected; allowed after Write Unprotect.
    expect(await t.exchange([0x43, 0xbc, 0xff, 0x00])).toEqual([ACK, NACK]);
    expect(await t.exchange([0x73, 0x8c])).toEqual([ACK, ACK]);
    await t.exchange([0x7f]);
    expect(await t.exchange([0x43, 0xbc, 0xff, 0x00])).toEqual([ACK, ACK]);
    expect(t.memory.flash.every((b) => b === 0xff)).toBe(true);
  });

  it('arbitrary byte streams never break the ROM model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 12 }), async (chunks) => {
        const t = bench({ device: chunks.length % 2 ? STM32F10X_MD : STM32F40X });
        t.rom.feed(Uint8Array.of(0x7f));
        for (const c of chunks) {
          t.rom.feed(c);
          await t.settle();
        }
        expect(t.exits.filter((e) => e.kind === 'lockup' && e.reason.startsWith('simulator fault'))).toEqual([]);
        expect(t.out.every((b) => typeof b === 'number' && b >= 0 && b <= 255)).toBe(true);
        t.rom.stop();
      }),
      { numRuns: 150 },
    );
  });
});
