import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { evaluate, type LogFacts } from '../../../shared/warranty/engine.js';
import type { Evaluation } from '../../../shared/warranty/evaluation.js';
import { canonicalJson } from '../../../shared/codec/canonical-json.js';
import { checkPolicy, type WarrantyPolicy } from '../../../shared/warranty/policy.js';
import type { Claim } from '../../../shared/warranty/claim.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import { CLAIM, FACTS, T0, stream } from './stream.js';

/**
 * What the board attests besides its records (extent, clock), when the claim was made, and the
 * conditions only an inspection can show.
 */
const DAY = 86_400_000;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

function run(records: LogRecord[], o: { policy?: WarrantyPolicy; facts?: Partial<LogFacts>; claim?: Partial<Claim> } = {}): Evaluation {
  return evaluate({ records, policy: o.policy ?? DEFAULT_POLICY, claim: { ...CLAIM, ...o.claim }, facts: { ...FACTS, ...o.facts }, nominalCapacityAh: 100 });
}
const codes = (e: Evaluation) => e.missing.map((m) => m.code);
/** The board held history from the log's first record until it was pulled when the package was made. */
const EXTENT = { historyFromMs: T0, boardTimeMs: FACTS.reportedAt, unreadableSegments: [] as number[] };
const withEvidence = (evidence: Partial<WarrantyPolicy['evidence']>): WarrantyPolicy => ({
  ...DEFAULT_POLICY,
  evidence: { ...DEFAULT_POLICY.evidence, ...evidence },
});
const misuse = (r: LogRecord, i: number) => {
  if (i >= 100 && i <= 120) r.current = -300;
};

describe('absent facts keep the old behaviour', () => {
  it('no extent, no claim time, no freshness', () => {
    const e = run(stream(600));
    expect(e.verdict).toBe('covered');
    expect(e.missing).toEqual([]);
    expect(e.log).toMatchObject({ freshness: null, historyFrom: null, boardTime: null });
    expect(e.period.claimedAt).toBe(new Date(FACTS.reportedAt).toISOString());
    expect(e.claim.failureDate).toBe('2026-06-03');
    expect(run(stream(600), { facts: { extent: null } }).log).toMatchObject({ historyFrom: null, boardTime: null });
  });

  it('an attested extent with nothing unreadable and freshness unproven add nothing to missing', () => {
    const e = run(stream(600), { facts: { extent: EXTENT, freshness: 'unproven' } });
    expect(e.verdict).toBe('covered');
    expect(e.missing).toEqual([]);
    expect(e.log).toMatchObject({ freshness: 'unproven', historyFrom: new Date(T0).toISOString(), boardTime: new Date(FACTS.reportedAt).toISOString() });
    expect(run(stream(10), { facts: { freshness: 'ticket' } }).log.freshness).toBe('ticket');
    expect(run(stream(10), { facts: { extent: { ...EXTENT, historyFromMs: null } } }).log.historyFrom).toBeNull();
  });
});

describe('unreadable attested segments', () => {
  const unreadable = { ...EXTENT, unreadableSegments: [7, 3, 12, 4, 5, 7] };

  it('make a clean log inconclusive by default, naming the counters', () => {
    const e = run(stream(600), { facts: { extent: unreadable } });
    expect(e.verdict).toBe('inconclusive');
    expect(e.missing).toEqual([
      { code: 'unreadable-segments', message: 'misuse cannot be ruled out: 5 attested segment(s) are missing or unreadable (counters 3–5, 7, 12)' },
    ]);
    expect(e.excludedBy).toEqual([]);
    expect(run(stream(600), { facts: { extent: unreadable }, policy: withEvidence({ unreadableSegments: 'inconclusive' }) }).verdict).toBe('inconclusive');
  });

  it('exclude when the policy says so, after any void clause', () => {
    const policy = withEvidence({ unreadableSegments: 'excluded' });
    const e = run(stream(600), { facts: { extent: unreadable }, policy });
    expect(e.verdict).toBe('excluded');
    expect(e.excludedBy).toEqual(['unreadable-segments']);
    expect(e.summary).toBe('EXCLUDED: misuse cannot be ruled out: 5 attested segment(s) are missing or unreadable (counters 3–5, 7, 12)');
    const both = run(stream(600, misuse), { facts: { extent: unreadable }, policy });
    expect(both.excludedBy).toEqual(['over-discharge-current', 'unreadable-segments']);
    expect(both.summary).toMatch(/^EXCLUDED by clause over-discharge-current .*; also unreadable-segments$/);
    // Invalid signatures still come first.
    expect(run(stream(600), { facts: { extent: unreadable, signature: 'invalid' }, policy }).verdict).toBe('inconclusive');
  });

  it('a long list is cut short in the message but counted in full', () => {
    const many = Array.from({ length: 40 }, (_, i) => i * 3);
    const e = run(stream(10), { facts: { extent: { ...EXTENT, unreadableSegments: many } } });
    expect(e.missing[0]!.message).toBe(
      'misuse cannot be ruled out: 40 attested segment(s) are missing or unreadable (counters 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33 and 28 more)',
    );
  });
});

describe('failure date against the history the board holds', () => {
  const facts = { extent: { ...EXTENT, boardTimeMs: day('2026-06-03') + 3_600_000 }, claimedAtMs: day('2026-06-05') };

  it('a failure before the oldest record or after the pull cannot be assessed', () => {
    const early = run(stream(600), { facts, claim: { failureDate: '2026-05-31' } });
    expect(early.verdict).toBe('inconclusive');
    expect(early.missing).toEqual([
      {
        code: 'failure-outside-log',
        message: 'the failure date 2026-05-31 is outside the history the board holds (from 2026-06-01 to 2026-06-03), so it cannot be assessed',
      },
    ]);
    expect(codes(run(stream(600), { facts, claim: { failureDate: '2026-06-04' } }))).toEqual(['failure-outside-log']);
  });

  it('whole days count, both ends included', () => {
    expect(codes(run(stream(600), { facts, claim: { failureDate: '2026-06-01' } }))).toEqual([]);
    expect(codes(run(stream(600), { facts, claim: { failureDate: '2026-06-03' } }))).toEqual([]);
  });

  it('is not checked without an attested extent or without a failure date', () => {
    expect(codes(run(stream(600), { facts: { claimedAtMs: day('2026-06-05') }, claim: { failureDate: '2026-05-31' } }))).toEqual([]);
    expect(codes(run(stream(600), { facts }))).toEqual([]);
  });

  it('with no attested start, only the pull bounds it', () => {
    const f = { ...facts, extent: { ...facts.extent, historyFromMs: null } };
    expect(codes(run(stream(600), { facts: f, claim: { failureDate: '2026-03-10' } }))).toEqual([]);
    expect(run(stream(600), { facts: f, claim: { failureDate: '2026-06-04' } }).missing[0]!.message).toContain('(from an unattested start to 2026-06-03)');
  });
});

describe('coverage: how far back the history must reach', () => {
  it('fromPurchase needs history from the start of the purchase day', () => {
    const policy = withEvidence({ coverage: { fromPurchase: true } });
    const short = run(stream(600), { policy, facts: { extent: EXTENT } });
    expect(short.verdict).toBe('inconclusive');
    expect(short.missing).toEqual([
      { code: 'coverage', message: 'the policy needs history from the purchase date 2026-03-01, but the board holds history from 2026-06-01' },
    ]);
    expect(codes(run(stream(600), { policy, facts: { extent: { ...EXTENT, historyFromMs: day('2026-03-01') } } }))).toEqual([]);
    expect(codes(run(stream(600), { policy, facts: { extent: { ...EXTENT, historyFromMs: day('2026-03-01') + 1 } } }))).toEqual(['coverage']);
    expect(run(stream(600), { policy, facts: { extent: { ...EXTENT, historyFromMs: null } } }).missing[0]!.message).toBe(
      'the policy needs history from the purchase date 2026-03-01, but the board holds no history',
    );
  });

  it('minDaysBeforeFailure counts back from the failure date', () => {
    const policy = withEvidence({ coverage: { minDaysBeforeFailure: 30 } });
    const claim = { failureDate: '2026-06-02' };
    expect(codes(run(stream(600), { policy, claim, facts: { extent: { ...EXTENT, historyFromMs: day('2026-05-03') } } }))).toEqual([]);
    const e = run(stream(600), { policy, claim, facts: { extent: { ...EXTENT, historyFromMs: day('2026-05-04') } } });
    expect(e.missing).toEqual([
      { code: 'coverage', message: 'the policy needs history from 30 day(s) before the failure (2026-05-03), but the board holds history from 2026-05-04' },
    ]);
    const both = run(stream(600), { policy: withEvidence({ coverage: { fromPurchase: true, minDaysBeforeFailure: 30 } }), claim, facts: { extent: EXTENT } });
    expect(codes(both)).toEqual(['coverage', 'coverage']);
  });

  it('without an attested extent the log’s first record stands for the start of the history', () => {
    // The failure defaults to the claim day, 2026-06-03; the log begins on 2026-06-01.
    const policy = withEvidence({ coverage: { minDaysBeforeFailure: 3 } });
    expect(run(stream(600), { policy }).missing).toEqual([
      { code: 'coverage', message: 'the policy needs history from 3 day(s) before the failure (2026-05-31), but the log holds history from 2026-06-01' },
    ]);
    expect(codes(run(stream(600), { policy, claim: { failureDate: '2026-06-02' } }))).toEqual(['coverage']);
    expect(codes(run(stream(600), { policy: withEvidence({ coverage: { minDaysBeforeFailure: 1 } }) }))).toEqual([]);
    expect(codes(run(stream(600), { policy: withEvidence({ coverage: { minDaysBeforeFailure: 2 } }) }))).toEqual(['coverage']);
    expect(run([], { policy }).missing.map((m) => m.message)).toContain(
      'the policy needs history from 3 day(s) before the failure (2026-05-31), but the log holds no history',
    );
  });
});

describe('warranty age is taken when the claim was made', () => {
  const claim = { purchaseDate: '2025-06-10', failureDate: '2026-06-01' };

  it('a claim after the warranty ended is out of warranty even when the failure was inside it', () => {
    const late = run(stream(600), { claim, facts: { claimedAtMs: day('2026-06-10') } });
    expect(late.missing).toEqual([
      { code: 'out-of-warranty', message: 'the claim made on 2026-06-10 (failure on 2026-06-01) is after the warranty ended on 2026-06-10' },
    ]);
    expect(late.period).toMatchObject({ withinWarranty: false, daysSincePurchase: 365, claimedAt: '2026-06-10T00:00:00.000Z', warrantyEnds: '2026-06-10' });
    const inTime = run(stream(600), { claim, facts: { claimedAtMs: day('2026-06-10') - 1 } });
    expect(inTime.verdict).toBe('covered');
    expect(inTime.period).toMatchObject({ withinWarranty: true, daysSincePurchase: 364, claimedAt: '2026-06-09T23:59:59.999Z' });
  });

  it('a ticket issued before the package keeps the claim inside the warranty', () => {
    // The package was made after the warranty ended, the claim ticket before.
    const facts = { reportedAt: day('2026-06-12'), claimedAtMs: day('2026-06-09') + 3_600_000 };
    expect(run(stream(600), { claim, facts }).period.withinWarranty).toBe(true);
    expect(codes(run(stream(600), { claim, facts: { reportedAt: facts.reportedAt } }))).toEqual(['out-of-warranty']);
  });

  it('a failure date after the claim is a claim-dates problem; without one the failure is the claim day', () => {
    const e = run(stream(600), { claim: { failureDate: '2026-06-05' }, facts: { claimedAtMs: day('2026-06-04') + 5 } });
    expect(e.missing).toEqual([{ code: 'claim-dates', message: 'the failure date 2026-06-05 is after the claim was made on 2026-06-04' }]);
    expect(codes(run(stream(600), { claim: { failureDate: '2026-06-04' }, facts: { claimedAtMs: day('2026-06-04') + 5 } }))).toEqual([]);
    const d = run(stream(600), { facts: { claimedAtMs: day('2026-06-02') + 7 } });
    expect(d.claim.failureDate).toBe('2026-06-02');
    expect(d.verdict).toBe('covered');
  });

  it('the DOA window still follows the failure date', () => {
    const e = run(stream(600), { claim: { purchaseDate: '2026-03-05', failureDate: '2026-06-01' }, facts: { claimedAtMs: day('2026-06-10') } });
    expect(e.period).toMatchObject({ withinDoa: true, daysSincePurchase: 97 });
  });
});

describe('inspections: conditions logs cannot show', () => {
  const policy: WarrantyPolicy = {
    ...DEFAULT_POLICY,
    inspections: [
      { id: 'water', title: 'No water ingress', condition: 'water ingress', requires: ['photo of the open case', 'photo of the corrosion indicator'] },
      { id: 'charger', title: 'Approved charger', condition: 'wrong charger', requires: ['photo of the charger label'] },
    ],
  };

  it('turn a clean log from covered into inconclusive, saying what the supplier needs', () => {
    expect(checkPolicy(policy).ok).toBe(true);
    const e = run(stream(600), { policy });
    expect(e.verdict).toBe('inconclusive');
    expect(e.missing).toEqual([
      {
        code: 'inspection-required',
        message: 'clause water (No water ingress): water ingress is not visible in logs; needed: photo of the open case, photo of the corrosion indicator',
      },
      { code: 'inspection-required', message: 'clause charger (Approved charger): wrong charger is not visible in logs; needed: photo of the charger label' },
    ]);
    expect(e.summary).toMatch(/^INCONCLUSIVE: no misuse in 600 records over 0\.01 days, but clause water/);
    expect(e.clauses.slice(-2)).toEqual([
      {
        id: 'water',
        type: 'inspection',
        kind: 'inspection',
        title: 'No water ingress',
        status: 'not-assessed',
        occurrences: 0,
        totalDurationS: 0,
        reason: 'not visible in logs: photo of the open case, photo of the corrosion indicator',
        condition: 'water ingress',
        requires: ['photo of the open case', 'photo of the corrosion indicator'],
      },
      {
        id: 'charger',
        type: 'inspection',
        kind: 'inspection',
        title: 'Approved charger',
        status: 'not-assessed',
        occurrences: 0,
        totalDurationS: 0,
        reason: 'not visible in logs: photo of the charger label',
        condition: 'wrong charger',
        requires: ['photo of the charger label'],
      },
    ]);
  });

  it('leave excluded and otherwise inconclusive verdicts as they are', () => {
    const ex = run(stream(600, misuse), { policy });
    expect(ex.verdict).toBe('excluded');
    expect(codes(ex)).toEqual([]);
    expect(ex.clauses.filter((c) => c.type === 'inspection')).toHaveLength(2);
    const gap = run(stream(600), { policy, facts: { gaps: [{ afterIndex: 3, reason: 'segment 1 missing' }] } });
    expect(codes(gap)).toEqual(['integrity-gaps']);
    // Inspections are not void clauses that could not be assessed.
    expect(codes(run(stream(600), { policy: { ...policy, inspections: [] } }))).toEqual([]);
  });
});

describe('findings cite the device’s segment counters', () => {
  it('first, last and most extreme record of a run, across a segment boundary', () => {
    const e = run(
      stream(300, (r, i) => {
        if (i >= 95 && i <= 112) r.current = i === 101 ? -260 : -240;
      }),
    );
    expect(e.findings[0]).toMatchObject({ records: { first: 95, last: 112, extreme: 101 }, segments: { first: 0, last: 1, extreme: 1 } });
    const e2 = run(
      stream(300, (r, i) => {
        if (i >= 95 && i <= 112) r.current = i === 97 ? -260 : -240;
      }),
    );
    expect(e2.findings[0]!.segments).toEqual({ first: 0, last: 1, extreme: 0 });
  });

  it('null for recordings without segments', () => {
    const e = run(
      stream(300, (r, i) => {
        r.segment = null;
        misuse(r, i);
      }),
      { facts: { source: 'desktop', signature: 'unsigned' } },
    );
    expect(e.findings[0]!.segments).toEqual({ first: null, last: null, extreme: null });
  });
});

describe('facts: properties', () => {
  const factsArb = fc.record({
    extent: fc.option(
      fc.record({
        historyFromMs: fc.option(fc.integer({ min: T0 - 400 * DAY, max: T0 + 2 * DAY }), { nil: null }),
        boardTimeMs: fc.integer({ min: T0, max: T0 + 30 * DAY }),
        unreadableSegments: fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 30 }),
      }),
      { nil: undefined },
    ),
    claimedAtMs: fc.option(fc.integer({ min: T0 - 400 * DAY, max: T0 + 400 * DAY }), { nil: undefined }),
    freshness: fc.option(fc.constantFrom('ticket' as const, 'unproven' as const), { nil: undefined }),
    signature: fc.constantFrom('valid' as const, 'invalid' as const, 'unsigned' as const),
  });
  const policyArb = fc.record({
    unreadable: fc.option(fc.constantFrom('inconclusive' as const, 'excluded' as const), { nil: undefined }),
    fromPurchase: fc.option(fc.boolean(), { nil: undefined }),
    minDays: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
    inspections: fc.integer({ min: 0, max: 2 }),
  });

  it('the verdict order holds and the result is deterministic', () => {
    fc.assert(
      fc.property(factsArb, policyArb, fc.boolean(), fc.option(fc.integer({ min: -60, max: 10 }), { nil: undefined }), (f, p, abuse, failureOffset) => {
        const policy: WarrantyPolicy = {
          ...DEFAULT_POLICY,
          evidence: {
            ...DEFAULT_POLICY.evidence,
            ...(p.unreadable ? { unreadableSegments: p.unreadable } : {}),
            ...(p.fromPurchase !== undefined || p.minDays !== undefined
              ? {
                  coverage: {
                    ...(p.fromPurchase !== undefined ? { fromPurchase: p.fromPurchase } : {}),
                    ...(p.minDays !== undefined ? { minDaysBeforeFailure: p.minDays } : {}),
                  },
                }
              : {}),
          },
          inspections: Array.from({ length: p.inspections }, (_, i) => ({ id: `look-${i}`, title: 'Look', condition: 'physical damage', requires: ['photo'] })),
        };
        expect(checkPolicy(policy).ok).toBe(true);
        const claim = failureOffset === undefined ? {} : { failureDate: new Date(T0 + failureOffset * DAY).toISOString().slice(0, 10) };
        const facts: Partial<LogFacts> = { ...f };
        const recs = stream(200, abuse ? misuse : undefined);
        const e = run(recs, { policy, facts, claim });
        expect(canonicalJson(run(structuredClone(recs), { policy, facts: structuredClone(facts), claim }))).toBe(canonicalJson(e));

        const unreadable = (f.extent?.unreadableSegments.length ?? 0) > 0;
        const excludesOnUnreadable = unreadable && p.unreadable === 'excluded';
        expect(e.excludedBy.includes('unreadable-segments')).toBe(excludesOnUnreadable);
        expect(codes(e).includes('unreadable-segments')).toBe(unreadable);
        if (f.signature === 'invalid') expect(e.verdict).toBe('inconclusive');
        else if (e.excludedBy.length > 0) expect(e.verdict).toBe('excluded');
        else if (e.missing.length > 0) expect(e.verdict).toBe('inconclusive');
        else expect(e.verdict).toBe('covered');
        if (unreadable || p.inspections > 0) expect(e.verdict).not.toBe('covered');
        if (e.verdict === 'excluded') expect(codes(e)).not.toContain('inspection-required');
        if (codes(e).includes('inspection-required')) expect(codes(e).every((c) => c === 'inspection-required')).toBe(true);
        expect(e.log.freshness).toBe(f.freshness ?? null);
        expect(e.period.claimedAt).toBe(new Date(f.claimedAtMs ?? FACTS.reportedAt).toISOString());
      }),
      { numRuns: 300 },
    );
  });
});
