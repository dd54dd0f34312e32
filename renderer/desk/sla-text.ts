/** The SLA and age of a claim in the Claims screen's words. */
import type { ClaimSummary } from '../../shared/desk/queue.js';

export function durationText(ms: number): string {
  const h = Math.abs(ms) / 3_600_000;
  return h >= 48 ? `${(h / 24).toFixed(1)} d` : h >= 1 ? `${h.toFixed(1)} h` : `${Math.max(1, Math.round(h * 60))} min`;
}

export function ageText(ms: number): string {
  return durationText(ms);
}

export function slaText(c: ClaimSummary): string {
  const k = c.clock;
  if (!k.open) return `closed (${c.status})`;
  const parts: string[] = [];
  if (k.resolutionOverdue) parts.push(`Overdue: ${k.levelName}`);
  else if (k.responseOverdue && c.respondedAtMs === null) parts.push('No answer yet: overdue');
  if (k.resolutionOverdue && k.nextEscalationMs !== null) parts.push(`escalates in ${durationText(k.slackMs)}`);
  else parts.push(k.slackMs < 0 ? `${durationText(k.slackMs)} late` : `${durationText(k.slackMs)} left`);
  return parts.join(' · ');
}
