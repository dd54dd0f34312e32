import type { Chemistry } from '../../../shared/types/domain.js';

/**
 * The simulated pack: N series cells with an OCV–SOC curve, internal resistance, a thermal model
 * and a current profile from a named scenario. Deterministic for a given seed: the same config and
 * the same sequence of step() calls give the same states, bit for bit.
 */
export type ScenarioName = 'normal' | 'cold-charge' | 'over-discharge' | 'over-current' | 'weak-cell' | 'idle';

export const SCENARIOS: readonly ScenarioName[] = ['normal', 'cold-charge', 'over-discharge', 'over-current', 'weak-cell', 'idle'];

export interface PackConfig {
  cells: number; // default 16
  chemistry: Chemistry; // default 'lfp'
  capacityAh: number; // default 100
  scenario: ScenarioName; // default 'normal'
  seed: number;
  /** Simulated wall-clock start, ms since epoch (the board's RTC). */
  startTimeMs: number;
  /** Initial SOC, percent. */
  initialSoc?: number;
  /** Ambient temperature, °C. */
  ambientC?: number;
}

export interface PackState {
  /** Board RTC, ms since epoch. */
  timeMs: number;
  packVoltage: number;
  /** Amperes, positive = charging. */
  current: number;
  soc: number;
  soh: number;
  cellVoltages: number[];
  temperatures: number[];
  /** Bitfields over shared/types/domain STATUS_FLAGS / ALARM_FLAGS. */
  status: number;
  alarms: number;
  /** Remaining capacity, Ah, and full-charge capacity, Ah. */
  remainingAh: number;
  fullChargeAh: number;
  cycleCount: number;
  /** Charger limits the pack asks for (what a BMS broadcasts on CAN as 0x351). */
  chargeVoltageLimit: number;
  chargeCurrentLimit: number;
  dischargeCurrentLimit: number;
  dischargeVoltageLimit: number;
  /** Which cells are balancing (bit i = cell i). */
  balancingMask: number;
}

/**
 * The protection limits the board enforces (FET trips and their releases, the charge temperature
 * alarm, balancing): the board's settings, so changing a setting changes what the pack does.
 */
export interface ProtectionLimits {
  /** Cell voltages, V. */
  cellOvProtect: number;
  cellOvRelease: number;
  cellUvProtect: number;
  cellUvRelease: number;
  /** Currents, A (both positive), and how long they must last before the FET opens, s. */
  chargeOcA: number;
  dischargeOcA: number;
  chargeOcDelayS: number;
  dischargeOcDelayS: number;
  /** Temperatures, °C. */
  chargeOtC: number;
  chargeUtC: number;
  dischargeOtC: number;
  dischargeUtC: number;
  /** The charge under-temperature alarm (not a trip), °C. */
  chargeMinTempC: number;
  /** Balancing runs above balanceStart when the spread exceeds balanceWindow, V. */
  balanceStart: number;
  balanceWindow: number;
}

/** The board's MOSFET switches as a user sets them (JK 0xAB/0xAC, Daly 0xDA/0xD9): on lets protection decide, off holds the FET open. */
export interface FetSwitches {
  charge: boolean;
  discharge: boolean;
}

/**
 * A load the board itself drives (the bench fixture of a guided capacity test: a charger and an
 * electronic load on the board's outputs), in place of the scenario until cleared.
 */
export interface BenchLoad {
  kind: 'charge' | 'rest' | 'discharge';
  /** Charge: constant current before the CV taper (capped by the BMS's own charge limit); discharge: constant current. A. */
  currentA: number;
  /** Discharge: stop when the lowest cell, under load, is at or below this, V. */
  untilCellV?: number;
}

export interface BenchState {
  /** Seconds since the load was set. */
  elapsedS: number;
  /** Charge and energy through the pack since then (positive = charging), Ah and Wh. */
  ah: number;
  wh: number;
  /** Why the load ended (then the pack rests): fully charged, end voltage reached, a protection opened a FET. */
  done: null | 'charged' | 'end-voltage' | 'protection';
}

export interface PackModel {
  readonly config: PackConfig;
  /** Sets the MOSFET switches; a FET carries current only while its switch is on and protection allows it. */
  setSwitches(switches: Partial<FetSwitches>): void;
  switches(): FetSwitches;
  /** Replaces some protection limits (the board's settings changed). */
  setProtection(limits: Partial<ProtectionLimits>): void;
  protection(): ProtectionLimits;
  /** Drives a bench load instead of the scenario (null: back to the scenario). */
  setBench(load: BenchLoad | null): void;
  /** The bench load's progress, null without one. */
  bench(): BenchState | null;
  /** Advances simulated time by dtSeconds (any size; large steps are subdivided internally). */
  step(dtSeconds: number): void;
  state(): PackState;
  /** Events raised since the last call (codes from shared/blackbox events table), then cleared. */
  takeEvents(): number[];
}
