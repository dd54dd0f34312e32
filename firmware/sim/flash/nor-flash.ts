import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { PackscopeError } from '../../../shared/errors.js';
import { Random } from '../../../shared/util/random.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';

/**
 * A NOR flash model with the properties that make firmware updates hard:
 *  - it is organised in sectors that can only be erased whole (to 0xFF);
 *  - programming can only clear bits (1→0); programming a bit that is 0 back to 1 is refused,
 *    so code that forgets to erase fails here as it would on silicon;
 *  - erase and program take time (typical datasheet figures, scalable, or instant for tests);
 *  - power can be cut at the N-th operation, leaving that operation half done (a prefix of the
 *    bytes changed, one byte with only some of its bits), after which nothing more is written
 *    until power returns — the failure model of MCUboot's simulator.
 * The contents live in a file (positional writes, so an operation costs what it changes) or in memory.
 */
export interface FlashGeometry {
  /** Erase unit, bytes (4 KiB for SPI NOR, 2 KiB pages or 16..128 KiB sectors on MCUs). */
  sectorSize: number;
  sectorCount: number;
  /** Largest program operation (page), bytes; a program crossing pages is split into operations. */
  pageSize: number;
  /** Large erase unit (64 KiB block erase of SPI NOR), a multiple of the sector size; optional. */
  blockSize?: number;
}

export interface FlashTiming {
  sectorEraseMs: number;
  /** Erase time of one block (geometry.blockSize). */
  blockEraseMs: number;
  pageProgramMs: number;
}

/** Typical datasheet figures of a 4 KiB-sector SPI NOR (W25Q64JV: 45 ms sector, 150 ms 64 KiB block, 0.4 ms page). */
export const DEFAULT_TIMING: FlashTiming = { sectorEraseMs: 45, blockEraseMs: 150, pageProgramMs: 0.4 };
export const INSTANT: FlashTiming = { sectorEraseMs: 0, blockEraseMs: 0, pageProgramMs: 0 };

export class PowerLoss extends Error {
  constructor(
    readonly op: number,
    readonly kind: 'erase' | 'program',
  ) {
    super(`power lost during flash operation ${op} (${kind})`);
    this.name = 'PowerLoss';
  }
}

export class FlashError extends PackscopeError {
  constructor(message: string) {
    super('DEVICE', message);
    this.name = 'FlashError';
  }
}

export interface FlashBacking {
  load(size: number): Uint8Array;
  writeAt(offset: number, data: Uint8Array): void;
  close(): void;
}

export class MemoryBacking implements FlashBacking {
  load(size: number): Uint8Array {
    return new Uint8Array(size).fill(0xff);
  }
  writeAt(): void {}
  close(): void {}
}

/** Flash contents in a file (the board's --state directory); created erased on first use. */
export class FileBacking implements FlashBacking {
  private fd: number | null = null;
  constructor(readonly file: string) {}
  load(size: number): Uint8Array {
    const fresh = !existsSync(this.file);
    try {
      this.fd = openSync(this.file, fresh ? 'w+' : 'r+');
      const buf = new Uint8Array(size).fill(0xff);
      const have = fstatSync(this.fd).size;
      if (have > 0) readSync(this.fd, buf, 0, Math.min(have, size), 0);
      if (have !== size) {
        ftruncateSync(this.fd, 0);
        writeSync(this.fd, buf, 0, size, 0);
      }
      return buf;
    } catch (e) {
      throw new PackscopeError('IO', `cannot open flash file ${this.file}: ${(e as Error).message}`);
    }
  }
  writeAt(offset: number, data: Uint8Array): void {
    if (this.fd !== null) writeSync(this.fd, data, 0, data.length, offset);
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export interface FlashOptions {
  geometry: FlashGeometry;
  timing?: FlashTiming;
  backing?: FlashBacking;
  seed?: number;
  /** Where busy time is waited out (default: the real clock; the board's clock on a board). */
  clock?: Clock;
}

export interface FlashStats {
  erases: number;
  programs: number;
  bytesProgrammed: number;
  /** Simulated busy time accumulated, ms. */
  busyMs: number;
}

export class NorFlash {
  readonly geometry: FlashGeometry;
  readonly size: number;
  timing: FlashTiming;
  private mem: Uint8Array;
  private backing: FlashBacking;
  private rng: Random;
  /** Operations performed since creation (erase of one sector or program of one page = 1). */
  opCount = 0;
  private cutAt: number | null = null;
  private dead = false;
  private debtMs = 0;
  private readonly clock: Clock;
  readonly stats: FlashStats = { erases: 0, programs: 0, bytesProgrammed: 0, busyMs: 0 };

  constructor(o: FlashOptions) {
    const g = o.geometry;
    if (!(g.sectorSize > 0 && g.sectorCount > 0 && g.pageSize > 0 && g.sectorSize % g.pageSize === 0)) {
      throw new RangeError('flash geometry: sector size must be a positive multiple of the page size');
    }
    if (g.blockSize !== undefined && !(g.blockSize >= g.sectorSize && g.blockSize % g.sectorSize === 0)) {
      throw new RangeError('flash geometry: block size must be a multiple of the sector size');
    }
    this.geometry = g;
    this.size = g.sectorSize * g.sectorCount;
    this.timing = o.timing ?? DEFAULT_TIMING;
    this.backing = o.backing ?? new MemoryBacking();
    this.mem = this.backing.load(this.size);
    this.rng = new Random(o.seed ?? 0x5eed);
    this.clock = o.clock ?? realClock;
  }

  /** Cuts power during the `op`-th operation from now (1 = the next one); null disarms. */
  armPowerLoss(op: number | null): void {
    this.cutAt = op === null ? null : this.opCount + op;
  }

  /** True after a power cut until powerOn(). */
  get powerLost(): boolean {
    return this.dead;
  }

  /** Power returns (board reboot after a cut); the contents are what the cut left. */
  powerOn(): void {
    this.dead = false;
    this.cutAt = null;
  }

  read(addr: number, length: number): Uint8Array {
    this.check(addr, length);
    return this.mem.slice(addr, addr + length);
  }

  /** A view without copying (hashing large ranges); do not keep it across writes. */
  view(addr: number, length: number): Uint8Array {
    this.check(addr, length);
    return this.mem.subarray(addr, addr + length);
  }

  sectorOf(addr: number): number {
    return Math.floor(addr / this.geometry.sectorSize);
  }

  isErased(addr: number, length: number): boolean {
    this.check(addr, length);
    for (let i = addr; i < addr + length; i++) if (this.mem[i] !== 0xff) return false;
    return true;
  }

  /** Erases one sector: one operation. */
  eraseSector(sector: number): void {
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.geometry.sectorCount) {
      throw new FlashError(`erase: sector ${sector} does not exist (0..${this.geometry.sectorCount - 1})`);
    }
    this.eraseUnit(sector * this.geometry.sectorSize, this.geometry.sectorSize, this.timing.sectorEraseMs);
  }

  /** Erases one block (geometry.blockSize, block-aligned address): one operation. */
  eraseBlock(addr: number): void {
    const bs = this.geometry.blockSize;
    if (!bs) throw new FlashError('erase: this device has no block erase');
    if (addr % bs !== 0 || addr < 0 || addr + bs > this.size) throw new FlashError(`erase: 0x${addr.toString(16)} is not the start of a ${bs}-byte block`);
    this.eraseUnit(addr, bs, this.timing.blockEraseMs);
  }

  private eraseUnit(start: number, len: number, ms: number): void {
    const op = this.beginOp('erase');
    if (op.cut) {
      // Half-erased: a prefix erased, one byte with some bits set, the rest as it was.
      const k = this.rng.int(len);
      this.mem.fill(0xff, start, start + k);
      this.mem[start + k] = this.mem[start + k]! | this.rng.int(256);
      this.backing.writeAt(start, this.mem.subarray(start, start + len));
      throw new PowerLoss(this.opCount, 'erase');
    }
    this.mem.fill(0xff, start, start + len);
    this.backing.writeAt(start, this.mem.subarray(start, start + len));
    this.stats.erases++;
    this.spend(ms);
  }

  /** Erases every sector overlapping [addr, addr+length): one operation per sector. */
  eraseRange(addr: number, length: number): void {
    this.check(addr, length);
    if (length === 0) return;
    const first = this.sectorOf(addr);
    const last = this.sectorOf(addr + length - 1);
    for (let s = first; s <= last; s++) this.eraseSector(s);
  }

  /**
   * Programs bytes; one operation per page touched. Refuses (before changing anything) to set a
   * bit that is 0: flash must be erased first.
   */
  program(addr: number, data: Uint8Array): void {
    this.check(addr, data.length);
    for (let i = 0; i < data.length; i++) {
      const old = this.mem[addr + i]!;
      if ((data[i]! & ~old & 0xff) !== 0) {
        throw new FlashError(
          `program at 0x${(addr + i).toString(16)}: byte 0x${old.toString(16).padStart(2, '0')} is not erased (cannot set bits to 1 without an erase)`,
        );
      }
    }
    const page = this.geometry.pageSize;
    let p = 0;
    while (p < data.length) {
      const a = addr + p;
      const n = Math.min(data.length - p, page - (a % page));
      const op = this.beginOp('program');
      if (op.cut) {
        const k = this.rng.int(n);
        for (let i = 0; i < k; i++) this.mem[a + i] = this.mem[a + i]! & data[p + i]!;
        // The byte being written when power failed gets only some of its zero bits.
        this.mem[a + k] = this.mem[a + k]! & (data[p + k]! | this.rng.int(256));
        this.backing.writeAt(a, this.mem.subarray(a, a + n));
        throw new PowerLoss(this.opCount, 'program');
      }
      for (let i = 0; i < n; i++) this.mem[a + i] = this.mem[a + i]! & data[p + i]!;
      this.backing.writeAt(a, this.mem.subarray(a, a + n));
      this.stats.programs++;
      this.stats.bytesProgrammed += n;
      this.spend(this.timing.pageProgramMs);
      p += n;
    }
  }

  /**
   * Waits out the busy time of the operations done since the last call (the simulated board calls
   * this between operations so erase and program take time on its clock). Instant timing never waits.
   */
  async settle(): Promise<void> {
    const ms = this.debtMs;
    this.debtMs = 0;
    if (ms >= 1) await this.clock.sleep(ms);
    else if (ms > 0) this.debtMs = ms; // carry sub-millisecond debt until it adds up
  }

  /** The whole device contents (a programmer's read-out). */
  dump(): Uint8Array {
    return this.mem.slice();
  }

  /** Replaces the whole contents, as a programmer would (not counted as operations; tests and factory setup). */
  restore(contents: Uint8Array): void {
    if (contents.length !== this.size) throw new FlashError(`restore: ${contents.length} bytes for a ${this.size}-byte device`);
    this.mem.set(contents);
    this.backing.writeAt(0, this.mem);
  }

  close(): void {
    this.backing.close();
  }

  private beginOp(kind: 'erase' | 'program'): { cut: boolean } {
    if (this.dead) throw new PowerLoss(this.opCount, kind);
    this.opCount++;
    if (this.cutAt !== null && this.opCount >= this.cutAt) {
      this.dead = true;
      return { cut: true };
    }
    return { cut: false };
  }

  private spend(ms: number): void {
    this.stats.busyMs += ms;
    this.debtMs += ms;
  }

  private check(addr: number, length: number): void {
    if (!Number.isInteger(addr) || !Number.isInteger(length) || addr < 0 || length < 0 || addr + length > this.size) {
      throw new FlashError(`flash access ${addr}+${length} is outside the ${this.size}-byte device`);
    }
  }
}
