import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareWith } from '../../../electron/host/api/settings.js';
import type { SettingsRead } from '../../../electron/host/settings/access.js';
import { makeBackup } from '../../../shared/settings/backup.js';
import { quantize, SETTINGS, settingDef } from '../../../shared/settings/catalog.js';
import { builtinProfile } from '../../../shared/settings/profiles.js';
import { checkStaged, evidenceWarning, fieldText, groupRows, parseTyped, rangeText, type SettingsView } from '../../../renderer/settings/settings-form.js';

/**
 * The Settings screen's logic: fields parse what people type and show what they will send, the
 * staged changes get the host's checks before anything is sent, rows follow the catalogue's groups,
 * the JBD counter warning says what the save exit destroys, and the host's comparison of a board
 * with a backup or profile lists what a restore would write.
 */
const board = { model: 'PackScope Sim BMS', serial: 'PS-1', boardId: 'PSB-16S', hardwareRevision: 'A', firmwareVersion: '1.0.0' };
const values = { cell_ov_protect: 3.75, cell_ov_release: 3.45, cell_uv_protect: 2.3, cell_uv_release: 2.9, balance_window: 0.01, telemetry_max_rate: 100 };
const limits = {
  cell_ov_protect: { min: 3, max: 4.4, writable: true },
  cell_ov_release: { min: 3, max: 4.4, writable: true },
  cell_uv_protect: { min: 2, max: 3.6, writable: true },
  cell_uv_release: { min: 2, max: 3.6, writable: true },
  balance_window: { min: 0.005, max: 0.5, writable: true },
  telemetry_max_rate: { min: 100, max: 100, writable: false },
};
const view: SettingsView = {
  protocol: 'native',
  board,
  values,
  limits,
  jbdErrorCounters: null,
  snapshotDigest: null,
  cellCount: 16,
  notes: [],
};

describe('Settings screen fields', () => {
  it('a value shown in a field parses back to itself, for every setting (property)', () => {
    for (const def of SETTINGS) {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 100_000 }), (k) => {
          const v = def.type === 'boolean' ? k % 2 : quantize(def, def.min + ((def.max - def.min) * k) / 100_000);
          const t = parseTyped(def, fieldText(def, v));
          expect(t).toEqual({ ok: true, value: v });
        }),
        { numRuns: 30 },
      );
    }
  });

  it('takes a decimal comma, hex bit masks and on/off; says why anything else is not a value', () => {
    expect(parseTyped(settingDef('cell_ov_protect')!, '3,65')).toEqual({ ok: true, value: 3.65 });
    expect(parseTyped(settingDef('function_bits')!, '0x000B')).toEqual({ ok: true, value: 11 });
    expect(parseTyped(settingDef('charge_mosfet')!, 'off')).toEqual({ ok: true, value: 0 });
    expect(parseTyped(settingDef('charge_mosfet')!, 'maybe')).toEqual({ ok: false, reason: 'on or off' });
    expect(parseTyped(settingDef('cell_ov_protect')!, '')).toEqual({ ok: false, reason: 'enter a value' });
    expect(parseTyped(settingDef('cell_ov_protect')!, '3.6 V')).toEqual({ ok: false, reason: 'not a number' });
  });

  it("states the range the board accepts: the catalogue's narrowed by the board's own", () => {
    expect(rangeText(settingDef('cell_ov_protect')!, limits.cell_ov_protect)).toBe('3.000 V … 4.400 V');
    expect(rangeText(settingDef('charge_mosfet')!, undefined)).toBe('on / off');
  });
});

describe('staged changes', () => {
  it('keeps only values that differ, rounded as they will be sent', () => {
    const c = checkStaged(view, { cell_ov_protect: '3.700', cell_ov_release: '3.450', balance_window: '0.02' });
    expect(c.issues.size).toBe(0);
    expect(c.changes).toEqual({ cell_ov_protect: 3.7, balance_window: 0.02 });
  });

  it('refuses out-of-range, off-step, unordered and read-only values before anything is sent', () => {
    const c = checkStaged(view, { cell_ov_protect: '9', cell_uv_release: '2.0', balance_window: '0.0105', telemetry_max_rate: '50', cell_uv_protect: 'x' });
    expect(c.issues.get('cell_ov_protect')).toMatch(/outside the allowed range 3…4.4 V/);
    expect(c.issues.get('balance_window')).toMatch(/multiple of 0.001/);
    expect(c.issues.get('telemetry_max_rate')).toBe('read-only');
    expect(c.issues.get('cell_uv_protect')).toBe('not a number');
    expect(c.changes).not.toHaveProperty('cell_ov_protect');
    // A release that crosses its protection is refused with the rule's words.
    const order = checkStaged(view, { cell_ov_protect: '3.40' });
    expect(order.issues.get('cell_ov_protect')).toMatch(/release must be below/);
  });

  it('groups rows as the catalogue does, read-only settings marked', () => {
    const g = groupRows(view);
    expect(g.map((x) => x.group)).toEqual(['cell-protection', 'balancing', 'identity']);
    expect(g[2]!.rows[0]).toMatchObject({ writable: false, value: 100 });
  });
});

describe('evidence warnings', () => {
  const jbd: SettingsView = { ...view, protocol: 'jbd', jbdErrorCounters: { cell_ov: 3, cell_uv: 0 } };
  it('says in words that the save exit zeroes the JBD protection counters, naming them', () => {
    const w = evidenceWarning(jbd, 'save-and-reset-counters')!;
    expect(w.level).toBe('danger');
    expect(w.text).toMatch(/ZEROES its protection counters \(now: cell ov 3, cell uv 0\)/);
    expect(evidenceWarning(jbd, 'keep-counters')!.text).toMatch(/read before the write and kept/);
    expect(evidenceWarning({ ...jbd, jbdErrorCounters: { cell_ov: 0 } }, 'keep-counters')!.text).toMatch(/none recorded/);
  });
  it('tells a native board signs every change; a board without settings evidence gets none', () => {
    expect(evidenceWarning(view, 'keep-counters')!.text).toMatch(/signs every accepted change/);
    expect(evidenceWarning({ ...view, protocol: 'daly' }, 'keep-counters')).toBeNull();
  });
});

describe('comparing the board with a backup or a profile', () => {
  const read: SettingsRead = { protocol: 'native', board, values, limits: new Map(Object.entries(limits)), notes: [] };
  it('lists a backup’s differences and which a restore writes; another board is flagged', () => {
    const b = makeBackup({
      protocol: 'native',
      board,
      values: { ...values, cell_ov_protect: 3.65, telemetry_max_rate: 50 },
      createdAt: new Date(0),
      tool: 't',
    });
    const c = compareWith(read, { backup: b }, 'b.json', 16);
    expect(c.differences).toEqual([
      { id: 'cell_ov_protect', left: 3.75, right: 3.65 },
      { id: 'telemetry_max_rate', left: 100, right: 50 },
    ]);
    expect(c.writable).toEqual(['cell_ov_protect']);
    expect(c.backup?.sameBoard).toBe(true);
    const other = makeBackup({ protocol: 'native', board: { ...board, serial: 'PS-2' }, values, createdAt: new Date(0), tool: 't' });
    expect(compareWith(read, { backup: other }, 'o.json', 16).backup?.sameBoard).toBe(false);
    const jbdBackup = makeBackup({ protocol: 'jbd', board, values, createdAt: new Date(0), tool: 't' });
    expect(() => compareWith(read, { backup: jbdBackup }, 'j.json', 16)).toThrow(/backup is of a jbd board/);
  });
  it('compares a profile only where it prescribes a value the board has', () => {
    const c = compareWith(read, { profile: builtinProfile('lfp')! }, null, 16);
    expect(c.kind).toBe('profile');
    expect(c.differences).toEqual([{ id: 'balance_window', left: 0.01, right: 0.03 }]);
    expect(c.writable).toEqual(['balance_window']);
  });
});
