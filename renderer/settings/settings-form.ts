/**
 * The Settings screen's form logic, free of React so unit tests pin it: what a typed value means,
 * which staged changes pass the same checks the host makes before sending (catalogue range, the
 * board's own limits, step, the release-versus-protection order), the rows of each group, and the
 * words that warn when a write destroys evidence (a JBD board's protection counters).
 */
import type { Res } from '../../shared/api/contract.js';
import { formatSetting, GROUP_TITLES, quantize, SETTING_GROUPS, settingDef, type SettingDef, type SettingGroup } from '../../shared/settings/catalog.js';
import { validateChanges, type BoardLimit, type ValidationIssue } from '../../shared/settings/validate.js';

export type SettingsView = Res<'settings.read'>;

/** What the user typed into one field: a number, or why it is not one. */
export type Typed = { ok: true; value: number } | { ok: false; reason: string };

/** Parses a field: numbers (a decimal comma accepted), on/off for switches, 0x… for bit masks. */
export function parseTyped(def: SettingDef, text: string): Typed {
  const t = text.trim().toLowerCase();
  if (t === '') return { ok: false, reason: 'enter a value' };
  if (def.type === 'boolean') {
    if (t === 'on' || t === '1' || t === 'true') return { ok: true, value: 1 };
    if (t === 'off' || t === '0' || t === 'false') return { ok: true, value: 0 };
    return { ok: false, reason: 'on or off' };
  }
  const value = def.type === 'bitmask' && /^0x[0-9a-f]+$/.test(t) ? parseInt(t.slice(2), 16) : Number(t.replace(',', '.'));
  return Number.isFinite(value) ? { ok: true, value } : { ok: false, reason: 'not a number' };
}

/** The text a field starts with for a value: the number at the setting's resolution, without the unit. */
export function fieldText(def: SettingDef, value: number): string {
  if (def.type === 'boolean') return value ? 'on' : 'off';
  if (def.type === 'bitmask') return `0x${value.toString(16).padStart(4, '0')}`;
  const decimals = Math.max(0, Math.min(6, Math.round(-Math.log10(def.step))));
  return value.toFixed(decimals);
}

export function show(id: string, value: number | null | undefined): string {
  const def = settingDef(id);
  if (value === null || value === undefined) return '—';
  return def ? formatSetting(def, value) : String(value);
}

export function limitsOf(view: SettingsView): Map<string, BoardLimit> {
  return new Map(Object.entries(view.limits));
}

/** The range a value must stay in: the catalogue's envelope narrowed by the board's own limits. */
export function rangeOf(def: SettingDef, limit: BoardLimit | undefined): { min: number; max: number } {
  return { min: Math.max(def.min, limit?.min ?? -Infinity), max: Math.min(def.max, limit?.max ?? Infinity) };
}

export function rangeText(def: SettingDef, limit: BoardLimit | undefined): string {
  if (def.type === 'boolean') return 'on / off';
  const r = rangeOf(def, limit);
  return `${formatSetting(def, r.min)} … ${formatSetting(def, r.max)}`;
}

export interface StagedCheck {
  /** The changes that differ from the board, rounded to their steps (what a write sends). */
  changes: Record<string, number>;
  /** Per setting, why it cannot be sent (typing, range, step, order). */
  issues: Map<string, string>;
}

/**
 * Checks what the user staged (text per setting id) as the host will: typed values first, then
 * validateChanges with the board's limits and current values. Values equal to the board's are
 * dropped: nothing to write.
 */
export function checkStaged(view: SettingsView, staged: Readonly<Record<string, string>>): StagedCheck {
  const issues = new Map<string, string>();
  const numbers: Record<string, number> = {};
  for (const [id, text] of Object.entries(staged)) {
    const def = settingDef(id);
    if (!def) continue;
    const t = parseTyped(def, text);
    if (!t.ok) issues.set(id, t.reason);
    else if (view.values[id] === undefined || quantize(def, t.value) !== view.values[id] || t.value !== quantize(def, t.value)) numbers[id] = t.value;
  }
  const v = validateChanges(numbers, { protocol: view.protocol, limits: limitsOf(view), current: view.values });
  for (const i of v.issues as ValidationIssue[]) if (!issues.has(i.id)) issues.set(i.id, i.reason);
  const changes = Object.fromEntries(Object.entries(v.changes).filter(([id]) => !issues.has(id)));
  return { changes, issues };
}

export interface GroupRows {
  group: SettingGroup;
  title: string;
  rows: Array<{ def: SettingDef; value: number; limit: BoardLimit | undefined; writable: boolean }>;
}

/** The board's settings by the catalogue's groups, in catalogue order; empty groups left out. */
export function groupRows(view: SettingsView): GroupRows[] {
  const limits = limitsOf(view);
  return SETTING_GROUPS.map((group) => ({
    group,
    title: GROUP_TITLES[group],
    rows: Object.keys(view.values)
      .map((id) => settingDef(id))
      .filter((d): d is SettingDef => d !== undefined && d.group === group)
      .map((def) => {
        const limit = limits.get(def.id);
        return { def, value: view.values[def.id]!, limit, writable: !def.readOnly && limit?.writable !== false };
      }),
  })).filter((g) => g.rows.length > 0);
}

/** Counters as people read them: "cell over-voltage 3, …" (all zero: "none recorded"). */
export function countersText(counters: Readonly<Record<string, number>>): string {
  const named = Object.entries(counters).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`);
  return Object.values(counters).some((v) => v > 0) ? named.join(', ') : `none recorded (${named.length} counters, all 0)`;
}

/**
 * What a write will do to evidence, in words, before the user confirms it. A JBD board keeps
 * its protection counters unless it is told to leave factory mode with "save", which zeroes them.
 */
export function evidenceWarning(view: SettingsView, exit: 'keep-counters' | 'save-and-reset-counters'): { level: 'info' | 'danger'; text: string } | null {
  if (view.protocol === 'native') {
    return { level: 'info', text: 'The board signs every accepted change (old value, new value, time and this PackScope’s identity) into its black box.' };
  }
  if (view.protocol !== 'jbd') return null;
  const counters = view.jbdErrorCounters ? countersText(view.jbdErrorCounters) : 'not read';
  if (exit === 'save-and-reset-counters') {
    return {
      level: 'danger',
      text: `This write ends with the board's "save" command, which ZEROES its protection counters (now: ${counters}). They are the board's record of past over-voltage, under-voltage, over-current and temperature trips — warranty evidence. PackScope keeps the values it read in a backup, but the board's own record is lost.`,
    };
  }
  return {
    level: 'info',
    text: `The board's protection counters (${counters}) are read before the write and kept: PackScope leaves factory mode without the "save" command that would zero them.`,
  };
}
