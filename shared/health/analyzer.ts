/**
 * Pack health from black-box records, in one streaming pass with bounded memory (a log of any
 * length): capacity with its uncertainty, internal resistance per cell, self-discharge during rest,
 * the cell-balance trend, throughput and equivalent full cycles, and time-weighted histograms of
 * temperature, state of charge and C-rate.
 *
 * Capacity is measured the way a lab would, not taken from the BMS's own SOC (which is itself a
 * coulomb count scaled by the capacity the BMS assumes, so using it would be circular):
 * - a *rest point* is the end of a rest (|current| ≤ restCurrentA for at least settleS seconds):
 *   each cell's voltage there is its open-circuit voltage, and the chemistry's OCV curve turns it
 *   into that cell's state of charge;
 * - between two consecutive rest points the charge that flowed is counted from the records
 *   (trapezoids over the current); each cell's capacity is that charge over its SOC change;
 * - a window is used only when nothing broke the count in between (a time gap longer than
 *   maxGapS, a clock step backwards, a jump in record indices, a board restart) and when the SOC
 *   moved by at least minSwingPercent, so the OCV reading error stays small against the swing;
 * - every window carries an uncertainty from the voltage error at both ends (worth more SOC on a
 *   flat plateau than on a steep knee: d(SOC)/dV of the curve) and from the current sensor's offset
 *   and gain error; windows are combined weighted by their inverse variance, and the spread between
 *   windows widens the result when they disagree more than their own errors explain.
 * The pack's capacity is that of its weakest cell (a series string is empty when its emptiest cell
 * is). Internal resistance comes from current steps between consecutive records (ΔV/ΔI per cell,
 * median over steps at least stepFloorA large, because small steps on a noisy shunt say little).
 */
import type { LogRecord } from '../types/domain.js';
import { EVENTS } from '../blackbox/events.js';
import { roundTo } from '../codec/canonical-json.js';
import { socAtOcv, socPerVolt, type OcvTable } from './ocv.js';
import { HistogramAccumulator, rangeLabel } from './histogram.js';
import { LifetimeTally, LOW_SOC_PERCENT } from './lifetime.js';
import { intervalThroughput } from './throughput.js';
import { CapacityTestFinder } from './capacity-test.js';
import { HEALTH_SCHEMA_ID, type CapacityEstimate, type CapacityWindow, type CellHealth, type HealthReport } from './report.js';

export type { CapacityEstimate, CapacityWindow, CellHealth, HealthReport } from './report.js';

export interface HealthOptions {
  /** The chemistry's OCV curve (shared/health/ocv.ts); null: capacity cannot be measured. */
  ocv: OcvTable | null;
  /** Rated capacity, Ah: for C-rates, equivalent cycles and retention; null if unknown. */
  ratedCapacityAh: number | null;
  /** |current| at or below this counts as rest, A. Default: 1 % of the rated capacity (at least 0.2 A). */
  restCurrentA?: number;
  /** Seconds at rest before a cell's voltage is read as its open-circuit voltage. Default 300. */
  settleS?: number;
  /** Two records further apart than this break coulomb counting, s. Default 60. */
  maxGapS?: number;
  /** SOC change a capacity window must span, percent. Default 40. */
  minSwingPercent?: number;
  /** Voltage error of a rested cell reading (resolution, residual relaxation, hysteresis), V. Default 0.002. */
  voltageErrorV?: number;
  /** Current sensor offset error, A. Default: 0.2 % of the rated capacity in A (at least 0.05 A). */
  currentOffsetA?: number;
  /** Current sensor gain error, fraction. Default 0.005. */
  currentGainError?: number;
  /** Smallest current step used for internal resistance, A. Default: 5 % of the rated capacity (at least 2 A). */
  stepFloorA?: number;
  /** Longest record interval a current step may span, s. Default 5. */
  maxStepS?: number;
  /** A cell below this is deep-discharged, V. Default 2.5 (LFP) / 2.8 (NMC) by the curve's 0 % voltage. */
  deepDischargeV?: number;
  /** A cell whose resistance is this many times the median of the others stands out. Default 1.5. */
  resistanceOutlierFactor?: number;
  /** A cell whose capacity is this far below the median of the others stands out, fraction. Default 0.1. */
  capacityOutlierFraction?: number;
  /** Self-discharge relative to the other cells that stands out, percent SOC per hour. Default 0.1. */
  selfDischargeOutlierPctPerH?: number;
}

interface RestPoint {
  index: number;
  segment: number | null;
  t: number;
  /** Coulomb count at this point, Ah, and the counting epoch (breaks start a new one). */
  ah: number;
  epoch: number;
  soc: Float64Array;
  socError: Float64Array;
  volts: Float64Array;
}

/** Two rest points with unbroken counting between them: what a capacity window is computed from. */
interface WindowData {
  fromIndex: number;
  toIndex: number;
  fromSegment: number | null;
  toSegment: number | null;
  fromT: number;
  toT: number;
  dAh: number;
  ahErr: number;
  hours: number;
  /** Per cell: SOC change (fraction) and its error. */
  dSoc: Float64Array;
  socErr: Float64Array;
  median: number;
}

/** Per-cell inverse-variance accumulator of capacity windows. */
interface CapAcc {
  sw: number;
  swx: number;
  swxx: number;
  n: number;
}

const HOT_C = 45;
const COLD_C = 0;
/** Rest long enough to measure self-discharge, s. */
const SELF_DISCHARGE_MIN_S = 3600;
/** Error of one cell's rested reading against its neighbours': 1 mV resolution and sensor noise, V. */
const RELATIVE_VOLTAGE_ERROR_V = 0.0006;
/** Capacity windows kept: the latest ones (capacity fades; old windows describe an old pack). */
const WINDOW_LIMIT = 64;

export class HealthAnalyzer {
  private readonly o: Required<Omit<HealthOptions, 'ocv' | 'ratedCapacityAh'>>;
  private readonly ocv: OcvTable | null;
  private readonly rated: number | null;

  private records = 0;
  private fromT: number | null = null;
  private prev: LogRecord | null = null;
  private epoch = 0;
  private breaks = 0;
  private ah = 0;

  private extremeS = 0;
  private extremeChargingS = 0;
  /** Throughput, bands, events and storage: the same tally the board keeps its lifetime counters with. */
  private readonly tally: LifetimeTally;
  private readonly capacityTests = new CapacityTestFinder();
  private readonly cRate = new HistogramAccumulator('C-rate (negative = discharge)', 'C', [-2, -1, -0.5, -0.2, -0.02, 0.02, 0.2, 0.5, 1], rangeLabel('C'));

  // Rest tracking.
  private restStart: LogRecord | null = null;
  /** The latest record of the current rest. */
  private restTail: LogRecord | null = null;
  private restSettled: { soc: Float64Array; slope: Float64Array; t: number } | null = null;
  private lastPoint: RestPoint | null = null;
  /** The latest capacity windows (bounded: the recent ones say what the pack holds now). */
  private readonly windows: WindowData[] = [];
  private cells = 0;
  /** Per cell: Σ relative SOC loss (%), Σ hours, Σ variance of the loss (%²) from voltage resolution. */
  private selfDis: { sum: number; hours: number; variance: number }[] = [];
  private deviation: { sum: number; n: number }[] = [];
  private balancePts = { n: 0, st: 0, ss: 0, stt: 0, sts: 0, first: 0, last: 0, t0: 0 };

  // Resistance: per-cell samples (bounded reservoir for the median).
  private rSamples: number[][] = [];
  private rCount: number[] = [];

  constructor(opts: HealthOptions) {
    const rated = opts.ratedCapacityAh !== null && opts.ratedCapacityAh > 0 ? opts.ratedCapacityAh : null;
    this.rated = rated;
    this.ocv = opts.ocv;
    const zeroV = opts.ocv ? opts.ocv.find(([s]) => s === 0)?.[1] : undefined;
    this.o = {
      restCurrentA: opts.restCurrentA ?? Math.max(0.2, 0.01 * (rated ?? 20)),
      settleS: opts.settleS ?? 300,
      maxGapS: opts.maxGapS ?? 60,
      minSwingPercent: opts.minSwingPercent ?? 40,
      voltageErrorV: opts.voltageErrorV ?? 0.002,
      currentOffsetA: opts.currentOffsetA ?? Math.max(0.05, 0.002 * (rated ?? 25)),
      currentGainError: opts.currentGainError ?? 0.005,
      stepFloorA: opts.stepFloorA ?? Math.max(2, 0.05 * (rated ?? 40)),
      maxStepS: opts.maxStepS ?? 5,
      deepDischargeV: opts.deepDischargeV ?? zeroV ?? 2.5,
      resistanceOutlierFactor: opts.resistanceOutlierFactor ?? 1.5,
      capacityOutlierFraction: opts.capacityOutlierFraction ?? 0.1,
      selfDischargeOutlierPctPerH: opts.selfDischargeOutlierPctPerH ?? 0.1,
    };
    this.tally = new LifetimeTally({ restCurrentA: this.o.restCurrentA, deepDischargeV: this.o.deepDischargeV, lowSocPercent: LOW_SOC_PERCENT });
  }

  /** Takes the next record in log order. */
  push(r: LogRecord): void {
    const n = r.cellVoltages.length;
    if (this.cells < n) this.grow(n);
    this.records++;
    if (this.fromT === null) this.fromT = r.t;
    const p = this.prev;
    this.prev = r;

    // A new counting epoch starts at the first record, after a break and at a board restart.
    let fresh = p === null;
    if (p) {
      const dt = (r.t - p.t) / 1000;
      // Two records at the same instant (an event logged beside a sample) are not a break; a
      // restart is (the board may have lost charge it never counted while it was off).
      const broken = !(dt >= 0) || dt > this.o.maxGapS || r.index !== p.index + 1 || p.cellVoltages.length !== n || r.event === EVENTS.boot;
      if (broken) {
        this.breakCount();
        fresh = true;
      } else if (dt > 0) {
        this.integrate(p, r, dt);
        this.resistanceStep(p, r, dt);
      }
    }
    this.tally.observe(r);
    this.trackRest(r, fresh);
    if (r.event === EVENTS.boot) this.capacityTests.restarted();
    this.capacityTests.push(r);
  }

  private grow(n: number): void {
    for (; this.cells < n; this.cells++) {
      this.selfDis.push({ sum: 0, hours: 0, variance: 0 });
      this.deviation.push({ sum: 0, n: 0 });
      this.rSamples.push([]);
      this.rCount.push(0);
    }
  }

  /** Coulomb counting and the time-weighted histograms over the interval p → r. */
  private integrate(p: LogRecord, r: LogRecord, dt: number): void {
    const { dAh, dWh } = intervalThroughput(p, r, dt);
    this.ah += dAh;
    this.tally.add(p, dt, dAh, dWh);
    const hot = max(p.temperatures);
    const cold = min(p.temperatures);
    const charging = p.current > this.o.restCurrentA;
    if (this.rated !== null) this.cRate.add(p.current / this.rated, dt);
    if (hot >= HOT_C || cold < COLD_C) {
      this.extremeS += dt;
      if (charging) this.extremeChargingS += dt;
    }
  }

  /** ΔV/ΔI per cell across a current step between consecutive records. */
  private resistanceStep(p: LogRecord, r: LogRecord, dt: number): void {
    const dI = r.current - p.current;
    if (Math.abs(dI) < this.o.stepFloorA || dt > this.o.maxStepS) return;
    for (let c = 0; c < r.cellVoltages.length; c++) {
      const ohm = (r.cellVoltages[c]! - p.cellVoltages[c]!) / dI;
      if (!Number.isFinite(ohm)) continue;
      // Reservoir of the latest 2,048 steps per cell: the median of recent behaviour, bounded memory.
      const s = this.rSamples[c]!;
      const k = this.rCount[c]!++;
      if (s.length < 2048) s.push(ohm);
      else s[k % 2048] = ohm;
    }
  }

  private breakCount(): void {
    this.breaks++;
    this.epoch++;
    this.restStart = null;
    this.restTail = null;
    this.restSettled = null;
  }

  private trackRest(r: LogRecord, fresh: boolean): void {
    const resting = Math.abs(r.current) <= this.o.restCurrentA;
    if (!resting) {
      this.endRest();
      return;
    }
    if (this.restStart === null || fresh) {
      // A rest starts here (also after a break: the count across a break is unknown).
      this.restStart = r;
      this.restTail = r;
      this.restSettled = null;
      return;
    }
    this.restTail = r;
    const restS = (r.t - this.restStart.t) / 1000;
    if (restS >= this.o.settleS && this.ocv && this.restSettled === null) {
      const { soc, slope } = this.cellSocs(r);
      this.restSettled = { soc, slope, t: r.t };
    }
  }

  /** The last rested record of a rest, when it settled, becomes a rest point. */
  private endRest(): void {
    const start = this.restStart;
    const end = this.restTail;
    this.restStart = null;
    this.restTail = null;
    const settled = this.restSettled;
    this.restSettled = null;
    if (!start || !end || !settled || !this.ocv) return;
    this.addRestPoint(end, settled);
  }

  private cellSocs(r: LogRecord): { soc: Float64Array; err: Float64Array; slope: Float64Array } {
    const n = r.cellVoltages.length;
    const soc = new Float64Array(n);
    const err = new Float64Array(n);
    const slope = new Float64Array(n);
    for (let c = 0; c < n; c++) {
      const v = r.cellVoltages[c]!;
      soc[c] = socAtOcv(this.ocv!, v);
      slope[c] = Math.abs(socPerVolt(this.ocv!, v));
      err[c] = slope[c]! * this.o.voltageErrorV;
    }
    return { soc, err, slope };
  }

  private addRestPoint(r: LogRecord, settled: { soc: Float64Array; slope: Float64Array; t: number }): void {
    const { soc, err, slope } = this.cellSocs(r);
    const n = soc.length;
    const point: RestPoint = {
      index: r.index,
      segment: r.segment ?? null,
      t: r.t,
      ah: this.ah,
      epoch: this.epoch,
      soc,
      socError: err,
      volts: Float64Array.from(r.cellVoltages),
    };

    // Self-discharge over a long rest: each cell's SOC loss relative to the mean loss of the cells.
    const hours = (r.t - settled.t) / 3_600_000;
    if (hours * 3600 >= SELF_DISCHARGE_MIN_S) {
      let mean = 0;
      for (let c = 0; c < n; c++) mean += settled.soc[c]! - soc[c]!;
      mean /= n;
      for (let c = 0; c < n; c++) {
        const sd = this.selfDis[c]!;
        sd.sum += (settled.soc[c]! - soc[c]! - mean) * 100;
        sd.hours += hours;
        // Between cells of one pack, what differs is the reading's resolution and noise, not the
        // common relaxation and hysteresis: that is the error of a relative loss.
        sd.variance += (settled.slope[c]! ** 2 + slope[c]! ** 2) * (RELATIVE_VOLTAGE_ERROR_V * 100) ** 2;
      }
    }

    // Balance: each cell's deviation from the others, and the spread's trend.
    let vmin = Infinity;
    let vmax = -Infinity;
    let vsum = 0;
    for (const v of point.volts) {
      vmin = Math.min(vmin, v);
      vmax = Math.max(vmax, v);
      vsum += v;
    }
    for (let c = 0; c < n; c++) {
      const others = n > 1 ? (vsum - point.volts[c]!) / (n - 1) : point.volts[c]!;
      const d = this.deviation[c]!;
      d.sum += (point.volts[c]! - others) * 1000;
      d.n++;
    }
    const spread = (vmax - vmin) * 1000;
    const b = this.balancePts;
    if (b.n === 0) {
      b.first = spread;
      b.t0 = r.t;
    }
    const td = (r.t - b.t0) / 86_400_000;
    b.n++;
    b.st += td;
    b.ss += spread;
    b.stt += td * td;
    b.sts += td * spread;
    b.last = spread;

    const last = this.lastPoint;
    this.lastPoint = point;
    if (last && last.epoch === point.epoch) this.addWindow(last, point);
  }

  private addWindow(a: RestPoint, b: RestPoint): void {
    const dAh = b.ah - a.ah;
    const n = a.soc.length;
    const dSoc = new Float64Array(n);
    const socErr = new Float64Array(n);
    for (let c = 0; c < n; c++) {
      dSoc[c] = b.soc[c]! - a.soc[c]!;
      socErr[c] = Math.hypot(a.socError[c]!, b.socError[c]!);
    }
    const median = medianOf(Array.from(dSoc));
    if (Math.abs(median) * 100 < this.o.minSwingPercent || dAh === 0) return;
    const hours = (b.t - a.t) / 3_600_000;
    const ahErr = Math.hypot(this.o.currentOffsetA * hours, this.o.currentGainError * Math.abs(dAh));
    this.windows.push({
      fromIndex: a.index,
      toIndex: b.index,
      fromSegment: a.segment,
      toSegment: b.segment,
      fromT: a.t,
      toT: b.t,
      dAh,
      ahErr,
      hours,
      dSoc,
      socErr,
      median,
    });
    if (this.windows.length > WINDOW_LIMIT) this.windows.shift();
  }

  /**
   * Each cell's capacity in each window, corrected for a self-discharge that stands out (a cell
   * with a soft short loses charge during the window that the pack current never carried, which
   * would otherwise read as capacity), and the pack's (its weakest cell's) per window.
   */
  private capacities(selfDischarge: (number | null)[], significant: boolean[]): { cells: CapAcc[]; pack: CapAcc; list: CapacityWindow[] } {
    const cells = Array.from({ length: this.cells }, () => ({ sw: 0, swx: 0, swxx: 0, n: 0 }));
    const pack = { sw: 0, swx: 0, swxx: 0, n: 0 };
    const list: CapacityWindow[] = [];
    for (const w of this.windows) {
      let packAh = Infinity;
      let packErr = 0;
      for (let c = 0; c < w.dSoc.length; c++) {
        const sd = selfDischarge[c] ?? null;
        const loss = sd !== null && significant[c] ? (sd / 100) * w.hours : 0;
        // Charging: the cell gained what the current brought minus what it lost; discharging: it
        // lost both. Either way the current's share of the SOC change is dSoc + loss.
        const dSoc = w.dSoc[c]! + loss;
        // Charge and SOC must move the same way, and the cell must have moved with the others.
        if (Math.sign(dSoc) !== Math.sign(w.dAh) || Math.abs(dSoc) < Math.abs(w.median) / 2) continue;
        const cap = w.dAh / dSoc;
        const err = cap * Math.hypot(w.socErr[c]! / dSoc, w.ahErr / w.dAh);
        accumulate(cells[c]!, cap, err);
        if (cap < packAh) {
          packAh = cap;
          packErr = err;
        }
      }
      if (!Number.isFinite(packAh)) continue;
      accumulate(pack, packAh, packErr);
      list.push({
        fromIndex: w.fromIndex,
        toIndex: w.toIndex,
        fromSegment: w.fromSegment,
        toSegment: w.toSegment,
        fromT: w.fromT,
        toT: w.toT,
        chargeAh: roundTo(w.dAh, 3),
        socSwingPercent: roundTo(w.median * 100, 2),
        packAh: roundTo(packAh, 3),
        uncertaintyAh: roundTo(2 * packErr, 3),
      });
    }
    return { cells, pack, list };
  }

  /** The report over everything pushed so far (pushing more afterwards is allowed). */
  result(): HealthReport {
    // A rest still open at the end of the log counts as a rest point.
    if (this.restStart && this.restTail && this.restSettled && this.ocv) {
      const saved = { start: this.restStart, settled: this.restSettled, point: this.lastPoint, windows: this.windows.slice() };
      const snapshot = this.snapshot();
      this.addRestPoint(this.restTail, this.restSettled);
      const report = this.report();
      this.restore(snapshot);
      this.restStart = saved.start;
      this.restSettled = saved.settled;
      this.lastPoint = saved.point;
      this.windows.splice(0, this.windows.length, ...saved.windows);
      return report;
    }
    return this.report();
  }

  private snapshot() {
    return {
      selfDis: this.selfDis.map((s) => ({ ...s })),
      deviation: this.deviation.map((d) => ({ ...d })),
      balance: { ...this.balancePts },
    };
  }

  private restore(s: ReturnType<HealthAnalyzer['snapshot']>): void {
    this.selfDis = s.selfDis;
    this.deviation = s.deviation;
    this.balancePts = s.balance;
  }

  private report(): HealthReport {
    const tests = this.capacityTests.result().map((x) => ({ ...x, dischargedAh: roundTo(x.dischargedAh, 3), dischargedWh: roundTo(x.dischargedWh, 1) }));
    const selfDischarge = this.selfDis.map((sd) => (sd.hours > 0 ? sd.sum / sd.hours : null));
    // A self-discharge stands out when it is above the threshold and three of its own standard
    // errors: on a flat OCV plateau one millivolt is a percent of charge, and short rests say little.
    const significant = this.selfDis.map(
      (sd, c) =>
        selfDischarge[c] !== null && selfDischarge[c]! > this.o.selfDischargeOutlierPctPerH && selfDischarge[c]! > (3 * Math.sqrt(sd.variance)) / sd.hours,
    );
    const caps = this.capacities(selfDischarge, significant);
    const remaining = estimate(caps.pack);
    const cells: CellHealth[] = caps.cells.map((acc, c) => {
      const samples = this.rSamples[c]!;
      const r = samples.length ? medianOf(samples) * 1000 : null;
      const sd = selfDischarge[c]!;
      const dev = this.deviation[c]!;
      return {
        cell: c + 1,
        capacity: estimate(acc),
        resistanceMilliOhm: r === null ? null : roundTo(r, 3),
        resistanceSamples: this.rCount[c]!,
        relativeSelfDischargePctPerH: sd === null ? null : roundTo(sd, 4),
        restDeviationMv: dev.n ? roundTo(dev.sum / dev.n, 2) : null,
        flags: [],
      };
    });
    this.flagCells(cells, significant);
    const b = this.balancePts;
    const t = this.tally;
    const denom = b.n * b.stt - b.st * b.st;
    let notAssessable: string | null = null;
    if (!remaining) {
      if (!this.ocv) notAssessable = 'the cell chemistry is unknown, so rested voltages cannot be read as state of charge';
      else if (caps.pack.n === 0)
        notAssessable = `the log holds no usable window: two rests of at least ${this.o.settleS} s, ${this.o.minSwingPercent} % of charge apart, with unbroken records between them`;
    }
    return {
      schema: HEALTH_SCHEMA_ID,
      records: this.records,
      fromT: this.fromT,
      toT: this.prev?.t ?? null,
      ratedCapacityAh: this.rated,
      remainingCapacity: remaining,
      capacityFadePercent: remaining && this.rated ? roundTo(100 - (100 * remaining.ah) / this.rated, 2) : null,
      capacityNotAssessable: notAssessable,
      capacityWindows: caps.list,
      capacityThroughput: { chargeAh: roundTo(t.chargeAh, 3), dischargeAh: roundTo(t.dischargeAh, 3) },
      energyThroughput: { chargeWh: roundTo(t.chargeWh, 1), dischargeWh: roundTo(t.dischargeWh, 1) },
      equivalentFullCycles: this.rated ? roundTo(t.dischargeAh / this.rated, 3) : null,
      timeAtExtremeTemperatureH: { overall: roundTo(this.extremeS / 3600, 3), whileCharging: roundTo(this.extremeChargingS / 3600, 3) },
      deepDischargeEvents: t.deepDischargeEvents,
      overcurrentEvents: t.overcurrentEvents,
      storageAtLowSocH: roundTo(t.storageAtLowSocS / 3600, 3),
      cells,
      balance: b.n
        ? {
            firstMv: roundTo(b.first, 1),
            lastMv: roundTo(b.last, 1),
            trendMvPerDay: b.n >= 3 && denom > 0 ? roundTo((b.n * b.sts - b.st * b.ss) / denom, 3) : null,
            points: b.n,
          }
        : null,
      histograms: {
        temperature: t.histogram('temperature'),
        temperatureWhileCharging: t.histogram('temperatureWhileCharging'),
        soc: t.histogram('soc'),
        cRate: this.cRate.result(),
      },
      breaks: this.breaks,
      ...(tests.length ? { capacityTests: tests } : {}),
    };
  }

  /** Names what stands out about a cell against the median of the others. */
  private flagCells(cells: CellHealth[], significantSelfDischarge: boolean[]): void {
    const others = <T>(c: CellHealth, pick: (x: CellHealth) => T | null) =>
      cells
        .filter((x) => x !== c)
        .map(pick)
        .filter((v): v is T => v !== null);
    for (const c of cells) {
      const r = c.resistanceMilliOhm;
      const rs = others(c, (x) => x.resistanceMilliOhm);
      if (r !== null && rs.length && r > this.o.resistanceOutlierFactor * medianOf(rs)) {
        c.flags.push(`internal resistance ${r.toFixed(2)} mΩ, ${(r / medianOf(rs)).toFixed(1)} × the other cells'`);
      }
      const cap = c.capacity?.ah ?? null;
      const caps = others(c, (x) => x.capacity?.ah ?? null);
      // Below the others by the fraction and by more than its own 95 % uncertainty.
      if (cap !== null && caps.length && cap < (1 - this.o.capacityOutlierFraction) * medianOf(caps) && medianOf(caps) - cap > c.capacity!.uncertaintyAh) {
        c.flags.push(`capacity ${cap.toFixed(1)} Ah, ${(100 * (1 - cap / medianOf(caps))).toFixed(0)} % below the other cells'`);
      }
      const sd = c.relativeSelfDischargePctPerH;
      if (sd !== null && significantSelfDischarge[c.cell - 1]) {
        c.flags.push(`loses ${sd.toFixed(2)} % of charge per hour more than the other cells at rest`);
      }
    }
  }
}

function accumulate(acc: CapAcc, x: number, sigma: number): void {
  const w = 1 / Math.max(sigma, 1e-9) ** 2;
  acc.sw += w;
  acc.swx += w * x;
  acc.swxx += w * x * x;
  acc.n++;
}

/** Inverse-variance mean; the uncertainty widens when windows disagree more than their errors say. */
function estimate(acc: CapAcc): CapacityEstimate | null {
  if (acc.n === 0) return null;
  const mean = acc.swx / acc.sw;
  const sigmaStat = Math.sqrt(1 / acc.sw);
  // Weighted scatter of the windows around the mean, per window, scaled to the mean's error.
  const scatter = acc.n > 1 ? Math.sqrt(Math.max(0, acc.swxx / acc.sw - mean * mean) / (acc.n - 1)) : 0;
  const sigma = Math.max(sigmaStat, scatter);
  return { ah: roundTo(mean, 3), uncertaintyAh: roundTo(2 * sigma, 3), windows: acc.n };
}

function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function max(xs: readonly number[]): number {
  let m = NaN;
  for (const x of xs) if (!(x <= m)) m = x;
  return m;
}

function min(xs: readonly number[]): number {
  let m = NaN;
  for (const x of xs) if (!(x >= m)) m = x;
  return m;
}
