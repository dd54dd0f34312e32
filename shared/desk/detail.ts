/**
 * One claim as the desk shows it: the claim form, the verifier's result for its latest package
 * (checks, findings, freshness, extent, the policy that decided and what the customer saw),
 * photos' hashes, every decision and the status history. The zod schema is the one definition:
 * `desk show --json`, the API contract and the Claims screen all use it.
 */
import { z } from 'zod';
import { ClaimSummarySchema } from './queue.js';

const text = z.string().nullable();

export const ClaimDetailSchema = z.object({
  summary: ClaimSummarySchema,
  claim: z.object({
    customer: text,
    contact: text,
    model: text,
    serial: text,
    purchaseDate: text,
    failureDate: text,
    description: text,
    remedy: text,
  }),
  package: z.object({
    sha256: z.string(),
    fileName: z.string(),
    bytes: z.number(),
    receivedAtMs: z.number(),
    ok: z.boolean(),
    line: z.string(),
    verdict: text,
    summary: text,
    excludedBy: z.array(z.string()),
    boardId: text,
    hardware: text,
    source: text,
    createdAtMs: z.number().nullable(),
    logFromMs: z.number().nullable(),
    logToMs: z.number().nullable(),
    records: z.number(),
    segments: z.number(),
    installKey: text,
    installKeyPinned: z.boolean().nullable(),
    freshnessProven: z.boolean(),
    freshness: z.string(),
    extent: text,
    caveats: z.array(z.string()),
    policyId: text,
    policySha256: text,
    packagePolicyId: text,
    policyDifferences: z.number(),
    customerVerdict: text,
  }),
  /** Packages received for this claim (the latest decides). */
  packageCount: z.number(),
  checks: z.array(z.object({ id: z.string(), ok: z.boolean(), detail: z.string() })),
  findings: z.array(
    z.object({
      clause: z.string(),
      type: z.string(),
      title: z.string(),
      quantity: z.string(),
      measured: z.number(),
      unit: z.string(),
      durationS: z.number(),
      fromMs: z.number().nullable(),
      toMs: z.number().nullable(),
      firstRecord: z.number(),
      lastRecord: z.number(),
    }),
  ),
  photos: z.array(z.object({ name: z.string(), sha256: z.string(), bytes: z.number() })),
  decisions: z.array(
    z.object({
      seq: z.number(),
      decidedAtMs: z.number(),
      kind: z.string(),
      clause: text,
      note: z.string(),
      keyFingerprint: z.string(),
      fileSha256: z.string(),
      filePath: z.string(),
    }),
  ),
  history: z.array(z.object({ seq: z.number(), atMs: z.number(), status: z.string(), note: z.string() })),
  /** Whether the verifier's own report (HTML) is stored (the evidence decoded). */
  hasReport: z.boolean(),
});
export type ClaimDetail = z.infer<typeof ClaimDetailSchema>;
