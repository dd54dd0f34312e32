import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { Evaluator, evaluate } from '../../../shared/warranty/engine.js';
import { EvaluationSchema, type Evaluation } from '../../../shared/warranty/evaluation.js';
import { canonicalJson } from '../../../shared/codec/canonical-json.js';
import type { WarrantyPolicy } from '../../../shared/warranty/policy.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import { CLAIM, FACTS, T0, afe, stream } from './stream.js';

const CAP = 100;
function run(
  records: LogRecord[],
  opts: { policy?: WarrantyPolicy; facts?: Partial<typeof FACTS>; claim?: Partial<typeof CLAIM>; cap?: number | null } = {},
): Evaluation {
  return evaluate({
    records,
    policy: opts.policy ?? DEFAULT_POLICY,
    claim: { ...CLAIM, ...opts.claim },
    facts: { ...FACTS, ...opts.facts },
    nominalCapacityAh: opts.cap === undefined ? CAP : opts.cap,
  });
}
const clause = (e: Evaluation, id: string) => e.clauses.find((c) => c.id === id)!;
const findingsOf = (e: Evaluation, id: string) => e.findings.filter((f) => f.clause === id);

describe('rule engine: clean logs', () => {
  it('a quiet log within warranty is covered with no findings', () => {
    const e = run(stream(600));
    expect(e.verdict).toBe('covered');
    expect(e.findings).toEqual([]);
    expect(e.missing).toEqual([]);
    expect(e.excludedBy).toEqual([]);
    expect(e.log).toMatchObject({ records: 600, firstIndex: 0, lastIndex: 599, timeGaps: 0 });
    expect(e.summary).toMatch(/^COVERED: no misuse in 600 records/);
    expect(clause(e, 'capacity-fade').status).toBe('not-assessed');
    expect(e.period).toMatchObject({ withinWarranty: true, withinDoa: false, daysSincePurchase: 94, warrantyEnds: '2027-03-01', doaEnds: '2026-05-30' });
  });
});

describe('rule engine: void conditions', () => {
  it('discharge above 2C for ≥ 10 s excludes, with exact records, extreme and duration', () => {
    const recs = stream(300, (r, i) => {
      if (i >= 100 && i <= 112) r.current = i === 105 ? -260 : -240;
    });
    const e = run(recs);
    expect(e.verdict).toBe('excluded');
    expect(e.excludedBy).toEqual(['over-discharge-current']);
    const [f] = findingsOf(e, 'over-discharge-current');
    expect(f).toMatchObject({
      occurrence: 1,
      durationS: 12,
      records: { first: 100, last: 112, extreme: 105 },
      segments: { first: 1, last: 1, extreme: 1 },
      measured: { quantity: 'discharge current', value: 260, unit: 'A', cRate: 2.6 },
      threshold: { value: 200, unit: 'A', comparison: 'above', cRate: 2 },
      from: new Date(T0 + 100_000).toISOString(),
      to: new Date(T0 + 112_000).toISOString(),
    });
    expect(e.summary).toContain('EXCLUDED by clause over-discharge-current');
    expect(e.summary).toContain('records 100–112');
  });

  it('a 2C discharge shorter than the minimum duration is not misuse', () => {
    const e = run(
      stream(300, (r, i) => {
        if (i >= 100 && i < 109) r.current = -250;
      }),
    );
    expect(e.verdict).toBe('covered');
    expect(clause(e, 'over-discharge-current')).toMatchObject({ status: 'clear', occurrences: 0 });
  });

  it('exactly at the threshold is not above it', () => {
    const e = run(
      stream(300, (r, i) => {
        if (i >= 100 && i < 150) r.current = -200;
      }),
    );
    expect(e.verdict).toBe('covered');
  });

  it('charge above 1C for ≥ 10 s excludes', () => {
    const e = run(
      stream(300, (r, i) => {
        if (i >= 10 && i <= 30) r.current = 120;
      }),
    );
    expect(e.excludedBy).toEqual(['over-charge-current']);
    expect(findingsOf(e, 'over-charge-current')[0]).toMatchObject({ durationS: 20, records: { first: 10, last: 30 }, measured: { value: 120, cRate: 1.2 } });
  });

  it('charging below 0 °C excludes from a single record; cold at rest does not', () => {
    const cold = stream(300, (r, i) => {
      r.temperatures = [-5, -4];
      if (i === 200) r.current = 10;
    });
    const e = run(cold);
    expect(e.excludedBy).toEqual(['cold-charge']);
    expect(findingsOf(e, 'cold-charge')).toEqual([
      expect.objectContaining({
        durationS: 0,
        records: { first: 200, last: 200, extreme: 200 },
        measured: { quantity: 'temperature while charging', value: -5, unit: '°C', sensor: 0 },
      }),
    ]);
    const e2 = run(
      stream(300, (r) => {
        r.temperatures = [-5, -4];
        r.current = 0.5;
      }),
    );
    expect(e2.verdict).toBe('covered');
  });

  it('over-temperature needs 30 s and names the hottest sensor', () => {
    const e = run(
      stream(300, (r, i) => {
        if (i >= 50 && i <= 85) r.temperatures = [40, i === 60 ? 71.25 : 65];
      }),
    );
    expect(e.excludedBy).toEqual(['over-temperature']);
    expect(findingsOf(e, 'over-temperature')[0]).toMatchObject({
      durationS: 35,
      records: { first: 50, last: 85, extreme: 60 },
      measured: { value: 71.25, sensor: 1 },
    });
    const short = run(
      stream(300, (r, i) => {
        if (i >= 50 && i < 70) r.temperatures = [65, 65];
      }),
    );
    expect(short.verdict).toBe('covered');
  });

  it('deep discharge names the cell and the lowest voltage', () => {
    const e = run(
      stream(300, (r, i) => {
        if (i >= 20 && i <= 27) r.cellVoltages = [3.1, 3.1, i === 22 ? 2.31 : 2.45, 3.1];
        if (i >= 20 && i <= 27) r.current = -5;
      }),
    );
    expect(e.excludedBy).toEqual(['deep-discharge']);
    expect(findingsOf(e, 'deep-discharge')[0]).toMatchObject({
      durationS: 7,
      records: { first: 20, last: 27, extreme: 22 },
      measured: { value: 2.31, cell: 2, unit: 'V' },
      threshold: { value: 2.5, comparison: 'below' },
    });
  });

  it('overcharge names the cell', () => {
    const e = run(
      stream(300, (r, i) => {
        if (i >= 20 && i <= 40) r.cellVoltages = [3.45, 3.91, 3.45, 3.45];
      }),
    );
    expect(e.excludedBy).toEqual(['overcharge']);
    expect(findingsOf(e, 'overcharge')[0]).toMatchObject({ records: { first: 20, last: 40 }, measured: { value: 3.91, cell: 1 } });
  });

  it('several clauses exclude together, listed in policy order, findings in record order', () => {
    const e = run(
      stream(400, (r, i) => {
        if (i >= 300 && i <= 320) r.current = -300;
        if (i >= 10 && i <= 12) {
          r.current = 5;
          r.temperatures = [-1, 3];
        }
      }),
    );
    expect(e.excludedBy).toEqual(['over-discharge-current', 'cold-charge']);
    expect(e.findings.map((f) => f.clause)).toEqual(['cold-charge', 'over-discharge-current']);
  });

  it('retains the first occurrences and always the most extreme one', () => {
    const e = run(
      stream(2000, (r, i) => {
        const k = Math.floor(i / 100);
        if (i % 100 < 15) r.current = k === 12 ? -400 : -210;
      }),
    );
    const fs = findingsOf(e, 'over-discharge-current');
    expect(clause(e, 'over-discharge-current').occurrences).toBe(20);
    expect(clause(e, 'over-discharge-current').totalDurationS).toBe(280);
    expect(fs.map((f) => f.occurrence)).toEqual([1, 2, 3, 4, 5, 13]);
    expect(fs[5]!.records).toEqual({ first: 1200, last: 1214, extreme: 1200 });
  });

  it('without a rated capacity the C-rate clauses cannot be assessed: inconclusive', () => {
    const e = run(stream(100), { cap: null });
    expect(e.verdict).toBe('inconclusive');
    expect(e.missing.map((m) => m.code)).toEqual(['clause-not-assessed', 'clause-not-assessed']);
    expect(clause(e, 'over-discharge-current').status).toBe('not-assessed');
    const withPolicy = run(stream(100), { cap: null, policy: { ...DEFAULT_POLICY, ratedCapacityAh: 50 } });
    expect(withPolicy.verdict).toBe('covered');
  });
});

describe('rule engine: defect indicators', () => {
  it('a cell drifting at rest is found after the settle time, naming the cell', () => {
    const e = run(
      stream(400, (r, i) => {
        r.cellVoltages = [3.3, 3.3, 3.3, 3.22];
        if (i < 100) r.current = -20; // rest begins at record 100, settled from 160
      }),
    );
    expect(e.verdict).toBe('covered');
    expect(e.defects).toEqual(['cell-drift']);
    const [f] = findingsOf(e, 'cell-drift');
    expect(f).toMatchObject({ records: { first: 160, last: 399 }, durationS: 239, measured: { cell: 3, unit: 'V' } });
    expect(f!.measured.value).toBeCloseTo(0.08, 4);
    expect(e.summary).toContain('defect indicated by cell-drift');
  });

  it('balanced cells, drift under load and drift near full are not a defect', () => {
    const e = run(
      stream(400, (r) => {
        r.cellVoltages = [3.3, 3.3, 3.3, 3.22];
        r.current = -20;
      }),
    );
    expect(e.defects).toEqual([]);
    const full = run(
      stream(400, (r) => {
        r.cellVoltages = [3.55, 3.58, 3.6, 3.42];
        r.soc = 99;
      }),
    );
    expect(full.defects).toEqual([]);
  });

  it('a BMS hardware fault (alarm bit or alarm-raised event) is a defect', () => {
    const e = run(
      stream(100, (r, i) => {
        if (i >= 40 && i <= 42) r.alarms = afe;
        if (i === 70) r.event = 0x010e;
      }),
    );
    expect(e.defects).toEqual(['bms-hardware-fault']);
    const fs = findingsOf(e, 'bms-hardware-fault');
    expect(fs).toHaveLength(2);
    expect(fs[0]).toMatchObject({ records: { first: 40, last: 42 }, measured: { alarms: ['afe_fault'], events: [] } });
    expect(fs[1]).toMatchObject({ records: { first: 70, last: 70 }, measured: { alarms: [], events: [0x010e] } });
  });

  it('capacity fade is measured by coulomb counting over SOC swings', () => {
    // 70 Ah real capacity: discharging at 70 A moves SOC by 100 %/h.
    const n = 3000;
    const e = run(
      stream(n, (r, i) => {
        r.current = -70;
        r.soc = 100 - (i / 3600) * 100;
      }),
    );
    const c = clause(e, 'capacity-fade');
    expect(c.status).toBe('triggered');
    const [f] = findingsOf(e, 'capacity-fade');
    expect(f!.measured.value).toBeCloseTo(70, 0);
    expect(f!.threshold).toEqual({ value: 80, unit: 'Ah', comparison: 'below' });
    const healthy = run(
      stream(n, (r, i) => {
        r.current = -95;
        r.soc = 100 - (i / 3600) * 100;
      }),
    );
    expect(clause(healthy, 'capacity-fade').status).toBe('clear');
  });
});

describe('rule engine: what is missing', () => {
  it('a time gap breaks runs and makes the log inconclusive', () => {
    const recs = stream(100, (r, i) => {
      if (i >= 50) r.t += 1_000_000;
      if (i >= 45 && i <= 58) r.current = -250; // 5 records before the gap, 9 after: neither run is 10 s
    });
    const e = run(recs);
    expect(e.verdict).toBe('inconclusive');
    expect(e.excludedBy).toEqual([]);
    expect(e.missing.map((m) => m.code)).toEqual(['time-gaps']);
    expect(e.log.gaps).toEqual([{ afterIndex: 49, reason: 'no record for 1001 s' }]);
  });

  it('a jump in record indices is a gap', () => {
    const recs = stream(100).filter((r) => r.index !== 30);
    expect(run(recs).log.gaps[0]).toEqual({ afterIndex: 29, reason: 'record indices jump from 29 to 31' });
  });

  it('unsigned data cannot be covered but misuse in it still excludes', () => {
    const e = run(stream(100), { facts: { signature: 'unsigned', source: 'desktop' } });
    expect(e.verdict).toBe('inconclusive');
    expect(e.missing).toEqual([{ code: 'unsigned-data', message: 'desktop recording without device signatures' }]);
    const ex = run(
      stream(100, (r, i) => {
        if (i > 10 && i < 40) r.current = -300;
      }),
      { facts: { signature: 'unsigned', source: 'desktop' } },
    );
    expect(ex.verdict).toBe('excluded');
  });

  it('invalid signatures make everything inconclusive, even misuse', () => {
    const e = run(
      stream(100, (r, i) => {
        if (i > 10 && i < 40) r.current = -300;
      }),
      { facts: { signature: 'invalid' } },
    );
    expect(e.verdict).toBe('inconclusive');
    expect(e.missing[0]!.code).toBe('invalid-signature');
  });

  it('integrity gaps from the decoder, out-of-warranty, serial mismatch, no record near the failure', () => {
    expect(run(stream(10), { facts: { gaps: [{ afterIndex: 4, reason: 'segment 7 missing' }] } }).missing.map((m) => m.code)).toEqual(['integrity-gaps']);
    const late = run(stream(10), { claim: { purchaseDate: '2025-01-01' } });
    expect(late.verdict).toBe('inconclusive');
    expect(late.missing[0]).toEqual({
      code: 'out-of-warranty',
      message: 'the claim made on 2026-06-03 (failure on 2026-06-03) is after the warranty ended on 2026-01-01',
    });
    expect(run(stream(10), { facts: { deviceSerial: 'SN-9999' } }).missing[0]!.code).toBe('serial-mismatch');
    expect(run(stream(10), { facts: { reportedAt: T0 + 60 * 86_400_000 } }).missing.map((m) => m.code)).toEqual(['no-record-near-failure']);
    expect(run([]).missing.map((m) => m.code)).toEqual(['no-records']);
    expect(run(stream(10), { claim: { failureDate: '2026-02-01' } }).missing[0]!.code).toBe('claim-dates');
  });

  it('a failure after the DOA window is still covered (repair), and says so', () => {
    const e = run(stream(10), { claim: { purchaseDate: '2026-01-02' } });
    expect(e.verdict).toBe('covered');
    expect(e.period).toMatchObject({ withinDoa: false, withinWarranty: true, daysSincePurchase: 152 });
    const doa = run(stream(10), { claim: { purchaseDate: '2026-05-20' } });
    expect(doa.period.withinDoa).toBe(true);
    expect(doa.summary).toContain('within the 90-day DOA window');
  });
});

const recordArb = fc.record({
  dt: fc.integer({ min: -5_000, max: 2_000_000 }),
  skip: fc.boolean(),
  current: fc.double({ min: -400, max: 200, noNaN: true }),
  soc: fc.double({ min: 0, max: 100, noNaN: true }),
  cells: fc.array(fc.double({ min: 2, max: 4.2, noNaN: true }), { minLength: 0, maxLength: 6 }),
  temps: fc.array(fc.oneof(fc.double({ min: -30, max: 90, noNaN: true }), fc.constant(Number.NaN)), { maxLength: 3 }),
  alarms: fc.integer({ min: 0, max: 0xffff }),
  event: fc.integer({ min: 0, max: 0x140 }),
});

type Raw = { dt: number; skip: boolean; current: number; soc: number; cells: number[]; temps: number[]; alarms: number; event: number };
function build(raw: Raw[]): LogRecord[] {
  let t = T0;
  let idx = 0;
  return raw.map((x) => {
    t += x.dt;
    idx += x.skip && Math.abs(x.dt) % 7 === 0 ? 2 : 1;
    return {
      index: idx,
      segment: null,
      t,
      packVoltage: 13,
      current: x.current,
      soc: x.soc,
      cellVoltages: x.cells,
      temperatures: x.temps,
      status: 0,
      alarms: x.alarms,
      event: x.event,
    };
  });
}

describe('rule engine: determinism', () => {
  it('same input gives byte-identical canonical JSON, however records are fed', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 120 }), fc.integer({ min: 1, max: 10 }), (raw, chunk) => {
        const recs = build(raw);
        const a = canonicalJson(run(recs));
        // Fresh objects, fed one by one through the streaming API.
        const ev = new Evaluator(DEFAULT_POLICY, { nominalCapacityAh: CAP });
        const copy = structuredClone(recs);
        for (let i = 0; i < copy.length; i += chunk) for (const r of copy.slice(i, i + chunk)) ev.push(r);
        const b = canonicalJson(ev.finish(CLAIM, FACTS));
        expect(b).toBe(a);
        // A decoder that reuses one record object gives the same result.
        const ev2 = new Evaluator(DEFAULT_POLICY, { nominalCapacityAh: CAP });
        const shared = structuredClone(recs[0] ?? build([])[0] ?? null);
        for (const r of recs) ev2.push(Object.assign(shared!, structuredClone(r)));
        expect(canonicalJson(ev2.finish(CLAIM, FACTS))).toBe(a);
        const parsed = JSON.parse(a) as Evaluation;
        // The schema describes every field: parsing (which strips unknown keys) changes nothing.
        expect(EvaluationSchema.parse(parsed)).toEqual(parsed);
        expect(['covered', 'excluded', 'inconclusive']).toContain(parsed.verdict);
        for (const f of parsed.findings) {
          expect(f.records.first).toBeLessThanOrEqual(f.records.extreme);
          expect(f.records.extreme).toBeLessThanOrEqual(f.records.last);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('EvaluationSchema describes every field the engine writes, inspections, faults and gaps included', () => {
    const inspections = {
      ...DEFAULT_POLICY,
      inspections: [{ id: 'water', title: 'No water ingress', condition: 'water ingress', requires: ['photo of the open case'] }],
    };
    const cases = [
      run(stream(600)),
      run(stream(300, (r, i) => void (i >= 100 && i < 150 && (r.current = -250)))),
      run(
        stream(100, (r, i) => void (i === 50 && (r.alarms = afe))),
        { policy: inspections },
      ),
      run(stream(10), { facts: { gaps: [{ afterIndex: 4, reason: 'segment 7 missing' }], signature: 'unsigned', source: 'desktop' }, cap: null }),
    ];
    for (const e of cases) {
      const json = JSON.parse(canonicalJson(e)) as unknown;
      expect(EvaluationSchema.strict().parse(json)).toEqual(json);
      expect(EvaluationSchema.parse(json)).toEqual(json);
    }
  });

  it('canonical JSON sorts keys and has no platform-dependent formatting', () => {
    expect(canonicalJson({ b: 1, a: [0.1 + 0.2, -0, 1e21], c: { z: null, y: 'é' } }, 0)).toBe(
      '{"a":[0.30000000000000004,0,1e+21],"b":1,"c":{"y":"é","z":null}}\n',
    );
  });
});
