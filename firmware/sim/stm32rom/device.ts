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
  /** Device electronic signature: 96-bit unique ID, then the flash size in KiB (RM0090 §39). */
  signature: { address: number; size: number };
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
  massEraseMs: 8000,
  optionProgramMs: 250,
  ramBase: 0x2000_0000,
  ramSize: 128 * 1024,
  ramUserStart: 0x2000_3000,
  systemMemory: { address: 0x1fff_0000, size: 30 * 1024 },
  otp: { address: 0x1fff_7800, size: 528 },
  optionBytes: { address: 0x1fff_c000, size: 16 },
  signature: { address: 0x1fff_7a10, size: 20 },
};

export function flashSize(dev: Stm32DeviceModel): number {
  return dev.sectors.reduce((n, s) => n + s.size, 0);
}

/** Factory option bytes (RM0090 §3.6.1): USER 0xEC, RDP 0xAA (level 0), nWRP all ones (no protection). */
export function defaultOptionBytes(): Uint8Array {
  const ob = new Uint8Array(16).fill(0xff);
  ob[0] = 0xec; // USER: WDG_SW, nRST_STOP, nRST_STDBY set; BOR off
  ob[1] = 0xaa; // RDP level 0
  ob[8] = 0xff; // nWRP[7:0]
  ob[9] = 0x0f; // nWRP[11:8]
  return ob;
}

export const RDP_LEVEL0 = 0xaa;
