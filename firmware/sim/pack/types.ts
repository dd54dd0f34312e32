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

export interface PackModel {
  readonly config: PackConfig;
  /** Advances simulated time by dtSeconds (any size; large steps are subdivided internally). */
  step(dtSeconds: number): void;
  state(): PackState;
  /** Events raised since the last call (codes from shared/blackbox events table), then cleared. */
  takeEvents(): number[];
}
