import { PackscopeError } from '../../../shared/errors.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';
import type { SimBoard, SimStorage } from '../board.js';
import type { DeviceLink } from '../line.js';
import type { Personality } from '../personality.js';
import { STM32_PARTS, STM32F40X, type Stm32DeviceModel } from './device.js';
import { Stm32Memory } from './memory.js';
import { Stm32Rom, type RomExit, type RomOptions } from './rom.js';

/**
 * `packscope sim --personality stm32-rom`: the board's MCU held in its ROM bootloader (BOOT0 high),
 * speaking AN3155 on the serial line. Recovery flashing of a board whose application is broken
 * goes through here. Flash contents persist in the board's state directory, so an image written
 * in one run is there in the next.
 *
 * The real bootloader runs 8E1; a pseudo-terminal cannot carry parity, so hosts talk 8N1 to the
 * pty while the line paces 11-bit characters when its settings say parity 'even'.
 */
export interface Stm32RomPersonalityOptions {
  storage?: SimStorage | null;
  /** Seeds the chip's unique ID (the board's serial number makes it stable per board). */
  uidSeed?: number;
  device?: Stm32DeviceModel;
  /** Flash operations take their datasheet time on this clock (default: the real clock). */
  clock?: Clock;
  /** Replaces the flash-operation wait altogether (tests that skip it). */
  delay?: RomOptions['delay'];
  onExit?: (exit: RomExit) => void;
  trace?: RomOptions['trace'];
}

export class Stm32RomPersonality implements Personality {
  readonly name = 'stm32-rom';
  readonly memory: Stm32Memory;
  readonly device: Stm32DeviceModel;
  private rom: Stm32Rom | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private options: Stm32RomPersonalityOptions = {}) {
    this.device = options.device ?? STM32F40X;
    this.memory = new Stm32Memory(this.device, options.storage ?? null, options.uidSeed);
  }

  get bootloader(): Stm32Rom | null {
    return this.rom;
  }

  attach(link: DeviceLink): void {
    this.detach();
    // The ROM configures its USART for 8E1 whatever the line was before; the line then paces
    // 11-bit characters (a pty still carries 8N1 bytes: it cannot represent parity).
    if (link.settings.parity !== 'even') link.setSettings({ ...link.settings, parity: 'even' });
    const rom = new Stm32Rom(
      this.device,
      this.memory,
      { send: (d) => link.send(d), drained: () => link.drained() },
      { delay: this.options.delay ?? ((ms) => (this.options.clock ?? realClock).sleep(ms)), onExit: this.options.onExit, trace: this.options.trace },
    );
    this.rom = rom;
    this.unsubscribe = link.onReceive((d) => rom.feed(d));
    rom.start();
  }

  /** Reset with BOOT0 high: the ROM starts over and waits for 0x7F. */
  reset(): void {
    this.rom?.reset();
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.rom?.stop();
    this.rom = null;
    this.memory.persist();
  }
}

/** PACKSCOPE_SIM_STM32=f405 (default), f405-crc (its ROM offers Get Checksum) or f103 chooses the part. */
export function createStm32RomPersonality(board: SimBoard): Personality {
  const partName = (process.env.PACKSCOPE_SIM_STM32 ?? 'f405').toLowerCase();
  const device = STM32_PARTS[partName];
  if (!device) throw new PackscopeError('USAGE', `PACKSCOPE_SIM_STM32 must be one of ${Object.keys(STM32_PARTS).join(', ')}, got '${partName}'`);
  let seed = device.productId;
  for (const c of board.identity.serial) seed = (Math.imul(seed, 31) + c.charCodeAt(0)) >>> 0;
  return new Stm32RomPersonality({ storage: board.storage, uidSeed: seed, device, clock: board.clock });
}
