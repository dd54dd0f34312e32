/**
 * The host's side of the guided capacity test: starts the test on a native board, follows it
 * (polling its status on the injected clock, so a unit test runs hours of a test on virtual time),
 * reports progress, aborts it when the user cancels, and reads the result. The board runs the
 * sequence and stops it at any protection event; the result is what the board counted, and its
 * black box holds the signed records and phase events a verifier integrates again.
 */
import { PackscopeError } from '../../../shared/errors.js';
import {
  CAPACITY_TEST_CMD,
  CAPACITY_TEST_DEFAULTS,
  CAPACITY_TEST_START,
  CAPACITY_TEST_STATUS,
  DEFAULT_END_CELL_V,
  type CapacityTestStart,
  type CapacityTestState,
  type CapacityTestStatus,
} from '../../../shared/health/capacity-test.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';
import type { TransferProgress } from '../../../shared/types/domain.js';

/** What the service needs of a native board: one request at a time. */
export interface CapacityTestLink {
  request(cmd: number, payload?: Uint8Array): Promise<Uint8Array>;
}

export interface CapacityTestRating {
  /** Rated capacity, Ah (the board's identity or certificate). */
  ratedCapacityAh: number;
  chemistry: string;
}

export interface CapacityTestOptions {
  /** Discharge current, A (default 0.2C of the rating). */
  dischargeA?: number;
  /** End voltage of the lowest cell under load, V (default by chemistry). */
  endCellV?: number;
  /** Charge current, A (default 0.5C; the board tapers it in CV and caps it at its own limit). */
  chargeA?: number;
  /** Rest after the full charge and after the discharge, s (default 1800). */
  restS?: number;
  /** How often to ask the board, ms of the clock (default 2000). */
  pollMs?: number;
  clock?: Clock;
  /** Cancels the test: the board is told to abort, and the run ends CANCELLED. */
  signal?: AbortSignal;
  onProgress?: (p: CapacityTestProgress) => void;
}

export interface CapacityTestProgress {
  state: CapacityTestState;
  /** Seconds of board time in the test and in the current phase. */
  elapsedS: number;
  phaseElapsedS: number;
  dischargedAh: number;
  packV: number;
  currentA: number;
  minCellV: number;
  maxCellV: number;
  soc: number;
  /** Fraction of the whole test done, 0…1 (an estimate: the charge's length is not known ahead). */
  fraction: number;
}

export interface CapacityTestResult {
  outcome: 'complete' | 'aborted';
  settings: CapacityTestStart;
  /** Discharged charge and energy from full to the end voltage, Ah and Wh (partial when aborted). */
  capacityAh: number;
  energyWh: number;
  ratedCapacityAh: number;
  /** capacityAh over the rating, percent. */
  percentOfRated: number;
  /** Rested pack voltage after the discharge, V (null when aborted before it). */
  restedV: number | null;
  /** Board RTC at start and end, ms since the epoch. */
  startedMs: number;
  endedMs: number;
  /** Why the board stopped an aborted test. */
  reason: string | null;
}

/** The settings a test runs with: the caller's, else the defaults for the pack's rating. */
export function capacityTestSettings(rating: CapacityTestRating, o: CapacityTestOptions = {}): CapacityTestStart {
  const C = rating.ratedCapacityAh;
  if (!(C > 0)) throw new PackscopeError('USAGE', 'the board does not state its rated capacity: give the discharge current');
  const endCellV = o.endCellV ?? DEFAULT_END_CELL_V[rating.chemistry];
  if (endCellV === undefined) throw new PackscopeError('USAGE', `no default end voltage for chemistry '${rating.chemistry}': give the end voltage`);
  return {
    dischargeA: o.dischargeA ?? round3(CAPACITY_TEST_DEFAULTS.dischargeC * C),
    endCellV,
    chargeA: o.chargeA ?? round3(CAPACITY_TEST_DEFAULTS.chargeC * C),
    restS: o.restS ?? CAPACITY_TEST_DEFAULTS.restS,
  };
}

const RUNNING: readonly CapacityTestState[] = ['charging', 'resting-full', 'discharging', 'resting-empty'];

export async function runCapacityTest(link: CapacityTestLink, rating: CapacityTestRating, options: CapacityTestOptions = {}): Promise<CapacityTestResult> {
  const clock = options.clock ?? realClock;
  const pollMs = options.pollMs ?? 2000;
  const settings = capacityTestSettings(rating, options);
  const signal = options.signal;
  if (signal?.aborted) throw new PackscopeError('CANCELLED', 'capacity test cancelled');
  let status = CAPACITY_TEST_STATUS.decode(await link.request(CAPACITY_TEST_CMD.START, CAPACITY_TEST_START.encode(settings)));
  for (;;) {
    options.onProgress?.(progressOf(status, rating.ratedCapacityAh));
    if (!RUNNING.includes(status.state)) break;
    await clock.sleep(pollMs, signal);
    if (signal?.aborted) {
      // The board must not keep charging or discharging a pack nobody watches any more.
      await link.request(CAPACITY_TEST_CMD.ABORT).catch(() => undefined);
      throw new PackscopeError('CANCELLED', 'capacity test cancelled; the board stopped it');
    }
    status = CAPACITY_TEST_STATUS.decode(await link.request(CAPACITY_TEST_CMD.STATUS));
  }
  return resultOf(status, rating.ratedCapacityAh);
}

function resultOf(s: CapacityTestStatus, ratedAh: number): CapacityTestResult {
  if (s.state !== 'complete' && s.state !== 'aborted') throw new PackscopeError('PROTOCOL', `the board ended the capacity test in state '${s.state}'`);
  return {
    outcome: s.state,
    settings: s.settings,
    capacityAh: s.dischargedAh,
    energyWh: s.dischargedWh,
    ratedCapacityAh: ratedAh,
    percentOfRated: ratedAh > 0 ? (100 * s.dischargedAh) / ratedAh : 0,
    restedV: s.state === 'complete' ? s.restedV : null,
    startedMs: s.startedMs,
    endedMs: s.phaseStartedMs,
    reason: s.state === 'aborted' ? s.reason : null,
  };
}

/**
 * Progress as a fraction: charge and rests by time (the charge counted as the time from the pack's
 * SOC to full at the charge current), the discharge by charge against the rating.
 */
export function progressOf(s: CapacityTestStatus, ratedAh: number): CapacityTestProgress {
  const { dischargeA, chargeA, restS } = s.settings;
  const chargeS = chargeA > 0 ? (3600 * ratedAh) / chargeA / 2 : 0;
  const dischargeS = dischargeA > 0 ? (3600 * ratedAh) / dischargeA : 0;
  const total = chargeS + 2 * restS + dischargeS || 1;
  const phaseElapsedS = Math.max(0, (s.nowMs - s.phaseStartedMs) / 1000);
  const before: Record<CapacityTestState, number> = {
    idle: 0,
    charging: 0,
    'resting-full': chargeS,
    discharging: chargeS + restS,
    'resting-empty': chargeS + restS + dischargeS,
    complete: total,
    aborted: 0,
  };
  const within: Record<CapacityTestState, number> = {
    idle: 0,
    charging: Math.min(phaseElapsedS, chargeS * 0.95),
    'resting-full': Math.min(phaseElapsedS, restS),
    discharging: Math.min(dischargeS * 0.99, ratedAh > 0 ? (s.dischargedAh / ratedAh) * dischargeS : 0),
    'resting-empty': Math.min(phaseElapsedS, restS),
    complete: 0,
    aborted: 0,
  };
  return {
    state: s.state,
    elapsedS: s.startedMs > 0 ? Math.max(0, (s.nowMs - s.startedMs) / 1000) : 0,
    phaseElapsedS,
    dischargedAh: s.dischargedAh,
    packV: s.packV,
    currentA: s.currentA,
    minCellV: s.minCellV,
    maxCellV: s.maxCellV,
    soc: s.soc,
    fraction: Math.min(1, (before[s.state] + within[s.state]) / total),
  };
}

/** Each state in words, for a progress line. */
export const CAPACITY_TEST_PHASE_WORDS: Record<CapacityTestState, string> = {
  idle: 'idle',
  charging: 'charging to full',
  'resting-full': 'resting after the charge',
  discharging: 'discharging',
  'resting-empty': 'resting after the discharge',
  complete: 'complete',
  aborted: 'aborted',
};

/** Progress as a job shows it: thousandths of the test, and the phase with the pack's figures. */
export function capacityTestJobProgress(p: CapacityTestProgress): TransferProgress {
  const pack = `${p.packV.toFixed(1)} V, ${p.currentA.toFixed(1)} A, SOC ${p.soc.toFixed(0)} %`;
  const discharged = p.state === 'discharging' || p.state === 'resting-empty' ? `, ${p.dischargedAh.toFixed(1)} Ah discharged` : '';
  return { done: Math.round(1000 * p.fraction), total: 1000, rate: 0, etaSeconds: null, phase: `${CAPACITY_TEST_PHASE_WORDS[p.state]}: ${pack}${discharged}` };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
