/**
 * The STM32 part the simulated ROM bootloader belongs to: an STM32F405/407 (product ID 0x413),
 * the family most BMS main boards of this class use. Every figure below comes from ST's documents
 * so that erase and program times seen through the simulator are the ones a real board gives:
 *  - memory map and sector layout: RM0090 §3.3 (table 5, "Flash module organisation");
 *  - bootloader version, command set, reserved RAM: AN2606 (STM32F40xxx/41xxx, USART bootloader V3.1);
 *  - flash timing at 2.7–3.6 V (x32 program/erase parallelism, the ROM's setting at 3.3 V):
 *    STM32F405xx datasheet table "Flash memory programming": word program 16 µs typ, sector erase
 *    16 KB 250 ms / 64 KB 550 ms / 128 KB 1 s typ, mass erase 8 s typ.
 */
export interface SectorInfo {
  index: number;
  address: number;
  size: number;
  /** Typical erase time of this sector, ms. */
  eraseMs: number;
}

export interface Stm32DeviceModel {
  name: string;
  productId: number;
  bootloaderVersion: number;
  /** Command codes answered by Get, in the order the ROM lists them. */
  commands: readonly number[];
  flashBase: number;
  sectors: readonly SectorInfo[];
  /** Typical time to program one 32-bit word, µs. */
  wordProgramUs: number;
  /** Time the ROM takes per 32-bit word to run memory through its CRC unit (Get Checksum), µs. */
  checksumWordUs: number;
  massEraseMs: number;
  /** Option-byte programming (RDP/WRP change), ms: an erase and program of the option sector. */
  optionProgramMs: number;
  ramBase: number;
  ramSize: number;
  /** RAM below this address belongs to the ROM bootloader (writes are refused). */
  ramUserStart: number;
  systemMemory: { address: number; size: number };
  otp: { address: number; size: number };
  optionBytes: { address: number; size: number };
  /** Device electronic signature: 96-bit unique ID and the flash size register (KiB). */
  signature: { address: number; size: number; uidOffset: number; flashSizeOffset: number };
  options: OptionByteFormat;
}

/** How a family encodes readout and write protection in its option bytes. */
export interface OptionByteFormat {
  defaults(): Uint8Array;
  rdpActive(ob: Uint8Array): boolean;
  withRdp(ob: Uint8Array, active: boolean): Uint8Array;
  /** Number of write-protection groups (the codes Write Protect takes). */
  groups: number;
  /** Flash erase units covered by one protection group. */
  unitsPerGroup: number;
  groupProtected(ob: Uint8Array, group: number): boolean;
  withProtection(ob: Uint8Array, groups: number[] | 'none'): Uint8Array;
}

function f4Sectors(): SectorInfo[] {
  const sizes = [16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128];
  const out: SectorInfo[] = [];
  let address = 0x0800_0000;
  sizes.forEach((kib, index) => {
    out.push({ index, address, size: kib * 1024, eraseMs: kib === 16 ? 250 : kib === 64 ? 550 : 1000 });
    address += kib * 1024;
  });
  return out;
}

export const STM32F40X: Stm32DeviceModel = {
  name: 'STM32F40xxx/41xxx',
  productId: 0x413,
  bootloaderVersion: 0x31,
  commands: [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92],
  flashBase: 0x0800_0000,
  sectors: f4Sectors(),
  wordProgramUs: 16,
  // A flash read with wait states plus the CRC unit's 4 AHB cycles, from the 16 MHz HSI.
  checksumWordUs: 0.5,
  massEraseMs: 8000,
  optionProgramMs: 250,
  ramBase: 0x2000_0000,
  ramSize: 128 * 1024,
  ramUserStart: 0x2000_3000,
  systemMemory: { address: 0x1fff_0000, size: 30 * 1024 },
  otp: { address: 0x1fff_7800, size: 528 },
  optionBytes: { address: 0x1fff_c000, size: 16 },
  signature: { address: 0x1fff_7a10, size: 20, uidOffset: 0, flashSizeOffset: 0x12 },
  options: {
    // RM0090 §3.6.1: USER 0xEC, RDP 0xAA = level 0, nWRP[11:0] (bit clear = sector protected).
    defaults: () => {
      const ob = new Uint8Array(16).fill(0xff);
      ob[0] = 0xec;
      ob[1] = 0xaa;
      ob[9] = 0x0f;
      return ob;
    },
    rdpActive: (ob) => ob[1] !== 0xaa,
    withRdp: (ob, active) => {
      const out = new Uint8Array(ob);
      out[1] = active ? 0x55 : 0xaa; // anything but 0xAA (and 0xCC, level 2) is level 1
      return out;
    },
    groups: 12,
    unitsPerGroup: 1,
    groupProtected: (ob, g) => ((ob[8]! | (ob[9]! << 8)) & (1 << g)) === 0,
    withProtection: (ob, groups) => {
      const out = new Uint8Array(ob);
      let nwrp = groups === 'none' ? 0x0fff : out[8]! | (out[9]! << 8);
      if (groups !== 'none') for (const g of groups) nwrp &= ~(1 << g);
      out[8] = nwrp & 0xff;
      out[9] = (nwrp >> 8) & 0x0f;
      return out;
    },
  },
};

/**
 * STM32F103x8/B (medium density, product ID 0x410), USART bootloader V2.2 (AN2606): 128 pages of
 * 1 KiB, legacy Erase (0x43) only. Datasheet DS5319: half-word program 52.5 µs typ (105 µs per
 * 32-bit word); page and mass erase 20–40 ms (no typical given: 30 ms used).
 */
export const STM32F10X_MD: Stm32DeviceModel = {
  name: 'STM32F10xxx medium-density',
  productId: 0x410,
  bootloaderVersion: 0x22,
  commands: [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x43, 0x63, 0x73, 0x82, 0x92],
  flashBase: 0x0800_0000,
  sectors: Array.from({ length: 128 }, (_, index) => ({ index, address: 0x0800_0000 + index * 1024, size: 1024, eraseMs: 30 })),
  wordProgramUs: 105,
  checksumWordUs: 0.5,
  massEraseMs: 30,
  optionProgramMs: 60,
  ramBase: 0x2000_0000,
  ramSize: 20 * 1024,
  ramUserStart: 0x2000_0200,
  systemMemory: { address: 0x1fff_f000, size: 2048 },
  otp: { address: 0x1fff_f7d0, size: 0 },
  optionBytes: { address: 0x1fff_f800, size: 16 },
  signature: { address: 0x1fff_f7e0, size: 20, uidOffset: 8, flashSizeOffset: 0 },
  options: {
    // RM0008 §2.5: RDP 0xA5 (complement 0x5A) = unprotected; WRP0..3 at bytes 8/10/12/14, one
    // bit per 4 pages on medium density (bit clear = protected), each followed by its complement.
    defaults: () => Uint8Array.from([0xa5, 0x5a, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00]),
    rdpActive: (ob) => ob[0] !== 0xa5,
    withRdp: (ob, active) => {
      const out = new Uint8Array(ob);
      out[0] = active ? 0x00 : 0xa5;
      out[1] = active ? 0xff : 0x5a;
      return out;
    },
    groups: 32,
    unitsPerGroup: 4,
    groupProtected: (ob, g) => (ob[8 + 2 * (g >> 3)]! & (1 << (g & 7))) === 0,
    withProtection: (ob, groups) => {
      const out = new Uint8Array(ob);
      for (let i = 0; i < 4; i++) {
        if (groups === 'none') out[8 + 2 * i] = 0xff;
      }
      if (groups !== 'none') for (const g of groups) out[8 + 2 * (g >> 3)]! &= ~(1 << (g & 7));
      for (let i = 0; i < 4; i++) out[9 + 2 * i] = ~out[8 + 2 * i]! & 0xff;
      return out;
    },
  },
};

/**
 * The F40x behind a ROM revision whose Get lists Get Checksum (0xA1, AN3155): the same part, sector
 * layout and timing, one more command (bootloader v3.3 in the Get reply). Hosts that verify with
 * the ROM's CRC instead of reading everything back are measured against this one; the plain F40x
 * is the ROM without it.
 */
export const STM32F40X_CHECKSUM: Stm32DeviceModel = {
  ...STM32F40X,
  name: 'STM32F40xxx/41xxx (ROM with Get Checksum)',
  bootloaderVersion: 0x33,
  commands: [...STM32F40X.commands, 0xa1],
};

/** Parts `packscope sim --personality stm32-rom` can be (PACKSCOPE_SIM_STM32=f405|f405-crc|f103). */
export const STM32_PARTS: Record<string, Stm32DeviceModel> = { f405: STM32F40X, 'f405-crc': STM32F40X_CHECKSUM, f103: STM32F10X_MD };

export function flashSize(dev: Stm32DeviceModel): number {
  return dev.sectors.reduce((n, s) => n + s.size, 0);
}
