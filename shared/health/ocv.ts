/**
 * Open-circuit voltage against state of charge, per cell chemistry: the curve that turns a rested
 * cell's voltage into its state of charge. The simulated board's cells follow these curves, and
 * pack-health analysis reads them backwards; a supplier whose cells differ gives its own table.
 *
 * Tables run slightly past 0 % and 100 % (as fractions -0.03 … 1.02) so that an over-discharged or
 * over-charged cell has a defined, steeply falling/rising voltage instead of a clamp.
 */
import type { Chemistry } from '../types/domain.js';

/** [soc fraction, volts], ascending in both. */
export type OcvTable = readonly (readonly [number, number])[];

export const OCV_TABLES: Record<Chemistry, OcvTable> = {
  // LiFePO4: long flat plateau ~3.2–3.35 V between 10 % and 90 %, steep knees at both ends.
  lfp: [
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
  // NMC: sloped curve 3.0–4.2 V.
  nmc: [
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
};

/** The table of a chemistry name as boards report it ('LFP', 'LiFePO4', 'nmc' …); null when unknown. */
export function ocvTableFor(chemistry: string | null | undefined): OcvTable | null {
  const c = (chemistry ?? '').toLowerCase();
  if (c === 'lfp' || c === 'lifepo4') return OCV_TABLES.lfp;
  if (c === 'nmc' || c === 'li-ion' || c === 'ncm') return OCV_TABLES.nmc;
  return null;
}

/** Index i ≥ 1 of the table segment [i-1, i] that holds x in column `col` (ends extend the end segments). */
function segment(t: OcvTable, x: number, col: 0 | 1): number {
  let i = 1;
  while (i < t.length - 1 && x > t[i]![col]) i++;
  return i;
}

/** OCV by linear interpolation; beyond the table the end slopes continue (no clamp, see above). */
export function ocvAt(t: OcvTable, soc: number): number {
  const i = segment(t, soc, 0);
  const [s0, v0] = t[i - 1]!;
  const [s1, v1] = t[i]!;
  return v0 + ((v1 - v0) * (soc - s0)) / (s1 - s0);
}

/** Inverse of ocvAt on the monotonic table: the state of charge (fraction) of a rested cell. */
export function socAtOcv(t: OcvTable, v: number): number {
  const i = segment(t, v, 1);
  const [s0, v0] = t[i - 1]!;
  const [s1, v1] = t[i]!;
  return s0 + ((s1 - s0) * (v - v0)) / (v1 - v0);
}

/**
 * d(SOC)/dV at a voltage, per volt: how much state of charge one volt of measurement error is
 * worth there (large on a flat plateau, small on the steep ends).
 */
export function socPerVolt(t: OcvTable, v: number): number {
  const i = segment(t, v, 1);
  const [s0, v0] = t[i - 1]!;
  const [s1, v1] = t[i]!;
  return (s1 - s0) / (v1 - v0);
}
