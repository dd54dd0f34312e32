/**
 * The capacity guarantee of a warranty policy ("at least 80 % of rated capacity after 10 years or
 * 6,000 equivalent cycles"): the retention promised at the claim's age and cycle count, and the
 * clause result against the capacity measured from rested cell voltages (shared/health).
 *
 * The promise is the lower of the two curves at the pack's age and its equivalent cycles (the
 * board's signed lifetime count when it keeps one, else the cycles the log shows: a lower bound
 * when it does not hold the pack's whole life), each
 * interpolated linearly from 100 % when new; past a curve's last point its last value holds.
 * The clause is decided only when the measurement is clear of the promise by its own 95 %
 * uncertainty: below it is a defect (triggered), above it the pack keeps the promise (clear), and
 * in between it cannot be told (not assessed, with the figures).
 */
import { roundTo } from '../codec/canonical-json.js';
import type { HealthReport } from '../health/analyzer.js';
import type { ClauseResult, Finding } from './evaluation.js';
import type { DefectIndicator } from './policy.js';

export type Guarantee = Extract<DefectIndicator, { kind: 'capacity_below_guarantee' }>;

/** Retention (percent) promised at x along a curve of points, from (0, 100 %). */
export function promisedRetention(points: readonly { x: number; retentionPercent: number }[], x: number): number {
  let x0 = 0;
  let r0 = 100;
  for (const p of points) {
    if (x <= p.x) return p.x === x0 ? p.retentionPercent : r0 + ((p.retentionPercent - r0) * (x - x0)) / (p.x - x0);
    x0 = p.x;
    r0 = p.retentionPercent;
  }
  return r0;
}

export function guaranteeResult(
  g: Guarantee,
  health: HealthReport,
  ratedAh: number | null,
  ageYears: number,
  lifetimeCycles: number | null = null,
): { clause: ClauseResult; finding: Finding | null; note: string } {
  // The board's signed lifetime counters know the cycles the ring forgot.
  const cycles = Math.max(health.equivalentFullCycles ?? 0, lifetimeCycles ?? 0);
  const byAge = promisedRetention(
    g.curve.map((p) => ({ x: p.years, retentionPercent: p.retentionPercent })),
    Math.max(0, ageYears),
  );
  const byCycles = g.cycleCurve
    ? promisedRetention(
        g.cycleCurve.map((p) => ({ x: p.equivalentCycles, retentionPercent: p.retentionPercent })),
        cycles,
      )
    : 100;
  const promised = Math.min(byAge, byCycles);
  const at = `${roundTo(ageYears, 2)} years and ${roundTo(cycles, 1)} equivalent cycles`;
  const base = { id: g.id, type: 'defect' as const, kind: g.kind, title: g.title, totalDurationS: 0 };
  const cap = health.remainingCapacity;
  const notAssessed = (reason: string) => ({
    clause: { ...base, status: 'not-assessed' as const, occurrences: 0, reason },
    finding: null,
    note: `the capacity cannot be decided: ${reason}`,
  });
  if (ratedAh === null) return notAssessed('the rated capacity is unknown');
  if (!cap) return notAssessed(health.capacityNotAssessable ?? 'no usable capacity window');
  const promisedAh = (ratedAh * promised) / 100;
  const measured = `${cap.ah.toFixed(1)} Ah ± ${cap.uncertaintyAh.toFixed(1)}`;
  const promise = `the ${roundTo(promised, 2)} % (${promisedAh.toFixed(1)} Ah) promised at ${at}`;
  if (cap.ah - cap.uncertaintyAh >= promisedAh) {
    return {
      clause: { ...base, status: 'clear', occurrences: 0 },
      finding: null,
      note: `the measured capacity ${measured} keeps ${promise}: no capacity defect is shown`,
    };
  }
  if (cap.ah + cap.uncertaintyAh >= promisedAh) {
    return notAssessed(`the measured capacity ${measured} is within its uncertainty of ${promise}`);
  }
  const w = health.capacityWindows.at(-1)!;
  return {
    clause: { ...base, status: 'triggered', occurrences: 1 },
    finding: {
      clause: g.id,
      type: 'defect',
      kind: g.kind,
      title: g.title,
      occurrence: 1,
      measured: { quantity: 'remaining capacity', value: roundTo(cap.ah, 2), unit: 'Ah' },
      threshold: { value: roundTo(promisedAh, 2), unit: 'Ah', comparison: 'below' },
      durationS: roundTo((w.toT - w.fromT) / 1000, 3),
      from: new Date(w.fromT).toISOString(),
      to: new Date(w.toT).toISOString(),
      records: { first: w.fromIndex, last: w.toIndex, extreme: w.toIndex },
      segments: { first: w.fromSegment, last: w.toSegment, extreme: w.toSegment },
    },
    note: `the measured capacity ${measured} is below ${promise}`,
  };
}
