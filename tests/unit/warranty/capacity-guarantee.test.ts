import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { evaluate } from '../../../shared/warranty/engine.js';
import { promisedRetention } from '../../../shared/warranty/capacity-guarantee.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { parsePolicy, type WarrantyPolicy } from '../../../shared/warranty/policy.js';
import type { Claim } from '../../../shared/warranty/claim.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import { simLog } from '../health/sim-log.js';
import { CLAIM, FACTS, stream } from './stream.js';

/**
 * Capacity claims decided by the policy's capacity guarantee (≥ 80 % at 10 years or 6,000 cycles):
 * COVERED on a faded pack without misuse, EXCLUDED when misuse caused it, INCONCLUSIVE when the log
 * holds no usable window or the pack keeps its promise — each naming its evidence. Throughput caps
 * end coverage and storage conditions void it, with the records that prove them.
 */
const GUARANTEE: WarrantyPolicy = {
  ...DEFAULT_POLICY,
  id: 'capacity-guarantee-test',
  warranty: { periodDays: 3650, doaDays: 30 },
  defectIndicators: [
    ...DEFAULT_POLICY.defectIndicators,
    {
      id: 'capacity-guarantee',
      title: 'At least 80 % of rated capacity after 10 years or 6,000 equivalent cycles',
      kind: 'capacity_below_guarantee',
      curve: [{ years: 10, retentionPercent: 80 }],
      cycleCurve: [{ equivalentCycles: 6000, retentionPercent: 80 }],
    },
  ],
};

const T_START = Date.UTC(2026, 0, 1);
/** Bought two years before the log; the claim made when the log ends. */
const capacityClaim = (hours: number): { claim: Claim; reportedAt: number } => ({
  claim: { ...CLAIM, serial: 'SN-0001', purchaseDate: '2024-01-01', problem: 'capacity', description: 'It no longer lasts a day.' },
  reportedAt: T_START + hours * 3_600_000,
});

function judge(records: Iterable<LogRecord>, hours: number, policy = GUARANTEE) {
  const { claim, reportedAt } = capacityClaim(hours);
  return evaluate({ records, policy, claim, facts: { ...FACTS, reportedAt }, nominalCapacityAh: 100, chemistry: 'lfp' });
}

const logs = new Map<string, LogRecord[]>();
/** A simulated log, made once per scenario, length and capacity. */
function logOf(scenario: Parameters<typeof simLog>[0], hours: number, capacityAh: number): LogRecord[] {
  const key = `${scenario}/${hours}/${capacityAh}`;
  if (logs.has(key)) return logs.get(key)!;
  const out: LogRecord[] = [];
  logs.set(key, out);
  simLog(scenario, hours, 5, (r) => out.push(r), { capacityAh, startTimeMs: T_START });
  return out;
}

describe('a capacity claim', () => {
  it('is COVERED on a pack faded to 75 % in two years without misuse, with the capacity finding and its records', () => {
    const ev = judge(logOf('normal', 30, 75), 30);
    expect(ev.verdict, ev.summary).toBe('covered');
    expect(ev.defects).toContain('capacity-guarantee');
    const f = ev.findings.find((x) => x.clause === 'capacity-guarantee')!;
    expect(f.measured).toMatchObject({ quantity: 'remaining capacity', unit: 'Ah' });
    expect(f.measured.value).toBeGreaterThan(70);
    expect(f.measured.value).toBeLessThan(78);
    // Promised: the lower of 96 % (2 of 10 years) and the cycle curve at a handful of cycles.
    expect(f.threshold.value).toBeCloseTo(96, 0);
    expect(f.records.last).toBeGreaterThan(f.records.first);
    expect(f.segments.first).not.toBeNull();
  });

  it('is EXCLUDED when misuse caused it (deep discharge), naming the clause', () => {
    const ev = judge(logOf('over-discharge', 20, 75), 20);
    expect(ev.verdict, ev.summary).toBe('excluded');
    expect(ev.excludedBy).toContain('deep-discharge');
  });

  it('is INCONCLUSIVE when the log holds no usable window, and says what is missing', () => {
    const ev = judge(logOf('idle', 6, 75), 6);
    expect(ev.verdict).toBe('inconclusive');
    const m = ev.missing.find((x) => x.code === 'capacity')!;
    expect(m.message).toMatch(/no usable window/);
    expect(ev.clauses.find((c) => c.id === 'capacity-guarantee')!.status).toBe('not-assessed');
  });

  it('is INCONCLUSIVE when the pack keeps its promise: no capacity defect shown, with the figures', () => {
    const ev = judge(logOf('normal', 30, 100), 30);
    expect(ev.verdict).toBe('inconclusive');
    expect(ev.clauses.find((c) => c.id === 'capacity-guarantee')!.status).toBe('clear');
    expect(ev.missing.find((x) => x.code === 'capacity')!.message).toMatch(/keeps the 9\d(\.\d+)? % \(9\d\.\d Ah\) promised at 2(\.\d+)? years/);
  });

  it('other claims are decided as before (the guarantee is supporting evidence)', () => {
    const { reportedAt } = capacityClaim(30);
    const ev = evaluate({
      records: logOf('normal', 30, 100),
      policy: GUARANTEE,
      claim: { ...CLAIM, purchaseDate: '2024-01-01' },
      facts: { ...FACTS, reportedAt },
      nominalCapacityAh: 100,
      chemistry: 'lfp',
    });
    expect(ev.verdict).toBe('covered');
  });
});

describe('throughput caps and storage conditions', () => {
  it('a cycle cap ends coverage at the record where it was crossed', () => {
    const policy = parsePolicy(
      JSON.stringify({
        ...GUARANTEE,
        voidConditions: [
          ...GUARANTEE.voidConditions,
          { id: 'cycle-cap', title: 'Coverage ends after 3 equivalent cycles', kind: 'throughput_above', maxEquivalentCycles: 3 },
        ],
      }),
    );
    const records = logOf('normal', 30, 100);
    const ev = judge(records, 30, policy);
    expect(ev.verdict).toBe('excluded');
    const f = ev.findings.find((x) => x.clause === 'cycle-cap')!;
    expect(f.measured.unit).toBe('cycles');
    expect(f.measured.value).toBeGreaterThan(3);
    // The crossing record: the discharged charge before it is at most 3 cycles, after it more.
    let ah = 0;
    for (let i = 1; i < records.length && records[i]!.index <= f.records.first; i++) {
      const a = (records[i - 1]!.current + records[i]!.current) / 2;
      if (a < 0) ah += (-a * (records[i]!.t - records[i - 1]!.t)) / 3_600_000;
    }
    expect(ah / 100).toBeGreaterThan(3);
    expect(ah / 100).toBeLessThan(3.01);
  });

  it('storage at 0 % SOC and a cell resting below 2.9 V for an hour void it; a short dip does not', () => {
    const policy = parsePolicy(
      JSON.stringify({
        ...DEFAULT_POLICY,
        voidConditions: [
          {
            id: 'stored-empty',
            title: 'Stored at 0 % state of charge for more than 1 h',
            kind: 'stored_below_soc',
            thresholdPercent: 0,
            restCurrentA: 1,
            minDurationS: 3600,
          },
          {
            id: 'stored-low-cell',
            title: 'A cell rested below 2.9 V for more than 1 h',
            kind: 'cell_resting_below',
            thresholdV: 2.9,
            restCurrentA: 1,
            minDurationS: 3600,
          },
        ],
      }),
    );
    const run = (records: LogRecord[]) => evaluate({ records, policy, claim: CLAIM, facts: FACTS, nominalCapacityAh: 100 });
    const stored = stream(5000, (r, i) => {
      if (i >= 1000) {
        r.soc = 0;
        r.cellVoltages = [2.8, 3.0, 3.0, 3.0];
      }
    });
    const ev = run(stored);
    expect(ev.excludedBy).toEqual(['stored-empty', 'stored-low-cell']);
    const cell = ev.findings.find((f) => f.clause === 'stored-low-cell')!;
    expect(cell.measured).toMatchObject({ quantity: 'cell voltage at rest', value: 2.8, cell: 0 });
    expect(cell.records.first).toBe(1000);
    // Under load (a discharge sag) it is not storage.
    const sag = stream(5000, (r, i) => {
      if (i >= 1000) {
        r.current = -20;
        r.cellVoltages = [2.8, 3.0, 3.0, 3.0];
      }
    });
    expect(run(sag).excludedBy).toEqual([]);
  });

  it('a throughput clause needs one of its caps', () => {
    expect(() => parsePolicy(JSON.stringify({ ...DEFAULT_POLICY, voidConditions: [{ id: 'cap', title: 'x', kind: 'throughput_above' }] }))).toThrow(
      /maxEquivalentCycles, maxDischargeMWh or both/,
    );
  });
});

describe('the promised retention (property)', () => {
  it('starts at 100 %, passes through every point, and never rises along a falling curve', () => {
    const curve = fc
      .array(fc.tuple(fc.double({ min: 0.1, max: 50, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true })), { minLength: 1, maxLength: 6 })
      .map((pts) => {
        const xs = [...new Set(pts.map((p) => p[0]))].sort((a, b) => a - b);
        const rs = pts.map((p) => p[1]).sort((a, b) => b - a);
        return xs.map((x, i) => ({ x, retentionPercent: rs[i] ?? rs.at(-1)! }));
      });
    fc.assert(
      fc.property(curve, fc.double({ min: 0, max: 60, noNaN: true }), fc.double({ min: 0, max: 60, noNaN: true }), (pts, a, b) => {
        expect(promisedRetention(pts, 0)).toBe(100);
        for (const p of pts) expect(promisedRetention(pts, p.x)).toBeCloseTo(p.retentionPercent, 9);
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(promisedRetention(pts, hi)).toBeLessThanOrEqual(promisedRetention(pts, lo) + 1e-9);
      }),
    );
  });
});
