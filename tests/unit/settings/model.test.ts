import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import { diffSettings, makeBackup, parseBackup } from '../../../shared/settings/backup.js';
import { formatSetting, quantize, settingDef, SETTING_GROUPS, SETTINGS, settingsFor } from '../../../shared/settings/catalog.js';
import { builtinProfile, parseProfile, profileValues } from '../../../shared/settings/profiles.js';
import { parseAssignment, validateChanges } from '../../../shared/settings/validate.js';

/** The settings catalogue, validation before sending, backups and profiles. */
const board = { model: 'M', serial: 'S1', boardId: 'B', hardwareRevision: 'A', firmwareVersion: '1.0' };

describe('settings catalogue', () => {
  it('gives every setting a group, a unit rule, a range with a step and at least one protocol', () => {
    for (const d of SETTINGS) {
      expect(SETTING_GROUPS).toContain(d.group);
      expect(d.min).toBeLessThan(d.max);
      expect(d.step).toBeGreaterThan(0);
      expect(d.protocols.length).toBeGreaterThan(0);
      expect(d.label.length).toBeGreaterThan(0);
    }
    expect(settingsFor('jbd').map((d) => d.id)).toContain('ntc_enable');
    expect(formatSetting(settingDef('cell_ov_protect')!, 3.65)).toBe('3.650 V');
    expect(formatSetting(settingDef('function_bits')!, 0b1100)).toBe('0x000c (balance_en, chg_balance_en)');
  });

  it('quantize is idempotent and stays within half a step', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SETTINGS), fc.double({ min: -1000, max: 1000, noNaN: true }), (d, v) => {
        const q = quantize(d, v);
        expect(quantize(d, q)).toBe(q);
        expect(Math.abs(q - v)).toBeLessThanOrEqual(d.step / 2 + 1e-9);
      }),
    );
  });
});

describe('validation before sending', () => {
  const limits = new Map([
    ['cell_ov_protect', { min: 3, max: 4.4, writable: true }],
    ['cell_ov_release', { min: 3, max: 4.4, writable: true }],
    ['design_capacity', { min: 100, max: 100, writable: false }],
  ]);
  const current = { cell_ov_protect: 3.75, cell_ov_release: 3.45 };
  it('accepts values inside every limit', () => {
    expect(validateChanges({ cell_ov_protect: 3.7 }, { protocol: 'native', limits, current })).toEqual({
      ok: true,
      issues: [],
      changes: { cell_ov_protect: 3.7 },
    });
  });
  it('names every problem at once', () => {
    const r = validateChanges(
      { cell_ov_protect: 4.41, design_capacity: 50, nope: 1, soc: 50, cell_ov_release: 3.4505, balance_start: 3.4 },
      { protocol: 'native', limits, current },
    );
    expect(r.ok).toBe(false);
    expect(Object.fromEntries(r.issues.map((i) => [i.id, i.reason]))).toEqual({
      cell_ov_protect: 'outside the allowed range 3…4.4 V',
      design_capacity: 'read-only',
      nope: 'no such setting',
      soc: 'a native board does not carry this setting',
      cell_ov_release: 'must be a multiple of 0.001 V',
      balance_start: 'this board does not report this setting',
    });
  });
  it('keeps a release on the safe side of its protection', () => {
    const r = validateChanges({ cell_ov_protect: 3.4 }, { protocol: 'native', limits, current });
    expect(r.issues[0]!.reason).toMatch(/release must be below/);
  });
  it('parses ID=VALUE with on/off', () => {
    expect(parseAssignment('charge_mosfet=off')).toEqual({ id: 'charge_mosfet', value: 0 });
    expect(parseAssignment('cell_ov_protect=3.65')).toEqual({ id: 'cell_ov_protect', value: 3.65 });
    expect(() => parseAssignment('cell_ov_protect=')).toThrow(RangeError);
    expect(() => parseAssignment('x')).toThrow(RangeError);
  });
});

describe('backups', () => {
  it('digest covers identity, protocol and values, not the time or the evidence kept beside them', () => {
    const a = makeBackup({
      protocol: 'jbd',
      board,
      values: { cell_ov_protect: 3.65, cell_uv_protect: 2.5 },
      createdAt: new Date(0),
      tool: 't',
      jbdErrorCounters: { sc: 1 },
    });
    const b = makeBackup({ protocol: 'jbd', board, values: { cell_uv_protect: 2.5, cell_ov_protect: 3.65 }, createdAt: new Date(5000), tool: 'u' });
    expect(a.digest).toBe(b.digest);
    expect(parseBackup(JSON.stringify(a))).toEqual(a);
    const tampered = { ...a, values: { ...a.values, cell_ov_protect: 3.9 } };
    expect(() => parseBackup(JSON.stringify(tampered))).toThrow(/altered/);
    expect(() => parseBackup('{}')).toThrow(DecodeError);
    expect(() => parseBackup('nope')).toThrow(DecodeError);
  });
  it('diff lists what differs after rounding to the step', () => {
    expect(diffSettings({ cell_ov_protect: 3.6500001, charge_mosfet: 1 }, { cell_ov_protect: 3.65, balance_start: 3.4 })).toEqual([
      { id: 'balance_start', left: null, right: 3.4 },
      { id: 'charge_mosfet', left: 1, right: null },
    ]);
  });
  it('diff leaves out states that move by themselves (the SOC)', () => {
    expect(diffSettings({ soc: 50, charge_mosfet: 1 }, { soc: 20, charge_mosfet: 1 })).toEqual([]);
  });
  it('a board that keeps a setting in coarser units refuses a value between them, naming the unit', () => {
    const limits = new Map([['charge_oc_protect', { min: 1, max: 1000, writable: true, step: 1 }]]);
    expect(validateChanges({ charge_oc_protect: 50 }, { protocol: 'jk', limits }).ok).toBe(true);
    expect(validateChanges({ charge_oc_protect: 50.25 }, { protocol: 'jk', limits }).issues).toEqual([
      {
        id: 'charge_oc_protect',
        value: 50.25,
        reason: 'this board keeps it in whole units (A): 50.25 is not one, and PackScope never rounds a value it sends',
      },
    ]);
    const tenths = new Map([['charge_ot_protect', { min: -40, max: 100, writable: true, step: 0.5 }]]);
    expect(validateChanges({ charge_ot_protect: 45.5 }, { protocol: 'jk', limits: tenths }).ok).toBe(true);
    expect(validateChanges({ charge_ot_protect: 45.3 }, { protocol: 'jk', limits: tenths }).issues[0]!.reason).toMatch(/in steps of 0.5 °C: 45.3 is not one/);
  });
});

describe('profiles', () => {
  it('scales pack voltages by the cell count', () => {
    const v = profileValues(builtinProfile('lfp')!, 16);
    expect(v['pack_ov_protect']).toBe(58.4);
    expect(v['cell_ov_protect']).toBe(3.75);
    expect(profileValues(builtinProfile('lfp')!, null)['pack_ov_protect']).toBeUndefined();
  });
  it('refuses a profile naming unknown settings', () => {
    expect(() => parseProfile(JSON.stringify({ format: 'packscope-settings-profile/1', id: 'x', name: 'X', chemistry: 'lfp', values: { bogus: 1 } }))).toThrow(
      /unknown settings: bogus/,
    );
  });
});
