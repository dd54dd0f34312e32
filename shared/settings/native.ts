/**
 * Settings on the native protocol (firmware/PROTOCOL.md §5.1): the board's parameters by name and
 * which catalogue setting each one is, and the payload codecs of SETTINGS_WRITE (one or many values
 * with the tool's identity) and SETTINGS_SNAPSHOT, which freezes the signed snapshot and change
 * records (evidence.ts) into a region the host bulk-reads.
 */
import { DecodeError } from '../errors.js';
import { codec } from '../protocol/codec.js';

/** Native parameter name (PARAM_LIST) → catalogue id. Ids on the wire are the board's own. */
export const NATIVE_PARAM_SETTINGS: Readonly<Record<string, string>> = {
  cell_overvoltage: 'cell_ov_protect',
  cell_undervoltage: 'cell_uv_protect',
  charge_overcurrent: 'charge_oc_protect',
  discharge_overcurrent: 'discharge_oc_protect',
  balance_start: 'balance_start',
  charge_min_temperature: 'charge_min_temperature',
  nominal_capacity: 'design_capacity',
  telemetry_max_rate: 'telemetry_max_rate',
  cell_overvoltage_release: 'cell_ov_release',
  cell_undervoltage_release: 'cell_uv_release',
  charge_overtemperature: 'charge_ot_protect',
  charge_undertemperature: 'charge_ut_protect',
  discharge_overtemperature: 'discharge_ot_protect',
  discharge_undertemperature: 'discharge_ut_protect',
  balance_window: 'balance_window',
  charge_overcurrent_delay: 'charge_oc_delay',
  discharge_overcurrent_delay: 'discharge_oc_delay',
};

export const SETTINGS_CMD = {
  SETTINGS_WRITE: 0x0013,
  SETTINGS_SNAPSHOT: 0x0014,
} as const;

/** Per-item result of SETTINGS_WRITE. */
export const WRITE_RESULT = ['written', 'unchanged', 'out_of_range', 'read_only', 'not_found', 'not_applied'] as const;
export type WriteResultCode = (typeof WRITE_RESULT)[number];

/** Largest number of values in one SETTINGS_WRITE. */
export const MAX_WRITE_ITEMS = 64;

export interface SettingsWriteRequest {
  /** Who asks (PackScope version and installation): kept in every signed change record. */
  tool: string;
  items: Array<{ id: number; value: number }>;
}

export const SETTINGS_WRITE = codec<SettingsWriteRequest>(
  'settings-write',
  (w, v) => {
    if (v.items.length > MAX_WRITE_ITEMS) throw new RangeError(`at most ${MAX_WRITE_ITEMS} values per write`);
    w.str8(v.tool).u8(v.items.length);
    for (const i of v.items) w.u16(i.id).f32(i.value);
  },
  (r) => {
    const tool = r.str8('tool');
    const n = r.u8('count');
    if (n > MAX_WRITE_ITEMS) throw new DecodeError(`settings-write: ${n} values (at most ${MAX_WRITE_ITEMS})`);
    const items: SettingsWriteRequest['items'] = [];
    for (let i = 0; i < n; i++) items.push({ id: r.u16('id'), value: r.f32('value') });
    return { tool, items };
  },
);

export interface SettingsWriteItemResult {
  id: number;
  result: WriteResultCode;
  /** The value the board holds after the request (NaN when there is no such parameter). */
  stored: number;
}

export const SETTINGS_WRITTEN = codec<{ items: SettingsWriteItemResult[] }>(
  'settings-written',
  (w, v) => {
    w.u8(v.items.length);
    for (const i of v.items) w.u16(i.id).u8(WRITE_RESULT.indexOf(i.result)).f32(i.stored);
  },
  (r) => {
    const n = r.u8('count');
    const items: SettingsWriteItemResult[] = [];
    for (let i = 0; i < n; i++) {
      const id = r.u16('id');
      const code = r.u8('result');
      const result = WRITE_RESULT[code];
      if (!result) throw new DecodeError(`settings-written: unknown result ${code}`);
      items.push({ id, result, stored: r.f32('stored') });
    }
    return { items };
  },
);

export const SNAPSHOT_REQUEST = codec<{ nonce: Uint8Array }>(
  'settings-snapshot-request',
  (w, v) => {
    if (v.nonce.length > 64) throw new RangeError('a snapshot nonce holds at most 64 bytes');
    w.u8(v.nonce.length).bytes(v.nonce);
  },
  (r) => {
    const n = r.u8('nonceLen');
    if (n > 64) throw new DecodeError(`settings-snapshot-request: nonce of ${n} bytes (at most 64)`);
    return { nonce: r.bytes(n, 'nonce').slice() };
  },
);

/** SETTINGS_SNAPSHOT answer: the frozen evidence's length in region SETTINGS_REGION, and the journal's count. */
export const SNAPSHOT_FROZEN = codec<{ length: number; journalCount: number }>(
  'settings-snapshot-frozen',
  (w, v) => w.u32(v.length).u32(v.journalCount),
  (r) => ({ length: r.u32('length'), journalCount: r.u32('journalCount') }),
);

/** Region 0x05 `settings-evidence`: the evidence container the last SETTINGS_SNAPSHOT froze. */
export const SETTINGS_REGION = 0x05;
