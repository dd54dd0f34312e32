/**
 * Checks a set of setting changes before anything is sent to a board: known id, carried by the
 * board's protocol, writable, a finite number of the right type, on the setting's step, inside the
 * catalogue's envelope and inside the limits the board itself states, and consistent with the
 * other settings (a release threshold on the safe side of its protection threshold). A change that
 * fails any check is never written; the caller reports every issue at once.
 */
import { quantize, settingDef, type SettingsProtocol } from './catalog.js';

export interface BoardLimit {
  min: number;
  max: number;
  writable: boolean;
  /**
   * The unit the board stores the value in, where it is coarser than the catalogue's step (a JK
   * board keeps currents in whole amperes): a value between two of its steps is refused, never
   * rounded on the way out.
   */
  step?: number;
}

export interface ValidationIssue {
  id: string;
  value: number;
  reason: string;
}

export interface ValidationContext {
  protocol: SettingsProtocol;
  /** Limits the board states (native PARAM_LIST, a register's scale); absent: the catalogue's. */
  limits?: ReadonlyMap<string, BoardLimit>;
  /** The board's current values, for the consistency rules. */
  current?: Readonly<Record<string, number>>;
}

export interface ValidationResult {
  ok: boolean;
  issues: ValidationIssue[];
  /** The changes rounded to their steps (what will be sent). */
  changes: Record<string, number>;
}

/** [lower, higher]: the first must stay below the second. */
const ORDER: ReadonlyArray<readonly [string, string, string]> = [
  ['cell_ov_release', 'cell_ov_protect', 'the over-voltage release must be below the over-voltage protection'],
  ['cell_uv_protect', 'cell_uv_release', 'the under-voltage release must be above the under-voltage protection'],
  ['cell_uv_protect', 'cell_ov_protect', 'the cell under-voltage protection must be below the over-voltage protection'],
  ['cell_ov_protect', 'cell_ov_hard', 'the secondary over-voltage limit must be above the primary one'],
  ['cell_uv_hard', 'cell_uv_protect', 'the secondary under-voltage limit must be below the primary one'],
  ['pack_ov_release', 'pack_ov_protect', 'the pack over-voltage release must be below the protection'],
  ['pack_uv_protect', 'pack_uv_release', 'the pack under-voltage release must be above the protection'],
  ['pack_uv_protect', 'pack_ov_protect', 'the pack under-voltage protection must be below the over-voltage protection'],
  ['charge_ot_release', 'charge_ot_protect', 'the charge over-temperature release must be below the protection'],
  ['charge_ut_protect', 'charge_ut_release', 'the charge under-temperature release must be above the protection'],
  ['discharge_ot_release', 'discharge_ot_protect', 'the discharge over-temperature release must be below the protection'],
  ['discharge_ut_protect', 'discharge_ut_release', 'the discharge under-temperature release must be above the protection'],
  ['charge_ut_protect', 'charge_ot_protect', 'the charge under-temperature protection must be below the over-temperature protection'],
  ['discharge_ut_protect', 'discharge_ot_protect', 'the discharge under-temperature protection must be below the over-temperature protection'],
  ['mosfet_ot_release', 'mosfet_ot_protect', 'the MOSFET over-temperature release must be below the protection'],
];

export function validateChanges(changes: Readonly<Record<string, number>>, ctx: ValidationContext): ValidationResult {
  const issues: ValidationIssue[] = [];
  const out: Record<string, number> = {};
  for (const [id, value] of Object.entries(changes)) {
    const def = settingDef(id);
    const fail = (reason: string) => issues.push({ id, value, reason });
    if (!def) {
      fail('no such setting');
      continue;
    }
    if (!def.protocols.includes(ctx.protocol)) {
      fail(`a ${ctx.protocol} board does not carry this setting`);
      continue;
    }
    const limit = ctx.limits?.get(id);
    if (def.readOnly || (limit && !limit.writable)) {
      fail('read-only');
      continue;
    }
    if (ctx.limits && !limit) {
      fail('this board does not report this setting');
      continue;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      fail('not a number');
      continue;
    }
    if ((def.type === 'integer' || def.type === 'bitmask') && !Number.isInteger(value)) {
      fail('must be a whole number');
      continue;
    }
    if (def.type === 'boolean' && value !== 0 && value !== 1) {
      fail('must be 0 (off) or 1 (on)');
      continue;
    }
    const q = quantize(def, value);
    if (Math.abs(q - value) > def.step * 1e-6) {
      fail(`must be a multiple of ${def.step}${def.unit ? ` ${def.unit}` : ''}`);
      continue;
    }
    const boardStep = limit?.step;
    if (boardStep !== undefined && boardStep > def.step && !onStep(q, boardStep)) {
      const unit = def.unit ? ` ${def.unit}` : '';
      fail(
        boardStep === 1
          ? `this board keeps it in whole units${unit ? ` (${def.unit})` : ''}: ${value} is not one, and PackScope never rounds a value it sends`
          : `this board keeps it in steps of ${boardStep}${unit}: ${value} is not one, and PackScope never rounds a value it sends`,
      );
      continue;
    }
    const min = Math.max(def.min, limit?.min ?? -Infinity);
    const max = Math.min(def.max, limit?.max ?? Infinity);
    if (q < min || q > max) {
      fail(`outside the allowed range ${min}…${max}${def.unit ? ` ${def.unit}` : ''}`);
      continue;
    }
    out[id] = q;
  }
  const merged: Record<string, number> = { ...(ctx.current ?? {}), ...out };
  for (const [lo, hi, reason] of ORDER) {
    if (!(lo in out) && !(hi in out)) continue;
    const a = merged[lo];
    const b = merged[hi];
    if (a === undefined || b === undefined) continue;
    if (!(a < b)) issues.push({ id: lo in out ? lo : hi, value: lo in out ? a : b, reason: `${reason} (${lo} ${a}, ${hi} ${b})` });
  }
  return { ok: issues.length === 0, issues, changes: out };
}

/** True when value is a whole multiple of step (within float noise of the decimal value). */
function onStep(value: number, step: number): boolean {
  const k = value / step;
  return Math.abs(k - Math.round(k)) < 1e-6;
}

/** "cell_ov_protect=3.7": one assignment from the command line or a form. */
export function parseAssignment(text: string): { id: string; value: number } {
  const m = /^([a-z][a-z0-9_]*)=(.+)$/.exec(text.trim());
  if (!m) throw new RangeError(`'${text}' is not ID=VALUE`);
  const raw = m[2]!.trim().toLowerCase();
  const value = raw === 'on' || raw === 'true' ? 1 : raw === 'off' || raw === 'false' ? 0 : Number(raw);
  if (raw === '' || !Number.isFinite(value)) throw new RangeError(`'${m[2]}' is not a number (setting ${m[1]})`);
  return { id: m[1]!, value };
}
