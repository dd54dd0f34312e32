import { PackscopeError } from '../../../shared/errors.js';
import type { SimBoard } from '../board.js';
import { createPackModel } from '../pack/index.js';
import type { PackModel, PackState } from '../pack/types.js';
import type { PersonalityOptions } from '../personalities.js';

/**
 * The packs of a simulated bus (several Daly boards or Pylontech modules on one RS485 pair). The
 * first is the board's own pack; the others are packs of the same build with their own seed and
 * start SOC, stepped by the board's ticks, so a board whose clock is held keeps all of them still.
 */
export interface BusPack {
  /** 0-based position on the bus. */
  readonly index: number;
  readonly pack: PackModel;
  state(): PackState;
}

export const MAX_BUS_PACKS = 16;

export function busPacks(board: SimBoard, options: PersonalityOptions = {}, fallbackCount = 1): BusPack[] {
  const count = options.packs ?? fallbackCount;
  if (!Number.isInteger(count) || count < 1 || count > MAX_BUS_PACKS)
    throw new PackscopeError('USAGE', `packs on one bus: 1 to ${MAX_BUS_PACKS}, got ${count}`);
  const soc = options.packSoc ?? [];
  if (soc.length > count) throw new PackscopeError('USAGE', `${soc.length} start SOCs given for ${count} pack(s)`);
  const base = board.pack.config;
  const first = board.pack.state().soc;
  const packs: BusPack[] = [{ index: 0, pack: board.pack, state: () => board.pack.state() }];
  for (let i = 1; i < count; i++) {
    // Packs bought together sit within a few percent of each other unless told otherwise.
    const pack = createPackModel({ ...base, seed: base.seed + 7919 * i, initialSoc: soc[i] ?? Math.max(5, Math.min(95, first + ((i % 3) - 1) * 2)) });
    packs.push({ index: i, pack, state: () => pack.state() });
  }
  if (packs.length > 1) {
    board.onTick((_s, _e, dt) => {
      for (const p of packs.slice(1)) p.pack.step(dt);
    });
  }
  return packs;
}
