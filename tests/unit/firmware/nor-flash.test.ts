import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileBacking, FlashError, INSTANT, NorFlash, PowerLoss } from '../../../firmware/sim/flash/nor-flash.js';

const geometry = { sectorSize: 4096, sectorCount: 4, pageSize: 256 };

describe('NOR flash model', () => {
  it('starts erased, programs 1→0 only, refuses to set bits without an erase', () => {
    const f = new NorFlash({ geometry, timing: INSTANT });
    expect(f.isErased(0, f.size)).toBe(true);
    f.program(10, Uint8Array.of(0xf0, 0x0f));
    expect([...f.read(10, 2)]).toEqual([0xf0, 0x0f]);
    f.program(10, Uint8Array.of(0xf0, 0x0f)); // same value again: no bit goes 0→1
    f.program(10, Uint8Array.of(0x30, 0x01)); // clearing more bits is allowed
    expect(() => f.program(10, Uint8Array.of(0xff))).toThrow(FlashError);
    expect([...f.read(10, 2)]).toEqual([0x30, 0x01]); // the refused program changed nothing
    f.eraseSector(0);
    expect(f.isErased(0, 4096)).toBe(true);
  });

  it('counts one operation per sector erased and per page programmed', () => {
    const f = new NorFlash({ geometry, timing: INSTANT });
    f.program(200, new Uint8Array(600)); // pages 0 (56 B), 1, 2, 3 (32 B)
    expect(f.opCount).toBe(4);
    f.eraseRange(4000, 200); // sectors 0 and 1
    expect(f.opCount).toBe(6);
    expect(f.stats).toMatchObject({ erases: 2, programs: 4, bytesProgrammed: 600 });
  });

  it('accounts erase and program time', () => {
    const f = new NorFlash({ geometry, timing: { sectorEraseMs: 30, blockEraseMs: 150, pageProgramMs: 0.5 } });
    f.eraseSector(1);
    f.program(4096, new Uint8Array(1024).fill(0));
    expect(f.stats.busyMs).toBeCloseTo(32, 5);
  });

  it('a power cut leaves the operation half done and blocks every later operation', () => {
    const f = new NorFlash({ geometry, timing: INSTANT, seed: 3 });
    f.armPowerLoss(2);
    f.program(0, new Uint8Array(256).fill(0)); // op 1 completes
    expect(() => f.program(256, new Uint8Array(256).fill(0))).toThrow(PowerLoss);
    const page = f.read(256, 256);
    expect(page.some((b) => b !== 0)).toBe(true); // not all programmed
    expect(() => f.eraseSector(3)).toThrow(PowerLoss);
    expect(f.isErased(3 * 4096, 4096)).toBe(true);
    f.powerOn();
    f.eraseSector(0);
    expect(f.isErased(0, 4096)).toBe(true);
  });

  it('a power cut during erase leaves a partly erased sector', () => {
    const f = new NorFlash({ geometry, timing: INSTANT, seed: 9 });
    f.program(4096, new Uint8Array(4096).fill(0));
    f.armPowerLoss(1);
    expect(() => f.eraseSector(1)).toThrow(PowerLoss);
    const s = f.read(4096, 4096);
    expect(s.some((b) => b !== 0xff)).toBe(true);
  });

  it('persists to its file with positional writes', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'psflash-'));
    try {
      const file = path.join(dir, 'flash.bin');
      const a = new NorFlash({ geometry, timing: INSTANT, backing: new FileBacking(file) });
      a.program(5000, Uint8Array.of(1, 2, 3));
      a.close();
      const b = new NorFlash({ geometry, timing: INSTANT, backing: new FileBacking(file) });
      expect([...b.read(4999, 5)]).toEqual([0xff, 1, 2, 3, 0xff]);
      b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects out-of-range accesses with a typed error', () => {
    const f = new NorFlash({ geometry, timing: INSTANT });
    expect(() => f.read(f.size - 1, 2)).toThrow(FlashError);
    expect(() => f.eraseSector(4)).toThrow(FlashError);
  });
});

describe('block erase', () => {
  it('erases a whole aligned block in one operation', () => {
    const f = new NorFlash({ geometry: { sectorSize: 4096, sectorCount: 32, pageSize: 256, blockSize: 65536 }, timing: INSTANT });
    f.program(70000, new Uint8Array(5000).fill(0));
    const ops = f.opCount;
    f.eraseBlock(65536);
    expect(f.opCount).toBe(ops + 1);
    expect(f.isErased(65536, 65536)).toBe(true);
    expect(() => f.eraseBlock(4096)).toThrow(FlashError);
  });
});
