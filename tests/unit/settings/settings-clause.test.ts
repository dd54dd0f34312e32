import { describe, expect, it } from 'vitest';
import { evaluate, type LogFacts } from '../../../shared/warranty/engine.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { checkPolicy, type WarrantyPolicy } from '../../../shared/warranty/policy.js';
import type { SettingsEvidence } from '../../../shared/settings/evidence.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import { EVENTS } from '../../../shared/blackbox/events.js';

/** The policy clause on settings outside the supplier's ranges, from signed settings evidence. */
const T0 = Date.parse('2026-06-01T00:00:00Z');
const records: LogRecord[] = Array.from({ length: 120 }, (_, i) => ({
  index: i,
  segment: Math.floor(i / 60),
  t: T0 + i * 1000,
  packVoltage: 52,
  current: 0,
  soc: 60,
  cellVoltages: Array(16).fill(3.3),
  temperatures: [25, 25],
  status: 0,
  alarms: 0,
  event: i === 40 ? EVENTS.params_changed : 0,
}));
const claim = { customer: 'A', contact: 'a@b.c', model: 'M', serial: 'S', purchaseDate: '2026-05-01', description: 'x', remedy: 'repair' as const };
const policy: WarrantyPolicy = {
  ...DEFAULT_POLICY,
  voidConditions: [
    {
      id: 'settings',
      title: 'Settings outside range',
      kind: 'protection_settings_outside_range',
      ranges: { cell_ov_protect: { max: 3.8 }, charge_ut_protect: { min: -5 } },
    },
  ],
};
const facts = (settings: SettingsEvidence | null): LogFacts => ({
  source: 'device',
  signature: 'valid',
  gaps: [],
  deviceSerial: 'S',
  reportedAt: T0 + 200_000,
  settings,
});
const evidence = (over: Partial<SettingsEvidence> = {}): SettingsEvidence => ({
  values: { cell_ov_protect: 3.75, charge_ut_protect: -4 },
  snapshotTime: T0 + 119_000,
  snapshotBootCount: 1,
  snapshotDigest: 'd'.repeat(64),
  nonce: '00',
  journalCount: 0,
  updates: [],
  changes: [],
  olderThanKept: 0,
  verified: true,
  problems: [],
  ...over,
});
const run = (ev: SettingsEvidence | null) => evaluate({ records, policy, claim, facts: facts(ev), nominalCapacityAh: 100 });
const clause = (e: ReturnType<typeof run>) => e.clauses.find((c) => c.id === 'settings')!;
const findings = (e: ReturnType<typeof run>) => e.findings.filter((f) => f.clause === 'settings');

describe('protection_settings_outside_range', () => {
  it('is a valid policy clause, and an unknown setting id is an error', () => {
    expect(checkPolicy(policy).ok).toBe(true);
    const bad = checkPolicy({ ...policy, voidConditions: [{ ...policy.voidConditions[0]!, ranges: { cell_ov_protekt: { max: 1 } } }] });
    expect(bad.ok).toBe(false);
  });

  it('is clear when every signed value is inside its range', () => {
    const e = run(evidence());
    expect(clause(e)).toMatchObject({ status: 'clear', occurrences: 0 });
    expect(e.verdict).not.toBe('excluded');
  });

  it('fires on a signed change beyond the range, pointing at the params_changed record', () => {
    const e = run(
      evidence({
        values: { cell_ov_protect: 3.75, charge_ut_protect: -4 },
        journalCount: 2,
        changes: [
          {
            seq: 1,
            t: T0 + 40_200,
            bootCount: 1,
            paramId: 1,
            name: 'cell_overvoltage',
            setting: 'cell_ov_protect',
            oldValue: 3.75,
            newValue: 3.95,
            tool: 'packscope x',
            hash: 'a'.repeat(64),
          },
          {
            seq: 2,
            t: T0 + 100_000,
            bootCount: 1,
            paramId: 1,
            name: 'cell_overvoltage',
            setting: 'cell_ov_protect',
            oldValue: 3.95,
            newValue: 3.75,
            tool: 'packscope x',
            hash: 'b'.repeat(64),
          },
        ],
      }),
    );
    expect(e.verdict).toBe('excluded');
    expect(e.excludedBy).toEqual(['settings']);
    expect(findings(e)).toEqual([
      expect.objectContaining({
        clause: 'settings',
        measured: { quantity: 'setting cell_ov_protect', value: 3.95, unit: 'V' },
        threshold: { value: 3.8, unit: 'V', comparison: 'above' },
        records: { first: 40, last: 40, extreme: 40 },
        segments: { first: 0, last: 0, extreme: 0 },
        setting: { id: 'cell_ov_protect', source: 'change', seq: 1, previous: 3.75, tool: 'packscope x', record: 'a'.repeat(64), snapshot: 'd'.repeat(64) },
      }),
    ]);
  });

  it('fires on a snapshot value no change record explains', () => {
    const e = run(evidence({ values: { cell_ov_protect: 3.75, charge_ut_protect: -12 } }));
    expect(findings(e).map((f) => [f.setting?.source, f.setting?.id, f.threshold.comparison, f.records.first])).toEqual([
      ['snapshot', 'charge_ut_protect', 'below', 119],
    ]);
  });

  it('is not assessed without signed settings, or when they do not verify', () => {
    expect(clause(run(null))).toMatchObject({ status: 'not-assessed', reason: 'the log carries no signed settings records from the board' });
    const bad = run(evidence({ verified: false, problems: ['settings change 2: signature does not verify against the device key'] }));
    expect(clause(bad).status).toBe('not-assessed');
    expect(bad.missing.map((m) => m.code)).toContain('clause-not-assessed');
  });
});
