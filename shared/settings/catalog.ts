/**
 * The BMS settings catalogue: every parameter PackScope can read or change on any board, in one
 * vocabulary (canonical units: V, A, °C, s, Ah, %), whichever protocol carries it. Each protocol
 * module (native.ts, jbd-registers.ts, jk-registers.ts) maps these ids to its
 * own registers and scales; the CLI, the app, backups, profiles and the warranty clause speak only
 * these ids. Ranges here are the physically meaningful envelope; a board may narrow them (the
 * native board says its own limits in PARAM_LIST, a JBD register is a u16 of fixed scale).
 */
export const SETTINGS_PROTOCOLS = ['native', 'jbd', 'daly', 'jk'] as const;
export type SettingsProtocol = (typeof SETTINGS_PROTOCOLS)[number];

export const SETTING_GROUPS = ['cell-protection', 'pack-protection', 'current', 'temperature', 'balancing', 'capacity-soc', 'delays', 'identity'] as const;
export type SettingGroup = (typeof SETTING_GROUPS)[number];

export const GROUP_TITLES: Record<SettingGroup, string> = {
  'cell-protection': 'Cell protection',
  'pack-protection': 'Pack protection',
  current: 'Current',
  temperature: 'Temperature',
  balancing: 'Balancing',
  'capacity-soc': 'Capacity and SOC',
  delays: 'Delays',
  identity: 'Identity',
};

export type SettingType = 'number' | 'integer' | 'boolean' | 'bitmask';

export interface SettingDef {
  id: string;
  label: string;
  group: SettingGroup;
  /** Canonical unit ('' for booleans, bitmasks and counts). */
  unit: string;
  type: SettingType;
  min: number;
  max: number;
  /** Smallest change the value can make (the finest scale of any protocol carrying it). */
  step: number;
  protocols: readonly SettingsProtocol[];
  /** A protection limit: a change to it is what the warranty clause about settings looks at. */
  protection: boolean;
  /** PackScope never writes it (identity, counters, firmware-fixed values). */
  readOnly?: boolean;
  /**
   * A state of the board that can be set rather than a setting (the SOC estimate): never kept in a
   * backup, never restored, never compared; it moves by itself, so a read-back may differ from
   * what was written by up to `tolerance`.
   */
  volatile?: { tolerance: number };
  /** Names of the bits of a bitmask, bit 0 first. */
  bits?: readonly string[];
  description: string;
}

type Def = Omit<SettingDef, 'id'>;

const V = (
  label: string,
  group: SettingGroup,
  min: number,
  max: number,
  step: number,
  protocols: SettingsProtocol[],
  description: string,
  protection = true,
): Def => ({
  label,
  group,
  unit: 'V',
  type: 'number',
  min,
  max,
  step,
  protocols,
  protection,
  description,
});
const C = (label: string, protocols: SettingsProtocol[], description: string, protection = true): Def => ({
  label,
  group: 'temperature',
  unit: '°C',
  type: 'number',
  min: -40,
  max: 120,
  step: 0.1,
  protocols,
  protection,
  description,
});
const S = (label: string, protocols: SettingsProtocol[], description: string): Def => ({
  label,
  group: 'delays',
  unit: 's',
  type: 'integer',
  min: 0,
  max: 3600,
  step: 1,
  protocols,
  protection: true,
  description,
});
const ALL_CELL: SettingsProtocol[] = ['native', 'jbd', 'jk'];
/** Cell under/over-voltage protection: every protocol (Daly's level-2 thresholds, read only). */
const CELL_LIMIT: SettingsProtocol[] = ['native', 'jbd', 'daly', 'jk'];
/** A Daly board's level-1 (warning) threshold: read only, PackScope never writes it. */
const alarm = (label: string, group: SettingGroup, min: number, max: number, step: number, description: string): Def => ({
  ...V(label, group, min, max, step, ['daly'], description, false),
  readOnly: true,
});

const DEFS: Record<string, Def> = {
  cell_ov_protect: V('Cell over-voltage protection', 'cell-protection', 2, 4.5, 0.001, CELL_LIMIT, 'Charging stops when any cell rises above this voltage.'),
  cell_ov_release: V(
    'Cell over-voltage release',
    'cell-protection',
    2,
    4.5,
    0.001,
    ALL_CELL,
    'Charging resumes once every cell has fallen below this voltage.',
  ),
  cell_uv_protect: V(
    'Cell under-voltage protection',
    'cell-protection',
    1.5,
    4,
    0.001,
    CELL_LIMIT,
    'Discharging stops when any cell falls below this voltage.',
  ),
  cell_uv_release: V(
    'Cell under-voltage release',
    'cell-protection',
    1.5,
    4,
    0.001,
    ALL_CELL,
    'Discharging resumes once every cell has risen above this voltage.',
  ),
  cell_ov_alarm: alarm('Cell over-voltage warning', 'cell-protection', 2, 4.5, 0.001, 'The board warns (level 1) when any cell rises above this voltage.'),
  cell_uv_alarm: alarm('Cell under-voltage warning', 'cell-protection', 1.5, 4, 0.001, 'The board warns (level 1) when any cell falls below this voltage.'),
  pack_ov_alarm: alarm('Pack over-voltage warning', 'pack-protection', 1, 655.35, 0.1, 'The board warns (level 1) when the pack voltage rises above this.'),
  pack_uv_alarm: alarm('Pack under-voltage warning', 'pack-protection', 1, 655.35, 0.1, 'The board warns (level 1) when the pack voltage falls below this.'),
  cell_ov_hard: V(
    'Cell over-voltage, secondary',
    'cell-protection',
    2,
    5,
    0.001,
    ['jbd'],
    'Second, hardware-level cell over-voltage limit of the analog front end.',
  ),
  cell_uv_hard: V(
    'Cell under-voltage, secondary',
    'cell-protection',
    1,
    4,
    0.001,
    ['jbd'],
    'Second, hardware-level cell under-voltage limit of the analog front end.',
  ),
  cell_delta_protect: V(
    'Cell difference protection',
    'cell-protection',
    0,
    1,
    0.001,
    ['jk'],
    'Protection acts when the highest and lowest cell differ by more than this.',
  ),
  pack_ov_protect: V(
    'Pack over-voltage protection',
    'pack-protection',
    1,
    655.35,
    0.01,
    ['jbd', 'daly', 'jk'],
    'Charging stops when the pack voltage rises above this.',
  ),
  pack_ov_release: V('Pack over-voltage release', 'pack-protection', 1, 655.35, 0.01, ['jbd'], 'Charging resumes below this pack voltage.'),
  pack_uv_protect: V(
    'Pack under-voltage protection',
    'pack-protection',
    1,
    655.35,
    0.01,
    ['jbd', 'daly', 'jk'],
    'Discharging stops when the pack voltage falls below this.',
  ),
  pack_uv_release: V('Pack under-voltage release', 'pack-protection', 1, 655.35, 0.01, ['jbd'], 'Discharging resumes above this pack voltage.'),
  charge_oc_protect: {
    label: 'Charge over-current protection',
    group: 'current',
    unit: 'A',
    type: 'number',
    min: 0.1,
    max: 2000,
    step: 0.01,
    protocols: ALL_CELL,
    protection: true,
    description: 'Charging stops when the charge current stays above this for the charge over-current delay.',
  },
  discharge_oc_protect: {
    label: 'Discharge over-current protection',
    group: 'current',
    unit: 'A',
    type: 'number',
    min: 0.1,
    max: 2000,
    step: 0.01,
    protocols: ALL_CELL,
    protection: true,
    description: 'Discharging stops when the discharge current (a positive number) stays above this for the discharge over-current delay.',
  },
  charge_mosfet: {
    label: 'Charge MOSFET enabled',
    group: 'current',
    unit: '',
    type: 'boolean',
    min: 0,
    max: 1,
    step: 1,
    protocols: ['daly', 'jk'],
    protection: false,
    description: 'Switch that allows charging (1) or holds the charge MOSFET open (0).',
  },
  discharge_mosfet: {
    label: 'Discharge MOSFET enabled',
    group: 'current',
    unit: '',
    type: 'boolean',
    min: 0,
    max: 1,
    step: 1,
    protocols: ['daly', 'jk'],
    protection: false,
    description: 'Switch that allows discharging (1) or holds the discharge MOSFET open (0).',
  },
  charge_ot_protect: C('Charge over-temperature protection', ALL_CELL, 'Charging stops above this cell temperature.'),
  charge_ot_release: C('Charge over-temperature release', ['jbd'], 'Charging resumes below this cell temperature.'),
  charge_ut_protect: C('Charge under-temperature protection', ALL_CELL, 'Charging stops below this cell temperature.'),
  charge_ut_release: C('Charge under-temperature release', ['jbd', 'jk'], 'Charging resumes above this cell temperature.'),
  discharge_ot_protect: C('Discharge over-temperature protection', ALL_CELL, 'Discharging stops above this cell temperature.'),
  discharge_ot_release: C('Discharge over-temperature release', ['jbd'], 'Discharging resumes below this cell temperature.'),
  discharge_ut_protect: C('Discharge under-temperature protection', ['native', 'jbd', 'jk'], 'Discharging stops below this cell temperature.'),
  discharge_ut_release: C('Discharge under-temperature release', ['jbd', 'jk'], 'Discharging resumes above this cell temperature.'),
  charge_min_temperature: C(
    'Charge temperature alarm',
    ['native'],
    'The board raises its charge under-temperature alarm when charging below this temperature.',
  ),
  mosfet_ot_protect: C('MOSFET over-temperature protection', ['jk'], 'Both MOSFETs open when the power stage is hotter than this.'),
  mosfet_ot_release: C('MOSFET over-temperature release', ['jk'], 'The MOSFETs close again once the power stage has cooled below this.'),
  ntc_enable: {
    label: 'Temperature sensors enabled',
    group: 'temperature',
    unit: '',
    type: 'bitmask',
    min: 0,
    max: 255,
    step: 1,
    protocols: ['jbd'],
    protection: true,
    bits: ['NTC1', 'NTC2', 'NTC3', 'NTC4', 'NTC5', 'NTC6', 'NTC7', 'NTC8'],
    description: 'Which thermistors the board reads; a disabled sensor protects nothing.',
  },
  balance_start: V('Balance start voltage', 'balancing', 2, 4.5, 0.001, ALL_CELL, 'Balancing runs only above this cell voltage.', false),
  balance_window: V('Balance window', 'balancing', 0.001, 1, 0.001, ALL_CELL, 'Balancing runs when the cell spread exceeds this.', false),
  balance_enable: {
    label: 'Balancer enabled',
    group: 'balancing',
    unit: '',
    type: 'boolean',
    min: 0,
    max: 1,
    step: 1,
    protocols: ['jk'],
    protection: false,
    description: 'Switches the active balancer on (1) or off (0).',
  },
  function_bits: {
    label: 'Function switches',
    group: 'balancing',
    unit: '',
    type: 'bitmask',
    min: 0,
    max: 0xffff,
    step: 1,
    protocols: ['jbd'],
    protection: false,
    bits: ['switch', 'scrl', 'balance_en', 'chg_balance_en', 'led_en', 'led_num'],
    description: 'JBD function configuration: switch input, balancing, balancing while charging, LEDs.',
  },
  design_capacity: {
    label: 'Design capacity',
    group: 'capacity-soc',
    unit: 'Ah',
    type: 'number',
    min: 0.01,
    max: 100000,
    step: 0.01,
    protocols: ['native', 'jbd', 'daly', 'jk'],
    protection: false,
    description: 'Rated capacity of the pack.',
  },
  cycle_capacity: {
    label: 'Cycle capacity',
    group: 'capacity-soc',
    unit: 'Ah',
    type: 'number',
    min: 0.01,
    max: 655.35,
    step: 0.01,
    protocols: ['jbd'],
    protection: false,
    description: 'Charge counted as one cycle.',
  },
  soc: {
    label: 'State of charge',
    group: 'capacity-soc',
    unit: '%',
    type: 'number',
    min: 0,
    max: 100,
    step: 0.1,
    protocols: ['daly'],
    protection: false,
    volatile: { tolerance: 1 },
    description: 'The board’s state-of-charge estimate (setting it recalibrates the coulomb counter).',
  },
  cell_count: {
    label: 'Cells in series',
    group: 'capacity-soc',
    unit: '',
    type: 'integer',
    min: 1,
    max: 32,
    step: 1,
    protocols: ['jbd', 'jk'],
    protection: true,
    description: 'Number of series cells the board monitors; a wrong count leaves cells unprotected.',
  },
  cell_ov_delay: S('Cell over-voltage delay', ['jbd', 'jk'], 'Seconds a cell must stay over the limit before protection acts.'),
  cell_uv_delay: S('Cell under-voltage delay', ['jbd', 'jk'], 'Seconds a cell must stay under the limit before protection acts.'),
  pack_ov_delay: S('Pack over-voltage delay', ['jbd'], 'Seconds the pack must stay over the limit before protection acts.'),
  pack_uv_delay: S('Pack under-voltage delay', ['jbd'], 'Seconds the pack must stay under the limit before protection acts.'),
  charge_oc_delay: S('Charge over-current delay', ALL_CELL, 'Seconds the charge current must stay over the limit before protection acts.'),
  charge_oc_release: S('Charge over-current release', ['jbd'], 'Seconds before charging is allowed again after an over-current trip.'),
  discharge_oc_delay: S('Discharge over-current delay', ALL_CELL, 'Seconds the discharge current must stay over the limit before protection acts.'),
  discharge_oc_release: S('Discharge over-current release', ['jbd'], 'Seconds before discharging is allowed again after an over-current trip.'),
  charge_ot_delay: S('Charge over-temperature delay', ['jbd'], 'Seconds of charge over-temperature before protection acts.'),
  charge_ut_delay: S('Charge under-temperature delay', ['jbd'], 'Seconds of charge under-temperature before protection acts.'),
  discharge_ot_delay: S('Discharge over-temperature delay', ['jbd'], 'Seconds of discharge over-temperature before protection acts.'),
  discharge_ut_delay: S('Discharge under-temperature delay', ['jbd'], 'Seconds of discharge under-temperature before protection acts.'),
  telemetry_max_rate: {
    label: 'Fastest telemetry rate',
    group: 'identity',
    unit: 'Hz',
    type: 'number',
    min: 0,
    max: 1000,
    step: 0.001,
    protocols: ['native'],
    protection: false,
    readOnly: true,
    description: 'Highest telemetry rate the board streams.',
  },
  serial_number: {
    label: 'Serial number',
    group: 'identity',
    unit: '',
    type: 'integer',
    min: 0,
    max: 0xffff,
    step: 1,
    protocols: ['jbd'],
    protection: false,
    readOnly: true,
    description: 'Serial number kept in the board’s EEPROM.',
  },
  cycle_count: {
    label: 'Cycle count',
    group: 'identity',
    unit: '',
    type: 'integer',
    min: 0,
    max: 0xffff,
    step: 1,
    protocols: ['jbd'],
    protection: false,
    readOnly: true,
    description: 'Charge cycles the board has counted (PackScope never rewrites it).',
  },
};

export const SETTINGS: readonly SettingDef[] = Object.entries(DEFS).map(([id, d]) => ({ id, ...d }));
const BY_ID = new Map(SETTINGS.map((d) => [d.id, d]));

export function settingDef(id: string): SettingDef | undefined {
  return BY_ID.get(id);
}

export function settingsFor(protocol: SettingsProtocol): SettingDef[] {
  return SETTINGS.filter((d) => d.protocols.includes(protocol));
}

/** A value as a person reads it: "3.650 V", "on", "0x0005 (switch, balance_en)". */
export function formatSetting(def: SettingDef, value: number): string {
  if (def.type === 'boolean') return value ? 'on' : 'off';
  if (def.type === 'bitmask') {
    const names = (def.bits ?? []).filter((_, i) => (value >>> i) & 1);
    return `0x${value.toString(16).padStart(4, '0')}${names.length ? ` (${names.join(', ')})` : ''}`;
  }
  const decimals = Math.max(0, Math.min(6, Math.round(-Math.log10(def.step))));
  return `${value.toFixed(decimals)}${def.unit ? ` ${def.unit}` : ''}`;
}

/** Rounds a value to its setting's step, so float noise from a wire scale never looks like a change. */
export function quantize(def: SettingDef, value: number): number {
  const decimals = Math.max(0, Math.min(9, Math.round(-Math.log10(def.step))));
  const q = Math.round(value / def.step) * def.step;
  const r = Number(q.toFixed(decimals));
  return Object.is(r, -0) ? 0 : r;
}
