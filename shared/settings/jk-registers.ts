/**
 * JK BMS settings on the "4E 57" RS485 / TTL protocol: the read-write fields 0x8E … 0xAC of the
 * published register table (JK's RS485 protocol V2.x as documented in esphome-jk-bms
 * docs/protocol-design-uart-ttl-gps-port.md) in catalogue ids and units, with the raw ranges the
 * document gives, and the write frame.
 *
 *   read    every setting arrives in the read-all reply (command 0x06)
 *   write   command 0x02, one field per frame: payload = field id + the field's bytes (big-endian);
 *           the board answers command 0x02, type 01 (reply) with the field id and the value it
 *           now holds, which is its old value when it refused the new one
 *
 * Temperatures 0xA5–0xA8 are signed 16-bit °C ("no reference-signed data"); 0x9E–0xA4 plain °C.
 * The document's ranges are narrower than what boards hold: published captures carry
 * over-current delays of 30 s and 300 s (document: 1–60 s) and a balance window of 8 mV
 * (document: 10–1000 mV), so those ranges follow the captures.
 */
import { DecodeError } from '../errors.js';
import { encodeJkFrame, JK_SOURCE_HOST, type JkFrame } from '../bms/jk.js';

export const JK_CMD_WRITE = 0x02;
/** Frame type of a host write (what JK's own tools and the published captures send). */
export const JK_TYPE_WRITE = 0x02;

export interface JkSettingField {
  id: number;
  setting: string;
  bytes: 1 | 2 | 4;
  /** Catalogue value = raw × scale. */
  scale: number;
  signed?: boolean;
  /** The document's range, in raw units. */
  rawMin: number;
  rawMax: number;
}

const f = (id: number, setting: string, bytes: 1 | 2 | 4, scale: number, rawMin: number, rawMax: number, signed = false): JkSettingField => ({
  id,
  setting,
  bytes,
  scale,
  rawMin,
  rawMax,
  ...(signed ? { signed } : {}),
});

/** The settings PackScope reads and writes, in field order. */
export const JK_SETTING_FIELDS: readonly JkSettingField[] = [
  f(0x8e, 'pack_ov_protect', 2, 0.01, 1000, 15000),
  f(0x8f, 'pack_uv_protect', 2, 0.01, 1000, 15000),
  f(0x90, 'cell_ov_protect', 2, 0.001, 1000, 4500),
  f(0x91, 'cell_ov_release', 2, 0.001, 1000, 4500),
  f(0x92, 'cell_ov_delay', 2, 1, 1, 3600),
  f(0x93, 'cell_uv_protect', 2, 0.001, 1000, 4500),
  f(0x94, 'cell_uv_release', 2, 0.001, 1000, 4500),
  f(0x95, 'cell_uv_delay', 2, 1, 1, 3600),
  f(0x96, 'cell_delta_protect', 2, 0.001, 0, 1000),
  f(0x97, 'discharge_oc_protect', 2, 1, 1, 1000),
  f(0x98, 'discharge_oc_delay', 2, 1, 1, 3600),
  f(0x99, 'charge_oc_protect', 2, 1, 1, 1000),
  f(0x9a, 'charge_oc_delay', 2, 1, 1, 3600),
  f(0x9b, 'balance_start', 2, 0.001, 2000, 4500),
  f(0x9c, 'balance_window', 2, 0.001, 1, 1000),
  f(0x9d, 'balance_enable', 1, 1, 0, 1),
  f(0x9e, 'mosfet_ot_protect', 2, 1, 0, 100),
  f(0x9f, 'mosfet_ot_release', 2, 1, 0, 100),
  f(0xa3, 'charge_ot_protect', 2, 1, 0, 100),
  f(0xa4, 'discharge_ot_protect', 2, 1, 0, 100),
  f(0xa5, 'charge_ut_protect', 2, 1, -45, 25, true),
  f(0xa6, 'charge_ut_release', 2, 1, -45, 25, true),
  f(0xa7, 'discharge_ut_protect', 2, 1, -45, 25, true),
  f(0xa8, 'discharge_ut_release', 2, 1, -45, 25, true),
  f(0xa9, 'cell_count', 1, 1, 3, 32),
  f(0xaa, 'design_capacity', 4, 1, 1, 0xffff_ffff),
  f(0xab, 'charge_mosfet', 1, 1, 0, 1),
  f(0xac, 'discharge_mosfet', 1, 1, 0, 1),
];

const BY_SETTING = new Map(JK_SETTING_FIELDS.map((x) => [x.setting, x]));
const BY_ID = new Map(JK_SETTING_FIELDS.map((x) => [x.id, x]));

export function jkFieldFor(setting: string): JkSettingField | undefined {
  return BY_SETTING.get(setting);
}

export function jkFieldById(id: number): JkSettingField | undefined {
  return BY_ID.get(id);
}

/** The field's range in catalogue units. */
export function jkFieldRange(x: JkSettingField): { min: number; max: number } {
  return { min: x.rawMin * x.scale, max: x.rawMax * x.scale };
}

/** A field's bytes → raw number (signed where the document says so). */
export function decodeJkRaw(x: JkSettingField, bytes: Uint8Array): number {
  if (bytes.length !== x.bytes) throw new DecodeError(`JK field 0x${x.id.toString(16)} must be ${x.bytes} bytes, got ${bytes.length}`);
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  if (x.signed && x.bytes === 2 && v >= 0x8000) v -= 0x10000;
  return v;
}

export function encodeJkRaw(x: JkSettingField, raw: number): Uint8Array {
  if (!Number.isInteger(raw) || raw < x.rawMin || raw > x.rawMax)
    throw new RangeError(`JK field 0x${x.id.toString(16)} (${x.setting}) takes ${x.rawMin}…${x.rawMax}, not ${raw}`);
  let v = raw < 0 ? raw + 0x10000 : raw;
  const out = new Uint8Array(x.bytes);
  for (let i = x.bytes - 1; i >= 0; i--) {
    out[i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  return out;
}

/** Catalogue value → raw (rounded to the field's unit). */
export function jkRawOf(x: JkSettingField, value: number): number {
  return Math.round(value / x.scale);
}

/** Raw → catalogue value, without float noise (3.65, not 3.6500000000000004). */
export function jkValueOf(x: JkSettingField, raw: number): number {
  const decimals = Math.max(0, Math.round(-Math.log10(x.scale)));
  return Number((raw * x.scale).toFixed(decimals));
}

/** Every setting a read-all reply carries, from its fields (id → bytes). */
export function jkSettingsFromFields(fields: ReadonlyMap<number, Uint8Array>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of JK_SETTING_FIELDS) {
    const bytes = fields.get(x.id);
    if (bytes) out[x.setting] = jkValueOf(x, decodeJkRaw(x, bytes));
  }
  return out;
}

/** The host's write of one field (command 0x02, frame type 02). */
export function encodeJkWrite(x: JkSettingField, raw: number, bmsId = 0): Uint8Array {
  const payload = new Uint8Array(1 + x.bytes);
  payload[0] = x.id;
  payload.set(encodeJkRaw(x, raw), 1);
  return encodeJkFrame({ bmsId, command: JK_CMD_WRITE, source: JK_SOURCE_HOST, type: JK_TYPE_WRITE, payload, recordNumber: 0 });
}

/** A write request or its answer: the field and its raw value. */
export function decodeJkWritePayload(frame: Pick<JkFrame, 'payload'>): { field: JkSettingField; raw: number } {
  const id = frame.payload[0];
  const x = id === undefined ? undefined : jkFieldById(id);
  if (!x) throw new DecodeError(`JK write names field ${id === undefined ? '(none)' : `0x${id.toString(16)}`}, which is not a setting`);
  return { field: x, raw: decodeJkRaw(x, frame.payload.slice(1)) };
}
