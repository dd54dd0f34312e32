import type { Chemistry } from '../../../shared/types/domain.js';
import { OCV_TABLES, ocvAt as tableOcvAt, socAtOcv as tableSocAtOcv, type OcvTable } from '../../../shared/health/ocv.js';

/**
 * Cell chemistry parameters: open-circuit voltage against state of charge, the BMS thresholds a
 * typical board uses for that chemistry, and the charger set-points it asks for.
 *
 * The OCV curves are shared/health/ocv.ts: the same curves pack-health analysis reads backwards.
 */
export interface ChemistryParams {
  /** [soc fraction, volts], ascending in soc. */
  ocv: OcvTable;
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
    ocv: OCV_TABLES.lfp,
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
    ocv: OCV_TABLES.nmc,
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

/** OCV of a cell of this chemistry at a state of charge (fraction). */
export function ocvAt(p: ChemistryParams, soc: number): number {
  return tableOcvAt(p.ocv, soc);
}

/** Inverse of ocvAt (used to start a cell at a given rest voltage). */
export function socAtOcv(p: ChemistryParams, v: number): number {
  return tableSocAtOcv(p.ocv, v);
}

/** Resistance multiplier against temperature: electrolyte conductivity falls fast in the cold. */
export function resistanceFactor(tempC: number): number {
  return Math.min(8, Math.max(0.7, Math.exp(0.035 * (25 - tempC))));
}
