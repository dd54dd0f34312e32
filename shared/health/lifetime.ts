/**
 * The board's lifetime counters (PROTOCOL.md 7.7): what a pack has been through since its board
 * started counting — charge and discharge throughput in Ah and Wh, equivalent full cycles, time in
 * temperature bands (overall and while charging) and in SOC bands, deep-discharge and over-current
 * events, time stored at low SOC. They live outside the black-box ring, so they survive the ring
 * overwriting its oldest segments, and the board signs them with the checkpoint over the
 * verifier's nonce, so a customer cannot edit them.
 *
 * One tally serves both sides: the board counts its physics with it every step, and a verifier
 * counts the records a log holds with the same definitions (the board's bands and thresholds,
 * which the signed statement names) to check that the counters are at least what the records show.
 * Field names follow the state-of-health list of the EU Battery Regulation (2023/1542, Article 14)
 * where they match; aligned, not certified.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError } from '../errors.js';
import { ByteReader, ByteWriter } from '../protocol/bytes-io.js';
import { ALARM_FLAGS, flagBit } from '../types/domain.js';
import { bytesEqual, toHex, utf8Decode, utf8Encode } from '../util/bytes.js';
import type { SignatureVerifier } from '../blackbox/verify.js';
import { HistogramAccumulator, rangeLabel, type Histogram } from './histogram.js';

/** Band edges, one definition for the board's counters and the health report's histograms. */
export const TEMPERATURE_EDGES_C = [-20, -10, 0, 10, 20, 30, 40, 45, 50, 60] as const;
export const CHARGING_TEMPERATURE_EDGES_C = [-20, -10, 0, 5, 10, 20, 30, 40, 45, 50] as const;
export const SOC_EDGES_PERCENT = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95] as const;
/** Storage at low SOC: resting at or below this, percent. */
export const LOW_SOC_PERCENT = 10;

export const OVERCURRENT_ALARMS =
  flagBit(ALARM_FLAGS, 'discharge_overcurrent') | flagBit(ALARM_FLAGS, 'charge_overcurrent') | flagBit(ALARM_FLAGS, 'short_circuit');

/** What the tally needs of one instant (a board step's state or a log record): V, A, %, °C. */
export interface LifetimeSample {
  packVoltage: number;
  current: number;
  soc: number;
  cellVoltages: readonly number[];
  temperatures: readonly number[];
  alarms: number;
}

/** The thresholds a board counts with; they travel in the signed statement. */
export interface LifetimeThresholds {
  /** |current| at or below this is rest, A. */
  restCurrentA: number;
  /** A cell below this is deep-discharged, V. */
  deepDischargeV: number;
  /** Resting at or below this SOC is storage at low SOC, percent. */
  lowSocPercent: number;
}

export interface BandSeconds {
  /** Ascending edges; n edges make n + 1 bands, the first open below, the last open above. */
  edges: number[];
  seconds: number[];
}

/** The counters as numbers in SI-ish units (Ah, Wh, s). */
export interface LifetimeCounters {
  /** When the board began counting (its RTC, ms since the epoch). */
  sinceMs: number;
  /** Seconds counted (the board running). */
  countedS: number;
  chargeAh: number;
  dischargeAh: number;
  chargeWh: number;
  dischargeWh: number;
  /** The rating the board divides by for equivalent full cycles, Ah (0: unknown). */
  ratedCapacityAh: number;
  /** Discharged charge over the rated capacity. */
  equivalentFullCycles: number;
  deepDischargeEvents: number;
  overcurrentEvents: number;
  storageAtLowSocS: number;
  thresholds: LifetimeThresholds;
  /** Hottest sensor, overall. */
  temperature: BandSeconds;
  /** Coldest sensor while charging (current above the rest threshold). */
  temperatureWhileCharging: BandSeconds;
  soc: BandSeconds;
}

/** Accumulates counters from samples (each standing for the `dtS` seconds that follow or precede it). */
export class LifetimeTally {
  countedS = 0;
  chargeAh = 0;
  dischargeAh = 0;
  chargeWh = 0;
  dischargeWh = 0;
  deepDischargeEvents = 0;
  overcurrentEvents = 0;
  storageAtLowSocS = 0;
  private inDeep = false;
  private inOc = false;
  private readonly temp: HistogramAccumulator;
  private readonly tempCharging: HistogramAccumulator;
  private readonly socHist: HistogramAccumulator;

  constructor(
    readonly thresholds: LifetimeThresholds,
    readonly edges: { temperature: readonly number[]; temperatureWhileCharging: readonly number[]; soc: readonly number[] } = {
      temperature: TEMPERATURE_EDGES_C,
      temperatureWhileCharging: CHARGING_TEMPERATURE_EDGES_C,
      soc: SOC_EDGES_PERCENT,
    },
  ) {
    this.temp = new HistogramAccumulator('hottest sensor', '°C', edges.temperature, rangeLabel('°C'));
    this.tempCharging = new HistogramAccumulator('coldest sensor while charging', '°C', edges.temperatureWhileCharging, rangeLabel('°C'));
    this.socHist = new HistogramAccumulator('state of charge', '%', edges.soc, rangeLabel('%'));
  }

  /** Events are edges of a state: call once per sample, in order. */
  observe(s: LifetimeSample): void {
    const deep = s.cellVoltages.length > 0 && Math.min(...s.cellVoltages) < this.thresholds.deepDischargeV;
    if (deep && !this.inDeep) this.deepDischargeEvents++;
    this.inDeep = deep;
    const oc = (s.alarms & OVERCURRENT_ALARMS) !== 0;
    if (oc && !this.inOc) this.overcurrentEvents++;
    this.inOc = oc;
  }

  /** A restart forgets the states events are edges of (the board's RAM). */
  restarted(): void {
    this.inDeep = false;
    this.inOc = false;
  }

  /** `dtS` seconds spent in the state of `s`; charge and energy from `dAh`/`dWh` when given (trapezoids), else from `s`. */
  add(s: LifetimeSample, dtS: number, dAh = s.current * (dtS / 3600), dWh = s.current * s.packVoltage * (dtS / 3600)): void {
    if (!(dtS > 0)) return;
    this.countedS += dtS;
    if (dAh >= 0) {
      this.chargeAh += dAh;
      this.chargeWh += Math.max(0, dWh);
    } else {
      this.dischargeAh -= dAh;
      this.dischargeWh -= Math.min(0, dWh);
    }
    const hot = maxOf(s.temperatures);
    this.temp.add(hot, dtS);
    if (s.current > this.thresholds.restCurrentA) this.tempCharging.add(minOf(s.temperatures), dtS);
    this.socHist.add(s.soc, dtS);
    if (Math.abs(s.current) <= this.thresholds.restCurrentA && s.soc <= this.thresholds.lowSocPercent) this.storageAtLowSocS += dtS;
  }

  /** One band set as a health-report histogram (hours per band). */
  histogram(which: 'temperature' | 'temperatureWhileCharging' | 'soc'): Histogram {
    return (which === 'temperature' ? this.temp : which === 'soc' ? this.socHist : this.tempCharging).result();
  }

  counters(sinceMs: number, ratedCapacityAh: number): LifetimeCounters {
    return {
      sinceMs,
      countedS: this.countedS,
      chargeAh: this.chargeAh,
      dischargeAh: this.dischargeAh,
      chargeWh: this.chargeWh,
      dischargeWh: this.dischargeWh,
      ratedCapacityAh,
      equivalentFullCycles: ratedCapacityAh > 0 ? this.dischargeAh / ratedCapacityAh : 0,
      deepDischargeEvents: this.deepDischargeEvents,
      overcurrentEvents: this.overcurrentEvents,
      storageAtLowSocS: this.storageAtLowSocS,
      thresholds: { ...this.thresholds },
      temperature: { edges: [...this.edges.temperature], seconds: Array.from(this.temp.secondsPerBand()) },
      temperatureWhileCharging: { edges: [...this.edges.temperatureWhileCharging], seconds: Array.from(this.tempCharging.secondsPerBand()) },
      soc: { edges: [...this.edges.soc], seconds: Array.from(this.socHist.secondsPerBand()) },
    };
  }

  /** Continues from stored counters (the board's non-volatile copy). */
  static resume(c: LifetimeCounters): LifetimeTally {
    const t = new LifetimeTally(c.thresholds, {
      temperature: c.temperature.edges,
      temperatureWhileCharging: c.temperatureWhileCharging.edges,
      soc: c.soc.edges,
    });
    t.countedS = c.countedS;
    t.chargeAh = c.chargeAh;
    t.dischargeAh = c.dischargeAh;
    t.chargeWh = c.chargeWh;
    t.dischargeWh = c.dischargeWh;
    t.deepDischargeEvents = c.deepDischargeEvents;
    t.overcurrentEvents = c.overcurrentEvents;
    t.storageAtLowSocS = c.storageAtLowSocS;
    t.temp.setSeconds(c.temperature.seconds);
    t.tempCharging.setSeconds(c.temperatureWhileCharging.seconds);
    t.socHist.setSeconds(c.soc.seconds);
    return t;
  }
}

function maxOf(xs: readonly number[]): number {
  let m = NaN;
  for (const x of xs) if (!(x <= m)) m = x;
  return m;
}

function minOf(xs: readonly number[]): number {
  let m = NaN;
  for (const x of xs) if (!(x >= m)) m = x;
  return m;
}

// ---------------------------------------------------------------------------------------------
// The signed statement (PROTOCOL.md 7.7)

export const LIFETIME_MAGIC = 'PSLT';
export const LIFETIME_VERSION = 1;
const MAX_EDGES = 32;

/** What binds a statement to one checkpoint: its open segment, its records, the verifier's nonce. */
export interface LifetimeBinding {
  counter: number;
  recordCount: number;
  nonce: Uint8Array;
  /** The board's RTC and boot count when it signed. */
  boardTimeMs: number;
  bootCount: number;
}

export interface LifetimeStatement {
  binding: LifetimeBinding;
  counters: LifetimeCounters;
  /** ECDSA P-256 / SHA-256 by the device key over every byte before it, raw r‖s. */
  signature: Uint8Array;
  /** The signed bytes (everything before the signature). */
  message: Uint8Array;
}

const round = (x: number) => Math.max(0, Math.round(x));

function writeBands(w: ByteWriter, b: BandSeconds, scale: number, signed: boolean): void {
  w.u8(b.edges.length);
  for (const e of b.edges) {
    if (signed) w.i16(Math.round(e * scale));
    else w.u16(Math.round(e * scale));
  }
  for (const s of b.seconds) w.u32(Math.min(0xffffffff, round(s)));
}

function readBands(r: ByteReader, name: string, scale: number, signed: boolean): BandSeconds {
  const n = r.u8(`${name} edge count`);
  if (n > MAX_EDGES) throw new DecodeError(`lifetime counters: ${n} ${name} edges (at most ${MAX_EDGES})`);
  const edges: number[] = [];
  for (let i = 0; i < n; i++) edges.push((signed ? r.i16(`${name} edge`) : r.u16(`${name} edge`)) / scale);
  for (let i = 1; i < n; i++) if (!(edges[i]! > edges[i - 1]!)) throw new DecodeError(`lifetime counters: ${name} edges do not ascend`);
  const seconds: number[] = [];
  for (let i = 0; i <= n; i++) seconds.push(r.u32(`${name} seconds`));
  return { edges, seconds };
}

/** The bytes the device signs. Charge in mA·s, energy in mW·s, times in s (all u64/u32 integers). */
export function lifetimeMessage(b: LifetimeBinding, c: LifetimeCounters): Uint8Array {
  const w = new ByteWriter(256);
  w.bytes(utf8Encode(LIFETIME_MAGIC)).u8(LIFETIME_VERSION).u8(0);
  w.u32(b.counter).u16(b.recordCount).u8(b.nonce.length).bytes(b.nonce);
  w.u64(b.boardTimeMs)
    .u32(b.bootCount)
    .u64(c.sinceMs)
    .u32(Math.min(0xffffffff, round(c.countedS)));
  w.u64(round(c.chargeAh * 3.6e6))
    .u64(round(c.dischargeAh * 3.6e6))
    .u64(round(c.chargeWh * 3.6e6))
    .u64(round(c.dischargeWh * 3.6e6));
  w.u32(round(c.ratedCapacityAh * 1000)).u32(round(c.equivalentFullCycles * 1000));
  w.u32(round(c.thresholds.restCurrentA * 1000))
    .u16(round(c.thresholds.deepDischargeV * 1000))
    .u16(round(c.thresholds.lowSocPercent * 100));
  w.u32(c.deepDischargeEvents)
    .u32(c.overcurrentEvents)
    .u32(Math.min(0xffffffff, round(c.storageAtLowSocS)));
  writeBands(w, c.temperature, 10, true);
  writeBands(w, c.temperatureWhileCharging, 10, true);
  writeBands(w, c.soc, 100, false);
  return w.finish();
}

/** The statement as carried: message, then signature. */
export function encodeLifetime(message: Uint8Array, signature: Uint8Array): Uint8Array {
  const out = new Uint8Array(message.length + 64);
  out.set(message);
  out.set(signature.subarray(0, 64), message.length);
  return out;
}

export function decodeLifetime(bytes: Uint8Array): LifetimeStatement {
  if (bytes.length < 64 + 8) throw new DecodeError(`lifetime counters: ${bytes.length} bytes is too short`);
  const message = bytes.slice(0, bytes.length - 64);
  const signature = bytes.slice(bytes.length - 64);
  const r = new ByteReader(message, 'lifetime counters');
  try {
    const magic = utf8Decode(r.bytes(4, 'magic'));
    if (magic !== LIFETIME_MAGIC) throw new DecodeError('lifetime counters: wrong magic');
    const version = r.u8('version');
    if (version !== LIFETIME_VERSION) throw new DecodeError(`lifetime counters: unsupported version ${version}`);
    r.u8('flags');
    const counter = r.u32('counter');
    const recordCount = r.u16('recordCount');
    const nonce = r.bytes(r.u8('nonceLen'), 'nonce');
    const boardTimeMs = r.u64('boardTimeMs');
    const bootCount = r.u32('bootCount');
    const sinceMs = r.u64('sinceMs');
    const countedS = r.u32('countedS');
    const ah = () => r.u64('charge') / 3.6e6;
    const chargeAh = ah();
    const dischargeAh = ah();
    const chargeWh = ah();
    const dischargeWh = ah();
    const ratedCapacityAh = r.u32('ratedCapacity') / 1000;
    const equivalentFullCycles = r.u32('equivalentFullCycles') / 1000;
    const thresholds = { restCurrentA: r.u32('restCurrent') / 1000, deepDischargeV: r.u16('deepDischarge') / 1000, lowSocPercent: r.u16('lowSoc') / 100 };
    const deepDischargeEvents = r.u32('deepDischargeEvents');
    const overcurrentEvents = r.u32('overcurrentEvents');
    const storageAtLowSocS = r.u32('storageAtLowSoc');
    const temperature = readBands(r, 'temperature', 10, true);
    const temperatureWhileCharging = readBands(r, 'charging temperature', 10, true);
    const soc = readBands(r, 'SOC', 100, false);
    // Appended fields of a later version 1 board are ignored (PROTOCOL.md 3.4).
    return {
      binding: { counter, recordCount, nonce, boardTimeMs, bootCount },
      counters: {
        sinceMs,
        countedS,
        chargeAh,
        dischargeAh,
        chargeWh,
        dischargeWh,
        ratedCapacityAh,
        equivalentFullCycles,
        deepDischargeEvents,
        overcurrentEvents,
        storageAtLowSocS,
        thresholds,
        temperature,
        temperatureWhileCharging,
        soc,
      },
      signature,
      message,
    };
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`lifetime counters: ${(e as Error).message}`);
  }
}

/**
 * Checks a statement's device signature and that it belongs to the checkpoint it came with (same
 * open segment, records and nonce; same boot count as the attestation). Returns the problems.
 */
export function verifyLifetime(
  st: LifetimeStatement,
  publicKey: Uint8Array,
  checkpoint: { counter: number; recordCount: number; nonce: Uint8Array; attestation?: { bootCount: number } | null },
  verify: SignatureVerifier,
): string[] {
  const problems: string[] = [];
  if (!verify(st.signature, sha256(st.message), publicKey, st.message)) problems.push('the device signature over the lifetime counters does not verify');
  const b = st.binding;
  if (b.counter !== checkpoint.counter || b.recordCount !== checkpoint.recordCount)
    problems.push(
      `the lifetime counters were signed with segment ${b.counter} record ${b.recordCount}, the checkpoint is segment ${checkpoint.counter} record ${checkpoint.recordCount}`,
    );
  if (!bytesEqual(b.nonce, checkpoint.nonce)) problems.push(`the lifetime counters were signed over nonce ${toHex(b.nonce)}, not the checkpoint's`);
  if (checkpoint.attestation && checkpoint.attestation.bootCount !== b.bootCount)
    problems.push(`the lifetime counters name boot ${b.bootCount}, the checkpoint boot ${checkpoint.attestation.bootCount}`);
  const c = st.counters;
  if (c.ratedCapacityAh > 0 && Math.abs(c.equivalentFullCycles - c.dischargeAh / c.ratedCapacityAh) > 0.002 + 1e-6 * c.equivalentFullCycles)
    problems.push(
      `the lifetime counters state ${c.equivalentFullCycles} equivalent full cycles, but ${c.dischargeAh.toFixed(3)} Ah over ${c.ratedCapacityAh} Ah is ${(c.dischargeAh / c.ratedCapacityAh).toFixed(3)}`,
    );
  return problems;
}
