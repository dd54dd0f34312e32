/**
 * The claims desk's part of the API contract (spread into contract.methods): opening a desk (the
 * supplier file and the claims database), the SLA queue with its filters, one claim's evidence,
 * acknowledging and deciding, the verifier's report, the daily digest and the fleet view.
 */
import { z } from 'zod';
import { ClaimDetailSchema } from '../desk/detail.js';
import { DECISION_KINDS } from '../desk/decision.js';
import { ClaimSummarySchema, QueueFilterSchema } from '../desk/queue.js';
import { hostPath, opId } from './schemas.js';

const claimId = z.string().min(1).max(100);

export const deskInfo = z.object({
  supplier: z.string(),
  supplierPath: z.string(),
  dbPath: z.string(),
  claims: z.number(),
  /** Policy clause ids a denial may name. */
  clauses: z.array(z.string()),
  /** Values present in the database, for the filters. */
  models: z.array(z.string()),
  firmwares: z.array(z.string()),
  sla: z.object({
    responseHours: z.number(),
    resolutionHours: z.number(),
    levels: z.array(z.object({ name: z.string(), limitHours: z.number(), contacts: z.array(z.string()) })),
  }),
  /** Whether the supplier file names a signing key (deciding needs one). */
  canDecide: z.boolean(),
});

const fleetCell = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]);
export const fleetTables = z.record(z.string(), z.array(z.record(z.string(), fleetCell)));

export const digestView = z.object({
  at: z.string(),
  sinceMs: z.number(),
  open: z.number(),
  received: z.number(),
  resolved: z.number(),
  responseOverdue: z.array(z.string()),
  byLevel: z.array(z.object({ level: z.number(), name: z.string(), contacts: z.array(z.string()), claims: z.array(z.string()) })),
  dueWithin24h: z.array(z.string()),
});

/**
 * One package of an ingest and what became of it: `reason` in words (why it was not added, or the
 * verifier's line); `verified` false for a package stored as a failed claim (it did not verify).
 */
const ingestEntry = z.object({
  file: z.string(),
  claimId: z.string().nullable(),
  verdict: z.string().nullable(),
  verified: z.boolean().nullable(),
  reason: z.string(),
});
export const ingestResult = z.object({
  /** Verified and stored now (a package that fails verification is stored too, as a failed claim). */
  added: z.array(ingestEntry),
  /** The same package (by digest) was in the desk already or named twice. */
  alreadyThere: z.array(ingestEntry),
  /** Not read or not verified: nothing was stored for it. */
  failed: z.array(ingestEntry),
});

const m = <Req extends z.ZodType, Res extends z.ZodType>(request: Req, response: Res, summary: string) => ({ request, response, summary });

/** `series`: the contract's recorded-series schema (passed in: contract.ts spreads these methods into its own). */
export function deskMethods<S extends z.ZodType>(recordedSeries: S) {
  return {
    'desk.open': m(
      z.object({ supplierPath: hostPath, dbPath: hostPath }).strict(),
      deskInfo,
      'Opens a claims desk: the supplier file (trust, SLA, signing key) and its claims database (created if absent).',
    ),
    'desk.ingest': m(
      z.object({ opId, paths: z.array(hostPath).min(1).max(1000) }).strict(),
      ingestResult,
      'Adds .psdiag packages (files, or every package under a folder) to the open desk as a host job (progress under opId; op.cancel stops it, keeping what was stored): each is verified and stored once by digest.',
    ),
    'desk.info': m(z.object({}).strict(), deskInfo.nullable(), 'The open claims desk, or null.'),
    'desk.queue': m(
      QueueFilterSchema,
      z.object({ nowMs: z.number(), claims: z.array(ClaimSummarySchema) }),
      'The claims queue with SLA clocks, most urgent first, filtered by verdict, model, firmware and age.',
    ),
    'desk.claim': m(
      z.object({ claimId }).strict(),
      z.object({ detail: ClaimDetailSchema, series: recordedSeries.nullable() }),
      "One claim: its form, the verifier's result for its latest package, photos' hashes, decisions, status history, and the decoded records as chart series.",
    ),
    'desk.ack': m(
      z.object({ claimId, note: z.string().max(4000).default('') }).strict(),
      ClaimSummarySchema,
      'Acknowledges a claim (stops its response clock).',
    ),
    'desk.decide': m(
      z
        .object({ claimId, kind: z.enum(DECISION_KINDS), clause: z.string().min(1).max(64).nullable().default(null), note: z.string().max(4000).default('') })
        .strict(),
      z.object({ path: z.string(), sha256: z.string(), keyFingerprint: z.string(), sequence: z.number() }),
      "Signs a decision with the supplier's key into a decision file the customer verifies with openssl or ssh-keygen; records it and the new status.",
    ),
    'desk.report': m(
      z.object({ claimId, out: hostPath }).strict(),
      z.object({ path: z.string(), bytes: z.number() }),
      "Writes the verifier's own report (HTML) of the claim's latest package (temp name, then rename).",
    ),
    'desk.digest': m(z.object({}).strict(), digestView, 'The daily digest: overdue claims by escalation level with contacts, what falls due within 24 h.'),
    'desk.fleet': m(
      z.object({}).strict(),
      fleetTables,
      'The fleet view: claims and exclusions by model, firmware, batch and month; misuse per clause; trends.',
    ),
  };
}
