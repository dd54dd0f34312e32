/**
 * Service levels of a supplier's claims desk: the response and resolution targets and the
 * escalation ladder from the supplier file, each claim's clocks against them, and which level
 * owns an overdue claim. Pure functions of the claim's timestamps and "now" (wall-clock ms), so
 * the desk, the app and the tests (on a VirtualClock) compute the same answer.
 *
 * The ladder: the desk owns a claim until its resolution deadline (received + resolutionHours).
 * When that passes, escalation level 1 owns it for its limitHours; when level 1 misses its limit,
 * level 2 takes over, and so on; the last level keeps it. The response target is separate: a
 * claim not acknowledged (or decided) within responseHours is "response overdue" whatever its level.
 * Clocks run on calendar time.
 */
import { z } from 'zod';

const HOUR_MS = 3_600_000;

export const EscalationLevelSchema = z.strictObject({
  /** Who owns the claim at this level, e.g. "Quality manager". */
  name: z.string().min(1).max(100),
  /** Hours this level has before the next one takes over. */
  limitHours: z
    .number()
    .positive()
    .max(24 * 365),
  /** Who to notify (e-mail addresses, phone numbers, names). */
  contacts: z.array(z.string().min(1).max(200)).max(20).default([]),
});
export type EscalationLevel = z.infer<typeof EscalationLevelSchema>;

export const SlaSchema = z.strictObject({
  /** Hours from receipt to the first answer (acknowledgement or any decision). */
  responseHours: z
    .number()
    .positive()
    .max(24 * 365),
  /** Hours from receipt to a final decision (covered or denied). */
  resolutionHours: z
    .number()
    .positive()
    .max(24 * 365),
  /** Who the desk is (level 0), with its contacts. */
  desk: z.strictObject({ name: z.string().min(1).max(100).default('Claims desk'), contacts: z.array(z.string().max(200)).max(20).default([]) }).default({
    name: 'Claims desk',
    contacts: [],
  }),
  escalation: z.array(EscalationLevelSchema).max(10).default([]),
  /** Hour of the day (UTC) at which the daily digest is made. */
  digestHourUtc: z.number().int().min(0).max(23).default(7),
});
export type Sla = z.infer<typeof SlaSchema>;

/** What the SLA needs to know about a claim. */
export interface ClaimTimes {
  receivedAtMs: number;
  /** First answer to the customer (acknowledgement or any decision); null while none. */
  respondedAtMs: number | null;
  /** Final decision (covered / denied); null while open. */
  resolvedAtMs: number | null;
}

export interface ClaimClock {
  responseDueMs: number;
  resolutionDueMs: number;
  /** The response target was missed (answered late, or not answered and past due). */
  responseOverdue: boolean;
  resolutionOverdue: boolean;
  /** 0: the desk; n: escalation level n (1-based) owns the claim now (or owned it when resolved). */
  level: number;
  levelName: string;
  contacts: string[];
  /** When the next level takes over (null at the last level or when resolved). */
  nextEscalationMs: number | null;
  /** Milliseconds left to the deadline that matters now (negative: overdue by that much). */
  slackMs: number;
  open: boolean;
}

/** Start of each escalation level (level 1 at the resolution deadline, then each level's limit later). */
export function levelStarts(sla: Sla, receivedAtMs: number): number[] {
  const starts: number[] = [];
  let t = receivedAtMs + sla.resolutionHours * HOUR_MS;
  for (const l of sla.escalation) {
    starts.push(t);
    t += l.limitHours * HOUR_MS;
  }
  return starts;
}

export function claimClock(sla: Sla, c: ClaimTimes, nowMs: number): ClaimClock {
  const responseDueMs = c.receivedAtMs + sla.responseHours * HOUR_MS;
  const resolutionDueMs = c.receivedAtMs + sla.resolutionHours * HOUR_MS;
  const open = c.resolvedAtMs === null;
  // A resolved claim's clock stopped when it was resolved.
  const at = open ? nowMs : c.resolvedAtMs!;
  const responded = c.respondedAtMs !== null;
  const responseOverdue = responded ? c.respondedAtMs! > responseDueMs : at > responseDueMs;
  const resolutionOverdue = at > resolutionDueMs;
  const starts = levelStarts(sla, c.receivedAtMs);
  let level = 0;
  for (let i = 0; i < starts.length; i++) if (at > starts[i]!) level = i + 1;
  const owner = level === 0 ? sla.desk : sla.escalation[level - 1]!;
  const nextEscalationMs = open && level < starts.length ? starts[level]! : null;
  // The deadline that matters: the response while unanswered, else the resolution, else the next level's.
  const deadline = !responded && !responseOverdue ? responseDueMs : level === 0 ? resolutionDueMs : (nextEscalationMs ?? resolutionDueMs);
  return {
    responseDueMs,
    resolutionDueMs,
    responseOverdue,
    resolutionOverdue,
    level,
    levelName: owner.name,
    contacts: [...owner.contacts],
    nextEscalationMs,
    slackMs: deadline - at,
    open,
  };
}

/**
 * Queue order by urgency: open claims before resolved ones; among open ones, overdue first (by
 * escalation level, then how long overdue), then by time left to their next deadline.
 */
export function urgencyCompare(a: ClaimClock, b: ClaimClock): number {
  if (a.open !== b.open) return a.open ? -1 : 1;
  const overA = a.resolutionOverdue || a.responseOverdue ? 1 : 0;
  const overB = b.resolutionOverdue || b.responseOverdue ? 1 : 0;
  if (overA !== overB) return overB - overA;
  if (a.level !== b.level) return b.level - a.level;
  return a.slackMs - b.slackMs;
}

/** The daily digest: what is overdue at which level, what falls due in the next day, what came and went. */
export interface Digest {
  at: string;
  sinceMs: number;
  open: number;
  received: number;
  resolved: number;
  responseOverdue: string[];
  /** Overdue claims by owning level (level 0: the desk, resolution target missed is never level 0 with escalation). */
  byLevel: { level: number; name: string; contacts: string[]; claims: string[] }[];
  dueWithin24h: string[];
}

export interface DigestClaim extends ClaimTimes {
  claimId: string;
}

export function buildDigest(sla: Sla, claims: readonly DigestClaim[], nowMs: number): Digest {
  const since = nowMs - 24 * HOUR_MS;
  const levels = [sla.desk, ...sla.escalation].map((l, level) => ({ level, name: l.name, contacts: [...l.contacts], claims: [] as string[] }));
  const d: Digest = {
    at: new Date(nowMs).toISOString(),
    sinceMs: since,
    open: 0,
    received: 0,
    resolved: 0,
    responseOverdue: [],
    byLevel: levels,
    dueWithin24h: [],
  };
  for (const c of claims) {
    if (c.receivedAtMs > nowMs) continue;
    if (c.receivedAtMs > since) d.received++;
    const resolved = c.resolvedAtMs !== null && c.resolvedAtMs <= nowMs;
    if (resolved) {
      if (c.resolvedAtMs! > since) d.resolved++;
      continue;
    }
    d.open++;
    const k = claimClock(
      sla,
      { ...c, resolvedAtMs: null, respondedAtMs: c.respondedAtMs !== null && c.respondedAtMs <= nowMs ? c.respondedAtMs : null },
      nowMs,
    );
    if (k.responseOverdue && (c.respondedAtMs === null || c.respondedAtMs > nowMs)) d.responseOverdue.push(c.claimId);
    if (k.resolutionOverdue) levels[k.level]!.claims.push(c.claimId);
    else if (k.resolutionDueMs - nowMs <= 24 * HOUR_MS) d.dueWithin24h.push(c.claimId);
  }
  d.byLevel = levels.filter((l) => l.claims.length > 0);
  return d;
}

/** The next time the daily digest is due after `nowMs` (at sla.digestHourUtc:00 UTC). */
export function nextDigestMs(sla: Sla, nowMs: number): number {
  const d = new Date(nowMs);
  let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), sla.digestHourUtc);
  if (t <= nowMs) t += 24 * HOUR_MS;
  return t;
}

export function digestText(d: Digest): string {
  const lines = [`Claims desk digest, ${d.at}`, `open ${d.open}; in the last 24 h: received ${d.received}, resolved ${d.resolved}`];
  if (d.responseOverdue.length) lines.push(`response overdue (${d.responseOverdue.length}): ${d.responseOverdue.join(', ')}`);
  for (const l of d.byLevel)
    lines.push(`overdue at level ${l.level}, ${l.name}${l.contacts.length ? ` (${l.contacts.join(', ')})` : ''} (${l.claims.length}): ${l.claims.join(', ')}`);
  if (d.dueWithin24h.length) lines.push(`resolution due within 24 h (${d.dueWithin24h.length}): ${d.dueWithin24h.join(', ')}`);
  if (!d.responseOverdue.length && !d.byLevel.length) lines.push('nothing overdue');
  return lines.join('\n');
}
