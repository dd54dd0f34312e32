import { crc32 } from '../../../shared/protocol/crc32.js';
import type { NorFlash } from '../flash/nor-flash.js';
import type { FlashLayout } from './layout.js';

/**
 * The bootloader's non-volatile state, kept as an append-only journal of fixed 64-byte records in
 * two flash sectors used alternately. Every change appends one whole snapshot (a single page
 * program), so the state moves atomically: a record torn by a power cut fails its CRC and the
 * previous one stands. When a sector fills, the other one is erased and the next snapshot starts
 * it with a higher generation; the sector holding the latest state is never erased.
 */
export type SwapKind = 'test' | 'perm' | 'revert';

export interface SwapProgress {
  kind: SwapKind;
  /** Number of sectors swapped (fixed when the swap starts). */
  sectors: number;
  /** Sector being swapped. */
  index: number;
  /** Steps of that sector already complete: 0 none, 1 secondary→scratch, 2 primary→secondary (3 = sector done). */
  step: number;
}

export type Pending = 'none' | 'test' | 'perm';

export interface BootState {
  /** Lowest security counter an image may carry (raised when an image is confirmed). */
  securityCounter: number;
  /** The primary image runs in test mode; the next boot reverts unless it was confirmed. */
  testing: boolean;
  /** What the next boot does with the secondary image. */
  pending: Pending;
  swap: SwapProgress | null;
  /** Outcome of the last boot decision (BOOT_EVENT code) and, for a refusal, its reason. */
  lastEvent: number;
  lastReason: number;
  /**
   * Bank the image runs from (0: the first slot, 1: the second). A swap bootloader always runs
   * bank 0; a dual-bank one switches it instead of copying images. Records written before banks
   * existed hold 0 in this byte.
   */
  activeBank: 0 | 1;
}

export const BOOT_EVENT = { NONE: 0, BOOTED: 1, SWAPPED_TEST: 2, SWAPPED_PERM: 3, REVERTED: 4, REJECTED: 5, RECOVERED: 6, NO_IMAGE: 7 } as const;

export const INITIAL_STATE: BootState = {
  securityCounter: 0,
  testing: false,
  pending: 'none',
  swap: null,
  lastEvent: BOOT_EVENT.NONE,
  lastReason: 0,
  activeBank: 0,
};

const RECORD = 64;
const MAGIC = 0x53425350; // 'PSBS'
const KINDS: SwapKind[] = ['test', 'perm', 'revert'];
const PENDING: Pending[] = ['none', 'test', 'perm'];

function encode(s: BootState, gen: number, seq: number): Uint8Array {
  const b = new Uint8Array(RECORD);
  const v = new DataView(b.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, gen, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, s.securityCounter, true);
  b[16] = s.testing ? 1 : 0;
  b[17] = PENDING.indexOf(s.pending);
  b[18] = s.swap ? KINDS.indexOf(s.swap.kind) + 1 : 0;
  b[19] = s.swap?.step ?? 0;
  v.setUint16(20, s.swap?.sectors ?? 0, true);
  v.setUint16(22, s.swap?.index ?? 0, true);
  b[24] = s.lastEvent;
  b[25] = s.lastReason;
  b[26] = s.activeBank;
  v.setUint32(RECORD - 4, crc32(b.subarray(0, RECORD - 4)), true);
  return b;
}

function decode(b: Uint8Array): { state: BootState; gen: number; seq: number } | null {
  const v = new DataView(b.buffer, b.byteOffset, RECORD);
  if (v.getUint32(0, true) !== MAGIC) return null;
  if (v.getUint32(RECORD - 4, true) !== crc32(b.subarray(0, RECORD - 4))) return null;
  const kind = b[18]!;
  if (b[17]! > 2 || kind > 3 || b[19]! > 2 || b[26]! > 1) return null;
  return {
    gen: v.getUint32(4, true),
    seq: v.getUint32(8, true),
    state: {
      securityCounter: v.getUint32(12, true),
      testing: b[16] === 1,
      pending: PENDING[b[17]!]!,
      swap: kind ? { kind: KINDS[kind - 1]!, step: b[19]!, sectors: v.getUint16(20, true), index: v.getUint16(22, true) } : null,
      lastEvent: b[24]!,
      lastReason: b[25]!,
      activeBank: b[26] === 1 ? 1 : 0,
    },
  };
}

export class BootJournal {
  private readonly perSector: number;
  constructor(
    private flash: NorFlash,
    private layout: FlashLayout,
  ) {
    this.perSector = layout.sectorSize / RECORD;
  }

  /** The latest valid record: where it is, and the state. */
  private latest(): { sector: 0 | 1; slot: number; gen: number; seq: number; state: BootState } | null {
    let best: { sector: 0 | 1; slot: number; gen: number; seq: number; state: BootState } | null = null;
    for (const which of [0, 1] as const) {
      const base = this.layout.status[which] * this.layout.sectorSize;
      const data = this.flash.view(base, this.layout.sectorSize);
      for (let slot = 0; slot < this.perSector; slot++) {
        const r = decode(data.subarray(slot * RECORD, (slot + 1) * RECORD));
        if (!r) continue;
        if (!best || r.gen > best.gen || (r.gen === best.gen && r.seq > best.seq)) best = { sector: which, slot, ...r };
      }
    }
    return best;
  }

  load(): BootState {
    const l = this.latest();
    return l ? structuredClone(l.state) : structuredClone(INITIAL_STATE);
  }

  /** Appends a snapshot: one program operation, plus one erase when a sector fills. */
  append(state: BootState): void {
    const l = this.latest();
    if (l) {
      const base = this.layout.status[l.sector] * this.layout.sectorSize;
      // The first fully erased slot after the latest record (torn slots are skipped, never reused).
      for (let slot = l.slot + 1; slot < this.perSector; slot++) {
        const a = base + slot * RECORD;
        if (this.flash.isErased(a, RECORD)) {
          this.flash.program(a, encode(state, l.gen, l.seq + 1));
          return;
        }
      }
    }
    const target = l ? ((1 - l.sector) as 0 | 1) : 0;
    this.flash.eraseSector(this.layout.status[target]);
    this.flash.program(this.layout.status[target] * this.layout.sectorSize, encode(state, (l?.gen ?? 0) + 1, 0));
  }
}
