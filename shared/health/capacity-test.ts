/**
 * The guided capacity test (PROTOCOL.md §5.2.1): commands and payload codecs, and what a test
 * leaves in the black box. The board runs the sequence itself — full charge (CC/CV), rest,
 * discharge at a constant current until the lowest cell reaches the end voltage, rest — because
 * only the board sees every step of its coulomb counter and can stop the load the instant a
 * protection trips. The host starts it, watches its progress and can abort it.
 *
 * The board marks each phase with a black-box event, so the signed records between
 * `capacity_test_discharge` and `capacity_test_end_voltage` are the measurement itself: a verifier
 * integrates them (CapacityTestFinder) and needs to trust no number the board merely states.
 */
import { DecodeError } from '../errors.js';
import type { ByteReader, ByteWriter } from '../protocol/bytes-io.js';
import { codec } from '../protocol/codec.js';
import { CMD } from '../protocol/constants.js';
import { EVENTS } from '../blackbox/events.js';

export const CAPACITY_TEST_CMD = {
  START: CMD.CAPACITY_TEST_START,
  STATUS: CMD.CAPACITY_TEST_STATUS,
  ABORT: CMD.CAPACITY_TEST_ABORT,
} as const;

/**
 * Defaults of a bench capacity test: 0.2C, the rate datasheets rate capacity at (IEC 61960); the
 * BMS's own charge limit; half an hour of rest, enough for the cells' polarisation to fade; the
 * chemistry's usual end-of-discharge voltage, above the BMS's under-voltage alarm.
 */
export const CAPACITY_TEST_DEFAULTS = { dischargeC: 0.2, chargeC: 0.5, restS: 1800 } as const;
export const DEFAULT_END_CELL_V: Readonly<Record<string, number>> = { lfp: 2.8, nmc: 3.0 };

/** Where a test is; `complete` and `aborted` stay until the next start. */
export const CAPACITY_TEST_STATES = ['idle', 'charging', 'resting-full', 'discharging', 'resting-empty', 'complete', 'aborted'] as const;
export type CapacityTestState = (typeof CAPACITY_TEST_STATES)[number];

export interface CapacityTestStart {
  /** Discharge current, A (positive). */
  dischargeA: number;
  /** The discharge ends when the lowest cell, under load, reaches this, V. */
  endCellV: number;
  /** Charge current of the full charge, A (the board tapers it in CV). */
  chargeA: number;
  /** Rest after the full charge and after the discharge, s. */
  restS: number;
}

export interface CapacityTestStatus {
  state: CapacityTestState;
  /** Test settings (zeros when idle and never started). */
  settings: CapacityTestStart;
  /** Board RTC when the test started and when its current phase started, ms. */
  startedMs: number;
  phaseStartedMs: number;
  /** Board RTC now, ms. */
  nowMs: number;
  /** Charge and energy the board counted in the discharge phase so far, Ah and Wh. */
  dischargedAh: number;
  dischargedWh: number;
  /** Pack now: V, A (positive = charging), lowest and highest cell V, SOC %. */
  packV: number;
  currentA: number;
  minCellV: number;
  maxCellV: number;
  soc: number;
  /** Rested pack voltage after the discharge (0 until the final rest ends), V. */
  restedV: number;
  /** Why an aborted test stopped (empty otherwise). */
  reason: string;
}

const mA = (a: number) => Math.round(a * 1000);
const mV = (v: number) => Math.round(v * 1000);

function writeSettings(w: ByteWriter, v: CapacityTestStart): void {
  w.u32(mA(v.dischargeA)).u16(mV(v.endCellV)).u32(mA(v.chargeA)).u32(Math.round(v.restS));
}

function readSettings(r: ByteReader): CapacityTestStart {
  return { dischargeA: r.u32('dischargeMa') / 1000, endCellV: r.u16('endCellMv') / 1000, chargeA: r.u32('chargeMa') / 1000, restS: r.u32('restS') };
}

export const CAPACITY_TEST_START = codec<CapacityTestStart>('capacity-test-start', writeSettings, readSettings);

export const CAPACITY_TEST_STATUS = codec<CapacityTestStatus>(
  'capacity-test-status',
  (w, v) => {
    w.u8(CAPACITY_TEST_STATES.indexOf(v.state));
    writeSettings(w, v.settings);
    w.u64(v.startedMs).u64(v.phaseStartedMs).u64(v.nowMs);
    w.u64(Math.round(v.dischargedAh * 3_600_000)).u64(Math.round(v.dischargedWh * 3_600_000));
    w.u32(mV(v.packV))
      .i32(mA(v.currentA))
      .u16(mV(v.minCellV))
      .u16(mV(v.maxCellV))
      .u16(Math.round(v.soc * 100))
      .u32(mV(v.restedV));
    w.str8(v.reason.slice(0, 200));
  },
  (r) => {
    const s = r.u8('state');
    const state = CAPACITY_TEST_STATES[s];
    if (!state) throw new DecodeError(`capacity-test-status: unknown state ${s}`);
    const settings = readSettings(r);
    return {
      state,
      settings,
      startedMs: r.u64('startedMs'),
      phaseStartedMs: r.u64('phaseStartedMs'),
      nowMs: r.u64('nowMs'),
      dischargedAh: r.u64('dischargedMas') / 3_600_000,
      dischargedWh: r.u64('dischargedMws') / 3_600_000,
      packV: r.u32('packMv') / 1000,
      currentA: r.i32('currentMa') / 1000,
      minCellV: r.u16('minCellMv') / 1000,
      maxCellV: r.u16('maxCellMv') / 1000,
      soc: r.u16('soc') / 100,
      restedV: r.u32('restedMv') / 1000,
      reason: r.str8('reason'),
    };
  },
);

/** The black-box events a test writes, in order (aborted ends it anywhere). */
export const CAPACITY_TEST_EVENTS = {
  started: EVENTS.capacity_test_started,
  discharge: EVENTS.capacity_test_discharge,
  endVoltage: EVENTS.capacity_test_end_voltage,
  complete: EVENTS.capacity_test_complete,
  aborted: EVENTS.capacity_test_aborted,
} as const;

/** A record as the finder needs it: time (ms), current (A), pack voltage (V), event code. */
export interface CapacityTestRecord {
  t: number;
  current: number;
  packVoltage: number;
  event: number;
}

/** One test found in a log, measured from its records. */
export interface LoggedCapacityTest {
  /** Board RTC of the test's events, ms (null when the log does not hold that event). */
  startedMs: number | null;
  dischargeFromMs: number;
  dischargeToMs: number | null;
  endedMs: number | null;
  outcome: 'complete' | 'aborted' | 'unfinished';
  /** Charge and energy integrated from the records of the discharge phase (trapezoids), Ah and Wh. */
  dischargedAh: number;
  dischargedWh: number;
  /** Mean discharge current, A (positive). */
  meanCurrentA: number;
  /** Records of the discharge phase. */
  records: number;
  /** Longest gap between two of them, s: a verifier judges whether the integral is trustworthy. */
  longestGapS: number;
}

/**
 * Finds capacity tests in a record stream and integrates their discharge phase from the records.
 * Push records in order; `result()` lists every test, finished or not.
 */
export class CapacityTestFinder {
  private tests: LoggedCapacityTest[] = [];
  private open: LoggedCapacityTest | null = null;
  private pendingStart: number | null = null;
  private last: CapacityTestRecord | null = null;
  private integrating = false;

  push(r: CapacityTestRecord): void {
    const t = this.open;
    if (t && this.integrating && this.last) {
      const dt = (r.t - this.last.t) / 1000;
      if (dt > 0) {
        const dAh = ((this.last.current + r.current) / 2) * (dt / 3600);
        const dWh = ((this.last.current * this.last.packVoltage + r.current * r.packVoltage) / 2) * (dt / 3600);
        t.dischargedAh -= dAh;
        t.dischargedWh -= dWh;
        t.records++;
        t.longestGapS = Math.max(t.longestGapS, dt);
      }
    }
    this.last = r;
    switch (r.event) {
      case CAPACITY_TEST_EVENTS.started:
        this.finishOpen('unfinished');
        this.pendingStart = r.t;
        break;
      case CAPACITY_TEST_EVENTS.discharge:
        this.finishOpen('unfinished');
        this.open = {
          startedMs: this.pendingStart,
          dischargeFromMs: r.t,
          dischargeToMs: null,
          endedMs: null,
          outcome: 'unfinished',
          dischargedAh: 0,
          dischargedWh: 0,
          meanCurrentA: 0,
          records: 0,
          longestGapS: 0,
        };
        this.pendingStart = null;
        this.integrating = true;
        break;
      case CAPACITY_TEST_EVENTS.endVoltage:
        if (t) t.dischargeToMs = r.t;
        this.integrating = false;
        break;
      case CAPACITY_TEST_EVENTS.complete:
        if (t) t.endedMs = r.t;
        this.finishOpen('complete');
        break;
      case CAPACITY_TEST_EVENTS.aborted:
        if (t) t.endedMs = r.t;
        else if (this.pendingStart !== null) this.tests.push(abortedBeforeDischarge(this.pendingStart, r.t));
        this.pendingStart = null;
        this.finishOpen('aborted');
        break;
    }
  }

  /** A restart of the board ends an open test (the board forgets it in RAM). */
  restarted(): void {
    this.finishOpen('unfinished');
    this.pendingStart = null;
    this.last = null;
  }

  result(): LoggedCapacityTest[] {
    const out = this.tests.map((x) => ({ ...x }));
    if (this.open) out.push(withMean({ ...this.open }));
    return out;
  }

  private finishOpen(outcome: LoggedCapacityTest['outcome']): void {
    const t = this.open;
    this.integrating = false;
    if (!t) return;
    t.outcome = outcome === 'complete' && t.dischargeToMs === null ? 'aborted' : outcome;
    this.tests.push(withMean(t));
    this.open = null;
  }
}

function withMean(t: LoggedCapacityTest): LoggedCapacityTest {
  const to = t.dischargeToMs ?? t.endedMs;
  const hours = to !== null ? (to - t.dischargeFromMs) / 3_600_000 : 0;
  t.meanCurrentA = hours > 0 ? t.dischargedAh / hours : 0;
  return t;
}

function abortedBeforeDischarge(startedMs: number, endedMs: number): LoggedCapacityTest {
  return {
    startedMs,
    dischargeFromMs: endedMs,
    dischargeToMs: null,
    endedMs,
    outcome: 'aborted',
    dischargedAh: 0,
    dischargedWh: 0,
    meanCurrentA: 0,
    records: 0,
    longestGapS: 0,
  };
}
