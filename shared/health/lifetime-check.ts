/**
 * Are the board's signed lifetime counters consistent with the records a log holds? The counters
 * cover the pack's whole counted life and the records only what the ring still held, so every
 * counter must be at least what the held records integrate to — counted with the board's own
 * definitions (the bands and thresholds the signed statement names), over records since the board
 * began counting, across unbroken records only.
 *
 * The two counts differ a little for honest reasons, which the allowances below cover: the board
 * counts every step of its physics and the records sample it once a second (1 % of each quantity,
 * and two seconds of each time), and a board saves its counters at least once a minute, so a power
 * cut may lose what it counted since: at each restart the records' own count over the minute (and
 * ten seconds) before it is allowed. A counter below that is a board whose counters do not describe
 * this log (or were reset), and verification says so.
 */
import { EVENTS } from '../blackbox/events.js';
import type { LogRecord } from '../types/domain.js';
import { roundTo } from '../codec/canonical-json.js';
import { rangeLabel, type Histogram } from './histogram.js';
import { LifetimeTally, type LifetimeCounters } from './lifetime.js';
import type { LifetimeView } from './report.js';
import { intervalThroughput } from './throughput.js';

/** A board saves its counters at least this often, s: a power cut loses at most this much counting. */
const SAVE_INTERVAL_S = 60;
/** Snapshots of the records' tally, for what the last save interval before a restart counted, s. */
const SNAPSHOT_EVERY_S = 10;
const RELATIVE_ALLOWANCE = 0.01;
const NO_CELLS: number[] = [];

export interface LifetimeComparison {
  quantity: string;
  unit: string;
  /** The board's counter. */
  counter: number;
  /** What the held records integrate to. */
  records: number;
  ok: boolean;
}

export interface LifetimeConsistency {
  ok: boolean;
  /** Records compared (since the board began counting). */
  records: number;
  restarts: number;
  comparisons: LifetimeComparison[];
  /** The failed comparisons in words. */
  problems: string[];
}

/** Every compared quantity of a set of counters, in one order: [quantity, unit, value]. */
function quantities(c: LifetimeCounters): [string, string, number][] {
  const out: [string, string, number][] = [
    ['time counted', 's', c.countedS],
    ['charge throughput', 'Ah', c.chargeAh],
    ['discharge throughput', 'Ah', c.dischargeAh],
    ['charge energy', 'Wh', c.chargeWh],
    ['discharge energy', 'Wh', c.dischargeWh],
    ['deep-discharge events', 'events', c.deepDischargeEvents],
    ['over-current events', 'events', c.overcurrentEvents],
    ['storage at low SOC', 's', c.storageAtLowSocS],
  ];
  const bands = (name: string, unit: string, b: { edges: number[]; seconds: number[] }) =>
    b.seconds.forEach((s, i) => {
      const lo = i === 0 ? null : b.edges[i - 1];
      const hi = i === b.edges.length ? null : b.edges[i];
      out.push([`${name} ${lo === null ? `below ${hi} ${unit}` : hi === null ? `${lo} ${unit} and above` : `${lo}–${hi} ${unit}`}`, 's', s]);
    });
  bands('time at', '°C', c.temperature);
  bands('time charging at', '°C', c.temperatureWhileCharging);
  bands('time at SOC', '%', c.soc);
  return out;
}

export class LifetimeConsistencyCheck {
  private readonly tally: LifetimeTally;
  private prev: LogRecord | null = null;
  private count = 0;
  private restarts = 0;
  /** The records' tally at times (every SNAPSHOT_EVERY_S), back to a save interval and a snapshot. */
  private snapshots: { t: number; values: number[] }[] = [];
  /** Per quantity: what the records counted in the save interval before each restart. */
  private readonly allowance: number[];

  constructor(
    private readonly c: LifetimeCounters,
    private readonly maxGapS = 60,
  ) {
    this.tally = new LifetimeTally(c.thresholds, {
      temperature: c.temperature.edges,
      temperatureWhileCharging: c.temperatureWhileCharging.edges,
      soc: c.soc.edges,
    });
    this.allowance = quantities(c).map(() => 0);
  }

  private values(): number[] {
    return quantities(this.tally.counters(this.c.sinceMs, this.c.ratedCapacityAh)).map((q) => q[2]);
  }

  /** The next record in log order. */
  push(r: LogRecord): void {
    if (r.t < this.c.sinceMs) return;
    this.count++;
    const p = this.prev;
    // Records may be reused by decoders: keep the fields the next interval counts with.
    this.prev = { ...r, cellVoltages: NO_CELLS, temperatures: r.temperatures.slice() };
    if (r.event === EVENTS.boot && p) this.restarted(r.t);
    if (p) {
      const dt = (r.t - p.t) / 1000;
      const broken = !(dt >= 0) || dt > this.maxGapS || r.index !== p.index + 1 || r.event === EVENTS.boot;
      if (!broken && dt > 0) {
        const { dAh, dWh } = intervalThroughput(p, r, dt);
        this.tally.add(p, dt, dAh, dWh);
      }
    }
    this.tally.observe(r);
    const last = this.snapshots.at(-1);
    if (!last || r.t - last.t >= SNAPSHOT_EVERY_S * 1000) {
      this.snapshots.push({ t: r.t, values: this.values() });
      // Keep one snapshot at least a save interval (and a snapshot step) old.
      while (this.snapshots.length > 2 && r.t - this.snapshots[1]!.t >= (SAVE_INTERVAL_S + SNAPSHOT_EVERY_S) * 1000) this.snapshots.shift();
    }
  }

  /**
   * A restart: the board may have lost what it counted since its last save, at most the last save
   * interval before it, which the records show.
   */
  private restarted(t: number): void {
    this.restarts++;
    this.tally.restarted();
    const now = this.values();
    const from = [...this.snapshots].reverse().find((s) => t - s.t >= (SAVE_INTERVAL_S + SNAPSHOT_EVERY_S) * 1000) ?? this.snapshots[0];
    now.forEach((v, i) => (this.allowance[i]! += v - (from?.values[i] ?? 0)));
  }

  result(): LifetimeConsistency {
    const held = quantities(this.tally.counters(this.c.sinceMs, this.c.ratedCapacityAh));
    const board = quantities(this.c);
    const comparisons: LifetimeComparison[] = board.map(([quantity, unit, counter], i) => {
      const records = held[i]![2];
      const slack = RELATIVE_ALLOWANCE * records + this.allowance[i]! + (unit === 's' ? 2 : 0);
      return { quantity, unit, counter: round(counter), records: round(records), ok: counter >= records - slack };
    });
    const problems = comparisons
      .filter((x) => !x.ok)
      .map((x) => `the board's ${x.quantity} counter (${x.counter} ${x.unit}) is below what the held records show (${x.records} ${x.unit})`);
    return { ok: problems.length === 0, records: this.count, restarts: this.restarts, comparisons, problems };
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Band seconds as a report histogram (hours per band, labelled as the health report labels them). */
function histogramOf(quantity: string, unit: string, b: { edges: number[]; seconds: number[] }): Histogram {
  const label = rangeLabel(unit);
  return {
    quantity,
    unit,
    bands: b.seconds.map((s, i) => {
      const from = i === 0 ? null : b.edges[i - 1]!;
      const to = i === b.edges.length ? null : b.edges[i]!;
      return { from, to, label: label(from, to), hours: roundTo(s / 3600, 4) };
    }),
  };
}

/** The counters as a report shows them, with what verification found (`problems` empty: verified). */
export function lifetimeView(c: LifetimeCounters, problems: readonly string[], check: LifetimeConsistency | null): LifetimeView {
  return {
    verified: problems.length === 0,
    problems: [...problems],
    since: new Date(c.sinceMs).toISOString(),
    countedH: roundTo(c.countedS / 3600, 3),
    capacityThroughput: { chargeAh: roundTo(c.chargeAh, 3), dischargeAh: roundTo(c.dischargeAh, 3) },
    energyThroughput: { chargeWh: roundTo(c.chargeWh, 1), dischargeWh: roundTo(c.dischargeWh, 1) },
    equivalentFullCycles: roundTo(c.equivalentFullCycles, 3),
    ratedCapacityAh: c.ratedCapacityAh,
    deepDischargeEvents: c.deepDischargeEvents,
    overcurrentEvents: c.overcurrentEvents,
    storageAtLowSocH: roundTo(c.storageAtLowSocS / 3600, 3),
    thresholds: { ...c.thresholds },
    histograms: {
      temperature: histogramOf('hottest sensor', '°C', c.temperature),
      temperatureWhileCharging: histogramOf('coldest sensor while charging', '°C', c.temperatureWhileCharging),
      soc: histogramOf('state of charge', '%', c.soc),
    },
    checkedRecords: check?.records ?? 0,
    restarts: check?.restarts ?? 0,
  };
}
