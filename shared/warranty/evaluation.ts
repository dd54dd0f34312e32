/**
 * The evaluation: what the rule engine (engine.ts) returns for a log, a policy and a claim. The
 * zod schema below is its one definition: the TypeScript types are derived from it, the API
 * contract (shared/api/contract.ts) serves it as it is, and the package carries it as
 * evaluation.json (canonical JSON, recomputed and compared byte for byte by the verifier).
 */
import { z } from 'zod';

export const EVALUATION_SCHEMA_ID = 'packscope-evaluation/1';

export const VerdictSchema = z.enum(['covered', 'excluded', 'inconclusive']);
export type Verdict = z.infer<typeof VerdictSchema>;

export const SignatureStatusSchema = z.enum(['valid', 'invalid', 'unsigned']);
export type SignatureStatus = z.infer<typeof SignatureStatusSchema>;

const LogSourceSchema = z.enum(['device', 'desktop']);

/** A place where the evidence is incomplete, as found by the decoder (chain break, damaged region). */
export const LogGapSchema = z.object({
  /** Index of the last record before the gap (null: before the first record). */
  afterIndex: z.number().nullable(),
  reason: z.string(),
});
export type LogGap = z.infer<typeof LogGapSchema>;

export const MeasurementSchema = z.object({
  quantity: z.string(),
  value: z.number(),
  unit: z.string(),
  /** C-rate for current clauses. */
  cRate: z.number().optional(),
  /** 0-based cell index for cell clauses. */
  cell: z.number().optional(),
  /** 0-based sensor index for temperature clauses. */
  sensor: z.number().optional(),
  /** Alarm names for fault clauses. */
  alarms: z.array(z.string()).optional(),
  /** Event codes for fault clauses. */
  events: z.array(z.number()).optional(),
});
export type Measurement = z.infer<typeof MeasurementSchema>;

export const ThresholdSchema = z.object({
  value: z.number(),
  unit: z.string(),
  comparison: z.enum(['above', 'below']),
  cRate: z.number().optional(),
});
export type Threshold = z.infer<typeof ThresholdSchema>;

export const FindingSchema = z.object({
  clause: z.string(),
  type: z.enum(['void', 'defect']),
  kind: z.string(),
  title: z.string(),
  /** 1-based number of this occurrence among the clause's occurrences. */
  occurrence: z.number(),
  measured: MeasurementSchema,
  threshold: ThresholdSchema,
  durationS: z.number(),
  from: z.string(),
  to: z.string(),
  /** Record indices that prove the finding: the run's first and last record and the most extreme one. */
  records: z.object({ first: z.number(), last: z.number(), extreme: z.number() }),
  /** The device's own segment counters of those records (null: a recording without segments). */
  segments: z.object({ first: z.number().nullable(), last: z.number().nullable(), extreme: z.number().nullable() }),
  /**
   * Settings clauses: the signed record that proves the finding. `source` 'change': a change record
   * (its seq, SHA-256, the value before, the tool that asked); 'snapshot': the value the board's
   * signed snapshot holds. `records` point at the params_changed record of the change (-1: the
   * black box in the log does not reach back to it) or, for a snapshot, at the newest record.
   */
  setting: z
    .object({
      id: z.string(),
      source: z.enum(['change', 'snapshot']),
      seq: z.number().nullable(),
      previous: z.number().nullable(),
      tool: z.string().nullable(),
      record: z.string().nullable(),
      snapshot: z.string(),
    })
    .optional(),
});
export type Finding = z.infer<typeof FindingSchema>;

export const ClauseResultSchema = z.object({
  id: z.string(),
  /** 'inspection': a condition logs cannot show (policy `inspections`); always 'not-assessed'. */
  type: z.enum(['void', 'defect', 'inspection']),
  /** The clause kind; 'inspection' for inspections. */
  kind: z.string(),
  title: z.string(),
  status: z.enum(['triggered', 'clear', 'not-assessed']),
  occurrences: z.number(),
  totalDurationS: z.number(),
  /** Why the clause could not be assessed (status 'not-assessed'). */
  reason: z.string().optional(),
  /** Inspections only: the condition, e.g. "water ingress". */
  condition: z.string().optional(),
  /** Inspections only: the photos or inspections the supplier needs. */
  requires: z.array(z.string()).optional(),
});
export type ClauseResult = z.infer<typeof ClauseResultSchema>;

export const MissingSchema = z.object({
  code: z.enum([
    'no-records',
    'invalid-signature',
    'unsigned-data',
    'integrity-gaps',
    'time-gaps',
    'no-record-near-failure',
    'out-of-warranty',
    'claim-dates',
    'serial-mismatch',
    'clause-not-assessed',
    'unreadable-segments',
    'failure-outside-log',
    'coverage',
    'inspection-required',
    'capacity',
  ]),
  message: z.string(),
});
export type Missing = z.infer<typeof MissingSchema>;

export const EvaluationSchema = z.object({
  schema: z.literal(EVALUATION_SCHEMA_ID),
  verdict: VerdictSchema,
  /** One line for humans: the verdict and its main reason. */
  summary: z.string(),
  /** Void clauses that exclude the claim (verdict 'excluded'), then 'unreadable-segments' when the policy excludes on it. */
  excludedBy: z.array(z.string()),
  /** Defect indicators found. */
  defects: z.array(z.string()),
  /** What prevents a decision (verdict 'inconclusive'), or weakens it. */
  missing: z.array(MissingSchema),
  policy: z.object({ id: z.string(), sha256: z.string(), ratedCapacityAh: z.number().nullable() }),
  claim: z.object({ serial: z.string(), purchaseDate: z.string(), failureDate: z.string(), remedy: z.string() }),
  period: z.object({
    warrantyEnds: z.string(),
    doaEnds: z.string(),
    /** Purchase ≤ failure date and the claim was made before the warranty ended. */
    withinWarranty: z.boolean(),
    /** Purchase ≤ failure date < end of the DOA window. */
    withinDoa: z.boolean(),
    /** Whole days from the purchase date to the claim. */
    daysSincePurchase: z.number(),
    /** When the claim was made (ISO time): LogFacts.claimedAtMs, default reportedAt. */
    claimedAt: z.string(),
  }),
  log: z.object({
    source: LogSourceSchema,
    signature: SignatureStatusSchema,
    records: z.number(),
    from: z.string().nullable(),
    to: z.string().nullable(),
    firstIndex: z.number().nullable(),
    lastIndex: z.number().nullable(),
    timeGaps: z.number(),
    integrityGaps: z.number(),
    /** The first gaps, for the report (all are counted above). */
    gaps: z.array(LogGapSchema),
    /** How fresh the pull is known to be (LogFacts.freshness); null when not stated. */
    freshness: z.enum(['ticket', 'unproven']).nullable(),
    /** Oldest record the board attests to hold (ISO time); null when not attested. */
    historyFrom: z.string().nullable(),
    /** The board's attested clock at the pull (ISO time); null when not attested. */
    boardTime: z.string().nullable(),
  }),
  clauses: z.array(ClauseResultSchema),
  findings: z.array(FindingSchema),
});
export type Evaluation = z.infer<typeof EvaluationSchema>;
