/**
 * The health report: its one definition. The TypeScript types are derived from these schemas, the
 * API contract serves the report as it is (shared/api/contract.ts), and `packscope health --json`
 * prints it. Field names follow the state-of-health parameters of the EU Battery Regulation
 * (2023/1542, Article 14) where they match.
 */
import { z } from 'zod';

export const HEALTH_SCHEMA_ID = 'packscope-health/1';

export const BandSchema = z.object({
  /** Lower edge (inclusive); null = -Infinity. */
  from: z.number().nullable(),
  /** Upper edge (exclusive); null = +Infinity. */
  to: z.number().nullable(),
  label: z.string(),
  hours: z.number(),
});
export type Band = z.infer<typeof BandSchema>;

export const HistogramSchema = z.object({ quantity: z.string(), unit: z.string(), bands: z.array(BandSchema) });
export type Histogram = z.infer<typeof HistogramSchema>;

export const CapacityEstimateSchema = z.object({
  /** Best estimate, Ah. */
  ah: z.number(),
  /** 95 % half-width (two standard deviations), Ah. */
  uncertaintyAh: z.number(),
  /** Windows combined. */
  windows: z.number(),
});
export type CapacityEstimate = z.infer<typeof CapacityEstimateSchema>;

export const CapacityWindowSchema = z.object({
  fromIndex: z.number(),
  toIndex: z.number(),
  /** The device's segment counters of the two rest points (null: a recording without segments). */
  fromSegment: z.number().nullable(),
  toSegment: z.number().nullable(),
  fromT: z.number(),
  toT: z.number(),
  /** Charge counted between the two rest points, Ah (positive = charged). */
  chargeAh: z.number(),
  /** Median SOC change of the cells, percent. */
  socSwingPercent: z.number(),
  /** Capacity of the weakest cell in this window, Ah. */
  packAh: z.number(),
  uncertaintyAh: z.number(),
});
export type CapacityWindow = z.infer<typeof CapacityWindowSchema>;

export const CellHealthSchema = z.object({
  cell: z.number(),
  capacity: CapacityEstimateSchema.nullable(),
  /** Internal resistance (ohmic plus the polarisation seen within one record interval), mΩ; null without steps. */
  resistanceMilliOhm: z.number().nullable(),
  resistanceSamples: z.number(),
  /** Self-discharge relative to the mean of the cells, percent SOC per hour (positive: loses charge faster); null without long rests. */
  relativeSelfDischargePctPerH: z.number().nullable(),
  /** Mean deviation from the other cells' mean at rest points, mV. */
  restDeviationMv: z.number().nullable(),
  /** What stands out about this cell, in words (empty: nothing). */
  flags: z.array(z.string()),
});
export type CellHealth = z.infer<typeof CellHealthSchema>;

/** A guided capacity test the log holds (shared/health/capacity-test.ts), measured from its signed records. */
export const LoggedCapacityTestSchema = z.object({
  startedMs: z.number().nullable(),
  dischargeFromMs: z.number(),
  dischargeToMs: z.number().nullable(),
  endedMs: z.number().nullable(),
  outcome: z.enum(['complete', 'aborted', 'unfinished']),
  dischargedAh: z.number(),
  dischargedWh: z.number(),
  meanCurrentA: z.number(),
  records: z.number(),
  longestGapS: z.number(),
});

export const HealthReportSchema = z.object({
  schema: z.literal(HEALTH_SCHEMA_ID),
  /** Records analysed and the time they span. */
  records: z.number(),
  fromT: z.number().nullable(),
  toT: z.number().nullable(),
  ratedCapacityAh: z.number().nullable(),
  /** Remaining (full-charge) capacity: the weakest cell's; null when no usable window. */
  remainingCapacity: CapacityEstimateSchema.nullable(),
  /** 100 − remaining/rated, percent; null when either is unknown. */
  capacityFadePercent: z.number().nullable(),
  /** Why capacity could not be measured (null when it was). */
  capacityNotAssessable: z.string().nullable(),
  capacityWindows: z.array(CapacityWindowSchema),
  capacityThroughput: z.object({ chargeAh: z.number(), dischargeAh: z.number() }),
  energyThroughput: z.object({ chargeWh: z.number(), dischargeWh: z.number() }),
  /** Discharged charge over the rated capacity; null when the rating is unknown. */
  equivalentFullCycles: z.number().nullable(),
  /** Hours with the hottest sensor ≥ 45 °C or the coldest < 0 °C, overall and while charging. */
  timeAtExtremeTemperatureH: z.object({ overall: z.number(), whileCharging: z.number() }),
  deepDischargeEvents: z.number(),
  overcurrentEvents: z.number(),
  /** Hours resting at or below 10 % SOC. */
  storageAtLowSocH: z.number(),
  cells: z.array(CellHealthSchema),
  /** Spread of the cells at rest points (max − min), mV: first, last and trend per day. */
  balance: z.object({ firstMv: z.number(), lastMv: z.number(), trendMvPerDay: z.number().nullable(), points: z.number() }).nullable(),
  histograms: z.object({ temperature: HistogramSchema, temperatureWhileCharging: HistogramSchema, soc: HistogramSchema, cRate: HistogramSchema }),
  /** Breaks in coulomb counting (gaps, restarts, index jumps). */
  breaks: z.number(),
  /**
   * Guided capacity tests in the log, oldest first; absent when the log holds none, so a report
   * of a log without tests is byte for byte what PackScope made before tests existed (a package's
   * health.json is compared with the one recomputed at verification).
   */
  capacityTests: z.array(LoggedCapacityTestSchema).optional(),
});
export type HealthReport = z.infer<typeof HealthReportSchema>;

/**
 * The board's signed lifetime counters as a report shows them (shared/health/lifetime.ts; PROTOCOL.md
 * 7.7): verified against the device key and the checkpoint they came with, and checked against the
 * records the log holds. Null where a report has them means the board keeps none: absent, not zero.
 */
export const LifetimeViewSchema = z.object({
  /** True when the device signature, the binding to the checkpoint and the check against the records all hold. */
  verified: z.boolean(),
  /** What does not hold, in words (empty when verified). */
  problems: z.array(z.string()),
  /** When the board began counting (ISO 8601). */
  since: z.string(),
  countedH: z.number(),
  capacityThroughput: z.object({ chargeAh: z.number(), dischargeAh: z.number() }),
  energyThroughput: z.object({ chargeWh: z.number(), dischargeWh: z.number() }),
  /** Discharged charge over the rating the board counts against (ratedCapacityAh). */
  equivalentFullCycles: z.number(),
  ratedCapacityAh: z.number(),
  deepDischargeEvents: z.number(),
  overcurrentEvents: z.number(),
  storageAtLowSocH: z.number(),
  /** The board's thresholds: rest current (A), deep discharge (V), low SOC (%). */
  thresholds: z.object({ restCurrentA: z.number(), deepDischargeV: z.number(), lowSocPercent: z.number() }),
  histograms: z.object({ temperature: HistogramSchema, temperatureWhileCharging: HistogramSchema, soc: HistogramSchema }),
  /** Records since the board began counting that the counters were checked against, and the restarts among them. */
  checkedRecords: z.number(),
  restarts: z.number(),
});
export type LifetimeView = z.infer<typeof LifetimeViewSchema>;

const ratingSource = z.enum(['certificate', 'identity', 'given', 'unknown']);
export type RatingSource = z.infer<typeof ratingSource>;

/** A log's health with what the log says of itself (electron/host/health/log-health.ts). */
export const LogHealthSchema = z.object({
  file: z.string(),
  device: z.object({ model: z.string().nullable(), serial: z.string().nullable() }),
  /** 'device': the board's signed black box; 'desktop': recorded by PackScope (unsigned). */
  source: z.enum(['device', 'desktop']),
  /** Device logs: true when every segment and the checkpoint verify (and the certificate chains to the root, when given). */
  verified: z.boolean().nullable(),
  /** The first verification problem, in words (null: none, or a desktop recording). */
  problem: z.string().nullable(),
  rating: z.object({ chemistry: z.string().nullable(), ratedCapacityAh: z.number().nullable(), chemistryFrom: ratingSource, capacityFrom: ratingSource }),
  report: HealthReportSchema,
  /** The board's signed lifetime counters with what verification found (null: the board keeps none, or a desktop recording). */
  lifetime: LifetimeViewSchema.nullable(),
});
export type LogHealth = z.infer<typeof LogHealthSchema>;
