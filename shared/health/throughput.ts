/**
 * Charge and energy across one interval between two consecutive records (trapezoids over current
 * and power): the one integration the health analysis, the lifetime-counter check and the warranty
 * engine's throughput caps all count with.
 */
export interface ThroughputSample {
  /** A, positive = charging. */
  current: number;
  /** V. */
  packVoltage: number;
}

/** Charge (Ah) and energy (Wh) from `p` to `r`, `dtS` seconds apart; positive = charged. */
export function intervalThroughput(p: ThroughputSample, r: ThroughputSample, dtS: number): { dAh: number; dWh: number } {
  const h = dtS / 3600;
  return { dAh: ((p.current + r.current) / 2) * h, dWh: ((p.current * p.packVoltage + r.current * r.packVoltage) / 2) * h };
}
