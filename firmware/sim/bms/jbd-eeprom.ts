import { ALARM_RAISED_BASE } from '../../../shared/blackbox/events.js';
import { ALARM_FLAGS } from '../../../shared/types/domain.js';
import { NATIVE_PARAM_SETTINGS } from '../../../shared/settings/native.js';
import { builtinProfile, profileValues } from '../../../shared/settings/profiles.js';
import {
  decodeJbdRegister,
  encodeJbdErrorCounts,
  encodeJbdRegister,
  jbdFieldRange,
  jbdFieldsOf,
  JBD_ERROR_COUNTERS,
  JBD_REG_ERROR_COUNTS,
  JBD_REG_FACTORY_ENTER,
  JBD_REG_FACTORY_EXIT,
} from '../../../shared/settings/jbd-registers.js';
import type { SimBoard } from '../board.js';
import { readJson, writeJson } from '../state.js';

/**
 * The JBD board's EEPROM as the simulator keeps it: factory mode (0x00 = 5678 to enter, 0x01 to
 * leave), the settings registers of the published map, and the 0xAA protection counters, which
 * count the pack's protection trips and survive everything except the "save" exit 0x01 = 2828.
 * Settings the board's protection logic uses (cell limits, currents, temperatures, balancing) are
 * the board's own parameters, so a JBD write changes what the pack does and is signed into the
 * board's settings journal like any change; the board refuses (status 0x80) a value outside the
 * limits it enforces, as a real board refuses a register it cannot take.
 */
const COUNTERS_FILE = 'jbd-counters.json';
const EEPROM_FILE = 'jbd-eeprom.json';
const JBD_TOOL = 'JBD factory mode (tool identity not carried by the JBD protocol)';

export type EepromAnswer = { status: number; data: Uint8Array } | null;

export class JbdEeprom {
  private factory = false;
  private counters: Record<string, number>;
  private stored: Record<string, number>;

  constructor(private readonly board: SimBoard) {
    this.counters = readJson<Record<string, number>>(board.storage, COUNTERS_FILE) ?? {};
    this.stored = { ...this.defaults(), ...(readJson<Record<string, number>>(board.storage, EEPROM_FILE) ?? {}) };
    board.onEvent((e) => {
      const bit = e.code - ALARM_RAISED_BASE;
      const name = bit >= 0 && bit < ALARM_FLAGS.length ? ALARM_FLAGS[bit]! : null;
      if (name && (JBD_ERROR_COUNTERS as readonly string[]).includes(name)) {
        this.counters[name] = (this.counters[name] ?? 0) + 1;
        writeJson(board.storage, COUNTERS_FILE, this.counters);
      }
    });
  }

  private defaults(): Record<string, number> {
    const b = this.board;
    const cells = b.pack.config.cells;
    const profile = profileValues(builtinProfile(b.pack.config.chemistry)!, cells);
    return {
      ...profile,
      design_capacity: b.pack.config.capacityAh,
      cycle_capacity: Math.round(b.pack.config.capacityAh * 80) / 100,
      serial_number: parseInt(b.identity.serial.replace(/\D/g, '').slice(-4) || '0', 10),
      function_bits: 0b1101,
      ntc_enable: (1 << Math.min(8, Math.max(1, Math.ceil(cells / 4)))) - 1,
      cell_count: cells,
      charge_ut_delay: 2,
      charge_ot_delay: 2,
      discharge_ut_delay: 2,
      discharge_ot_delay: 2,
      pack_uv_delay: 2,
      pack_ov_delay: 2,
      cell_uv_delay: 2,
      cell_ov_delay: 2,
      charge_oc_release: 32,
      discharge_oc_release: 32,
    };
  }

  private param(setting: string) {
    const name = Object.keys(NATIVE_PARAM_SETTINGS).find((n) => NATIVE_PARAM_SETTINGS[n] === setting);
    return name ? this.board.params.find((p) => p.name === name && p.writable) : undefined;
  }

  private value(setting: string): number {
    if (setting === 'cycle_count') return this.board.pack.state().cycleCount;
    const p = this.param(setting);
    return p ? p.value : this.stored[setting]!;
  }

  /** Answers a register request, or null when the register is not the EEPROM's. */
  handle(kind: 'read' | 'write', register: number, data: Uint8Array): EepromAnswer {
    const ok = (d: Uint8Array = new Uint8Array(0)): EepromAnswer => ({ status: 0, data: d });
    const refused: EepromAnswer = { status: 0x80, data: new Uint8Array(0) };
    if (register === JBD_REG_ERROR_COUNTS) return kind === 'read' ? ok(encodeJbdErrorCounts(this.counters)) : refused;
    if (register === JBD_REG_FACTORY_ENTER) {
      if (kind !== 'write' || data.length !== 2 || data[0] !== 0x56 || data[1] !== 0x78) return refused;
      this.factory = true;
      return ok();
    }
    if (register === JBD_REG_FACTORY_EXIT) {
      if (kind !== 'write' || data.length !== 2) return refused;
      this.factory = false;
      if (data[0] === 0x28 && data[1] === 0x28) {
        this.counters = {};
        writeJson(this.board.storage, COUNTERS_FILE, this.counters);
      }
      return ok();
    }
    const fields = jbdFieldsOf(register);
    if (!fields.length) return null;
    if (!this.factory) return refused;
    if (kind === 'read') {
      // A register holds what its scale can: a 400 A limit reads as the register's 327.68 A (JBD's
      // 10 mA unit), as a large pack behind a small-pack JBD map would.
      const clamp = (x: (typeof fields)[number]) => {
        const r = jbdFieldRange(x);
        return Math.min(r.max, Math.max(r.min, this.value(x.setting)));
      };
      return ok(encodeJbdRegister(register, Object.fromEntries(fields.map((x) => [x.setting, clamp(x)]))));
    }
    if (data.length !== 2) return refused;
    let values: Record<string, number>;
    try {
      values = decodeJbdRegister(register, data);
    } catch {
      return refused;
    }
    if (fields.some((x) => x.setting === 'cycle_count' || x.setting === 'serial_number')) return refused;
    // All of the register or nothing: check every field against the limits the board enforces.
    for (const x of fields) {
      const p = this.param(x.setting);
      const v = values[x.setting]!;
      if (p && !(Math.fround(v) >= Math.fround(p.min) && Math.fround(v) <= Math.fround(p.max))) return refused;
    }
    for (const x of fields) {
      const p = this.param(x.setting);
      if (p) this.board.setParam(p.id, values[x.setting]!, JBD_TOOL);
      else this.stored[x.setting] = values[x.setting]!;
    }
    writeJson(this.board.storage, EEPROM_FILE, this.stored);
    return ok();
  }
}
