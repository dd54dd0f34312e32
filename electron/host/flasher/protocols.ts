import type { CliContext } from '../cli/context.js';
import type { FirmwareTarget } from './target.js';

/**
 * Flash protocols `packscope flash --protocol P` can use. One line per protocol, loaded lazily.
 *
 * A backend either opens a FirmwareTarget (MCUboot images: the common flasher then does checks,
 * resume, upload, read-back verification, test boot and confirm, with the same progress and
 * report for every transport), or runs its own flow (`run`, for raw binaries such as the STM32
 * ROM bootloader).
 */
export type FlashProtocol = 'native' | 'stm32-rom' | 'uds';

export interface FlashInvocation {
  port: string;
  /** Image or firmware file. */
  file: string;
  confirm: boolean;
  /** --trust PUB.pem files. */
  trust: string[];
  json: boolean;
  compress: boolean;
  baud?: number;
  /** Every option as parsed, protocol-specific ones included. */
  values: Record<string, string | boolean | string[] | undefined>;
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export interface OpenedTarget {
  target: FirmwareTarget;
  /** Line rate of the connection in bytes/s (for the report), if known. */
  lineBytesPerSecond?: number;
  close(): Promise<void>;
}

export interface FlashBackend {
  /** Extra usage text for `flash --help`. */
  usage: string;
  /** Options this protocol adds to `flash`. */
  options?: OptionSpec;
  openTarget?(inv: FlashInvocation, ctx: CliContext): Promise<OpenedTarget>;
  run?(inv: FlashInvocation, ctx: CliContext): Promise<number>;
}

export const FLASH_PROTOCOLS: Partial<Record<FlashProtocol, () => Promise<{ default: FlashBackend }>>> = {
  native: () => import('./native-backend.js'),
  'stm32-rom': () => import('../stm32/flash-backend.js'),
  uds: () => import('../can/flash-backend.js'),
};
