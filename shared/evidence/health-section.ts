/**
 * The health section of a diagnosis package (health.json, and the "Pack health" part of its
 * report): the pack's health analysed from the signed records (shared/health), with the rating the
 * manufacturing CA certified, and the board's signed lifetime counters with what verification found.
 *
 * It is computed in the same pass over the records as the evaluation, when a package is made and
 * again when it is verified: the verifier shows only its own recomputation, and compares the
 * package's health.json with it byte for byte (canonical JSON).
 */
import { z } from 'zod';
import { HealthAnalyzer } from '../health/analyzer.js';
import { ocvTableFor } from '../health/ocv.js';
import { HealthReportSchema, LifetimeViewSchema } from '../health/report.js';
import type { LogRecord } from '../types/domain.js';
import type { LifetimeEvidence } from './device-evidence.js';

export const PACKAGE_HEALTH_SCHEMA_ID = 'packscope-package-health/1';

export const PackageHealthSchema = z.object({
  schema: z.literal(PACKAGE_HEALTH_SCHEMA_ID),
  /** The rating the analysis used: the device certificate's (version 2), else unknown. */
  rating: z.object({ chemistry: z.string().nullable(), ratedCapacityAh: z.number().nullable(), from: z.enum(['certificate', 'unknown']) }),
  report: HealthReportSchema,
  /** The board's signed lifetime counters; null: the board keeps none (absent, not zero). */
  lifetime: LifetimeViewSchema.nullable(),
});
export type PackageHealth = z.infer<typeof PackageHealthSchema>;

/** The health analysis folded over a package's records, as they stream. */
export class HealthFold {
  private readonly analyzer: HealthAnalyzer;
  private readonly rating: PackageHealth['rating'];

  /** `chemistry` and `ratedCapacityAh` from the device certificate only (null: not certified). */
  constructor(chemistry: string | null, ratedCapacityAh: number | null) {
    this.rating = { chemistry, ratedCapacityAh, from: chemistry !== null || ratedCapacityAh !== null ? 'certificate' : 'unknown' };
    this.analyzer = new HealthAnalyzer({ ocv: ocvTableFor(chemistry), ratedCapacityAh });
  }

  push(records: readonly LogRecord[]): void {
    for (const r of records) this.analyzer.push(r);
  }

  finish(lifetime: LifetimeEvidence | null | undefined): PackageHealth {
    return { schema: PACKAGE_HEALTH_SCHEMA_ID, rating: this.rating, report: this.analyzer.result(), lifetime: lifetime?.view ?? null };
  }
}
