import { PackscopeError } from '../../../shared/errors.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import type { ByteTransport } from '../../../shared/types/transport.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';
import { Stm32RomClient } from './client.js';
import { flashEnd, pages as allPages, pagesCovering, partById, type PageSpan, type Stm32Part } from './devices.js';
import { CMD, formatVersion, MAX_BLOCK } from './protocol.js';
import { stm32Crc } from '../../../shared/stm32/an3155.js';
import { ProgressMeter } from '../util/progress.js';

/**
 * Recovery flashing through the STM32 ROM bootloader. AN3155 is stop-and-wait, so the time goes
 * to the line and to round trips; this flasher spends as few of both as the ROM allows:
 *  - erases only the sectors the image touches, in one Extended Erase command (a tool that
 *    mass-erases a 1 MiB F4 waits 8–16 s for sectors it never writes); where the ROM offers Get
 *    Checksum, a sector whose part of the image is all 0xFF and already reads 0xFF is not erased;
 *  - writes 256-byte blocks, and none at all where the image holds only 0xFF (erased flash
 *    already reads 0xFF, and programming 0xFF changes nothing);
 *  - sends command, address and length together where the ROM only parses them (one wait per
 *    Read Memory instead of three, two per Write Memory instead of three), never across a flash
 *    operation or a reply, when the ROM does not read its UART;
 *  - verifies every byte of the image (skipped blocks included): with the ROM's Get Checksum
 *    (0xA1) where its Get lists it — one CRC per segment, computed on the chip, a few bytes on the
 *    line instead of the whole image — and by reading everything back where it does not. A
 *    segment whose CRC differs is read back, which finds (and reprograms) the bad block, so the
 *    read-back stays the fallback and the result says which method verified.
 * A block whose exchange fails (noise, a lost byte) is resynchronised and retried; programming is
 * idempotent (bits only go from 1 to 0), so a retry never corrupts.
 */
export interface Stm32Segment {
  address: number;
  data: Uint8Array;
}

export type Stm32Phase = 'connect' | 'erase' | 'write' | 'verify' | 'go';

/**
 * How the image was verified: 'checksum' (the ROM's CRC of every segment matched), 'read-back'
 * (every byte read and compared: the ROM has no Get Checksum), 'checksum+read-back' (a segment's
 * CRC differed or the ROM refused the command, and that part was read back), null (--no-verify).
 */
export type Stm32VerifyMethod = 'checksum' | 'read-back' | 'checksum+read-back';

export interface Stm32Progress extends TransferProgress {
  phase: Stm32Phase;
}

export interface Stm32FlashOptions {
  baudRate: number;
  segments: Stm32Segment[];
  /** Read back and compare every byte (default true). */
  verify?: boolean;
  /** 'touched' (default): erase only the sectors the image touches; 'mass': erase the whole flash. */
  erase?: 'touched' | 'mass';
  /** Jump to this address (a vector table) after a verified write; null stays in the bootloader. */
  goAddress?: number | null;
  pipeline?: boolean;
  retries?: number;
  /** How long the ROM may take to ACK, ms (default 1000; USB adapters add latency). */
  ackTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: Stm32Progress) => void;
  log?: (line: string) => void;
  /** Time base of timeouts, rates and phase durations (default: the real clock). */
  clock?: Clock;
}

export interface Stm32FlashResult {
  productId: number;
  part: string;
  bootloaderVersion: string;
  connection: 'fresh' | 'resumed';
  erased: Array<{ index: number; address: number; size: number }>;
  /** Bytes outside the image that the sector erase cleared. */
  collateralErasedBytes: number;
  imageBytes: number;
  bytesWritten: number;
  blocksWritten: number;
  blocksSkipped: number;
  verified: boolean;
  verifiedBy: Stm32VerifyMethod | null;
  /** Bytes read back to verify (0 when the ROM's checksum proved everything). */
  readBackBytes: number;
  /** Sectors in the image's range that were already blank where the image is blank, so not erased. */
  eraseSkipped: number[];
  retries: number;
  roundTrips: number;
  started: number | null;
  durationMs: number;
  phasesMs: { connect: number; erase: number; write: number; verify: number };
}

const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** Sorts, merges and word-aligns segments (padding with 0xFF, which leaves erased flash unchanged). */
export function normalizeSegments(segments: Stm32Segment[]): Stm32Segment[] {
  const sorted = segments.filter((s) => s.data.length > 0).sort((a, b) => a.address - b.address);
  const out: Array<{ start: number; end: number; parts: Stm32Segment[] }> = [];
  for (const s of sorted) {
    const start = s.address & ~3;
    const end = (s.address + s.data.length + 3) & ~3;
    const last = out[out.length - 1];
    if (last && start <= last.end) {
      if (s.address < last.parts.reduce((m, p) => Math.max(m, p.address + p.data.length), 0)) {
        throw new PackscopeError('USAGE', `image segments overlap at ${hex8(s.address)}`);
      }
      last.end = Math.max(last.end, end);
      last.parts.push(s);
    } else out.push({ start: start >>> 0, end: end >>> 0, parts: [s] });
  }
  return out.map((r) => {
    const data = new Uint8Array(r.end - r.start).fill(0xff);
    for (const p of r.parts) data.set(p.data, p.address - r.start);
    return { address: r.start, data };
  });
}

export async function flashStm32(transport: ByteTransport, options: Stm32FlashOptions): Promise<Stm32FlashResult> {
  const log = options.log ?? (() => undefined);
  const verify = options.verify ?? true;
  const maxRetries = options.retries ?? 3;
  const segments = normalizeSegments(options.segments);
  if (segments.length === 0) throw new PackscopeError('USAGE', 'the image is empty');
  const imageBytes = segments.reduce((n, s) => n + s.data.length, 0);
  const clock = options.clock ?? realClock;
  const t0 = clock.now();
  const phasesMs = { connect: 0, erase: 0, write: 0, verify: 0 };
  const client = new Stm32RomClient(transport, {
    baudRate: options.baudRate,
    pipeline: options.pipeline,
    signal: options.signal,
    ackTimeoutMs: options.ackTimeoutMs,
    clock,
  });
  let retries = 0;
  const progress = (phase: Stm32Phase, done: number, total: number, m: { rate: number; etaSeconds: number | null }) =>
    options.onProgress?.({ phase, done, total, rate: m.rate, etaSeconds: m.etaSeconds });
  const checkCancel = (what: string) => {
    if (options.signal?.aborted) {
      throw new PackscopeError('CANCELLED', `cancelled ${what}; the board stays in its bootloader, run the command again to finish`);
    }
  };

  try {
    // Connect and identify.
    progress('connect', 0, 1, { rate: 0, etaSeconds: null });
    const connection = await client.sync();
    await client.get();
    const productId = await client.getId();
    const part = partById(productId);
    if (!part) {
      throw new PackscopeError('REFUSED', `unknown STM32 product ID 0x${productId.toString(16)}; PackScope knows its flash layout only for known parts`);
    }
    const version = formatVersion(client.bootloaderVersion);
    log(`${part.name} (ID 0x${productId.toString(16)}), bootloader v${version}, connection ${connection}`);
    checkImageFits(part, segments);
    // Readout protection makes the ROM refuse reads and writes; say so before erasing anything.
    try {
      await client.readMemory(part.flashBase, 4);
    } catch (e) {
      if (e instanceof PackscopeError && e.code === 'DEVICE') {
        throw new PackscopeError(
          'REFUSED',
          'the bootloader refuses to read flash: readout protection (RDP level 1) is active. Removing it mass-erases the chip (AN3155 Readout Unprotect)',
        );
      }
      throw e;
    }
    phasesMs.connect = clock.now() - t0;

    // Erase exactly the sectors the image touches (or, when asked, the whole flash).
    const t1 = clock.now();
    const mass = options.erase === 'mass';
    const ranges = segments.map((s) => ({ start: s.address, end: s.address + s.data.length }));
    let toErase = mass ? allPages(part) : pagesCovering(part, ranges);
    const eraseSkipped: number[] = [];
    if (!mass && client.supports(CMD.GET_CHECKSUM)) {
      // A sector the image leaves blank needs no erase if it already reads blank there: one CRC
      // per such sector (milliseconds) instead of its erase (250 ms to 2 s).
      const needed: PageSpan[] = [];
      for (const p of toErase) {
        if (await blankAlready(client, segments, p, maxRetries)) eraseSkipped.push(p.index);
        else needed.push(p);
      }
      toErase = needed;
      if (eraseSkipped.length) log(`sector(s) ${eraseSkipped.join(', ')} already blank where the image is blank: not erased`);
    }
    const collateral = toErase.reduce((n, p) => n + p.size, 0) - imageBytes;
    checkCancel('before erasing');
    progress('erase', 0, toErase.length, { rate: 0, etaSeconds: null });
    log(
      mass
        ? `mass erase: all ${toErase.length} ${part.pageSizes.length > 64 ? 'page' : 'sector'}(s) ${describePages(toErase)}`
        : `erasing ${toErase.length} ${part.pageSizes.length > 64 ? 'page' : 'sector'}(s) ${describePages(toErase)}` +
            (collateral > 0 ? `; ${collateral} bytes beyond the image in those sectors are erased too` : ''),
    );
    try {
      if (mass) await client.massErase(part.massEraseMaxMs + 2000);
      else if (toErase.length) await erasePages(client, part, toErase);
    } catch (e) {
      if (e instanceof PackscopeError && e.code === 'DEVICE') {
        throw new PackscopeError(
          'DEVICE',
          `${e.message}. A sector it covers is write-protected (option bytes nWRP): AN3155 Write Unprotect (0x73, e.g. stm32flash -u) clears the protection`,
        );
      }
      throw e;
    }
    progress('erase', toErase.length, toErase.length, { rate: 0, etaSeconds: 0 });
    phasesMs.erase = clock.now() - t1;

    // Write.
    const t2 = clock.now();
    const blocks: Array<{ address: number; data: Uint8Array }> = [];
    for (const s of segments) {
      for (let o = 0; o < s.data.length; o += MAX_BLOCK) blocks.push({ address: s.address + o, data: s.data.subarray(o, o + MAX_BLOCK) });
    }
    const toWrite = blocks.filter((b) => !b.data.every((x) => x === 0xff));
    const writeTotal = toWrite.reduce((n, b) => n + b.data.length, 0);
    const wm = new ProgressMeter(writeTotal, 3000, clock);
    let written = 0;
    // The first block goes split (wait for the address ACK before the data); once the ROM has
    // accepted a write, blocks go in one burst until anything goes wrong.
    let burst = false;
    for (const b of toWrite) {
      checkCancel(`after writing ${written} of ${writeTotal} bytes`);
      const used = await withRetry(client, maxRetries, () => client.writeMemory(b.address, b.data, burst));
      if (used > 0 && burst) {
        burst = false;
        log(`write at ${hex8(b.address)} needed a retry; continuing with a wait for every address ACK`);
      } else if (used === 0 && options.pipeline !== false) burst = true;
      retries += used;
      written += b.data.length;
      progress('write', written, writeTotal, wm.measure(written));
    }
    phasesMs.write = clock.now() - t2;

    // Verify every byte of the image, skipped blocks included: by the ROM's CRC where it offers
    // one, by reading back what the CRC did not prove.
    const t3 = clock.now();
    let verifiedBy: Stm32VerifyMethod | null = null;
    let readBackBytes = 0;
    if (verify) {
      const vm = new ProgressMeter(imageBytes, 3000, clock);
      let checked = 0;
      let readBack = segments;
      let byChecksum = false;
      if (client.supports(CMD.GET_CHECKSUM)) {
        byChecksum = true;
        readBack = [];
        for (const s of segments) {
          checkCancel(`while verifying (${checked} of ${imageBytes} bytes checked)`);
          const got = await romChecksum(client, s.address, s.data.length, maxRetries);
          if (got === null) {
            log('the bootloader refused Get Checksum; verifying by read-back');
            readBack = segments.filter((x) => x.address >= s.address);
            break;
          }
          retries += got.retries;
          if (got.crc === stm32Crc(s.data)) {
            checked += s.data.length;
            progress('verify', checked, imageBytes, vm.measure(checked));
            continue;
          }
          log(`checksum of ${hex8(s.address)}..${hex8(s.address + s.data.length - 1)} differs (0x${got.crc.toString(16).padStart(8, '0')}); reading it back`);
          readBack.push(s);
        }
      }
      for (const b of blocks.filter((b) => readBack.some((s) => b.address >= s.address && b.address < s.address + s.data.length))) {
        checkCancel(`while verifying (${checked} of ${imageBytes} bytes checked)`);
        retries += await verifyBlock(client, b, maxRetries);
        readBackBytes += b.data.length;
        checked += b.data.length;
        progress('verify', checked, imageBytes, vm.measure(checked));
      }
      verifiedBy = !byChecksum ? 'read-back' : readBackBytes > 0 ? 'checksum+read-back' : 'checksum';
    }
    phasesMs.verify = clock.now() - t3;

    let started: number | null = null;
    if (options.goAddress !== undefined && options.goAddress !== null) {
      progress('go', 0, 1, { rate: 0, etaSeconds: null });
      await client.go(options.goAddress);
      started = options.goAddress;
      log(`started the application at ${hex8(started)}`);
    }

    return {
      productId,
      part: part.name,
      bootloaderVersion: version,
      connection,
      erased: toErase.map((p) => ({ index: p.index, address: p.address, size: p.size })),
      collateralErasedBytes: Math.max(0, collateral),
      imageBytes,
      bytesWritten: written,
      blocksWritten: toWrite.length,
      blocksSkipped: blocks.length - toWrite.length,
      verified: verify,
      verifiedBy,
      readBackBytes,
      eraseSkipped,
      retries,
      roundTrips: client.roundTrips,
      started,
      durationMs: clock.now() - t0,
      phasesMs,
    };
  } finally {
    client.dispose();
  }
}

/**
 * Reads a block back until it matches. Read Memory replies carry no checksum: a mismatch is read
 * again before it counts, and a block that keeps differing is programmed once more (harmless when
 * it was right: bits only go from 1 to 0) before the verdict. Returns the retries used.
 */
async function verifyBlock(client: Stm32RomClient, b: { address: number; data: Uint8Array }, maxRetries: number): Promise<number> {
  let retries = 0;
  for (let attempt = 0; ; attempt++) {
    let got: Uint8Array = new Uint8Array(0);
    retries += await withRetry(client, maxRetries, async () => {
      got = await client.readMemory(b.address, b.data.length);
    });
    const mismatch = firstDifference(b.data, got);
    if (mismatch < 0) return retries;
    if (attempt === maxRetries + 1) {
      throw new PackscopeError(
        'VERIFY_FAILED',
        `verify failed at ${hex8(b.address + mismatch)}: wrote 0x${b.data[mismatch]!.toString(16).padStart(2, '0')}, read 0x${got[mismatch]!.toString(16).padStart(2, '0')}` +
          ' (write-protected sector, or flash that was not erased)',
      );
    }
    retries++;
    if (attempt === 1 && !b.data.every((x) => x === 0xff)) {
      retries += await withRetry(client, maxRetries, () => client.writeMemory(b.address, b.data));
    }
  }
}

/** The ROM's CRC of an area, retried through line trouble; null when the ROM refuses the command itself. */
async function romChecksum(client: Stm32RomClient, address: number, length: number, maxRetries: number): Promise<{ crc: number; retries: number } | null> {
  let crc = 0;
  try {
    const retries = await withRetry(client, maxRetries, async () => {
      crc = await client.getChecksum(address, length);
    });
    return { crc, retries };
  } catch (e) {
    if (e instanceof PackscopeError && e.code === 'DEVICE') return null;
    throw e;
  }
}

/** Whether the image is all 0xFF inside page `p` and the flash there already reads 0xFF (by the ROM's CRC). */
async function blankAlready(client: Stm32RomClient, segments: Stm32Segment[], p: PageSpan, maxRetries: number): Promise<boolean> {
  for (const s of segments) {
    const from = Math.max(s.address, p.address);
    const to = Math.min(s.address + s.data.length, p.address + p.size);
    if (from >= to) continue;
    const part = s.data.subarray(from - s.address, to - s.address);
    if (!part.every((x) => x === 0xff)) return false;
    const got = await romChecksum(client, from, to - from, maxRetries);
    if (got === null || got.crc !== stm32Crc(part)) return false;
  }
  return true;
}

function firstDifference(want: Uint8Array, got: Uint8Array): number {
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return i;
  return -1;
}

export function checkImageFits(part: Stm32Part, segments: Stm32Segment[]): void {
  const end = flashEnd(part);
  for (const s of segments) {
    if (s.address < part.flashBase || s.address + s.data.length > end) {
      throw new PackscopeError(
        'REFUSED',
        `image data at ${hex8(s.address)}..${hex8(s.address + s.data.length - 1)} lies outside the flash of ${part.name} (${hex8(part.flashBase)}..${hex8(end - 1)}); use --address to place a .bin`,
      );
    }
  }
}

function describePages(p: PageSpan[]): string {
  if (p.length === 0) return '';
  const first = p[0]!;
  const last = p[p.length - 1]!;
  const idx = p.length === 1 ? `${first.index}` : `${first.index}-${last.index}`;
  return `${idx} (${hex8(first.address)}..${hex8(last.address + last.size - 1)})`;
}

async function erasePages(client: Stm32RomClient, part: Stm32Part, toErase: PageSpan[]): Promise<void> {
  const timeout = (ps: PageSpan[]) => ps.reduce((n, p) => n + p.eraseMaxMs, 0) + 2000;
  if (client.supports(CMD.EXTENDED_ERASE)) {
    // Some ROMs cap one command at 512 pages (STM32L1); stay under it.
    for (let i = 0; i < toErase.length; i += 512) {
      const chunk = toErase.slice(i, i + 512);
      await client.extendedErase(
        chunk.map((p) => p.index),
        timeout(chunk),
      );
    }
    return;
  }
  if (client.supports(CMD.ERASE)) {
    if (toErase.some((p) => p.index > 0xff)) {
      await client.massErase(part.massEraseMaxMs + 2000);
      return;
    }
    for (let i = 0; i < toErase.length; i += 255) {
      const chunk = toErase.slice(i, i + 255);
      await client.legacyErase(
        chunk.map((p) => p.index),
        timeout(chunk),
      );
    }
    return;
  }
  throw new PackscopeError('DEVICE', 'this bootloader offers no erase command');
}

/** Runs one exchange, resynchronising and retrying on line trouble; returns the retries used. */
async function withRetry(client: Stm32RomClient, max: number, fn: () => Promise<void>): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fn();
      return attempt;
    } catch (e) {
      const retryable = e instanceof PackscopeError && (e.code === 'TIMEOUT' || e.code === 'PROTOCOL' || e.code === 'DEVICE');
      if (!retryable || attempt >= max) throw e;
      await client.resync();
    }
  }
}
