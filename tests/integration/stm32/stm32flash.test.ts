import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import type { Stm32RomPersonality } from '../../../firmware/sim/stm32rom/index.js';
import { main } from '../../../electron/host/cli/main.js';

/**
 * The simulated ROM bootloader on a real pseudo-terminal, against Debian's stm32flash and against
 * PackScope's own flasher. The pty carries 8N1 (it cannot represent parity: stm32flash -m 8n1);
 * the simulator paces 11-bit characters as the ROM's 8E1 line would.
 */
const STM32FLASH = '/usr/bin/stm32flash';

function requireStm32flash(): void {
  const r = spawnSync('sh', ['-c', 'command -v stm32flash'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error('stm32flash is not installed: these tests check the simulated ROM against it (Debian: apt-get install stm32flash)');
  }
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function image(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('STM32 ROM bootloader over a pty', () => {
  let sim: RunningSim;
  let dir: string;
  let rom: Stm32RomPersonality;

  beforeAll(async () => {
    requireStm32flash();
    dir = mkdtempSync(path.join(tmpdir(), 'packscope-stm32-'));
    sim = await runSim({ personality: 'stm32-rom', pty: true, baud: 115200, subsystems: false, stateDir: path.join(dir, 'state') });
    rom = sim.personality as Stm32RomPersonality;
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('paces the ROM line as 8E1 (11-bit characters)', () => {
    expect(sim.link.settings.parity).toBe('even');
  });

  it('stm32flash identifies it, writes and verifies an image (-w -v)', async () => {
    const img = image(12 * 1024 + 100, 7);
    const file = path.join(dir, 'image.bin');
    writeFileSync(file, img);
    const r = await run(STM32FLASH, ['-m', '8n1', '-b', '115200', '-w', file, '-v', sim.path!]);
    expect(r.out).toContain('Device ID    : 0x0413 (STM32F40xxx/41xxx)');
    expect(r.out).toContain('Wrote and verified address 0x08003064 (100.00%) Done.');
    expect(r.code, r.out).toBe(0);
    expect(Buffer.from(rom.memory.flash.subarray(0, img.length)).equals(Buffer.from(img))).toBe(true);
  });

  it('packscope flash --protocol stm32-rom writes an image that stm32flash -r reads back identical', async () => {
    const img = image(9 * 1024, 11);
    const file = path.join(dir, 'packscope.bin');
    writeFileSync(file, img);
    const out: string[] = [];
    const err: string[] = [];
    const ctx = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), signal: new AbortController().signal, isTTY: false };
    const code = await main(['flash', '--protocol', 'stm32-rom', '--port', sim.path!, file, '--address', '0x08004000', '--json'], ctx);
    expect(code, err.join('\n')).toBe(0);
    const report = JSON.parse(out[0]!) as { verified: boolean; erased: Array<{ index: number }>; parity: string };
    expect(report.verified).toBe(true);
    expect(report.parity).toBe('none'); // a pty cannot carry parity
    expect(report.erased.map((e) => e.index)).toEqual([1]);
    expect(err.some((l) => /^write /.test(l))).toBe(true);

    const back = path.join(dir, 'back.bin');
    const r = await run(STM32FLASH, ['-m', '8n1', '-b', '115200', '-r', back, '-S', `0x08004000:${img.length}`, sim.path!]);
    expect(r.code, r.out).toBe(0);
    expect(Buffer.from(readFileSync(back)).equals(Buffer.from(img))).toBe(true);
  });

  it('a refused write (write-protected sector) is an error with the reason, from both tools', async () => {
    const ob = new Uint8Array(rom.memory.optionBytes);
    ob[8] = 0xfe & ob[8]!; // sector 0 write-protected
    rom.memory.setOptionBytes(ob);
    try {
      const file = path.join(dir, 'wp.bin');
      writeFileSync(file, image(1024, 3));
      const err: string[] = [];
      const ctx = { out: () => undefined, err: (l: string) => err.push(l), signal: new AbortController().signal, isTTY: false };
      // Exit 5: the device refused (the erase of sector 0 is NACKed).
      expect(await main(['flash', '--protocol', 'stm32-rom', '--port', sim.path!, file], ctx)).toBe(5);
      expect(err.join('\n')).toMatch(/Extended Erase.*refused \(NACK\)/);
      const r = await run(STM32FLASH, ['-m', '8n1', '-b', '115200', '-w', file, sim.path!]);
      expect(r.code).not.toBe(0);
    } finally {
      ob[8] = 0xff;
      rom.memory.setOptionBytes(ob);
    }
  });
});

describe('STM32F103 ROM bootloader (v2.2, legacy Erase) over a pty', () => {
  let sim: RunningSim;
  let dir: string;

  beforeAll(async () => {
    requireStm32flash();
    dir = mkdtempSync(path.join(tmpdir(), 'packscope-stm32f1-'));
    const before = process.env.PACKSCOPE_SIM_STM32;
    process.env.PACKSCOPE_SIM_STM32 = 'f103';
    try {
      sim = await runSim({ personality: 'stm32-rom', pty: true, baud: 115200, subsystems: false });
    } finally {
      if (before === undefined) delete process.env.PACKSCOPE_SIM_STM32;
      else process.env.PACKSCOPE_SIM_STM32 = before;
    }
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stm32flash writes and verifies; PackScope writes what stm32flash reads back', async () => {
    const first = image(3000, 21);
    const file = path.join(dir, 'f1.bin');
    writeFileSync(file, first);
    const r = await run(STM32FLASH, ['-m', '8n1', '-b', '115200', '-w', file, '-v', sim.path!]);
    expect(r.out).toContain('Device ID    : 0x0410 (STM32F10xxx Medium-density)');
    expect(r.code, r.out).toBe(0);

    const second = image(5000, 22);
    writeFileSync(file, second);
    const out: string[] = [];
    const ctx = { out: (l: string) => out.push(l), err: () => undefined, signal: new AbortController().signal, isTTY: false };
    expect(await main(['flash', '--protocol', 'stm32-rom', '--port', sim.path!, file, '--address', '0x08001000', '--json'], ctx)).toBe(0);
    expect((JSON.parse(out[0]!) as { erased: Array<{ index: number }> }).erased.map((e) => e.index)).toEqual([4, 5, 6, 7, 8]);
    const back = path.join(dir, 'f1-back.bin');
    const rb = await run(STM32FLASH, ['-m', '8n1', '-b', '115200', '-r', back, '-S', `0x08000000:${0x1000 + second.length}`, sim.path!]);
    expect(rb.code, rb.out).toBe(0);
    const got = readFileSync(back);
    // stm32flash's image in pages 0-2 is intact; PackScope's at 0x08001000.
    expect(Buffer.from(got.subarray(0, first.length)).equals(Buffer.from(first))).toBe(true);
    expect(Buffer.from(got.subarray(0x1000)).equals(Buffer.from(second))).toBe(true);
  });
});

describe('STM32F40x ROM that offers Get Checksum (0xA1) over a pty', () => {
  let sim: RunningSim;
  let dir: string;
  let rom: Stm32RomPersonality;

  beforeAll(async () => {
    requireStm32flash();
    dir = mkdtempSync(path.join(tmpdir(), 'packscope-stm32crc-'));
    const before = process.env.PACKSCOPE_SIM_STM32;
    process.env.PACKSCOPE_SIM_STM32 = 'f405-crc';
    try {
      sim = await runSim({ personality: 'stm32-rom', pty: true, baud: 115200, subsystems: false });
    } finally {
      if (before === undefined) delete process.env.PACKSCOPE_SIM_STM32;
      else process.env.PACKSCOPE_SIM_STM32 = before;
    }
    rom = sim.personality as Stm32RomPersonality;
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('PackScope verifies by the ROM CRC, and stm32flash -C (which asks the ROM with 0xA1) gets the same CRC', async () => {
    const img = image(6 * 1024, 31);
    const file = path.join(dir, 'crc.bin');
    writeFileSync(file, img);
    const out: string[] = [];
    const err: string[] = [];
    const ctx = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), signal: new AbortController().signal, isTTY: false };
    const commands = () => rom.bootloader!.stats.commands;
    const before = commands();
    expect(await main(['flash', '--protocol', 'stm32-rom', '--port', sim.path!, file, '--json'], ctx), err.join('\n')).toBe(0);
    const report = JSON.parse(out[0]!) as { verifiedBy: string; readBackBytes: number; blocksWritten: number };
    expect(report).toMatchObject({ verifiedBy: 'checksum', readBackBytes: 0, blocksWritten: 24 });
    // Sync, Get, Get ID, the readout-protection probe, erase, 24 writes, one checksum.
    expect(commands() - before).toBe(29);

    const beforeCrc = commands();
    const r = await run(STM32FLASH, ['-m', '8n1', '-b', '115200', '-C', '-S', `0x08000000:${img.length}`, sim.path!]);
    expect(r.code, r.out).toBe(0);
    // Get, Get Version, Get ID and the CRC: stm32flash read nothing back (that would be 24 Read Memory).
    expect(commands() - beforeCrc).toBeLessThan(8);
    const { stm32Crc } = await import('../../../shared/stm32/an3155.js');
    expect(r.out.toLowerCase()).toContain(`0x${stm32Crc(img).toString(16).padStart(8, '0')}`);
  });
});
