import type { DeviceLink } from './line.js';

/**
 * What the simulated board presents on its serial line: the native protocol, a JBD, Daly or JK
 * board, an SLCAN adapter with a CAN bus behind it, or the STM32 ROM bootloader. Each personality
 * is driven by the same board (pack model, flash, keys), so all of them report the same pack.
 */
export interface Personality {
  readonly name: string;
  /** Attaches to a line and starts answering. */
  attach(link: DeviceLink): void;
  /** Stops timers and detaches (board shutdown or power cut). */
  detach(): void;
}
