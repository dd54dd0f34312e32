import type { Chemistry } from '../types/domain.js';

/**
 * Before packs are joined in parallel: the current that flows the instant they touch, and whether
 * joining them is safe. The current is the voltage difference over the loop resistance (both
 * packs' cells and BMS, the cable between them). A small voltage difference does not make an SOC
 * gap harmless: on a flat LFP curve 20 % SOC may differ by a few tens of millivolts per cell, but
 * the charge still has to move, the current lasts until it has, and it climbs as the fuller pack
 * leaves the plateau. So both are judged: the first current against a limit, and the SOC gap.
 */
export interface ParallelPack {
  label: string;
  voltage: number; // V
  soc: number; // %
  cells: number;
  capacityAh: number; // 0 when unknown
  chemistry?: Chemistry | 'unknown';
}

export interface ParallelOptions {
  /** Loop resistance, ohms; default: estimated from the packs (see estimateLoopResistance). */
  resistanceOhm?: number;
  /** Highest first current allowed, A; default: 0.5 C of the smaller pack (25 A when unknown). */
  maxCurrentA?: number;
  /** Largest SOC difference allowed, percentage points (default 10). */
  maxSocGap?: number;
}

export interface ParallelVerdict {
  safe: boolean;
  voltageDelta: number; // V, first − second
  socDelta: number; // percentage points, first − second
  resistanceOhm: number;
  /** First current from the higher pack into the lower, A. */
  currentA: number;
  currentLimitA: number;
  maxSocGap: number;
  /** Charge that moves until the SOCs meet, Ah (needs both capacities). */
  chargeToMoveAh: number | null;
  /** The higher pack (the one that discharges into the other). */
  from: string;
  reasons: string[];
}

/** Per cell, and per pack for the BMS MOSFETs, shunt, fuse and terminals; plus the cable. */
export const CELL_RESISTANCE_OHM = 0.0005;
export const PACK_PATH_RESISTANCE_OHM = 0.005;
export const CABLE_RESISTANCE_OHM = 0.002;
export const DEFAULT_MAX_SOC_GAP = 10;

/** A deliberately low estimate: the lower the resistance, the higher (the safer) the current estimate. */
export function estimateLoopResistance(a: ParallelPack, b: ParallelPack): number {
  const pack = (p: ParallelPack) => p.cells * CELL_RESISTANCE_OHM + PACK_PATH_RESISTANCE_OHM;
  return pack(a) + pack(b) + CABLE_RESISTANCE_OHM;
}

export function parallelCheck(a: ParallelPack, b: ParallelPack, o: ParallelOptions = {}): ParallelVerdict {
  const resistanceOhm = o.resistanceOhm ?? estimateLoopResistance(a, b);
  const capacities = [a.capacityAh, b.capacityAh].filter((c) => c > 0);
  const currentLimitA = o.maxCurrentA ?? (capacities.length ? 0.5 * Math.min(...capacities) : 25);
  const maxSocGap = o.maxSocGap ?? DEFAULT_MAX_SOC_GAP;
  const voltageDelta = a.voltage - b.voltage;
  const socDelta = a.soc - b.soc;
  const currentA = Math.abs(voltageDelta) / resistanceOhm;
  const reasons: string[] = [];
  if (a.cells !== b.cells) reasons.push(`different cell counts (${a.cells}S and ${b.cells}S): never join these in parallel`);
  if (a.chemistry && b.chemistry && a.chemistry !== 'unknown' && b.chemistry !== 'unknown' && a.chemistry !== b.chemistry) {
    reasons.push(`different chemistries (${a.chemistry} and ${b.chemistry})`);
  }
  if (currentA > currentLimitA) reasons.push(`${currentA.toFixed(1)} A would flow at first, above the ${currentLimitA.toFixed(1)} A limit`);
  if (Math.abs(socDelta) > maxSocGap) reasons.push(`SOC differs by ${Math.abs(socDelta).toFixed(1)} points, more than ${maxSocGap}`);
  const chargeToMoveAh =
    a.capacityAh > 0 && b.capacityAh > 0 ? (Math.abs(socDelta) / 100) * ((a.capacityAh * b.capacityAh) / (a.capacityAh + b.capacityAh)) : null;
  return {
    safe: reasons.length === 0,
    voltageDelta,
    socDelta,
    resistanceOhm,
    currentA,
    currentLimitA,
    maxSocGap,
    chargeToMoveAh,
    from: voltageDelta >= 0 ? a.label : b.label,
    reasons,
  };
}
