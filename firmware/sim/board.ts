import type { Random } from '../../shared/util/random.js';
import type { PackModel } from './pack/types.js';

/**
 * The simulated BMS board: one pack model, one non-volatile store, one identity and key set, seen
 * through whichever personality is on the line. (Contract; the implementation lands beside it.)
 */
export interface BoardIdentity {
  model: string;
  serial: string;
  boardId: string;
  hardwareRevision: string;
  bootloaderVersion: string;
}

/** Non-volatile storage: a --state directory, or memory when none is given. Writes are atomic. */
export interface SimStorage {
  read(name: string): Uint8Array | null;
  write(name: string, data: Uint8Array): void;
  /** Absolute directory, or null for in-memory state. */
  readonly dir: string | null;
}

export interface SimBoard {
  readonly identity: BoardIdentity;
  readonly pack: PackModel;
  readonly storage: SimStorage;
  readonly rng: Random;
}
