import type { SimBoard } from './board.js';
import type { Personality } from './personality.js';

/**
 * Personalities `packscope sim --personality NAME` can present. Loaded lazily so the native board
 * never pays for the CAN bus or the ROM bootloader it is not using.
 */
export type PersonalityFactory = (board: SimBoard) => Personality | Promise<Personality>;

export const PERSONALITIES: Record<string, () => Promise<PersonalityFactory>> = {
  jbd: async () => (await import('./bms/jbd.js')).createJbdPersonality,
  daly: async () => (await import('./bms/daly.js')).createDalyPersonality,
  jk: async () => (await import('./bms/jk.js')).createJkPersonality,
  native: async () => (await import('./native/personality.js')).createNativePersonality,
  slcan: async () => (await import('./can/slcan-personality.js')).createSlcanPersonality,
  'stm32-rom': async () => (await import('./stm32rom/rom-personality.js')).createStm32RomPersonality,
};
