import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { checkPolicy, parsePolicy, policyHash, policyJsonSchema, WarrantyPolicySchema } from '../../../shared/warranty/policy.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { parseClaim, validateClaim } from '../../../shared/warranty/claim.js';
import { PackscopeError } from '../../../shared/errors.js';
import { CLAIM } from './stream.js';

const root = new URL('../../../shared/warranty/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, root), 'utf8');

describe('warranty policy schema', () => {
  it('the shipped default-policy.json is the default policy and is valid', () => {
    const fromFile = parsePolicy(read('default-policy.json'));
    const { $schema, ...rest } = fromFile;
    expect($schema).toBe('./policy.schema.json');
    expect(rest).toEqual(DEFAULT_POLICY);
    expect(DEFAULT_POLICY.warranty).toEqual({ periodDays: 365, doaDays: 90 });
    expect(DEFAULT_POLICY.voidConditions.find((c) => c.kind === 'discharge_current_above_c')).toMatchObject({ thresholdC: 2, minDurationS: 10 });
    expect(DEFAULT_POLICY.voidConditions.find((c) => c.kind === 'charge_below_temperature')).toMatchObject({ thresholdCelsius: 0 });
  });

  it('the published policy.schema.json is generated from the zod schema', () => {
    expect(JSON.parse(read('policy.schema.json'))).toEqual(policyJsonSchema());
  });

  it('the hash ignores formatting and key order', () => {
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverseKeys)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverseKeys(x)]),
            )
          : v;
    const shuffled = reverseKeys(DEFAULT_POLICY);
    expect(policyHash(parsePolicy(JSON.stringify(shuffled, null, 7)))).toBe(policyHash(DEFAULT_POLICY));
    expect(policyHash({ ...DEFAULT_POLICY, id: 'other' })).not.toBe(policyHash(DEFAULT_POLICY));
  });

  it('explains each problem with its path', () => {
    const bad = structuredClone(DEFAULT_POLICY) as any;
    bad.warranty.doaDays = 400;
    bad.voidConditions[0].thresholdC = 'two';
    bad.voidConditions[1].kind = 'discharge_fast';
    bad.voidConditions[2].tresholdCelsius = 0;
    bad.defectIndicators[2].alarms = ['afe_fault', 'melted'];
    const r = checkPolicy(bad);
    expect(r.ok).toBe(false);
    const problems = (r as { problems: { path: string; message: string }[] }).problems;
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath['warranty.doaDays']).toBe('doaDays must not exceed periodDays');
    expect(byPath['voidConditions[0].thresholdC']).toMatch(/expected number/);
    expect(byPath['voidConditions[1].kind']).toMatch(/unknown void condition kind; expected one of discharge_current_above_c/);
    expect(byPath['voidConditions[2]']).toMatch(/Unrecognized key: "tresholdCelsius"/);
    expect(byPath['defectIndicators[2].alarms[1]']).toMatch(/afe_fault/);
  });

  it('refuses clause ids used twice', () => {
    const dup = structuredClone(DEFAULT_POLICY);
    dup.defectIndicators[1]!.id = 'cold-charge';
    expect(checkPolicy(dup)).toEqual({
      ok: false,
      problems: [{ path: 'defectIndicators[1].id', message: 'clause id "cold-charge" is already used at voidConditions.2.id' }],
    });
  });

  it('version, evidence.unreadableSegments, evidence.coverage and inspections are optional and checked', () => {
    const full = {
      ...structuredClone(DEFAULT_POLICY),
      version: 3,
      evidence: { ...DEFAULT_POLICY.evidence, unreadableSegments: 'excluded', coverage: { fromPurchase: true, minDaysBeforeFailure: 30 } },
      inspections: [{ id: 'water', title: 'No water ingress', condition: 'water ingress', requires: ['photo of the open case'] }],
    };
    expect(checkPolicy(full)).toEqual({ ok: true, policy: full });
    expect(checkPolicy({ ...full, evidence: { ...full.evidence, coverage: {} } }).ok).toBe(true);
    const problems = (v: unknown) =>
      Object.fromEntries(((checkPolicy(v) as { problems?: { path: string; message: string }[] }).problems ?? []).map((p) => [p.path, p.message]));
    expect(problems({ ...full, version: 0 })).toHaveProperty('version');
    expect(problems({ ...full, version: 1.5 })).toHaveProperty('version');
    expect(problems({ ...full, version: '2' })).toHaveProperty('version');
    expect(problems({ ...full, evidence: { ...full.evidence, unreadableSegments: 'covered' } })).toHaveProperty(['evidence.unreadableSegments']);
    expect(problems({ ...full, evidence: { ...full.evidence, coverage: { minDaysBeforeFailure: -1 } } })).toHaveProperty([
      'evidence.coverage.minDaysBeforeFailure',
    ]);
    expect(problems({ ...full, evidence: { ...full.evidence, coverage: { fromPurchase: true, days: 3 } } })['evidence.coverage']).toMatch(
      /Unrecognized key: "days"/,
    );
    const insp = (x: Record<string, unknown>) => ({ ...full, inspections: [{ ...full.inspections[0], ...x }] });
    expect(problems(insp({ requires: [] }))['inspections[0].requires']).toMatch(/>=1/);
    expect(problems(insp({ requires: ['  '] }))['inspections[0].requires[0]']).toBe('must not be empty');
    expect(problems(insp({ condition: '' }))['inspections[0].condition']).toBe('must not be empty');
    expect(problems(insp({ photo: 'x' }))['inspections[0]']).toMatch(/Unrecognized key: "photo"/);
    const many = Array.from({ length: 33 }, (_, i) => ({ id: `i${i}`, title: 't', condition: 'c', requires: ['r'] }));
    expect(problems({ ...full, inspections: many })).toHaveProperty('inspections');
    expect(checkPolicy({ ...full, inspections: many.slice(0, 32) }).ok).toBe(true);
  });

  it('clause ids are unique across void conditions, defect indicators and inspections; one id is reserved', () => {
    const p = { ...structuredClone(DEFAULT_POLICY), inspections: [{ id: 'cell-drift', title: 't', condition: 'swollen cells', requires: ['photo'] }] };
    expect(checkPolicy(p)).toEqual({
      ok: false,
      problems: [{ path: 'inspections[0].id', message: 'clause id "cell-drift" is already used at defectIndicators.0.id' }],
    });
    const reserved = structuredClone(DEFAULT_POLICY);
    reserved.voidConditions[0]!.id = 'unreadable-segments';
    expect(checkPolicy(reserved)).toEqual({
      ok: false,
      problems: [{ path: 'voidConditions[0].id', message: 'clause id "unreadable-segments" is reserved for unreadable attested segments' }],
    });
  });

  it('parsePolicy refuses bad JSON and bad policies with a REFUSED error listing problems', () => {
    expect(() => parsePolicy('{')).toThrow(/policy is not valid JSON/);
    try {
      parsePolicy(JSON.stringify({ schema: 'packscope-warranty-policy/2' }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PackscopeError);
      expect((e as PackscopeError).code).toBe('REFUSED');
      expect((e as Error).message).toMatch(/schema: Invalid input: expected "packscope-warranty-policy\/1"/);
      expect((e as Error).message).toMatch(/warranty: /);
    }
  });

  it('arbitrary JSON never throws from checkPolicy', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = checkPolicy(v);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          parsePolicy(s);
        } catch (e) {
          expect(e).toBeInstanceOf(PackscopeError);
        }
      }),
    );
  });

  it('a valid policy survives the JSON round trip', () => {
    expect(WarrantyPolicySchema.parse(JSON.parse(JSON.stringify(DEFAULT_POLICY)))).toEqual(DEFAULT_POLICY);
  });
});

describe('claim form', () => {
  it('accepts a complete claim and rejects bad fields by name', () => {
    expect(validateClaim(CLAIM)).toEqual(CLAIM);
    try {
      parseClaim(JSON.stringify({ ...CLAIM, purchaseDate: '2026-02-30', remedy: 'refund', contact: ' ', extra: 1 }));
      expect.unreachable();
    } catch (e) {
      const msg = (e as Error).message;
      expect((e as PackscopeError).code).toBe('USAGE');
      expect(msg).toMatch(/purchaseDate: not a calendar date/);
      expect(msg).toMatch(/remedy: remedy must be one of repair, replacement, consultation/);
      expect(msg).toMatch(/contact: must not be empty/);
      expect(msg).toMatch(/Unrecognized key: "extra"/);
    }
    expect(() => parseClaim('not json')).toThrow(/claim is not a JSON claim form \(not valid JSON/);
    const { serial: _s, ...noSerial } = CLAIM;
    expect(() => validateClaim(noSerial)).toThrow(/serial/);
  });
});
