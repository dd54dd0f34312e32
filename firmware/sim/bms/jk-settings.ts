/**
 * The JK board's settings as the simulator keeps them: the read-write fields of the published
 * register table (shared/settings/jk-registers.ts). Settings the board's protection logic uses
 * (cell limits, currents, temperatures, balancing) are the board's own parameters, so a JK write
 * changes what the pack does and is signed into the board's settings journal like any change; the
 * rest are kept in the board's storage. Like a JK board, it takes one field per write and answers
 * with the value it holds afterwards: a value outside the document's range, or outside the limits
 * the board enforces, leaves the old value in place (the answer shows it). The charge and discharge
 * MOSFET switches (0xAB, 0xAC) are the pack's own switches: off holds that FET open, so the current
 * stops and the status field 0x8C shows it.
 */
import { NATIVE_PARAM_SETTINGS } from '../../../shared/settings/native.js';
import { jkRawOf, jkValueOf, JK_SETTING_FIELDS, type JkSettingField } from '../../../shared/settings/jk-registers.js';
import type { SimBoard } from '../board.js';
import { readJson, writeJson } from '../state.js';

const FILE = 'jk-settings.json';
/** The settings that are the pack's MOSFET switches. */
const SWITCHES: Readonly<Record<string, 'charge' | 'discharge'>> = { charge_mosfet: 'charge', discharge_mosfet: 'discharge' };
const JK_TOOL = 'JK RS485 write (tool identity not carried by the JK protocol)';

export class JkSettingsStore {
  private stored: Record<string, number>;

  constructor(private readonly board: SimBoard) {
    this.stored = { ...this.defaults(), ...(readJson<Record<string, number>>(board.storage, FILE) ?? {}) };
    board.pack.setSwitches({ charge: this.stored['charge_mosfet'] !== 0, discharge: this.stored['discharge_mosfet'] !== 0 });
  }

  private defaults(): Record<string, number> {
    const cfg = this.board.pack.config;
    const n = cfg.cells;
    const lfp = cfg.chemistry === 'lfp';
    return {
      pack_ov_protect: Math.round(n * (lfp ? 3.65 : 4.25) * 100) / 100,
      pack_uv_protect: Math.round(n * (lfp ? 2.5 : 3.0) * 100) / 100,
      cell_ov_delay: 5,
      cell_uv_delay: 5,
      cell_delta_protect: 0.3,
      discharge_oc_delay: 3,
      charge_oc_delay: 5,
      balance_enable: 1,
      mosfet_ot_protect: 90,
      mosfet_ot_release: 70,
      charge_ut_release: -8,
      discharge_ut_release: -28,
      cell_count: n,
      design_capacity: Math.round(cfg.capacityAh),
      charge_mosfet: 1,
      discharge_mosfet: 1,
    };
  }

  private param(setting: string) {
    const name = Object.keys(NATIVE_PARAM_SETTINGS).find((k) => NATIVE_PARAM_SETTINGS[k] === setting);
    return name ? this.board.params.find((p) => p.name === name && p.writable) : undefined;
  }

  /** The field's raw value as the board reports it (clamped to what the field can carry). */
  raw(x: JkSettingField): number {
    const p = this.param(x.setting);
    const sw = SWITCHES[x.setting];
    const v = sw ? Number(this.board.pack.switches()[sw]) : p ? p.value : (this.stored[x.setting] ?? 0);
    return Math.min(x.rawMax, Math.max(x.rawMin, jkRawOf(x, v)));
  }

  /** Writes one field; false when the board keeps its old value. */
  write(x: JkSettingField, raw: number): boolean {
    if (!Number.isInteger(raw) || raw < x.rawMin || raw > x.rawMax) return false;
    const value = jkValueOf(x, raw);
    const p = this.param(x.setting);
    if (p) {
      if (!(Math.fround(value) >= Math.fround(p.min) && Math.fround(value) <= Math.fround(p.max))) return false;
      this.board.setParam(p.id, value, JK_TOOL);
      return true;
    }
    this.stored[x.setting] = value;
    const sw = SWITCHES[x.setting];
    if (sw) this.board.pack.setSwitches({ [sw]: value !== 0 });
    writeJson(this.board.storage, FILE, this.stored);
    return true;
  }

  /** Every setting field, in field order, for the read-all reply. */
  fields(): Array<{ x: JkSettingField; raw: number }> {
    return JK_SETTING_FIELDS.map((x) => ({ x, raw: this.raw(x) }));
  }
}
