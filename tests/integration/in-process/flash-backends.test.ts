import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticApplication } from '../../../firmware/sim/boot/app-image.js';
import { SIGNING_KEY_FILE } from '../../../firmware/sim/boot/firmware-store.js';
import { runSim } from '../../../firmware/sim/run.js';
import {
  FLASH_PROTOCOLS,
  runFlashJob,
  type FlashJob,
  type FlashProgress,
  type NativeFlashJob,
  type Stm32RomFlashJob,
  type UdsFlashJob,
} from '../../../electron/host/flasher/flash-backends.js';
import { PackscopeError } from '../../../shared/errors.js';
import { writeIntelHex } from '../../../shared/image/ihex.js';
import { generateKey, parsePrivateKeyPem, parseVersion, signImage, type PrivateKey } from '../../../shared/image/index.js';

/**
 * The flash back ends driven as services, with typed jobs (no argv), against the simulator in
 * this process: a `sim:` port starts the simulated board (native), the SLCAN adapter on its CAN
 * bus with the UDS bootloader node (personality=slcan), or the STM32 ROM bootloader
 * (personality=stm32-rom) when the back end opens it, and stops it when the job closes the port.
 * A state directory keeps the board (keys, flash, counters) from one job to the next.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A simulated board's state directory, created once so its signing key exists before the first job. */
async function boardState(personality: 'native' | 'slcan'): Promise<{ dir: string; key: PrivateKey; boardId: string; port: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ps-flash-backends-'));
  dirs.push(dir);
  const sim = await runSim({ personality, stateDir: dir, seed: 3 });
  const boardId = sim.board.identity.boardId;
  await sim.stop();
  const key = parsePrivateKeyPem(readFileSync(path.join(dir, SIGNING_KEY_FILE), 'utf8'));
  const query = new URLSearchParams({ ...(personality === 'slcan' ? { personality } : {}), state: dir, seed: '3', unpaced: '1' });
  return { dir, key, boardId, port: `sim:?${query}` };
}

function image(key: PrivateKey, boardId: string, version: string, counter: number, size = 24 * 1024): Uint8Array {
  return signImage({ payload: syntheticApplication(size, counter * 11 + 1), version: parseVersion(version), key, securityCounter: counter, boardId });
}

/** Freezes a job and what it holds, so a back end that writes to its caller's options throws. */
function frozen<J extends FlashJob>(job: J): J {
  for (const v of Object.values(job)) if (Array.isArray(v)) Object.freeze(v);
  return Object.freeze(job);
}

async function rejection(p: Promise<unknown>): Promise<PackscopeError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(PackscopeError);
  return e as PackscopeError;
}

describe('flash back ends as services', () => {
  it('lists the protocols', () => {
    expect([...FLASH_PROTOCOLS].sort()).toEqual(['native', 'stm32-rom', 'uds', 'uds-generic']);
  });

  it('native: a test run, then confirm; typed progress; --trust keys and cancel are honoured', async () => {
    const board = await boardState('native');
    const v11 = image(board.key, board.boardId, '1.1.0', 2, 64 * 1024);

    // Keys the caller requires but that did not sign the image: refused before anything is written.
    const stranger = generateKey('ed25519');
    const refused = await rejection(
      runFlashJob(frozen<NativeFlashJob>({ protocol: 'native', port: board.port, image: v11, trust: [{ key: stranger.publicKey, name: 'stranger' }] })),
    );
    expect(refused.code).toBe('REFUSED');
    expect(refused.details).toMatchObject({ reason: 'not_trusted_by_user' });

    // Cancelled during the upload: the board still runs its factory image.
    const ac = new AbortController();
    const cancelled = await rejection(
      runFlashJob(
        frozen<NativeFlashJob>({
          protocol: 'native',
          port: board.port,
          image: v11,
          compress: false,
          signal: ac.signal,
          onProgress: (p) => p.done > 0 && ac.abort(),
        }),
      ),
    );
    expect(cancelled.code).toBe('CANCELLED');

    // The same image as a test run: resumes from what the board already holds.
    const progress: FlashProgress[] = [];
    const lines: string[] = [];
    const job = frozen<NativeFlashJob>({
      protocol: 'native',
      port: board.port,
      image: v11,
      confirm: false,
      compress: true,
      onProgress: (p) => progress.push(p),
      log: (l) => lines.push(l),
    });
    const snapshot = JSON.stringify(job);
    const r = await runFlashJob(job);
    expect(JSON.stringify(job)).toBe(snapshot);
    expect(r.protocol).toBe('native');
    expect(r.port).toBe(board.port);
    expect(r.report.outcome).toBe('installed-test');
    expect(r.report.bytesSkipped).toBeGreaterThan(0);
    expect(r.report.compressed).toBe(true);
    expect(r.report.status).toMatchObject({ runningVersion: '1.1.0+0', testing: true });
    expect(r.lineBytesPerSecond).toBeGreaterThan(0);
    expect(r.lineRatio).toBeCloseTo(r.report.payloadRate / r.lineBytesPerSecond!, 6);
    expect(progress.length).toBeGreaterThan(1);
    for (const p of progress) {
      expect(p.phase).toBe('upload');
      expect(p.done).toBeLessThanOrEqual(p.total);
      expect(p.rate).toBeGreaterThanOrEqual(0);
      expect(p.etaSeconds === null || p.etaSeconds >= 0).toBe(true);
    }
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);
    expect(lines.some((l) => l.includes('read-back hash verified'))).toBe(true);

    // From a path, with confirm. Opening a sim: port powers the board up, and a test image left
    // unconfirmed does not survive that reset: the board runs 1.0.0 again and 1.1.0 goes back on.
    const file = path.join(board.dir, 'v11.img');
    writeFileSync(file, v11);
    const c = await runFlashJob(frozen<NativeFlashJob>({ protocol: 'native', port: board.port, image: file, confirm: true }));
    expect(c.report.outcome).toBe('installed-confirmed');
    expect(c.report.status).toMatchObject({ runningVersion: '1.1.0+0', testing: false, securityCounter: 2 });

    const missing = await rejection(runFlashJob({ protocol: 'native', port: board.port, image: path.join(board.dir, 'nothing.img') }));
    expect(missing.code).toBe('NOT_FOUND');
  });

  it('uds: CAN ids, bitrate, seed-key and block size as options; uncompressed; confirm', async () => {
    const board = await boardState('slcan');
    const v12 = image(board.key, board.boardId, '1.2.0', 3, 16 * 1024);

    // Another security-access algorithm than the ECU's: the ECU refuses the key, by name.
    const wrongKey = await rejection(runFlashJob(frozen<UdsFlashJob>({ protocol: 'uds', port: board.port, image: v12, seedKey: 'xor' })));
    expect(wrongKey.message).toMatch(/SecurityAccess refused by the ECU: invalidKey/);

    const progress: FlashProgress[] = [];
    const job = frozen<UdsFlashJob>({
      protocol: 'uds',
      port: board.port,
      image: v12,
      confirm: true,
      bitrate: 500_000,
      txId: 0x7e0,
      rxId: 0x7e8,
      seedKey: 'packscope-hmac',
      maxBlockPayload: 1024,
      trust: [],
      onProgress: (p) => progress.push(p),
    });
    const snapshot = JSON.stringify(job);
    const r = await runFlashJob(job);
    expect(JSON.stringify(job)).toBe(snapshot);
    expect(r.protocol).toBe('uds');
    expect(r.report.outcome).toBe('installed-confirmed');
    expect(r.report.compressed).toBe(false);
    expect(r.report.status).toMatchObject({ runningVersion: '1.2.0+0', testing: false, securityCounter: 3 });
    // Measured against the ISO-TP ceiling at 500 kbit/s (7 payload bytes per 111-bit frame).
    expect(r.lineBytesPerSecond).toBeCloseTo((500_000 / 111) * 7, 0);
    expect(r.lineRatio).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ phase: 'upload', done: r.report.bytesTotal, total: r.report.bytesTotal });
  });

  it('stm32-rom: raw bytes at an address, Intel HEX from a file, go, no-verify, a refusal, cancel', async () => {
    const port = 'sim:?personality=stm32-rom&unpaced=1';
    const fw = Uint8Array.from({ length: 6000 }, (_, i) => (i * 37 + 5) & 0xff);
    fw.fill(0xff, 2048, 3072); // four blank 256-byte blocks are not sent

    const phases = new Set<string>();
    const lines: string[] = [];
    const job = frozen<Stm32RomFlashJob>({
      protocol: 'stm32-rom',
      port,
      firmware: fw,
      address: 0x0800_4000,
      go: true,
      onProgress: (p) => phases.add(p.phase),
      log: (l) => lines.push(l),
    });
    const snapshot = JSON.stringify(job);
    const r = await runFlashJob(job);
    expect(JSON.stringify(job)).toBe(snapshot);
    expect(r.protocol).toBe('stm32-rom');
    expect(r.format).toBe('bin');
    expect(r.parity).toBe('even'); // the ROM's 8E1 (only a pseudo-terminal defaults to 8N1)
    expect(r.baudRate).toBe(115200);
    expect(r.result.part).toBe('STM32F40xxx/41xxx');
    expect(r.result.erased.map((e) => e.index)).toEqual([1]);
    expect(r.result.blocksSkipped).toBe(4);
    expect(r.result.verified).toBe(true);
    expect(r.result.started).toBe(0x0800_4000);
    expect(r.lineRate).toBeCloseTo(115200 / 11, 6);
    expect([...phases]).toEqual(['connect', 'erase', 'write', 'verify', 'go']);
    expect(lines.some((l) => l.includes('erasing 1 sector(s) 1'))).toBe(true);

    // Intel HEX from a path: its own addresses (sectors 0 and 2), no read-back when asked not to.
    const dir = mkdtempSync(path.join(tmpdir(), 'ps-flash-backends-'));
    dirs.push(dir);
    const hexFile = path.join(dir, 'app.hex');
    writeFileSync(
      hexFile,
      writeIntelHex([
        { address: 0x0800_0000, data: fw.subarray(0, 512) },
        { address: 0x0800_8000, data: fw.subarray(0, 300) },
      ]),
    );
    const h = await runFlashJob(frozen<Stm32RomFlashJob>({ protocol: 'stm32-rom', port, firmware: hexFile, verify: false, parity: 'even', baudRate: 57600 }));
    expect(h.format).toBe('ihex');
    expect(h.baudRate).toBe(57600);
    expect(h.result.erased.map((e) => e.index)).toEqual([0, 2]);
    expect(h.result.verified).toBe(false);
    expect(h.result.started).toBeNull();

    // An address outside the part's flash is refused before anything is erased.
    const outside = await rejection(runFlashJob({ protocol: 'stm32-rom', port, firmware: fw, address: 0x2000_0000 }));
    expect(outside.code).toBe('REFUSED');

    // Cancelled while writing: says so, and what the board is left with.
    const ac = new AbortController();
    const cancelled = await rejection(
      runFlashJob({ protocol: 'stm32-rom', port, firmware: fw, signal: ac.signal, onProgress: (p) => p.phase === 'write' && ac.abort() }),
    );
    expect(cancelled.code).toBe('CANCELLED');
    expect(cancelled.message).toMatch(/stays in its bootloader/);
  });

  it('stm32-rom: the mass-erase strategy erases every page (STM32F103, legacy Erase command)', async () => {
    const before = process.env.PACKSCOPE_SIM_STM32;
    process.env.PACKSCOPE_SIM_STM32 = 'f103';
    try {
      const fw = Uint8Array.from({ length: 1500 }, (_, i) => (i * 13) & 0xff);
      const lines: string[] = [];
      const r = await runFlashJob(
        frozen<Stm32RomFlashJob>({
          protocol: 'stm32-rom',
          port: 'sim:?personality=stm32-rom&unpaced=1',
          firmware: fw,
          erase: 'mass',
          log: (l) => lines.push(l),
        }),
      );
      expect(r.result.part).toMatch(/STM32F10xxx/);
      expect(r.result.erased.length).toBe(128);
      expect(r.result.collateralErasedBytes).toBe(128 * 1024 - fw.length);
      expect(r.result.verified).toBe(true);
      expect(lines.some((l) => l.startsWith('mass erase: all 128 page(s)'))).toBe(true);
    } finally {
      if (before === undefined) delete process.env.PACKSCOPE_SIM_STM32;
      else process.env.PACKSCOPE_SIM_STM32 = before;
    }
  });
});
