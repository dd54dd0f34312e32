import type { TelemetryFrame } from '../types/domain.js';
import type { Preconditions } from './metadata.js';

/**
 * A release's preconditions against a live telemetry sample: one line per condition, each with
 * what is required, what the pack shows now, and whether it holds, so the CLI prints them and the
 * app ticks them green as the pack changes. Without a sample nothing holds: an update never starts
 * on a pack whose state is unknown.
 */
export interface PreconditionCheck {
  name: 'soc' | 'current' | 'temperature' | 'charger';
  required: string;
  actual: string;
  ok: boolean;
}

export type PreconditionSample = Pick<TelemetryFrame, 'soc' | 'current' | 'temperatures'>;

export function evaluatePreconditions(p: Preconditions, sample: PreconditionSample | null): PreconditionCheck[] {
  const out: PreconditionCheck[] = [];
  const unknown = 'no telemetry';
  if (p.minSocPercent !== undefined) {
    out.push({
      name: 'soc',
      required: `state of charge ≥ ${p.minSocPercent} %`,
      actual: sample ? `${sample.soc.toFixed(1)} %` : unknown,
      ok: !!sample && sample.soc >= p.minSocPercent,
    });
  }
  if (p.maxCurrentA !== undefined) {
    out.push({
      name: 'current',
      required: `|current| ≤ ${p.maxCurrentA} A`,
      actual: sample ? `${sample.current.toFixed(2)} A` : unknown,
      ok: !!sample && Math.abs(sample.current) <= p.maxCurrentA,
    });
  }
  if (p.temperatureC !== undefined) {
    const { min, max } = p.temperatureC;
    const t = sample?.temperatures ?? [];
    out.push({
      name: 'temperature',
      required: `every temperature in ${min}…${max} °C`,
      actual: sample ? (t.length ? `${Math.min(...t).toFixed(1)}…${Math.max(...t).toFixed(1)} °C` : 'no sensor') : unknown,
      ok: !!sample && t.length > 0 && t.every((x) => x >= min && x <= max),
    });
  }
  if (p.onCharger !== undefined) {
    // On the charger: the pack takes current (positive = charging), beyond sensor noise.
    const charging = !!sample && sample.current > 0.05;
    out.push({
      name: 'charger',
      required: p.onCharger ? 'on the charger' : 'off the charger',
      actual: sample ? (charging ? `charging (${sample.current.toFixed(2)} A)` : `not charging (${sample.current.toFixed(2)} A)`) : unknown,
      ok: !!sample && charging === p.onCharger,
    });
  }
  return out;
}
