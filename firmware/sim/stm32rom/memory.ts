import type { SimStorage } from '../board.js';
import { Random } from '../../../shared/util/random.js';
import { flashSize, type Stm32DeviceModel } from './device.js';

/**
 * The memories the ROM bootloader can reach: main flash (NOR: erase sets bytes to 0xFF, programming
 * can only clear bits, as on the real part), SRAM, system memory (the ROM itself, read-only), OTP
 * and the option bytes. Flash and option bytes are non-volatile: they live in the board's state
 * directory (or in memory without one) and survive a restart of the simulator.
 */
export type RegionKind = 'flash' | 'ram' | 'system' | 'otp' | 'option' | 'signature';

const FLASH_FILE = 'stm32rom-flash.bin';
const OPTION_FILE = 'stm32rom-option-bytes.bin';

export class Stm32Memory {
  readonly flash: Uint8Array;
  readonly ram: Uint8Array;
  readonly system: Uint8Array;
  readonly otp: Uint8Array;
  /** Unique ID (12 bytes) and flash size register (KiB, little-endian) at 0x1FFF7A10. */
  readonly signature: Uint8Array;
  optionBytes: Uint8Array;
  private persistTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly dev: Stm32DeviceModel,
    private storage: SimStorage | null,
    /** Seeds the 96-bit unique ID, so each simulated board has its own. */
    uidSeed = 0x413,
  ) {
    const size = flashSize(dev);
    const saved = storage?.read(FLASH_FILE) ?? null;
    this.flash = new Uint8Array(size).fill(0xff);
    if (saved) this.flash.set(saved.subarray(0, size));
    const ob = storage?.read(OPTION_FILE) ?? null;
    this.optionBytes = ob && ob.length === dev.optionBytes.size ? new Uint8Array(ob) : dev.options.defaults();
    // SRAM powers up with whatever its cells settle to; deterministic noise stands in for that.
    this.ram = new Uint8Array(dev.ramSize);
    const rng = new Random(0x413);
    for (let i = 0; i < this.ram.length; i++) this.ram[i] = rng.int(256);
    // The ROM's own code is not reproduced; a fixed pattern makes its image stable across runs.
    this.system = new Uint8Array(dev.systemMemory.size);
    const rom = new Random(0xb007);
    for (let i = 0; i < this.system.length; i++) this.system[i] = rom.int(256);
    this.otp = new Uint8Array(dev.otp.size).fill(0xff);
    this.signature = new Uint8Array(dev.signature.size).fill(0xff);
    const uid = new Random(uidSeed);
    for (let i = 0; i < 12; i++) this.signature[dev.signature.uidOffset + i] = uid.int(256);
    const kib = size / 1024;
    this.signature[dev.signature.flashSizeOffset] = kib & 0xff;
    this.signature[dev.signature.flashSizeOffset + 1] = kib >> 8;
  }

  get rdpActive(): boolean {
    return this.dev.options.rdpActive(this.optionBytes);
  }

  /** Whether erase unit (sector or page) `index` is write-protected. */
  sectorWriteProtected(index: number): boolean {
    return this.dev.options.groupProtected(this.optionBytes, Math.floor(index / this.dev.options.unitsPerGroup));
  }

  /** Which memory [address, address+length) falls in entirely, or null if it straddles or misses. */
  regionOf(address: number, length: number): RegionKind | null {
    const end = address + length;
    const within = (base: number, size: number) => address >= base && end <= base + size;
    if (within(this.dev.flashBase, this.flash.length)) return 'flash';
    if (within(this.dev.ramBase, this.dev.ramSize)) return 'ram';
    if (within(this.dev.systemMemory.address, this.dev.systemMemory.size)) return 'system';
    if (within(this.dev.otp.address, this.dev.otp.size)) return 'otp';
    if (within(this.dev.optionBytes.address, this.dev.optionBytes.size)) return 'option';
    if (within(this.dev.signature.address, this.dev.signature.size)) return 'signature';
    return null;
  }

  read(address: number, length: number): Uint8Array | null {
    const kind = this.regionOf(address, length);
    if (kind === null) return null;
    const [buf, base] = this.backing(kind);
    return buf.slice(address - base, address - base + length);
  }

  private backing(kind: RegionKind): [Uint8Array, number] {
    switch (kind) {
      case 'flash':
        return [this.flash, this.dev.flashBase];
      case 'ram':
        return [this.ram, this.dev.ramBase];
      case 'system':
        return [this.system, this.dev.systemMemory.address];
      case 'otp':
        return [this.otp, this.dev.otp.address];
      case 'option':
        return [this.optionBytes, this.dev.optionBytes.address];
      case 'signature':
        return [this.signature, this.dev.signature.address];
    }
  }

  /** Sectors touched by [address, address+length). */
  sectorsOf(address: number, length: number): number[] {
    return this.dev.sectors.filter((s) => address < s.address + s.size && address + length > s.address).map((s) => s.index);
  }

  /** NOR programming: each bit can only go from 1 to 0; a word that was not erased ends up as old AND new. */
  programFlash(address: number, data: Uint8Array): void {
    const off = address - this.dev.flashBase;
    for (let i = 0; i < data.length; i++) this.flash[off + i]! &= data[i]!;
    this.schedulePersist();
  }

  writeRam(address: number, data: Uint8Array): void {
    this.ram.set(data, address - this.dev.ramBase);
  }

  programOtp(address: number, data: Uint8Array): void {
    const off = address - this.dev.otp.address;
    for (let i = 0; i < data.length; i++) this.otp[off + i]! &= data[i]!;
  }

  eraseSector(index: number): void {
    const s = this.dev.sectors[index]!;
    this.flash.fill(0xff, s.address - this.dev.flashBase, s.address - this.dev.flashBase + s.size);
    this.schedulePersist();
  }

  eraseAll(): void {
    this.flash.fill(0xff);
    this.schedulePersist();
  }

  setOptionBytes(ob: Uint8Array): void {
    this.optionBytes = new Uint8Array(ob);
    this.storage?.write(OPTION_FILE, this.optionBytes);
  }

  /**
   * Flash is saved a moment after the last change rather than after every 256-byte block, so a
   * 1 MiB image is not rewritten a thousand times during one download.
   */
  private schedulePersist(): void {
    if (!this.storage || this.persistTimer) return;
    this.persistTimer = setTimeout(() => this.persist(), 300);
  }

  persist(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = null;
    this.storage?.write(FLASH_FILE, this.flash);
  }
}
