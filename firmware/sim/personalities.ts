import type { SimBoard } from './board.js';
import type { Personality } from './personality.js';

/**
 * Personalities `packscope sim --personality NAME` can present. Loaded lazily so the native board
 * never pays for the CAN bus or the ROM bootloader it is not using.
 */
export type PersonalityFactory = (board: SimBoard, options?: PersonalityOptions) => Personality | Promise<Personality>;

/** Options of the personalities that put several packs on one bus (Daly, Pylontech RS485). */
export interface PersonalityOptions {
  /** Packs on the bus (default 1; Pylontech RS485: 3 modules). */
  packs?: number;
  /** Start SOC of each pack, percent (the first is the board's own pack). */
  packSoc?: number[];
  /**
   * A simulated inverter masters the bus and polls every pack this often (ms): its requests and
   * the packs' answers both go out on the line, as a listener on a real RS485 pair hears them.
   */
  inverterPollMs?: number;
}

export const PERSONALITIES: Record<string, () => Promise<PersonalityFactory>> = {
  // One board per line: the bus options do not apply.
  jbd: async () =>
    (
      (create) => (board: SimBoard) =>
        create(board)
    )((await import('./bms/jbd.js')).createJbdPersonality),
  daly: async () => (await import('./bms/daly.js')).createDalyPersonality,
  jk: async () =>
    (
      (create) => (board: SimBoard) =>
        create(board)
    )((await import('./bms/jk.js')).createJkPersonality),
  'pylontech-rs485': async () => (await import('./bms/pylontech-rs485.js')).createPylonRs485Personality,
  native: async () => (await import('./native/personality.js')).createNativePersonality,
  slcan: async () => (await import('./can/slcan-personality.js')).createSlcanPersonality,
  'stm32-rom': async () => (await import('./stm32rom/rom-personality.js')).createStm32RomPersonality,
};
