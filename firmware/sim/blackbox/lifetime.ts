/**
 * The board's lifetime counters (PROTOCOL.md 7.7): counted from the pack's physics at every step
 * the board takes (and over the synthesised history of a prefill), kept in non-volatile storage
 * apart from the black-box ring so the ring overwriting its oldest segments loses nothing, and
 * signed by the device key with each checkpoint, bound to the verifier's nonce.
 *
 * The board saves them every minute of its clock and when it stops, as a real board writes its
 * counters to a journal page: a power cut loses at most that minute, which a verifier allows for.
 */
import type { KeyObject } from 'node:crypto';
import { ocvTableFor } from '../../../shared/health/ocv.js';
import {
  encodeLifetime,
  LifetimeTally,
  lifetimeMessage,
  LOW_SOC_PERCENT,
  type LifetimeBinding,
  type LifetimeCounters,
  type LifetimeSample,
} from '../../../shared/health/lifetime.js';
import type { SimBoard } from '../board.js';
import type { PackState } from '../pack/types.js';
import { readJson, writeJson } from '../state.js';
import { signMessage } from './signing-keys.js';

const STATE_NAME = 'lifetime.json';
/** How often the counters reach non-volatile storage, ms of board time. */
export const LIFETIME_SAVE_INTERVAL_MS = 60_000;

interface Stored {
  version: 1;
  counters: LifetimeCounters;
}

export class LifetimeCounterStore {
  private tally: LifetimeTally;
  private since: number;
  private lastSaveMs: number;
  /** True when the counters were created now (no stored copy): a prefill may count its history. */
  readonly fresh: boolean;

  constructor(
    private readonly board: SimBoard,
    nowMs: number,
  ) {
    const stored = readJson<Stored>(board.storage, STATE_NAME);
    if (stored?.version === 1 && stored.counters && typeof stored.counters.sinceMs === 'number') {
      this.tally = LifetimeTally.resume(stored.counters);
      this.since = stored.counters.sinceMs;
      this.fresh = false;
    } else {
      this.tally = new LifetimeTally(boardThresholds(board));
      this.since = nowMs;
      this.fresh = true;
    }
    this.lastSaveMs = nowMs;
  }

  /** When counting began (board RTC, ms). */
  get sinceMs(): number {
    return this.since;
  }

  /** The rating equivalent full cycles are counted against (the certificate's). */
  get ratedCapacityAh(): number {
    return Math.round(this.board.pack.config.capacityAh * 1000) / 1000;
  }

  /** Counts `dtS` seconds of the pack in state `s` (the state at the end of the step). */
  step(state: PackState, dtS: number): void {
    const s = measured(state);
    this.tally.observe(s);
    this.tally.add(s, dtS);
    if (state.timeMs - this.lastSaveMs >= LIFETIME_SAVE_INTERVAL_MS) this.save(state.timeMs);
  }

  /** Counting starts earlier than now: a prefill counts the history it synthesises. */
  countingFrom(fromMs: number): void {
    this.since = Math.min(this.since, fromMs);
  }

  restarted(): void {
    this.tally.restarted();
  }

  counters(): LifetimeCounters {
    return this.tally.counters(this.sinceMs, this.ratedCapacityAh);
  }

  save(nowMs: number): void {
    this.lastSaveMs = nowMs;
    writeJson(this.board.storage, STATE_NAME, { version: 1, counters: this.counters() } satisfies Stored);
  }

  /** The signed statement for a checkpoint (message ‖ signature). */
  sign(binding: LifetimeBinding, deviceKey: KeyObject): Uint8Array {
    const message = lifetimeMessage(binding, this.counters());
    return encodeLifetime(message, signMessage(deviceKey, message));
  }
}

/**
 * The pack as the board measures it: at the resolution its black-box records keep (buildSchemaText:
 * 1 mV, 1 mA, 0.01 %, 0.1 °C), so a band edge splits a counter and a record the same way.
 */
function measured(s: PackState): LifetimeSample {
  const q = (v: number, scale: number) => Math.round(v / scale) * scale;
  return {
    packVoltage: q(s.packVoltage, 0.001),
    current: q(s.current, 0.001),
    soc: q(s.soc, 0.01),
    cellVoltages: s.cellVoltages.map((v) => q(v, 0.001)),
    temperatures: s.temperatures.map((v) => q(v, 0.1)),
    alarms: s.alarms,
  };
}

/** The thresholds the board counts with: rest as the health analysis defines it, the chemistry's empty voltage. */
function boardThresholds(board: SimBoard) {
  const cfg = board.pack.config;
  const empty = ocvTableFor(cfg.chemistry)?.find(([soc]) => soc === 0)?.[1] ?? 2.5;
  return { restCurrentA: Math.max(0.2, 0.01 * cfg.capacityAh), deepDischargeV: empty, lowSocPercent: LOW_SOC_PERCENT };
}
