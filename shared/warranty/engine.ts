/**
 * The warranty rule engine: decoded black-box records + a policy + the claim + facts about the
 * log (signature status, integrity gaps, where it came from) → findings and a verdict.
 *
 * Streaming: `push()` takes records one at a time in log order and keeps bounded state (one open
 * run and a few retained occurrences per clause), so a log of any size is evaluated in one pass.
 * Deterministic: no clocks, no randomness, values rounded to fixed decimals, and the result is
 * meant to be serialised with canonicalJson(), so the same inputs give byte-identical JSON — the
 * verifier recomputes it and compares bytes.
 *
 * Semantics (documented in POLICY.md):
 * - A clause holds over a *run*: consecutive records where its condition is true. A run ends at
 *   the first record where it is false, at a time gap longer than evidence.maxRecordGapS, at a
 *   clock step backwards, or at a jump in record indices. Its duration is last − first record
 *   time (the conservative bound: the condition is only known to hold at sampled instants).
 * - A run counts as an occurrence when its duration ≥ minDurationS.
 * - Capacity is measured in windows: from an anchor record, charge is counted until the SOC has
 *   moved 10 %. A window breaks (new anchor, charge discarded) wherever runs break, at a boot
 *   record (the board restarted and may have re-estimated its SOC) and at a record-to-record SOC
 *   step larger than the counted charge can explain (an SOC reset or jump). A window whose charge
 *   and SOC moved different ways, or whose charge-implied SOC change differs from the observed
 *   one by more than a factor of 2, is rejected rather than counted.
 * - Verdict: invalid signatures → inconclusive; any void occurrence (or, when the policy says so,
 *   attested segments that are unreadable) → excluded (naming the clauses); anything missing (no
 *   data, out of period, gaps, unreadable segments, a failure date outside the board's history,
 *   too little history, unsigned data when the policy requires signatures, no record near the
 *   failure, serial mismatch, a void clause that could not be assessed) → inconclusive; a clean
 *   log under a policy with inspections (conditions logs cannot show) → inconclusive, naming what
 *   the supplier needs; otherwise covered, with defect indicators as supporting findings.
 */
import type { LogRecord } from '../types/domain.js';
import { ALARM_FLAGS, flagNames } from '../types/domain.js';
import { EVENTS } from '../blackbox/events.js';
import { roundTo } from '../codec/canonical-json.js';
import { HealthAnalyzer } from '../health/analyzer.js';
import { ocvTableFor } from '../health/ocv.js';
import { intervalThroughput } from '../health/throughput.js';
import type { LifetimeCounters } from '../health/lifetime.js';
import type { Claim } from './claim.js';
import { settingDef } from '../settings/catalog.js';
import type { SettingsEvidence } from '../settings/evidence.js';
import { guaranteeResult, type Guarantee } from './capacity-guarantee.js';
import { dateToMs } from './claim.js';
import type { DefectIndicator, VoidCondition, WarrantyPolicy } from './policy.js';
import { policyHash, UNREADABLE_SEGMENTS_ID } from './policy.js';
import {
  EVALUATION_SCHEMA_ID,
  type ClauseResult,
  type Evaluation,
  type Finding,
  type LogGap,
  type Measurement,
  type Missing,
  type SignatureStatus,
  type Threshold,
  type Verdict,
} from './evaluation.js';

/** What the engine must know about the log besides its records. */
export interface LogFacts {
  /** 'device': the board's signed black box; 'desktop': recorded by PackScope from a BMS without a device key. */
  source: 'device' | 'desktop';
  /** Status of the device signatures over all segments ('unsigned' for desktop recordings). */
  signature: SignatureStatus;
  /** Integrity gaps found while decoding (missing segments, chain breaks, resynchronisations): the first ones at least. */
  gaps: readonly LogGap[];
  /** How many integrity gaps there are when `gaps` lists only the first (default: gaps.length). */
  gapCount?: number;
  /** Serial number the device reports (from its certificate); null when unknown. */
  deviceSerial: string | null;
  /** When the claim was made (package creation time), ms since the epoch. */
  reportedAt: number;
  /**
   * What the board attested in its signed checkpoint (absent or null: not attested, e.g. desktop
   * recordings). `historyFromMs`: time of the oldest record the board still holds (null: none or
   * not attested); `boardTimeMs`: the board's clock at the pull; `unreadableSegments`: counters of
   * segments inside the attested range that are missing from the package or do not decode.
   */
  extent?: { historyFromMs: number | null; boardTimeMs: number; unreadableSegments: number[] } | null;
  /**
   * When the claim was made, for the warranty age, ms since the epoch: the supplier's claim-ticket
   * issue time, else the attested board clock, else reportedAt (the default).
   */
  claimedAtMs?: number;
  /** How fresh the pull is known to be: 'ticket' (bound to a supplier's claim ticket) or 'unproven'. */
  freshness?: 'ticket' | 'unproven';
  /**
   * The board's signed settings snapshot and change records, verified against the device key
   * (shared/settings/evidence.ts); absent or null: the log carries none.
   */
  settings?: SettingsEvidence | null;
  /**
   * The board's lifetime counters, only when verified (device signature, bound to the checkpoint,
   * consistent with the records): throughput caps and capacity guarantees count the pack's whole
   * life with them, not just what the log still holds. Absent or null: none.
   */
  lifetime?: LifetimeCounters | null;
}

type SettingsClause = Extract<VoidCondition, { kind: 'protection_settings_outside_range' }>;
/** A params_changed record matches a signed change record within this time, ms. */
const CHANGE_MATCH_MS = 5000;
const PARAM_EVENT_LIMIT = 10_000;

export interface EvaluatorOptions {
  /** Rated capacity the device reports, Ah (policy.ratedCapacityAh overrides it); null if unknown. */
  nominalCapacityAh: number | null;
  /** Cell chemistry from the device certificate ('lfp', 'nmc'): the OCV curve capacity guarantees are measured with. */
  chemistry?: string | null;
  /** Occurrences listed per clause (the most extreme one is always listed too). Default 5. */
  maxFindingsPerClause?: number;
}

const DAY_MS = 86_400_000;
const GAP_LIST_LIMIT = 20;
/** SOC swing per capacity window: big enough that 1 % SOC quantisation stays a small error. */
const CAPACITY_WINDOW_PERCENT = 10;
/**
 * A capacity window is counted only when the SOC change its charge implies at the rated capacity
 * and the SOC change observed agree within this factor either way.
 */
const CAPACITY_AGREEMENT_FACTOR = 2;
/**
 * A record-to-record SOC step is a jump (an SOC reset, not charge) when it exceeds
 * CAPACITY_AGREEMENT_FACTOR × the step the counted charge implies plus this allowance for SOC
 * quantisation (BMSs that report whole percent move 1 point at a time).
 */
const SOC_STEP_ALLOWANCE_PERCENT = 1;
const COUNTER_LIST_LIMIT = 12;

/** A throughput cap: what has been discharged so far, and where the cap was first crossed. */
interface Throughput {
  def: Extract<VoidCondition, { kind: 'throughput_above' }>;
  ah: number;
  wh: number;
  crossed: { index: number; t: number; segment: number | null } | null;
}

interface Occ {
  firstIdx: number;
  firstT: number;
  firstSeg: number | null;
  lastIdx: number;
  lastT: number;
  lastSeg: number | null;
  extIdx: number;
  extSeg: number | null;
  ext: number;
  detail: number;
  bits: number;
  events: number[];
}

/** Scratch filled by a clause's probe for the current record. */
interface Probe {
  v: number;
  d: number;
  bits: number;
  ev: number;
}

const NOT_ASSESSABLE = -1;
const INACTIVE = 0;
const ACTIVE = 1;

interface RunClause {
  kind: 'run';
  def: VoidCondition | DefectIndicator;
  type: 'void' | 'defect';
  minMs: number;
  /** Larger = more extreme (values are negated for 'below' clauses). */
  sign: 1 | -1;
  probe(r: LogRecord, p: Probe): number;
  run: Occ | null;
  occurrences: number;
  totalMs: number;
  kept: { n: number; o: Occ }[];
  worst: { n: number; o: Occ } | null;
  assessed: number;
  notAssessableReason: string | null;
  restSince: number | null;
}

function selectTemps(temps: number[], sensors: number[] | undefined, pickMax: boolean, p: Probe): boolean {
  let found = false;
  let best = 0;
  let at = -1;
  const n = sensors ? sensors.length : temps.length;
  for (let k = 0; k < n; k++) {
    const i = sensors ? sensors[k]! : k;
    const t = temps[i];
    if (t === undefined || !Number.isFinite(t)) continue;
    if (!found || (pickMax ? t > best : t < best)) {
      best = t;
      at = i;
      found = true;
    }
  }
  p.v = best;
  p.d = at;
  return found;
}

function cellExtreme(cells: number[], pickMax: boolean, p: Probe): boolean {
  let found = false;
  let best = 0;
  let at = -1;
  for (let i = 0; i < cells.length; i++) {
    const v = cells[i]!;
    if (!Number.isFinite(v)) continue;
    if (!found || (pickMax ? v > best : v < best)) {
      best = v;
      at = i;
      found = true;
    }
  }
  p.v = best;
  p.d = at;
  return found;
}

function isoTime(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? `invalid-time(${t})` : d.toISOString();
}

function isoDay(t: number): string {
  return isoTime(t).slice(0, 10);
}

function startOfDay(t: number): number {
  return Math.floor(t / DAY_MS) * DAY_MS;
}

/** "3–5, 9, 12" for sorted distinct counters; long lists end with "and N more". */
function describeCounters(sorted: readonly number[]): string {
  const ranges: string[] = [];
  let i = 0;
  while (i < sorted.length && ranges.length < COUNTER_LIST_LIMIT) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(j > i ? `${sorted[i]}–${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  const rest = sorted.length - i;
  return ranges.join(', ') + (rest > 0 ? ` and ${rest} more` : '');
}

/**
 * Capacity-fade window state, shared by every capacity_fade clause (the windows do not depend on
 * a clause's thresholds). Bounded: one anchor, one previous SOC sample and running sums.
 */
interface FadeWindows {
  /** SOC at the window's anchor record; NaN when there is no anchor (after a break). */
  anchorSoc: number;
  anchorIdx: number;
  anchorT: number;
  anchorSeg: number | null;
  /** Charge counted since the anchor, Ah (positive = charging). */
  q: number;
  /** SOC of the latest record with a finite SOC since the anchor. */
  lastSoc: number;
  /** Charge counted since that record, Ah. */
  stepQ: number;
  /** Totals over the counted windows. */
  sumQ: number;
  sumSoc: number;
  windows: number;
  rejected: number;
  jumps: number;
  /** Anchor of the first counted window and end of the last one (-1: none counted). */
  firstIdx: number;
  firstT: number;
  firstSeg: number | null;
  lastIdx: number;
  lastT: number;
  lastSeg: number | null;
}

/** How a single-threshold run clause names what it measured: one row instead of a switch arm each. */
const SIMPLE_MEASURES: Record<
  | 'charge_below_temperature'
  | 'temperature_above'
  | 'cell_voltage_below'
  | 'cell_voltage_above'
  | 'cell_drift_at_rest'
  | 'stored_below_soc'
  | 'cell_resting_below',
  { quantity: string; unit: string; digits: number; comparison: 'above' | 'below'; at: 'sensor' | 'cell' | null }
> = {
  charge_below_temperature: { quantity: 'temperature while charging', unit: '°C', digits: 2, comparison: 'below', at: 'sensor' },
  temperature_above: { quantity: 'temperature', unit: '°C', digits: 2, comparison: 'above', at: 'sensor' },
  cell_voltage_below: { quantity: 'cell voltage', unit: 'V', digits: 4, comparison: 'below', at: 'cell' },
  cell_voltage_above: { quantity: 'cell voltage', unit: 'V', digits: 4, comparison: 'above', at: 'cell' },
  cell_drift_at_rest: { quantity: 'cell deviation from the others at rest', unit: 'V', digits: 4, comparison: 'above', at: 'cell' },
  stored_below_soc: { quantity: 'state of charge at rest', unit: '%', digits: 2, comparison: 'below', at: null },
  cell_resting_below: { quantity: 'cell voltage at rest', unit: 'V', digits: 4, comparison: 'below', at: 'cell' },
};

export class Evaluator {
  readonly policy: WarrantyPolicy;
  readonly capacityAh: number | null;
  private readonly maxKept: number;
  private readonly clauses: RunClause[] = [];
  private readonly fade: Extract<DefectIndicator, { kind: 'capacity_fade' }>[] = [];
  private readonly settingsClauses: SettingsClause[] = [];
  /** Records carrying the params_changed event: where a signed change shows in the black box. */
  private readonly paramEvents: { index: number; t: number; segment: number | null }[] = [];
  private readonly guarantees: Guarantee[] = [];
  /** Capacity measured from rested voltages (shared/health), when a guarantee clause needs it. */
  private readonly health: HealthAnalyzer | null = null;
  private readonly throughput: Throughput[] = [];
  private readonly win: FadeWindows = {
    anchorSoc: NaN,
    anchorIdx: -1,
    anchorT: 0,
    anchorSeg: null,
    q: 0,
    lastSoc: NaN,
    stepQ: 0,
    sumQ: 0,
    sumSoc: 0,
    windows: 0,
    rejected: 0,
    jumps: 0,
    firstIdx: -1,
    firstT: 0,
    firstSeg: null,
    lastIdx: -1,
    lastT: 0,
    lastSeg: null,
  };
  private readonly probe: Probe = { v: 0, d: -1, bits: 0, ev: 0 };
  private count = 0;
  private firstT = 0;
  private firstIdx = -1;
  /** The previous record's fields (copied: decoders may reuse one record object). */
  private prev: { index: number; t: number; current: number; packVoltage: number; segment: number | null } | null = null;
  private timeGaps = 0;
  private readonly gapList: { afterIndex: number | null; reason: string }[] = [];

  constructor(policy: WarrantyPolicy, options: EvaluatorOptions) {
    this.policy = policy;
    const cap = policy.ratedCapacityAh ?? options.nominalCapacityAh;
    this.capacityAh = cap !== null && Number.isFinite(cap) && cap > 0 ? cap : null;
    this.maxKept = options.maxFindingsPerClause ?? 5;
    for (const c of policy.voidConditions) {
      if (c.kind === 'throughput_above') this.throughput.push({ def: c, ah: 0, wh: 0, crossed: null });
      else if (c.kind === 'protection_settings_outside_range') this.settingsClauses.push(c);
      else this.clauses.push(this.makeVoid(c));
    }
    for (const c of policy.defectIndicators) {
      if (c.kind === 'capacity_fade') this.fade.push(c);
      else if (c.kind === 'capacity_below_guarantee') this.guarantees.push(c);
      else this.clauses.push(this.makeDefect(c));
    }
    if (this.guarantees.length) {
      // One measurement serves every guarantee clause; the first one's rest settings apply.
      const g = this.guarantees[0]!;
      this.health = new HealthAnalyzer({
        ocv: ocvTableFor(options.chemistry),
        ratedCapacityAh: this.capacityAh,
        maxGapS: policy.evidence.maxRecordGapS,
        ...(g.restCurrentA !== undefined ? { restCurrentA: g.restCurrentA } : {}),
        ...(g.settleS !== undefined ? { settleS: g.settleS } : {}),
      });
    }
  }

  private base(def: VoidCondition | DefectIndicator, type: 'void' | 'defect', sign: 1 | -1, probe: RunClause['probe']): RunClause {
    const minDurationS = 'minDurationS' in def ? def.minDurationS : 0;
    return {
      kind: 'run',
      def,
      type,
      minMs: minDurationS * 1000,
      sign,
      probe,
      run: null,
      occurrences: 0,
      totalMs: 0,
      kept: [],
      worst: null,
      assessed: 0,
      notAssessableReason: null,
      restSince: null,
    };
  }

  private makeVoid(c: Exclude<VoidCondition, { kind: 'throughput_above' } | SettingsClause>): RunClause {
    const cap = this.capacityAh;
    switch (c.kind) {
      case 'discharge_current_above_c': {
        const limit = cap === null ? NaN : c.thresholdC * cap;
        const rc = this.base(c, 'void', 1, (r, p) => {
          if (!Number.isFinite(r.current)) return NOT_ASSESSABLE;
          p.v = -r.current;
          p.d = -1;
          return -r.current > limit ? ACTIVE : INACTIVE;
        });
        if (cap === null) rc.notAssessableReason = 'the rated capacity is unknown, so C-rates cannot be computed';
        return rc;
      }
      case 'charge_current_above_c': {
        const limit = cap === null ? NaN : c.thresholdC * cap;
        const rc = this.base(c, 'void', 1, (r, p) => {
          if (!Number.isFinite(r.current)) return NOT_ASSESSABLE;
          p.v = r.current;
          p.d = -1;
          return r.current > limit ? ACTIVE : INACTIVE;
        });
        if (cap === null) rc.notAssessableReason = 'the rated capacity is unknown, so C-rates cannot be computed';
        return rc;
      }
      case 'charge_below_temperature':
        return this.base(c, 'void', -1, (r, p) => {
          if (!selectTemps(r.temperatures, c.sensors, false, p) || !Number.isFinite(r.current)) return NOT_ASSESSABLE;
          return r.current > c.minChargeCurrentA && p.v < c.thresholdCelsius ? ACTIVE : INACTIVE;
        });
      case 'temperature_above':
        return this.base(c, 'void', 1, (r, p) => {
          if (!selectTemps(r.temperatures, c.sensors, true, p)) return NOT_ASSESSABLE;
          return p.v > c.thresholdCelsius ? ACTIVE : INACTIVE;
        });
      case 'cell_voltage_below':
        return this.base(c, 'void', -1, (r, p) => {
          if (!cellExtreme(r.cellVoltages, false, p)) return NOT_ASSESSABLE;
          return p.v < c.thresholdV ? ACTIVE : INACTIVE;
        });
      case 'cell_voltage_above':
        return this.base(c, 'void', 1, (r, p) => {
          if (!cellExtreme(r.cellVoltages, true, p)) return NOT_ASSESSABLE;
          return p.v > c.thresholdV ? ACTIVE : INACTIVE;
        });
      case 'stored_below_soc':
        return this.base(c, 'void', -1, (r, p) => {
          if (!Number.isFinite(r.current) || !Number.isFinite(r.soc)) return NOT_ASSESSABLE;
          p.v = r.soc;
          p.d = -1;
          return Math.abs(r.current) <= c.restCurrentA && r.soc <= c.thresholdPercent ? ACTIVE : INACTIVE;
        });
      case 'cell_resting_below':
        return this.base(c, 'void', -1, (r, p) => {
          if (!Number.isFinite(r.current) || !cellExtreme(r.cellVoltages, false, p)) return NOT_ASSESSABLE;
          return Math.abs(r.current) <= c.restCurrentA && p.v < c.thresholdV ? ACTIVE : INACTIVE;
        });
    }
  }

  private makeDefect(c: Exclude<DefectIndicator, { kind: 'capacity_fade' | 'capacity_below_guarantee' }>): RunClause {
    switch (c.kind) {
      case 'cell_drift_at_rest': {
        const settleMs = c.settleS * 1000;
        const rc: RunClause = this.base(c, 'defect', 1, (r, p) => {
          const cells = r.cellVoltages;
          const n = cells.length;
          if (n < 3 || !Number.isFinite(r.current)) return NOT_ASSESSABLE;
          if (Math.abs(r.current) > c.restCurrentA) {
            rc.restSince = null;
            return INACTIVE;
          }
          if (rc.restSince === null) rc.restSince = r.t;
          if (r.t - rc.restSince < settleMs) return INACTIVE;
          if (!(r.soc >= c.minSocPercent && r.soc <= c.maxSocPercent)) return INACTIVE;
          // The outlier is the lowest or the highest cell; its deviation from the mean of the
          // others is (n·v − Σ)/(n − 1), so no sort is needed per record.
          let sum = 0;
          let lo = 0;
          let hi = 0;
          for (let i = 0; i < n; i++) {
            const v = cells[i]!;
            if (!Number.isFinite(v)) return NOT_ASSESSABLE;
            sum += v;
            if (v < cells[lo]!) lo = i;
            if (v > cells[hi]!) hi = i;
          }
          const low = (sum - n * cells[lo]!) / (n - 1);
          const high = (n * cells[hi]! - sum) / (n - 1);
          if (low >= high) {
            p.v = low;
            p.d = lo;
          } else {
            p.v = high;
            p.d = hi;
          }
          return p.v > c.thresholdV ? ACTIVE : INACTIVE;
        });
        return rc;
      }
      case 'bms_fault': {
        let mask = 0;
        for (const a of c.alarms) mask |= 1 << ALARM_FLAGS.indexOf(a);
        const events = new Set(c.events);
        return this.base(c, 'defect', 1, (r, p) => {
          p.bits = r.alarms & mask;
          p.ev = events.has(r.event) ? r.event : 0;
          p.v = 0;
          p.d = -1;
          return p.bits !== 0 || p.ev !== 0 ? ACTIVE : INACTIVE;
        });
      }
    }
  }

  /** Feeds the next record (records must come in log order). */
  push(r: LogRecord): void {
    const prev = this.prev;
    if (prev) {
      const dt = r.t - prev.t;
      let reason: string | null = null;
      if (r.index !== prev.index + 1) reason = `record indices jump from ${prev.index} to ${r.index}`;
      else if (!(dt >= 0)) reason = `clock steps back by ${roundTo(-dt / 1000, 3)} s`;
      else if (dt > this.policy.evidence.maxRecordGapS * 1000) reason = `no record for ${roundTo(dt / 1000, 3)} s`;
      if (reason !== null) {
        this.timeGaps++;
        if (this.gapList.length < GAP_LIST_LIMIT) this.gapList.push({ afterIndex: prev.index, reason });
        this.breakRuns();
      } else this.integrate(prev, r, dt);
    } else {
      this.firstT = r.t;
      this.firstIdx = r.index;
    }
    this.count++;
    this.health?.push(r);
    if (r.event === EVENTS.params_changed && this.paramEvents.length < PARAM_EVENT_LIMIT) this.paramEvents.push({ index: r.index, t: r.t, segment: r.segment });
    const p = this.probe;
    for (const c of this.clauses) {
      p.bits = 0;
      p.ev = 0;
      const st = c.probe(r, p);
      if (st === NOT_ASSESSABLE) {
        this.closeRun(c);
        continue;
      }
      c.assessed++;
      if (st === INACTIVE) {
        this.closeRun(c);
        continue;
      }
      const v = c.sign * p.v;
      const run = c.run;
      const seg = r.segment ?? null;
      if (run === null) {
        c.run = {
          firstIdx: r.index,
          firstT: r.t,
          firstSeg: seg,
          lastIdx: r.index,
          lastT: r.t,
          lastSeg: seg,
          extIdx: r.index,
          extSeg: seg,
          ext: v,
          detail: p.d,
          bits: p.bits,
          events: p.ev ? [p.ev] : [],
        };
      } else {
        run.lastIdx = r.index;
        run.lastT = r.t;
        run.lastSeg = seg;
        run.bits |= p.bits;
        if (p.ev && run.events.length < 16 && !run.events.includes(p.ev)) run.events.push(p.ev);
        if (v > run.ext) {
          run.ext = v;
          run.extIdx = r.index;
          run.extSeg = seg;
          run.detail = p.d;
        }
      }
    }
    if (this.fade.length) this.trackSoc(r);
    if (prev) {
      prev.index = r.index;
      prev.t = r.t;
      prev.current = r.current;
      prev.packVoltage = r.packVoltage;
      prev.segment = r.segment ?? null;
    } else this.prev = { index: r.index, t: r.t, current: r.current, packVoltage: r.packVoltage, segment: r.segment ?? null };
  }

  private integrate(prev: { current: number; packVoltage: number }, r: LogRecord, dt: number): void {
    if (this.throughput.length) this.countThroughput(prev, r, dt);
    if (!this.fade.length) return;
    const dq = ((prev.current + r.current) / 2) * (dt / 3_600_000);
    if (!Number.isFinite(dq)) return;
    this.win.q += dq;
    this.win.stepQ += dq;
  }

  /**
   * Discharged charge and energy, counted only across unbroken records (so the total is a lower
   * bound when the log does not hold the pack's whole life), and the record where a cap was crossed.
   */
  private countThroughput(prev: { current: number; packVoltage: number }, r: LogRecord, dt: number): void {
    const { dAh, dWh } = intervalThroughput(prev, r, dt / 1000);
    if (!(dAh < 0)) return;
    for (const x of this.throughput) {
      x.ah -= dAh;
      if (Number.isFinite(dWh)) x.wh -= dWh;
      if (x.crossed) continue;
      const cycles = this.capacityAh ? x.ah / this.capacityAh : null;
      const overCycles = x.def.maxEquivalentCycles !== undefined && cycles !== null && cycles > x.def.maxEquivalentCycles;
      const overEnergy = x.def.maxDischargeMWh !== undefined && x.wh / 1e6 > x.def.maxDischargeMWh;
      if (overCycles || overEnergy) x.crossed = { index: r.index, t: r.t, segment: r.segment ?? null };
    }
  }

  private throughputResult(x: Throughput, lifetime: LifetimeCounters | null): { clause: ClauseResult; finding: Finding | null } {
    const d = x.def;
    const base = { id: d.id, type: 'void' as const, kind: d.kind, title: d.title, totalDurationS: 0 };
    const cap = this.capacityAh;
    if (d.maxDischargeMWh === undefined && cap === null) {
      return {
        clause: { ...base, status: 'not-assessed', occurrences: 0, reason: 'the rated capacity is unknown, so cycles cannot be counted' },
        finding: null,
      };
    }
    const last = this.prev;
    if (!last) return { clause: { ...base, status: 'clear', occurrences: 0 }, finding: null };
    const over = (ah: number, wh: number) => {
      const cycles = cap !== null ? ah / cap : null;
      return {
        cycles,
        byCycles: d.maxEquivalentCycles !== undefined && cycles !== null && cycles > d.maxEquivalentCycles,
        byEnergy: d.maxDischargeMWh !== undefined && wh / 1e6 > d.maxDischargeMWh,
      };
    };
    // The records show where the cap was crossed; the board's signed lifetime counters cover the
    // pack's whole life, also what the ring no longer holds.
    const life = lifetime ? over(lifetime.dischargeAh, lifetime.dischargeWh) : null;
    if (!x.crossed && !(life && (life.byCycles || life.byEnergy))) return { clause: { ...base, status: 'clear', occurrences: 0 }, finding: null };
    const fromCounters = !x.crossed;
    const held = fromCounters ? life! : over(x.ah, x.wh);
    const ah = fromCounters ? lifetime!.dischargeAh : x.ah;
    const wh = fromCounters ? lifetime!.dischargeWh : x.wh;
    const source = fromCounters ? "the board's signed lifetime counter" : 'at least';
    const from = fromCounters ? { t: lifetime!.sinceMs, index: this.firstIdx, segment: null } : x.crossed!;
    return {
      clause: { ...base, status: 'triggered', occurrences: 1 },
      finding: {
        clause: d.id,
        type: 'void',
        kind: d.kind,
        title: d.title,
        occurrence: 1,
        measured: held.byCycles
          ? { quantity: `equivalent full cycles (${source})`, value: roundTo(ah / cap!, 2), unit: 'cycles' }
          : { quantity: `discharged energy (${source})`, value: roundTo(wh / 1e6, 4), unit: 'MWh' },
        threshold: held.byCycles
          ? { value: d.maxEquivalentCycles!, unit: 'cycles', comparison: 'above' }
          : { value: d.maxDischargeMWh!, unit: 'MWh', comparison: 'above' },
        durationS: roundTo((last.t - from.t) / 1000, 3),
        from: isoTime(from.t),
        to: isoTime(last.t),
        records: { first: from.index, last: last.index, extreme: fromCounters ? last.index : from.index },
        segments: { first: from.segment, last: last.segment, extreme: fromCounters ? last.segment : from.segment },
      },
    };
  }

  /** Starts a new capacity window at `r` (NaN SOC: no anchor until the next finite SOC). */
  private anchor(r: LogRecord): void {
    const w = this.win;
    w.anchorSoc = Number.isFinite(r.soc) ? r.soc : NaN;
    w.anchorIdx = r.index;
    w.anchorT = r.t;
    w.anchorSeg = r.segment ?? null;
    w.q = 0;
    w.lastSoc = w.anchorSoc;
    w.stepQ = 0;
  }

  private trackSoc(r: LogRecord): void {
    const w = this.win;
    // A boot breaks the window: the board may have re-estimated its SOC (and a simulator hands
    // over from synthesised history to live data here).
    if (r.event === EVENTS.boot) {
      this.anchor(r);
      return;
    }
    if (!Number.isFinite(r.soc)) return;
    if (Number.isNaN(w.anchorSoc)) {
      this.anchor(r);
      return;
    }
    const cap = this.capacityAh;
    if (cap !== null) {
      // An SOC step the charge since the previous SOC sample cannot explain is a reset or a jump
      // of the SOC estimate, not charge: the window breaks here.
      const allowed = CAPACITY_AGREEMENT_FACTOR * ((Math.abs(w.stepQ) / cap) * 100) + SOC_STEP_ALLOWANCE_PERCENT;
      if (Math.abs(r.soc - w.lastSoc) > allowed) {
        w.jumps++;
        this.anchor(r);
        return;
      }
    }
    w.lastSoc = r.soc;
    w.stepQ = 0;
    const dSoc = r.soc - w.anchorSoc;
    if (Math.abs(dSoc) < CAPACITY_WINDOW_PERCENT) return;
    // Only windows where charge and SOC moved the same way, by amounts that agree within a factor
    // of CAPACITY_AGREEMENT_FACTOR at the rated capacity, measure capacity.
    const q = w.q;
    let counted = q !== 0 && Math.sign(dSoc) === Math.sign(q);
    if (counted && cap !== null) {
      const implied = (Math.abs(q) / cap) * 100;
      const seen = Math.abs(dSoc);
      counted = implied <= CAPACITY_AGREEMENT_FACTOR * seen && seen <= CAPACITY_AGREEMENT_FACTOR * implied;
    }
    if (counted) {
      w.sumQ += Math.abs(q);
      w.sumSoc += Math.abs(dSoc);
      w.windows++;
      if (w.firstIdx < 0) {
        w.firstIdx = w.anchorIdx;
        w.firstT = w.anchorT;
        w.firstSeg = w.anchorSeg;
      }
      w.lastIdx = r.index;
      w.lastT = r.t;
      w.lastSeg = r.segment ?? null;
    } else w.rejected++;
    this.anchor(r);
  }

  private breakRuns(): void {
    for (const c of this.clauses) {
      this.closeRun(c);
      c.restSince = null;
    }
    this.win.anchorSoc = NaN;
    this.win.q = 0;
    this.win.stepQ = 0;
  }

  private closeRun(c: RunClause): void {
    const run = c.run;
    if (run === null) return;
    c.run = null;
    if (run.lastT - run.firstT < c.minMs) return;
    c.occurrences++;
    c.totalMs += run.lastT - run.firstT;
    const entry = { n: c.occurrences, o: run };
    if (c.kept.length < this.maxKept) c.kept.push(entry);
    if (c.worst === null || run.ext > c.worst.o.ext) c.worst = entry;
  }

  /** Ends the stream and decides. */
  finish(claim: Claim, facts: LogFacts): Evaluation {
    for (const c of this.clauses) this.closeRun(c);
    const policy = this.policy;
    const findings: Finding[] = [];
    const clauses: ClauseResult[] = [];
    const missing: Missing[] = [];
    const cap = this.capacityAh;

    for (const c of this.clauses) {
      const notAssessed = c.notAssessableReason ?? (this.count > 0 && c.assessed === 0 ? 'no record carries the values it needs' : null);
      clauses.push({
        id: c.def.id,
        type: c.type,
        kind: c.def.kind,
        title: c.def.title,
        status: notAssessed !== null && this.count > 0 ? 'not-assessed' : c.occurrences > 0 ? 'triggered' : 'clear',
        occurrences: c.occurrences,
        totalDurationS: roundTo(c.totalMs / 1000, 3),
        ...(notAssessed !== null && this.count > 0 ? { reason: notAssessed } : {}),
      });
      const list = c.kept.slice();
      if (c.worst && !list.includes(c.worst)) list.push(c.worst);
      for (const { n, o } of list) findings.push(this.runFinding(c, n, o, cap));
    }
    const w = this.win;
    for (const def of this.fade) {
      let status: ClauseResult['status'] = 'not-assessed';
      let reason: string | undefined;
      if (cap === null) reason = 'the rated capacity is unknown';
      else if (w.sumSoc < def.minSocSwingPercent) {
        reason = `the log covers a state-of-charge swing of ${roundTo(w.sumSoc, 1)} %, less than the ${def.minSocSwingPercent} % needed`;
        if (w.rejected > 0) reason += ` (${w.rejected} window(s) where charge and state of charge disagree were left out)`;
      } else {
        const est = (w.sumQ / w.sumSoc) * 100;
        const fadePct = (1 - est / cap) * 100;
        status = fadePct > def.maxFadePercent ? 'triggered' : 'clear';
        if (status === 'triggered') {
          findings.push({
            clause: def.id,
            type: 'defect',
            kind: def.kind,
            title: def.title,
            occurrence: 1,
            measured: { quantity: 'capacity', value: roundTo(est, 2), unit: 'Ah' },
            threshold: { value: roundTo(cap * (1 - def.maxFadePercent / 100), 2), unit: 'Ah', comparison: 'below' },
            durationS: roundTo((w.lastT - w.firstT) / 1000, 3),
            from: isoTime(w.firstT),
            to: isoTime(w.lastT),
            records: { first: w.firstIdx, last: w.lastIdx, extreme: w.lastIdx },
            segments: { first: w.firstSeg, last: w.lastSeg, extreme: w.lastSeg },
          });
        }
      }
      clauses.push({
        id: def.id,
        type: 'defect',
        kind: def.kind,
        title: def.title,
        status,
        occurrences: status === 'triggered' ? 1 : 0,
        totalDurationS: 0,
        ...(reason !== undefined ? { reason } : {}),
      });
    }
    for (const x of this.throughput) {
      const r = this.throughputResult(x, facts.lifetime ?? null);
      clauses.push(r.clause);
      if (r.finding) findings.push(r.finding);
    }
    const health = this.health ? this.health.result() : null;
    const claimedMs = facts.claimedAtMs ?? facts.reportedAt;
    const ageYears = (claimedMs - dateToMs(claim.purchaseDate)) / (365.25 * DAY_MS);
    const guaranteeNotes: string[] = [];
    for (const g of this.guarantees) {
      const r = guaranteeResult(g, health!, cap, ageYears, facts.lifetime && cap ? facts.lifetime.dischargeAh / cap : null);
      clauses.push(r.clause);
      if (r.finding) findings.push(r.finding);
      guaranteeNotes.push(r.note);
    }
    for (const def of this.settingsClauses) clauses.push(this.settingsClause(def, facts.settings ?? null, findings));
    const inspections = policy.inspections ?? [];
    for (const x of inspections) {
      clauses.push({
        id: x.id,
        type: 'inspection',
        kind: 'inspection',
        title: x.title,
        status: 'not-assessed',
        occurrences: 0,
        totalDurationS: 0,
        reason: `not visible in logs: ${x.requires.join(', ')}`,
        condition: x.condition,
        requires: x.requires.slice(),
      });
    }
    // Policy order first, then chronological: stable regardless of retention order.
    const order = new Map(clauses.map((c, i) => [c.id, i]));
    findings.sort((a, b) => a.records.first - b.records.first || order.get(a.clause)! - order.get(b.clause)! || a.occurrence - b.occurrence);

    // Claim period. The warranty age is taken when the claim was made; the DOA window by the failure date.
    const claimedAtMs = facts.claimedAtMs ?? facts.reportedAt;
    const claimedDay = isoDay(claimedAtMs);
    const purchaseMs = dateToMs(claim.purchaseDate);
    const failureDate = claim.failureDate ?? claimedDay;
    const failureMs = dateToMs(failureDate);
    const warrantyEndMs = purchaseMs + policy.warranty.periodDays * DAY_MS;
    const doaEndMs = purchaseMs + policy.warranty.doaDays * DAY_MS;
    const withinWarranty = failureMs >= purchaseMs && claimedAtMs < warrantyEndMs;
    const withinDoa = failureMs >= purchaseMs && failureMs < doaEndMs;

    const excludedBy = clauses.filter((c) => c.type === 'void' && c.status === 'triggered').map((c) => c.id);
    const defects = clauses.filter((c) => c.type === 'defect' && c.status === 'triggered').map((c) => c.id);

    const extent = facts.extent ?? null;
    const unreadable = extent ? [...new Set(extent.unreadableSegments)].sort((a, b) => a - b) : [];
    const unreadableMessage =
      `misuse cannot be ruled out: ${unreadable.length} attested segment(s) are missing or unreadable ` + `(counters ${describeCounters(unreadable)})`;
    if (unreadable.length > 0 && (policy.evidence.unreadableSegments ?? 'inconclusive') === 'excluded') {
      excludedBy.push(UNREADABLE_SEGMENTS_ID);
    }

    if (this.count === 0) missing.push({ code: 'no-records', message: 'the log holds no records' });
    if (facts.signature === 'invalid') {
      missing.push({ code: 'invalid-signature', message: 'device signatures do not verify: the data cannot be trusted' });
    }
    if (facts.signature === 'unsigned' && policy.evidence.requireSignedData) {
      missing.push({
        code: 'unsigned-data',
        message: facts.source === 'desktop' ? 'desktop recording without device signatures' : 'the log carries no device signatures',
      });
    }
    if (failureMs < purchaseMs) {
      missing.push({ code: 'claim-dates', message: `the failure date ${failureDate} is before the purchase date ${claim.purchaseDate}` });
    } else if (failureMs > startOfDay(claimedAtMs)) {
      missing.push({ code: 'claim-dates', message: `the failure date ${failureDate} is after the claim was made on ${claimedDay}` });
    } else if (!withinWarranty) {
      missing.push({
        code: 'out-of-warranty',
        message: `the claim made on ${claimedDay} (failure on ${failureDate}) is after the warranty ended on ${isoDay(warrantyEndMs)}`,
      });
    }
    const integrityGaps = facts.gapCount ?? facts.gaps.length;
    if (integrityGaps > 0) {
      missing.push({ code: 'integrity-gaps', message: `${integrityGaps} gap(s) in the signed segment chain` });
    }
    if (unreadable.length > 0) missing.push({ code: 'unreadable-segments', message: unreadableMessage });
    if (this.timeGaps > 0) {
      missing.push({
        code: 'time-gaps',
        message: `${this.timeGaps} gap(s) longer than ${policy.evidence.maxRecordGapS} s between records`,
      });
    }
    const lastT = this.prev?.t ?? null;
    if (extent && claim.failureDate !== undefined) {
      const from = extent.historyFromMs;
      if ((from !== null && failureMs < startOfDay(from)) || failureMs > startOfDay(extent.boardTimeMs)) {
        missing.push({
          code: 'failure-outside-log',
          message:
            `the failure date ${failureDate} is outside the history the board holds ` +
            `(from ${from !== null ? isoDay(from) : 'an unattested start'} to ${isoDay(extent.boardTimeMs)}), so it cannot be assessed`,
        });
      }
    }
    const coverage = policy.evidence.coverage;
    if (coverage && (coverage.fromPurchase || coverage.minDaysBeforeFailure !== undefined)) {
      // The board's attested oldest record; without an attested extent, the log's first record.
      const historyFrom = extent ? extent.historyFromMs : this.count ? this.firstT : null;
      const holder = extent ? 'the board' : 'the log';
      const holds = historyFrom !== null ? `${holder} holds history from ${isoDay(historyFrom)}` : `${holder} holds no history`;
      if (coverage.fromPurchase && (historyFrom === null || historyFrom > purchaseMs)) {
        missing.push({ code: 'coverage', message: `the policy needs history from the purchase date ${claim.purchaseDate}, but ${holds}` });
      }
      const n = coverage.minDaysBeforeFailure;
      if (n !== undefined && (historyFrom === null || historyFrom > failureMs - n * DAY_MS)) {
        missing.push({
          code: 'coverage',
          message: `the policy needs history from ${n} day(s) before the failure (${isoDay(failureMs - n * DAY_MS)}), but ${holds}`,
        });
      }
    }
    const nearMs = policy.evidence.failureProximityHours * 3_600_000;
    const failureRef = claim.failureDate !== undefined ? failureMs : facts.reportedAt;
    if (lastT !== null && lastT < failureRef - nearMs) {
      missing.push({
        code: 'no-record-near-failure',
        message: `the newest record (${isoTime(lastT)}) is more than ${policy.evidence.failureProximityHours} h before the reported failure (${isoTime(failureRef)})`,
      });
    }
    if (facts.deviceSerial !== null && facts.deviceSerial.trim().toLowerCase() !== claim.serial.trim().toLowerCase()) {
      missing.push({
        code: 'serial-mismatch',
        message: `the claim names serial ${claim.serial} but the log comes from device ${facts.deviceSerial}`,
      });
    }
    for (const c of clauses) {
      if (c.type === 'void' && c.status === 'not-assessed') {
        missing.push({ code: 'clause-not-assessed', message: `clause ${c.id} could not be assessed: ${c.reason}` });
      }
    }

    // A capacity claim is decided by the capacity guarantee: covered only when the measured
    // capacity is below what the policy promises (misuse still excludes it first).
    if (claim.problem === 'capacity' && this.guarantees.length) {
      const triggered = clauses.some((c) => c.kind === 'capacity_below_guarantee' && c.status === 'triggered');
      if (!triggered) missing.push({ code: 'capacity', message: `capacity claim: ${guaranteeNotes.join('; ')}` });
    }

    let verdict: Verdict;
    let summary: string;
    const span = lastT !== null ? roundTo((lastT - this.firstT) / DAY_MS, 2) : 0;
    if (facts.signature === 'invalid') {
      verdict = 'inconclusive';
      summary = 'INCONCLUSIVE: device signatures do not verify';
    } else if (excludedBy.length > 0) {
      verdict = 'excluded';
      if (excludedBy[0] === UNREADABLE_SEGMENTS_ID) summary = `EXCLUDED: ${unreadableMessage}`;
      else {
        const first = findings.find((f) => f.clause === excludedBy[0])!;
        const c = clauses.find((x) => x.id === excludedBy[0])!;
        summary =
          `EXCLUDED by clause ${c.id} (${c.title}): ${describeMeasurement(first)} for ${first.durationS} s, ` +
          `records ${first.records.first}–${first.records.last}` +
          (excludedBy.length > 1 ? `; also ${excludedBy.slice(1).join(', ')}` : '');
      }
    } else if (missing.length > 0) {
      verdict = 'inconclusive';
      summary = `INCONCLUSIVE: ${missing.map((m) => m.message).join('; ')}`;
    } else if (inspections.length > 0) {
      // The log shows no misuse, but the policy names conditions only an inspection can show.
      verdict = 'inconclusive';
      for (const x of inspections) {
        missing.push({
          code: 'inspection-required',
          message: `clause ${x.id} (${x.title}): ${x.condition} is not visible in logs; needed: ${x.requires.join(', ')}`,
        });
      }
      summary = `INCONCLUSIVE: no misuse in ${this.count} records over ${span} days, but ${missing.map((m) => m.message).join('; ')}`;
    } else {
      verdict = 'covered';
      summary =
        `COVERED: no misuse in ${this.count} records over ${span} days` +
        (defects.length > 0 ? `; defect indicated by ${defects.join(', ')}` : '; the reported defect is within warranty') +
        (withinDoa ? ` (within the ${policy.warranty.doaDays}-day DOA window)` : '');
    }

    return {
      schema: EVALUATION_SCHEMA_ID,
      verdict,
      summary,
      excludedBy,
      defects,
      missing,
      policy: { id: policy.id, sha256: policyHash(policy), ratedCapacityAh: cap },
      claim: { serial: claim.serial, purchaseDate: claim.purchaseDate, failureDate, remedy: claim.remedy },
      period: {
        warrantyEnds: isoDay(warrantyEndMs),
        doaEnds: isoDay(doaEndMs),
        withinWarranty,
        withinDoa,
        daysSincePurchase: Math.floor((claimedAtMs - purchaseMs) / DAY_MS),
        claimedAt: isoTime(claimedAtMs),
      },
      log: {
        source: facts.source,
        signature: facts.signature,
        records: this.count,
        from: this.count ? isoTime(this.firstT) : null,
        to: lastT !== null ? isoTime(lastT) : null,
        firstIndex: this.count ? this.firstIdx : null,
        lastIndex: this.prev?.index ?? null,
        timeGaps: this.timeGaps,
        integrityGaps,
        gaps: [...facts.gaps.slice(0, GAP_LIST_LIMIT).map((g) => ({ afterIndex: g.afterIndex, reason: g.reason })), ...this.gapList].slice(0, GAP_LIST_LIMIT),
        freshness: facts.freshness ?? null,
        historyFrom: extent && extent.historyFromMs !== null ? isoTime(extent.historyFromMs) : null,
        boardTime: extent ? isoTime(extent.boardTimeMs) : null,
      },
      clauses,
      findings,
    };
  }

  /**
   * Settings outside the supplier's ranges: every signed change record that set one, and the signed
   * snapshot's value when no change record in the log explains it (changed before the journal's
   * oldest record, or set at the factory). Each finding names the record that proves it.
   */
  private settingsClause(def: SettingsClause, ev: SettingsEvidence | null, findings: Finding[]): ClauseResult {
    const base = { id: def.id, type: 'void' as const, kind: def.kind, title: def.title, totalDurationS: 0 };
    if (!ev) return { ...base, status: 'not-assessed', occurrences: 0, reason: 'the log carries no signed settings records from the board' };
    if (!ev.verified) return { ...base, status: 'not-assessed', occurrences: 0, reason: `the board's settings records do not verify: ${ev.problems[0] ?? ''}` };
    const outside = (id: string, v: number): { bound: number; comparison: 'above' | 'below' } | null => {
      const r = def.ranges[id];
      if (!r) return null;
      if (r.max !== undefined && v > r.max) return { bound: r.max, comparison: 'above' };
      if (r.min !== undefined && v < r.min) return { bound: r.min, comparison: 'below' };
      return null;
    };
    let n = 0;
    const explained = new Set<string>();
    const add = (id: string, value: number, t: number, rec: { index: number; segment: number | null } | null, setting: NonNullable<Finding['setting']>) => {
      const o = outside(id, value)!;
      const unit = settingDef(id)?.unit ?? '';
      const idx = rec?.index ?? -1;
      const seg = rec?.segment ?? null;
      findings.push({
        clause: def.id,
        type: 'void',
        kind: def.kind,
        title: def.title,
        occurrence: ++n,
        measured: { quantity: `setting ${id}`, value, unit },
        threshold: { value: o.bound, unit, comparison: o.comparison },
        durationS: 0,
        from: isoTime(t),
        to: isoTime(t),
        records: { first: idx, last: idx, extreme: idx },
        segments: { first: seg, last: seg, extreme: seg },
        setting,
      });
    };
    for (const c of ev.changes) {
      if (c.setting === null || !outside(c.setting, c.newValue)) continue;
      explained.add(c.setting);
      add(c.setting, c.newValue, c.t, this.nearestParamEvent(c.t), {
        id: c.setting,
        source: 'change',
        seq: c.seq,
        previous: c.oldValue,
        tool: c.tool,
        record: c.hash,
        snapshot: ev.snapshotDigest,
      });
    }
    for (const [id, value] of Object.entries(ev.values).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (explained.has(id) || !outside(id, value)) continue;
      const last = this.prev ? { index: this.prev.index, segment: null } : null;
      add(id, value, ev.snapshotTime, last, { id, source: 'snapshot', seq: null, previous: null, tool: null, record: null, snapshot: ev.snapshotDigest });
    }
    return { ...base, status: n > 0 ? 'triggered' : 'clear', occurrences: n };
  }

  private nearestParamEvent(t: number): { index: number; segment: number | null } | null {
    let best: { index: number; t: number; segment: number | null } | null = null;
    for (const e of this.paramEvents) if (Math.abs(e.t - t) <= CHANGE_MATCH_MS && (!best || Math.abs(e.t - t) < Math.abs(best.t - t))) best = e;
    return best;
  }

  private runFinding(c: RunClause, n: number, o: Occ, cap: number | null): Finding {
    const def = c.def;
    const value = c.sign * o.ext;
    let measured: Measurement;
    let threshold: Threshold;
    switch (def.kind) {
      case 'discharge_current_above_c':
      case 'charge_current_above_c': {
        const q = def.kind === 'discharge_current_above_c' ? 'discharge current' : 'charge current';
        measured = { quantity: q, value: roundTo(value, 2), unit: 'A', cRate: roundTo(value / cap!, 3) };
        threshold = { value: roundTo(def.thresholdC * cap!, 2), unit: 'A', comparison: 'above', cRate: def.thresholdC };
        break;
      }
      case 'bms_fault':
        measured = {
          quantity: 'hardware fault',
          value: o.bits,
          unit: 'alarm bits',
          alarms: flagNames(ALARM_FLAGS, o.bits),
          events: o.events.slice().sort((a, b) => a - b),
        };
        threshold = { value: 0, unit: 'alarm bits', comparison: 'above' };
        break;
      case 'charge_below_temperature':
      case 'temperature_above':
      case 'cell_voltage_below':
      case 'cell_voltage_above':
      case 'cell_drift_at_rest':
      case 'stored_below_soc':
      case 'cell_resting_below': {
        const d = SIMPLE_MEASURES[def.kind];
        measured = { quantity: d.quantity, value: roundTo(value, d.digits), unit: d.unit, ...(d.at ? { [d.at]: o.detail } : {}) };
        const limit = 'thresholdCelsius' in def ? def.thresholdCelsius : 'thresholdV' in def ? def.thresholdV : def.thresholdPercent;
        threshold = { value: limit, unit: d.unit, comparison: d.comparison };
        break;
      }
      case 'capacity_fade':
      case 'capacity_below_guarantee':
      case 'throughput_above':
      case 'protection_settings_outside_range':
        throw new Error(`unreachable: ${def.kind} is not a run clause`);
    }
    return {
      clause: def.id,
      type: c.type,
      kind: def.kind,
      title: def.title,
      occurrence: n,
      measured,
      threshold,
      durationS: roundTo((o.lastT - o.firstT) / 1000, 3),
      from: isoTime(o.firstT),
      to: isoTime(o.lastT),
      records: { first: o.firstIdx, last: o.lastIdx, extreme: o.extIdx },
      segments: { first: o.firstSeg, last: o.lastSeg, extreme: o.extSeg },
    };
  }
}

/** "243.1 A (2.43C)", "−2.3 °C on sensor 1", "2.41 V on cell 7". */
export function describeMeasurement(f: Finding): string {
  const m = f.measured;
  if (m.alarms !== undefined) {
    return [...m.alarms, ...(m.events ?? []).map((e) => `event ${e}`)].join(', ') || 'fault';
  }
  let s = `${m.value} ${m.unit}`;
  if (m.cRate !== undefined) s += ` (${m.cRate}C)`;
  if (m.cell !== undefined) s += ` on cell ${m.cell + 1}`;
  if (m.sensor !== undefined && m.sensor >= 0) s += ` on sensor ${m.sensor + 1}`;
  return s;
}

/** Convenience for records already in memory. */
export function evaluate(input: {
  records: Iterable<LogRecord>;
  policy: WarrantyPolicy;
  claim: Claim;
  facts: LogFacts;
  nominalCapacityAh: number | null;
  chemistry?: string | null;
}): Evaluation {
  const ev = new Evaluator(input.policy, { nominalCapacityAh: input.nominalCapacityAh, chemistry: input.chemistry ?? null });
  for (const r of input.records) ev.push(r);
  return ev.finish(input.claim, input.facts);
}
