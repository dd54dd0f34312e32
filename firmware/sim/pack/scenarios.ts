import type { Random } from '../../../shared/util/random.js';
import type { ScenarioName } from './types.js';

/**
 * Scenario current profiles: each scenario is an endless sequence of phases (rest, discharge into a
 * load, charge from a charger). A phase ends after its duration, or earlier when its SOC target is
 * reached, the charge completes, or the BMS switches the relevant FET off.
 */
export interface Phase {
  kind: 'rest' | 'discharge' | 'charge';
  /** Current magnitude in C (multiples of nominal capacity per hour). */
  cRate: number;
  /** Maximum duration, seconds. */
  seconds: number;
  /** Discharge ends at or below this pack SOC (percent). */
  untilSoc?: number;
  /** Relative amplitude of load variation (a household or vehicle load is not constant). */
  variation?: number;
  /** A charger that ignores the BMS's requested limits (a "dumb" charger: the abuse in cold-charge). */
  ignoreLimits?: boolean;
}

export interface ScenarioSpec {
  /** Initial SOC, percent, unless the config overrides it. */
  initialSoc: number;
  /** Ambient temperature, °C, unless the config overrides it. */
  ambientC: number;
  /** The phases of one cycle; the cycle repeats forever. `rng` varies loads from cycle to cycle. */
  cycle(rng: Random): Phase[];
  /** Weak cell parameters for the weak-cell scenario. */
  weakCell?: { capacityFactor: number; resistanceFactor: number; selfDischargePerHour: number };
}

const H = 3600;

export const SCENARIO_SPECS: Record<ScenarioName, ScenarioSpec> = {
  normal: {
    initialSoc: 60,
    ambientC: 22,
    cycle: (rng) => [
      { kind: 'rest', cRate: 0, seconds: 600 },
      { kind: 'discharge', cRate: 0.3 + 0.2 * rng.next(), seconds: 4 * H, untilSoc: 20, variation: 0.3 },
      { kind: 'rest', cRate: 0, seconds: 900 },
      { kind: 'charge', cRate: 0.4, seconds: 5 * H },
    ],
  },
  'cold-charge': {
    initialSoc: 30,
    ambientC: -6,
    cycle: () => [
      { kind: 'rest', cRate: 0, seconds: 300 },
      { kind: 'charge', cRate: 0.3, seconds: 6 * H, ignoreLimits: true },
      { kind: 'rest', cRate: 0, seconds: H },
      { kind: 'discharge', cRate: 0.2, seconds: 4 * H, untilSoc: 30, variation: 0.2 },
    ],
  },
  'over-discharge': {
    initialSoc: 12,
    ambientC: 22,
    cycle: () => [
      { kind: 'rest', cRate: 0, seconds: 120 },
      // The load keeps drawing until the BMS cuts it off: the pack ends up below cell UV.
      { kind: 'discharge', cRate: 0.5, seconds: 3 * H, untilSoc: -100, variation: 0.1 },
      { kind: 'rest', cRate: 0, seconds: 1800 },
      { kind: 'charge', cRate: 0.2, seconds: 8 * H },
      { kind: 'rest', cRate: 0, seconds: 600 },
      { kind: 'discharge', cRate: 0.5, seconds: 2 * H, untilSoc: 12, variation: 0.1 },
    ],
  },
  'over-current': {
    initialSoc: 90,
    ambientC: 25,
    cycle: (rng) => [
      { kind: 'rest', cRate: 0, seconds: 60 },
      { kind: 'discharge', cRate: 0.5, seconds: 300, untilSoc: 10, variation: 0.1 },
      // Far above 2C for tens of seconds: a motor stall or an undersized pack on an inverter.
      { kind: 'discharge', cRate: 2.6 + 0.4 * rng.next(), seconds: 40 + Math.floor(20 * rng.next()), untilSoc: 5, variation: 0.05 },
      { kind: 'discharge', cRate: 0.5, seconds: 300, untilSoc: 10, variation: 0.1 },
      { kind: 'rest', cRate: 0, seconds: 600 },
      { kind: 'discharge', cRate: 2.8, seconds: 30, untilSoc: 5, variation: 0.05 },
      { kind: 'rest', cRate: 0, seconds: 600 },
      { kind: 'charge', cRate: 0.4, seconds: 5 * H },
    ],
  },
  'weak-cell': {
    initialSoc: 60,
    ambientC: 22,
    cycle: (rng) => [
      { kind: 'rest', cRate: 0, seconds: 4 * H },
      { kind: 'discharge', cRate: 0.3 + 0.1 * rng.next(), seconds: H, untilSoc: 20, variation: 0.2 },
      { kind: 'rest', cRate: 0, seconds: 4 * H },
      { kind: 'charge', cRate: 0.3, seconds: 5 * H },
    ],
    // A cell with a soft internal short: less capacity, more resistance, and self-discharge that
    // makes it sag away from its neighbours while the pack rests.
    weakCell: { capacityFactor: 0.75, resistanceFactor: 2.5, selfDischargePerHour: 0.01 },
  },
  idle: {
    initialSoc: 60,
    ambientC: 22,
    cycle: () => [{ kind: 'rest', cRate: 0, seconds: 24 * H }],
  },
};
