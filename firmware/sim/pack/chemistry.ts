import type { Chemistry } from '../../../shared/types/domain.js';

/**
 * Cell chemistry parameters: open-circuit voltage against state of charge, the BMS thresholds a
 * typical board uses for that chemistry, and the charger set-points it asks for.
 *
 * OCV tables run slightly past 0 % and 100 % (as fractions -0.03 … 1.02) so that an over-discharged
 * or over-charged cell has a defined, steeply falling/rising voltage instead of a clamp: that is what
 * makes "cell below 2.5 V" visible in the evidence when a pack is abused.
 */
export interface ChemistryParams {
  /** [soc fraction, volts], ascending in soc. */
  ocv: readonly (readonly [number, number])[];
  /** Per-cell charge (CV) voltage the BMS asks the charger for. */
  chargeVoltage: number;
  /** Per-cell minimum voltage the BMS announces as discharge limit. */
  dischargeVoltage: number;
  /** Alarm thresholds (recorded, raise an event) and protection thresholds (switch a FET off). */
  ovAlarm: number;
  ovProtect: number;
  ovRelease: number;
  uvAlarm: number;
  uvProtect: number;
  uvRelease: number;
  /** Balancing starts above this cell voltage when the spread exceeds balanceDelta. */
  balanceStart: number;
  /** Internal ohmic resistance of a 100 Ah cell at 25 °C (scaled inversely with capacity). */
  r0At100Ah: number;
}

export const CHEMISTRIES: Record<Chemistry, ChemistryParams> = {
  // LiFePO4: long flat plateau ~3.2–3.35 V between 10 % and 90 %, steep knees at both ends.
  lfp: {
    ocv: [
      [-0.03, 2.0],
      [0, 2.5],
      [0.01, 2.8],
      [0.02, 2.95],
      [0.05, 3.1],
      [0.1, 3.2],
      [0.2, 3.25],
      [0.3, 3.27],
      [0.4, 3.285],
      [0.5, 3.295],
      [0.6, 3.305],
      [0.7, 3.315],
      [0.8, 3.33],
      [0.9, 3.34],
      [0.95, 3.36],
      [0.98, 3.42],
      [0.995, 3.5],
      [1.0, 3.6],
      [1.02, 3.9],
    ],
    chargeVoltage: 3.55,
    dischargeVoltage: 2.8,
    ovAlarm: 3.65,
    ovProtect: 3.75,
    ovRelease: 3.45,
    uvAlarm: 2.5,
    uvProtect: 2.3,
    uvRelease: 2.9,
    balanceStart: 3.4,
    r0At100Ah: 0.0009,
  },
  // NMC: sloped curve 3.0–4.2 V.
  nmc: {
    ocv: [
      [-0.03, 2.5],
      [0, 3.0],
      [0.02, 3.25],
      [0.05, 3.4],
      [0.1, 3.5],
      [0.2, 3.58],
      [0.3, 3.63],
      [0.4, 3.68],
      [0.5, 3.74],
      [0.6, 3.82],
      [0.7, 3.9],
      [0.8, 3.98],
      [0.9, 4.07],
      [1.0, 4.2],
      [1.02, 4.4],
    ],
    chargeVoltage: 4.15,
    dischargeVoltage: 3.0,
    ovAlarm: 4.25,
    ovProtect: 4.3,
    ovRelease: 4.1,
    uvAlarm: 2.8,
    uvProtect: 2.6,
    uvRelease: 3.3,
    balanceStart: 4.05,
    r0At100Ah: 0.0011,
  },
};

/** OCV by linear interpolation; beyond the table the end slopes continue (no clamp, see above). */
export function ocvAt(p: ChemistryParams, soc: number): number {
  const t = p.ocv;
  let i = 1;
  while (i < t.length - 1 && soc > t[i]![0]) i++;
  const [s0, v0] = t[i - 1]!;
  const [s1, v1] = t[i]!;
  return v0 + ((v1 - v0) * (soc - s0)) / (s1 - s0);
}

/** Inverse of ocvAt on the monotonic table (used to start a cell at a given rest voltage). */
export function socAtOcv(p: ChemistryParams, v: number): number {
  const t = p.ocv;
  let i = 1;
  while (i < t.length - 1 && v > t[i]![1]) i++;
  const [s0, v0] = t[i - 1]!;
  const [s1, v1] = t[i]!;
  return s0 + ((s1 - s0) * (v - v0)) / (v1 - v0);
}

/** Resistance multiplier against temperature: electrolyte conductivity falls fast in the cold. */
export function resistanceFactor(tempC: number): number {
  return Math.min(8, Math.max(0.7, Math.exp(0.035 * (25 - tempC))));
}
