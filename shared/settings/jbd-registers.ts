/**
 * JBD / Xiaoxiang EEPROM settings: the published register map (bms-tools JBD_REGISTER_MAP.md,
 * gitlab.com/bms-tools/bms-tools, and JBD's own protocol text) in catalogue ids and units, factory
 * mode, and the 0xAA protection counters.
 *
 *   enter factory mode   write 0x00 = 56 78         (EEPROM registers answer only in factory mode)
 *   exit                 write 0x01 = 00 00         leaves factory mode; the 0xAA counters stay
 *                        write 0x01 = 28 28         stores to EEPROM and ZEROES the 0xAA counters
 *
 * Registers are 16-bit big-endian; 0x3A–0x3F hold two one-byte delays each (byte 0, byte 1).
 */
import { DecodeError } from '../errors.js';

export const JBD_REG_FACTORY_ENTER = 0x00;
export const JBD_REG_FACTORY_EXIT = 0x01;
export const JBD_REG_ERROR_COUNTS = 0xaa;
export const JBD_FACTORY_PASSWORD = new Uint8Array([0x56, 0x78]);
/** Exit without the EEPROM commit that resets counters: the protection counters (0xAA) stay. */
export const JBD_EXIT_KEEP = new Uint8Array([0x00, 0x00]);
/** Exit "save": commits the EEPROM and resets the 0xAA protection counters to zero. */
export const JBD_EXIT_SAVE_RESET = new Uint8Array([0x28, 0x28]);

const KELVIN = 2731;

type Kind =
  | { kind: 'u16'; scale: number } // value = raw × scale
  | { kind: 's16'; scale: number }
  | { kind: 'neg16'; scale: number } // stored negative, shown positive (discharge current)
  | { kind: 'kelvin' } // 0.1 K → °C
  | { kind: 'byte'; index: 0 | 1 };

export interface JbdRegisterField {
  setting: string;
  register: number;
  codec: Kind;
}

const f = (register: number, setting: string, codec: Kind): JbdRegisterField => ({ register, setting, codec });
const mV: Kind = { kind: 'u16', scale: 0.001 };
const tenMv: Kind = { kind: 'u16', scale: 0.01 };
const K: Kind = { kind: 'kelvin' };
const b0: Kind = { kind: 'byte', index: 0 };
const b1: Kind = { kind: 'byte', index: 1 };

/** Every register PackScope reads and writes, in register order. */
export const JBD_FIELDS: readonly JbdRegisterField[] = [
  f(0x10, 'design_capacity', tenMv),
  f(0x11, 'cycle_capacity', tenMv),
  f(0x16, 'serial_number', { kind: 'u16', scale: 1 }),
  f(0x17, 'cycle_count', { kind: 'u16', scale: 1 }),
  f(0x18, 'charge_ot_protect', K),
  f(0x19, 'charge_ot_release', K),
  f(0x1a, 'charge_ut_protect', K),
  f(0x1b, 'charge_ut_release', K),
  f(0x1c, 'discharge_ot_protect', K),
  f(0x1d, 'discharge_ot_release', K),
  f(0x1e, 'discharge_ut_protect', K),
  f(0x1f, 'discharge_ut_release', K),
  f(0x20, 'pack_ov_protect', tenMv),
  f(0x21, 'pack_ov_release', tenMv),
  f(0x22, 'pack_uv_protect', tenMv),
  f(0x23, 'pack_uv_release', tenMv),
  f(0x24, 'cell_ov_protect', mV),
  f(0x25, 'cell_ov_release', mV),
  f(0x26, 'cell_uv_protect', mV),
  f(0x27, 'cell_uv_release', mV),
  f(0x28, 'charge_oc_protect', { kind: 's16', scale: 0.01 }),
  f(0x29, 'discharge_oc_protect', { kind: 'neg16', scale: 0.01 }),
  f(0x2a, 'balance_start', { kind: 's16', scale: 0.001 }),
  f(0x2b, 'balance_window', mV),
  f(0x2d, 'function_bits', { kind: 'u16', scale: 1 }),
  f(0x2e, 'ntc_enable', { kind: 'u16', scale: 1 }),
  f(0x2f, 'cell_count', { kind: 'u16', scale: 1 }),
  f(0x36, 'cell_ov_hard', mV),
  f(0x37, 'cell_uv_hard', mV),
  f(0x3a, 'charge_ut_delay', b0),
  f(0x3a, 'charge_ot_delay', b1),
  f(0x3b, 'discharge_ut_delay', b0),
  f(0x3b, 'discharge_ot_delay', b1),
  f(0x3c, 'pack_uv_delay', b0),
  f(0x3c, 'pack_ov_delay', b1),
  f(0x3d, 'cell_uv_delay', b0),
  f(0x3d, 'cell_ov_delay', b1),
  f(0x3e, 'charge_oc_delay', b0),
  f(0x3e, 'charge_oc_release', b1),
  f(0x3f, 'discharge_oc_delay', b0),
  f(0x3f, 'discharge_oc_release', b1),
];

/** The registers to read, each once, in order. */
export const JBD_SETTING_REGISTERS: readonly number[] = [...new Set(JBD_FIELDS.map((x) => x.register))];

export function jbdFieldsOf(register: number): JbdRegisterField[] {
  return JBD_FIELDS.filter((x) => x.register === register);
}

export function jbdFieldFor(setting: string): JbdRegisterField | undefined {
  return JBD_FIELDS.find((x) => x.setting === setting);
}

function round(v: number, scale: number): number {
  const d = Math.max(0, Math.round(-Math.log10(scale)));
  return Number(v.toFixed(d));
}

/** The values one register holds (two for the delay pairs), from its two data bytes. */
export function decodeJbdRegister(register: number, data: Uint8Array): Record<string, number> {
  const fields = jbdFieldsOf(register);
  if (!fields.length) throw new DecodeError(`JBD register 0x${register.toString(16)} is not a settings register`);
  if (data.length !== 2) throw new DecodeError(`JBD register 0x${register.toString(16)} carries 2 bytes, got ${data.length}`);
  const u = (data[0]! << 8) | data[1]!;
  const s = u >= 0x8000 ? u - 0x10000 : u;
  const out: Record<string, number> = {};
  for (const x of fields) {
    const c = x.codec;
    out[x.setting] =
      c.kind === 'u16'
        ? round(u * c.scale, c.scale)
        : c.kind === 's16'
          ? round(s * c.scale, c.scale)
          : c.kind === 'neg16'
            ? round(-s * c.scale, c.scale)
            : c.kind === 'kelvin'
              ? round((u - KELVIN) / 10, 0.1)
              : data[c.index]!;
  }
  return out;
}

/** The smallest and largest value a register field can hold, in the setting's unit. */
export function jbdFieldRange(x: JbdRegisterField): { min: number; max: number } {
  const c = x.codec;
  switch (c.kind) {
    case 'u16':
      return { min: 0, max: round(0xffff * c.scale, c.scale) };
    case 's16':
      return { min: round(-0x8000 * c.scale, c.scale), max: round(0x7fff * c.scale, c.scale) };
    case 'neg16':
      return { min: 0, max: round(0x8000 * c.scale, c.scale) };
    case 'kelvin':
      return { min: round(-KELVIN / 10, 0.1), max: round((0xffff - KELVIN) / 10, 0.1) };
    case 'byte':
      return { min: 0, max: 255 };
  }
}

/** The unit a register field stores, in the setting's unit (0.1 °C for temperatures, whole seconds for delays). */
export function jbdFieldStep(x: JbdRegisterField): number {
  const c = x.codec;
  return c.kind === 'kelvin' ? 0.1 : c.kind === 'byte' ? 1 : c.scale;
}

/**
 * The two data bytes of a register from the values of its settings; a delay pair needs both
 * (`values` holds the current value of the one not being changed).
 */
export function encodeJbdRegister(register: number, values: Readonly<Record<string, number>>): Uint8Array {
  const fields = jbdFieldsOf(register);
  if (!fields.length) throw new RangeError(`JBD register 0x${register.toString(16)} is not a settings register`);
  const out = new Uint8Array(2);
  for (const x of fields) {
    const v = values[x.setting];
    if (v === undefined) throw new RangeError(`register 0x${register.toString(16)} needs a value for ${x.setting}`);
    const r = jbdFieldRange(x);
    if (!(v >= r.min && v <= r.max)) throw new RangeError(`${x.setting} ${v} does not fit register 0x${register.toString(16)} (${r.min}…${r.max})`);
    const c = x.codec;
    let raw: number;
    if (c.kind === 'byte') {
      out[c.index] = Math.round(v);
      continue;
    } else if (c.kind === 'kelvin') raw = Math.round(v * 10) + KELVIN;
    else if (c.kind === 'neg16') raw = -Math.round(v / c.scale);
    else raw = Math.round(v / c.scale);
    const u = raw & 0xffff;
    out[0] = u >> 8;
    out[1] = u & 0xff;
  }
  return out;
}

/** Register 0xAA: protection counters, 11 big-endian u16 (boards may append more; kept by number). */
export const JBD_ERROR_COUNTERS = [
  'short_circuit',
  'charge_overcurrent',
  'discharge_overcurrent',
  'cell_overvoltage',
  'cell_undervoltage',
  'charge_overtemperature',
  'charge_undertemperature',
  'discharge_overtemperature',
  'discharge_undertemperature',
  'pack_overvoltage',
  'pack_undervoltage',
] as const;

export function decodeJbdErrorCounts(data: Uint8Array): Record<string, number> {
  if (data.length < 2 * JBD_ERROR_COUNTERS.length || data.length % 2 !== 0) {
    throw new DecodeError(`JBD protection counters need ${2 * JBD_ERROR_COUNTERS.length} bytes or more in pairs, got ${data.length}`);
  }
  const out: Record<string, number> = {};
  for (let i = 0; i < data.length / 2; i++) out[JBD_ERROR_COUNTERS[i] ?? `counter_${i}`] = (data[2 * i]! << 8) | data[2 * i + 1]!;
  return out;
}

export function encodeJbdErrorCounts(counts: Readonly<Record<string, number>>, extraWords = 1): Uint8Array {
  const out = new Uint8Array(2 * (JBD_ERROR_COUNTERS.length + extraWords));
  JBD_ERROR_COUNTERS.forEach((n, i) => {
    const v = Math.min(0xffff, Math.max(0, Math.round(counts[n] ?? 0)));
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}
