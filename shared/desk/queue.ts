/**
 * The claims queue as the CLI, the API and the Claims screen see it: one summary per claim with
 * its SLA clock, the filters (verdict, model, firmware, age, open only) and the urgency order.
 * The zod schemas are the one definition; the API contract serves them as they are.
 */
import { z } from 'zod';
import { claimClock, urgencyCompare, type Sla } from './sla.js';
import { DECISION_KINDS } from './decision.js';

export const QUEUE_VERDICTS = ['covered', 'excluded', 'inconclusive', 'failed'] as const;
export const CLAIM_STATUSES = ['new', 'acknowledged', ...DECISION_KINDS] as const;

export const ClaimClockSchema = z.object({
  responseDueMs: z.number(),
  resolutionDueMs: z.number(),
  responseOverdue: z.boolean(),
  resolutionOverdue: z.boolean(),
  level: z.number().int(),
  levelName: z.string(),
  contacts: z.array(z.string()),
  nextEscalationMs: z.number().nullable(),
  slackMs: z.number(),
  open: z.boolean(),
});

export const ClaimSummarySchema = z.object({
  claimId: z.string(),
  receivedAtMs: z.number(),
  respondedAtMs: z.number().nullable(),
  resolvedAtMs: z.number().nullable(),
  status: z.string(),
  customer: z.string().nullable(),
  model: z.string().nullable(),
  serial: z.string().nullable(),
  firmware: z.string().nullable(),
  batch: z.string().nullable(),
  verdict: z.enum(QUEUE_VERDICTS),
  line: z.string(),
  packageSha256: z.string(),
  ageHours: z.number(),
  clock: ClaimClockSchema,
});
export type ClaimSummary = z.infer<typeof ClaimSummarySchema>;

export const QueueFilterSchema = z.strictObject({
  verdict: z.array(z.enum(QUEUE_VERDICTS)).max(4).optional(),
  model: z.string().max(100).optional(),
  firmware: z.string().max(100).optional(),
  /** Claims received at least / at most this many hours ago. */
  minAgeHours: z.number().min(0).optional(),
  maxAgeHours: z.number().min(0).optional(),
  /** Only claims without a final decision. */
  openOnly: z.boolean().optional(),
});
export type QueueFilter = z.infer<typeof QueueFilterSchema>;

/** A claim row as the database holds it (times in epoch ms). */
export type ClaimRow = Omit<ClaimSummary, 'ageHours' | 'clock'>;

/** Applies the SLA at `nowMs`, the filter, and the urgency order. */
export function buildQueue(rows: readonly ClaimRow[], sla: Sla, nowMs: number, f: QueueFilter = {}): ClaimSummary[] {
  const out: ClaimSummary[] = [];
  for (const r of rows) {
    const ageHours = (nowMs - r.receivedAtMs) / 3_600_000;
    if (f.verdict?.length && !f.verdict.includes(r.verdict)) continue;
    if (f.model && r.model !== f.model) continue;
    if (f.firmware && r.firmware !== f.firmware) continue;
    if (f.minAgeHours !== undefined && ageHours < f.minAgeHours) continue;
    if (f.maxAgeHours !== undefined && ageHours > f.maxAgeHours) continue;
    const clock = claimClock(sla, r, nowMs);
    if (f.openOnly && !clock.open) continue;
    out.push({ ...r, ageHours, clock });
  }
  return out.sort((a, b) => urgencyCompare(a.clock, b.clock) || a.receivedAtMs - b.receivedAtMs || (a.claimId < b.claimId ? -1 : 1));
}
