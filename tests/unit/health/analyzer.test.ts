import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HealthAnalyzer } from '../../../shared/health/analyzer.js';
import { OCV_TABLES, ocvAt } from '../../../shared/health/ocv.js';
import { EVENTS } from '../../../shared/blackbox/events.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import { simLog } from './sim-log.js';

/**
 * Pack health from records: on the simulated pack, the capacity measured from rested voltages and
 * counted charge is within 3 % of the pack's real capacity, and a weak cell stands out; on ideal
 * generated cells the estimate is within its own stated uncertainty; breaks in the record stream
 * never let charge be counted across them.
 */
const analyse = (records: Iterable<LogRecord>, ratedCapacityAh = 100) => {
  const a = new HealthAnalyzer({ ocv: OCV_TABLES.lfp, ratedCapacityAh });
  for (const r of records) a.push(r);
  return a.result();
};

describe('on the simulated pack', () => {
  it('normal: capacity within ±3 % of the simulated capacity, with its uncertainty; no cell stands out', () => {
    const a = new HealthAnalyzer({ ocv: OCV_TABLES.lfp, ratedCapacityAh: 100 });
    const model = simLog('normal', 48, 5, (r) => a.push(r));
    const rep = a.result();
    const truth = model.state().fullChargeAh;
    expect(rep.remainingCapacity).not.toBeNull();
    const est = rep.remainingCapacity!;
    expect(Math.abs(est.ah - truth) / truth).toBeLessThan(0.03);
    expect(est.uncertaintyAh).toBeGreaterThan(0);
    expect(est.uncertaintyAh).toBeLessThan(3);
    expect(est.windows).toBeGreaterThanOrEqual(4);
    expect(rep.capacityFadePercent).toBeCloseTo(100 - est.ah, 1);
    expect(rep.cells.flatMap((c) => c.flags)).toEqual([]);
    // Throughput and cycles are what the current says; a resistance for every cell.
    expect(rep.equivalentFullCycles).toBeCloseTo(rep.capacityThroughput.dischargeAh / 100, 2);
    expect(rep.energyThroughput.dischargeWh).toBeGreaterThan(rep.capacityThroughput.dischargeAh * 45);
    for (const c of rep.cells) expect(c.resistanceMilliOhm).toBeGreaterThan(0.5);
    expect(rep.deepDischargeEvents).toBe(0);
    expect(rep.breaks).toBe(0);
  });

  it('weak-cell: the weak cell stands out by resistance, self-discharge and capacity, and the pack is flagged', () => {
    const a = new HealthAnalyzer({ ocv: OCV_TABLES.lfp, ratedCapacityAh: 100 });
    const model = simLog('weak-cell', 72, 5, (r) => a.push(r));
    const rep = a.result();
    const flagged = rep.cells.filter((c) => c.flags.length);
    expect(flagged).toHaveLength(1);
    const weak = flagged[0]!;
    const others = rep.cells.filter((c) => c !== weak).map((c) => c.resistanceMilliOhm!);
    expect(weak.resistanceMilliOhm!).toBeGreaterThan(2 * Math.max(...others));
    expect(weak.flags.join(' ')).toMatch(/internal resistance/);
    expect(weak.flags.join(' ')).toMatch(/per hour more than the other cells/);
    expect(weak.relativeSelfDischargePctPerH!).toBeGreaterThan(0.5);
    // The pack's capacity is its weak cell's, corrected for what the soft short drained.
    const truth = model.state().fullChargeAh;
    const est = rep.remainingCapacity!;
    expect(Math.abs(est.ah - truth)).toBeLessThanOrEqual(est.uncertaintyAh + 0.03 * truth);
    expect(rep.capacityFadePercent!).toBeGreaterThan(15);
    expect(rep.balance!.trendMvPerDay!).toBeGreaterThan(5);
  });

  it('idle: no usable window, and says why', () => {
    const rep = analyse(gen(simLog, 'idle', 6));
    expect(rep.remainingCapacity).toBeNull();
    expect(rep.capacityNotAssessable).toMatch(/no usable window/);
  });
});

/** Collects a simLog run into an array (small runs only). */
function gen(f: typeof simLog, scenario: Parameters<typeof simLog>[0], hours: number): LogRecord[] {
  const out: LogRecord[] = [];
  f(scenario, hours, 5, (r) => out.push(r));
  return out;
}

/** Ideal series cells: OCV + I·R, one record every `dt` s, quantised to mV and mA. */
function idealLog(o: { caps: number[]; r: number[]; soc0: number; phases: { a: number; s: number }[]; dt: number }): { records: LogRecord[]; minCap: number } {
  const soc = o.caps.map(() => o.soc0);
  const records: LogRecord[] = [];
  let t = Date.UTC(2026, 0, 1);
  let index = 0;
  for (const ph of o.phases) {
    for (let k = 0; k < ph.s; k += o.dt) {
      for (let c = 0; c < soc.length; c++) soc[c] = soc[c]! + (ph.a * o.dt) / 3600 / o.caps[c]!;
      t += o.dt * 1000;
      const cells = soc.map((x, c) => Math.round((ocvAt(OCV_TABLES.lfp, x) + ph.a * o.r[c]!) * 1000) / 1000);
      records.push({
        index: index++,
        segment: null,
        t,
        packVoltage: cells.reduce((s, v) => s + v, 0),
        current: ph.a,
        soc: 50,
        cellVoltages: cells,
        temperatures: [25, 26],
        status: 0,
        alarms: 0,
        event: 0,
      });
    }
  }
  return { records, minCap: Math.min(...o.caps) };
}

// A matched string (cells within 10 % of each other, as a series pack is built).
const cycleArb = fc.record({
  caps: fc
    .tuple(fc.double({ min: 40, max: 200, noNaN: true }), fc.array(fc.double({ min: 0, max: 0.1, noNaN: true }), { minLength: 2, maxLength: 8 }))
    .map(([base, spread]) => spread.map((x) => base * (1 + x))),
  rMilli: fc.double({ min: 0.3, max: 5, noNaN: true }),
  swing: fc.double({ min: 0.45, max: 0.8, noNaN: true }),
  cRate: fc.double({ min: 0.1, max: 1, noNaN: true }),
  restS: fc.integer({ min: 400, max: 3600 }),
});

describe('on ideal generated cells (property)', () => {
  it('the capacity estimate holds the weakest cell within its stated uncertainty', () => {
    fc.assert(
      fc.property(cycleArb, ({ caps, rMilli, swing, cRate, restS }) => {
        const minCap = Math.min(...caps);
        const a = cRate * minCap;
        const s = Math.round((swing * minCap * 3600) / a);
        const { records } = idealLog({
          caps,
          r: caps.map(() => rMilli / 1000),
          soc0: 0.95,
          dt: 10,
          phases: [
            { a: 0, s: restS },
            { a: -a, s },
            { a: 0, s: restS },
            { a, s },
            { a: 0, s: restS },
          ],
        });
        const rep = analyse(records, minCap);
        expect(rep.remainingCapacity).not.toBeNull();
        const est = rep.remainingCapacity!;
        expect(Math.abs(est.ah - minCap)).toBeLessThanOrEqual(est.uncertaintyAh + 1e-6 + 0.005 * minCap);
        expect(rep.cells.every((c) => c.resistanceMilliOhm === null || Math.abs(c.resistanceMilliOhm - rMilli) < 0.2 + 1 / a)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('never counts charge across a break: a restart, a gap or an index jump between rests removes the window', () => {
    fc.assert(
      fc.property(cycleArb, fc.constantFrom('boot', 'gap', 'jump'), ({ caps, swing, restS }, kind) => {
        const minCap = Math.min(...caps);
        const a = 0.5 * minCap;
        const s = Math.round((swing * minCap * 3600) / a);
        const { records } = idealLog({
          caps,
          r: caps.map(() => 0.001),
          soc0: 0.95,
          dt: 10,
          phases: [
            { a: 0, s: restS },
            { a: -a, s },
            { a: 0, s: restS },
          ],
        });
        expect(analyse(records, minCap).remainingCapacity).not.toBeNull();
        const mid = records.length >> 1;
        const broken = records.map((r, i) => {
          if (kind === 'boot' && i === mid) return { ...r, event: EVENTS.boot };
          if (kind === 'gap' && i >= mid) return { ...r, t: r.t + 3_600_000 };
          if (kind === 'jump' && i >= mid) return { ...r, index: r.index + 5 };
          return r;
        });
        const rep = analyse(broken, minCap);
        expect(rep.remainingCapacity).toBeNull();
        expect(rep.breaks).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 30 },
    );
  });

  it('histograms account for every counted second, once', () => {
    fc.assert(
      fc.property(cycleArb, ({ caps, cRate, restS }) => {
        const minCap = Math.min(...caps);
        const a = cRate * minCap;
        const { records } = idealLog({
          caps,
          r: caps.map(() => 0.001),
          soc0: 0.9,
          dt: 10,
          phases: [
            { a: 0, s: restS },
            { a: -a, s: 3000 },
            { a, s: 1000 },
          ],
        });
        const rep = analyse(records, minCap);
        const hours = (records.at(-1)!.t - records[0]!.t) / 3_600_000;
        for (const h of [rep.histograms.temperature, rep.histograms.soc, rep.histograms.cRate]) {
          const total = h.bands.reduce((x, b) => x + b.hours, 0);
          expect(Math.abs(total - hours)).toBeLessThan(0.001 * h.bands.length);
        }
        const charging = rep.histograms.temperatureWhileCharging.bands.reduce((x, b) => x + b.hours, 0);
        expect(Math.abs(charging - 1000 / 3600)).toBeLessThan(0.01);
      }),
      { numRuns: 30 },
    );
  });
});

describe('what it cannot measure', () => {
  it('an unknown chemistry: no capacity, and the reason', () => {
    const a = new HealthAnalyzer({ ocv: null, ratedCapacityAh: 100 });
    simLog('normal', 2, 5, (r) => a.push(r));
    const rep = a.result();
    expect(rep.remainingCapacity).toBeNull();
    expect(rep.capacityNotAssessable).toMatch(/chemistry is unknown/);
    expect(rep.equivalentFullCycles).not.toBeNull();
  });
});
