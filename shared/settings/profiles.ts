/**
 * Settings profiles: the values a pack of a given chemistry (and optionally model) should carry,
 * to compare a board against before a pack leaves the bench, or to configure many packs alike.
 * Built-in profiles follow the cell makers' usual limits for LFP and NMC; pack-level values scale
 * with the series cell count. A supplier's own profile is a JSON file of the same shape.
 */
import { z } from 'zod';
import { DecodeError } from '../errors.js';
import { formatPath } from '../util/json-path.js';
import { quantize, settingDef } from './catalog.js';

export const PROFILE_FORMAT = 'packscope-settings-profile/1';

export const SettingsProfileSchema = z.strictObject({
  format: z.literal(PROFILE_FORMAT),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  name: z.string().min(1).max(200),
  chemistry: z.enum(['lfp', 'nmc']),
  /** Board model the profile is for (empty: any model of the chemistry). */
  model: z.string().max(200).optional(),
  /** Values per cell or per pack as the setting is defined; `per_cell` ids are multiplied by the cell count. */
  values: z.record(z.string(), z.number()),
  /** Ids whose profile value is per cell (pack voltages). */
  perCell: z.array(z.string()).optional(),
});
export type SettingsProfile = z.infer<typeof SettingsProfileSchema>;

const PACK_PER_CELL = ['pack_ov_protect', 'pack_ov_release', 'pack_uv_protect', 'pack_uv_release'];

export const BUILTIN_PROFILES: readonly SettingsProfile[] = [
  {
    format: PROFILE_FORMAT,
    id: 'lfp',
    name: 'LiFePO4, cell maker limits',
    chemistry: 'lfp',
    values: {
      cell_ov_protect: 3.75,
      cell_ov_release: 3.45,
      cell_uv_protect: 2.3,
      cell_uv_release: 2.9,
      cell_ov_hard: 3.9,
      cell_uv_hard: 2.0,
      pack_ov_protect: 3.65,
      pack_ov_release: 3.4,
      pack_uv_protect: 2.5,
      pack_uv_release: 2.9,
      charge_ot_protect: 55,
      charge_ot_release: 50,
      charge_ut_protect: -10,
      charge_ut_release: -8,
      discharge_ot_protect: 70,
      discharge_ot_release: 65,
      discharge_ut_protect: -30,
      discharge_ut_release: -28,
      charge_min_temperature: 0,
      balance_start: 3.4,
      balance_window: 0.03,
    },
    perCell: PACK_PER_CELL,
  },
  {
    format: PROFILE_FORMAT,
    id: 'nmc',
    name: 'NMC, cell maker limits',
    chemistry: 'nmc',
    values: {
      cell_ov_protect: 4.3,
      cell_ov_release: 4.1,
      cell_uv_protect: 2.6,
      cell_uv_release: 3.3,
      cell_ov_hard: 4.35,
      cell_uv_hard: 2.5,
      pack_ov_protect: 4.25,
      pack_ov_release: 4.1,
      pack_uv_protect: 2.8,
      pack_uv_release: 3.3,
      charge_ot_protect: 55,
      charge_ot_release: 50,
      charge_ut_protect: -10,
      charge_ut_release: -8,
      discharge_ot_protect: 70,
      discharge_ot_release: 65,
      discharge_ut_protect: -30,
      discharge_ut_release: -28,
      charge_min_temperature: 0,
      balance_start: 4.05,
      balance_window: 0.03,
    },
    perCell: PACK_PER_CELL,
  },
];

export function builtinProfile(id: string): SettingsProfile | undefined {
  return BUILTIN_PROFILES.find((p) => p.id === id);
}

export function parseProfile(text: string): SettingsProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DecodeError(`not a settings profile: ${(e as Error).message}`);
  }
  const r = SettingsProfileSchema.safeParse(json);
  if (!r.success)
    throw new DecodeError(`not a settings profile: ${r.error.issues.map((i) => `${formatPath(i.path) || '(document)'}: ${i.message}`).join('; ')}`);
  const unknown = Object.keys(r.data.values).filter((id) => !settingDef(id));
  if (unknown.length) throw new DecodeError(`settings profile names unknown settings: ${unknown.join(', ')}`);
  return r.data;
}

/** The profile's values for a pack of `cells` series cells (pack-level values scaled), rounded to their steps. */
export function profileValues(profile: SettingsProfile, cells: number | null): Record<string, number> {
  const perCell = new Set(profile.perCell ?? []);
  const out: Record<string, number> = {};
  for (const [id, v] of Object.entries(profile.values)) {
    if (perCell.has(id)) {
      if (!cells) continue;
      out[id] = v * cells;
    } else out[id] = v;
    const def = settingDef(id);
    if (def) out[id] = quantize(def, out[id]!);
  }
  return out;
}
