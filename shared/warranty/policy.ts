/**
 * The warranty policy: a JSON document the supplier publishes and PackScope evaluates logs
 * against. The zod schema below is the single source of truth; `policy.schema.json` beside this
 * file is generated from it (`packscope policy schema`) for editors and other tools, and
 * POLICY.md documents every field.
 */
import { z } from 'zod';
import { sha256 } from '@noble/hashes/sha2.js';
import { ALARM_FLAGS } from '../types/domain.js';
import { PackscopeError } from '../errors.js';
import { toHex, utf8Encode, utf8Decode } from '../util/bytes.js';
import { canonicalJson } from '../codec/canonical-json.js';
import { formatPath } from '../util/json-path.js';
import { settingDef } from '../settings/catalog.js';

export const POLICY_SCHEMA_ID = 'packscope-warranty-policy/1';

/**
 * Reserved: the name under which an evaluation's `excludedBy` lists unreadable attested segments
 * (evidence.unreadableSegments = 'excluded'), so no clause may use it as its id.
 */
export const UNREADABLE_SEGMENTS_ID = 'unreadable-segments';

const clauseId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a clause id is 1–64 characters: lower-case letters, digits, ".", "_" or "-"')
  .describe('Stable identifier of the clause, quoted in findings and verdicts.');
const title = z.string().min(1).max(200).describe('Plain-language statement of the clause, shown to the customer.');
const minDurationS = z
  .number()
  .min(0)
  .max(31_536_000)
  .describe('The condition must hold for at least this many seconds in an unbroken run of records (0 = any single record).');
const sensors = z.array(z.number().int().min(0).max(63)).min(1).optional().describe('Temperature sensor indices the clause looks at (default: all sensors).');
const celsius = (what: string) => z.number().min(-100).max(300).describe(what);
const cRate = (what: string) => z.number().gt(0).max(1000).describe(what);
const cellVolts = (what: string) => z.number().gt(0).max(10).describe(what);
const restCurrentA = z.number().min(0).max(10_000).describe('|current| at or below this counts as rest, A.');
const guaranteePoints = (x: 'years' | 'equivalentCycles', what: string) =>
  z
    .array(z.strictObject({ [x]: z.number().min(0).max(1_000_000), retentionPercent: z.number().min(0).max(100) }))
    .min(1)
    .max(32)
    .refine((pts) => pts.every((p, i) => i === 0 || (p[x] as number) > (pts[i - 1]![x] as number)), { message: `${x} must ascend` })
    .describe(what);

export const VoidConditionSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('discharge_current_above_c').describe('Discharge current above thresholdC × rated capacity.'),
      thresholdC: cRate('Discharge rate limit in C (multiples of the rated capacity in A).'),
      minDurationS,
    }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('charge_current_above_c').describe('Charge current above thresholdC × rated capacity.'),
      thresholdC: cRate('Charge rate limit in C.'),
      minDurationS,
    }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('charge_below_temperature').describe('Charging while the coldest selected sensor is below thresholdCelsius.'),
      thresholdCelsius: celsius('Lowest temperature at which charging is allowed, °C.'),
      minChargeCurrentA: z
        .number()
        .min(0)
        .max(10_000)
        .describe('Current above which the pack counts as charging, A (keeps sensor noise at rest from counting).'),
      minDurationS,
      sensors,
    }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('temperature_above').describe('Operating with the hottest selected sensor above thresholdCelsius.'),
      thresholdCelsius: celsius('Highest allowed temperature, °C.'),
      minDurationS,
      sensors,
    }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('cell_voltage_below').describe('Any cell below thresholdV (deep discharge).'),
      thresholdV: cellVolts('Lowest allowed cell voltage, V.'),
      minDurationS,
    }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('cell_voltage_above').describe('Any cell above thresholdV (overcharge).'),
      thresholdV: cellVolts('Highest allowed cell voltage, V.'),
      minDurationS,
    }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('stored_below_soc').describe('Left at rest (storage) at or below thresholdPercent state of charge.'),
      thresholdPercent: z.number().min(0).max(100).describe('Lowest state of charge allowed in storage, percent.'),
      restCurrentA,
      minDurationS,
    }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('cell_resting_below').describe('Any cell below thresholdV while the pack rests (stored deeply discharged).'),
      thresholdV: cellVolts('Lowest cell voltage allowed at rest, V.'),
      restCurrentA,
      minDurationS,
    }),
    z
      .strictObject({
        id: clauseId,
        title,
        kind: z
          .literal('throughput_above')
          .describe('Coverage ends once the pack has delivered more than the cap: equivalent full cycles or discharged energy.'),
        maxEquivalentCycles: z.number().gt(0).max(1_000_000).optional().describe('Cap on discharged charge over the rated capacity.'),
        maxDischargeMWh: z.number().gt(0).max(1_000_000).optional().describe('Cap on discharged energy, MWh.'),
      })
      .refine((c) => c.maxEquivalentCycles !== undefined || c.maxDischargeMWh !== undefined, {
        message: 'give maxEquivalentCycles, maxDischargeMWh or both',
      }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z
        .literal('protection_settings_outside_range')
        .describe(
          "A BMS setting changed to, or held at, a value outside the supplier's allowed range: judged from the board's signed settings " +
            'change records and its signed snapshot (shared/settings).',
        ),
      ranges: z
        .record(
          z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a setting id from the settings catalogue (shared/settings/catalog.ts)'),
          z
            .strictObject({
              min: z.number().optional().describe('Lowest allowed value, in the setting’s unit.'),
              max: z.number().optional().describe('Highest allowed value, in the setting’s unit.'),
            })
            .refine((r) => r.min !== undefined || r.max !== undefined, 'give min, max or both')
            .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not exceed max'),
        )
        .refine((r) => Object.keys(r).length > 0, 'name at least one setting')
        .superRefine((r, ctx) => {
          for (const id of Object.keys(r))
            if (!settingDef(id)) ctx.addIssue({ code: 'custom', path: [id], message: `'${id}' is not a setting of the settings catalogue` });
        })
        .describe('Allowed range per setting id (catalogue units: V, A, °C, s).'),
    }),
  ],
  {
    error: () =>
      'unknown void condition kind; expected one of discharge_current_above_c, charge_current_above_c, ' +
      'charge_below_temperature, temperature_above, cell_voltage_below, cell_voltage_above, stored_below_soc, ' +
      'cell_resting_below, throughput_above, protection_settings_outside_range',
  },
);
export type VoidCondition = z.infer<typeof VoidConditionSchema>;

export const DefectIndicatorSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('cell_drift_at_rest').describe('One cell deviating from the mean of the others while the pack rests.'),
      thresholdV: z.number().gt(0).max(5).describe('Deviation of one cell from the mean of the others that indicates a defect, V.'),
      restCurrentA: z.number().min(0).max(10_000).describe('|current| at or below this counts as rest, A.'),
      settleS: z.number().min(0).max(86_400).describe('Seconds at rest before cell voltages are compared (lets them relax).'),
      minSocPercent: z
        .number()
        .min(0)
        .max(100)
        .describe('Compare only at or above this pack SOC: near empty, healthy cells spread apart on the steep end of the curve.'),
      maxSocPercent: z
        .number()
        .min(0)
        .max(100)
        .describe('Compare only at or below this pack SOC: near full, healthy cells spread apart until balancing is done.'),
      minDurationS,
    }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('capacity_fade').describe('Capacity measured by coulomb counting below the rated capacity by more than maxFadePercent.'),
      maxFadePercent: z.number().gt(0).max(100).describe('Fade beyond this percentage of the rated capacity indicates a defect.'),
      minSocSwingPercent: z.number().gt(0).max(100).describe('State-of-charge swing the log must cover in total before capacity is estimated, percent.'),
    }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z
        .literal('capacity_below_guarantee')
        .describe(
          'Capacity measured from rested cell voltages and counted charge (shared/health) below the guaranteed retention: ' +
            'the lower of the age curve and the cycle curve, interpolated linearly from 100 % when new.',
        ),
      curve: guaranteePoints('years', 'Guaranteed retention by age since purchase, e.g. [{"years": 10, "retentionPercent": 80}].'),
      cycleCurve: guaranteePoints(
        'equivalentCycles',
        'Guaranteed retention by equivalent full cycles, e.g. [{"equivalentCycles": 6000, "retentionPercent": 80}].',
      ).optional(),
      restCurrentA: restCurrentA.optional(),
      settleS: z.number().min(1).max(86_400).optional().describe('Seconds at rest before a cell voltage counts as open-circuit (default 300).'),
    }),
    z.strictObject({
      id: clauseId,
      title,
      kind: z.literal('bms_fault').describe('BMS hardware fault alarms or event codes.'),
      alarms: z.array(z.enum(ALARM_FLAGS)).describe('Alarm flag names (shared/types/domain ALARM_FLAGS) that indicate a hardware fault.'),
      events: z.array(z.number().int().min(1).max(65_535)).describe('Black-box event codes that indicate a hardware fault.'),
      minDurationS,
    }),
  ],
  { error: () => 'unknown defect indicator kind; expected one of cell_drift_at_rest, capacity_fade, capacity_below_guarantee, bms_fault' },
);
export type DefectIndicator = z.infer<typeof DefectIndicatorSchema>;

const inspectionText = (what: string) => z.string().max(200).regex(/\S/, 'must not be empty').describe(what);

export const InspectionSchema = z.strictObject({
  id: clauseId,
  title,
  condition: inspectionText('The condition logs cannot show, e.g. "physical damage", "water ingress", "swollen cells", "wrong charger".'),
  requires: z
    .array(inspectionText('One photo or inspection the supplier needs, e.g. "photo of the charger label".'))
    .min(1)
    .max(32)
    .describe('The photos or inspections the supplier needs before the claim can be covered.'),
});
export type Inspection = z.infer<typeof InspectionSchema>;

export const WarrantyPolicySchema = z
  .strictObject({
    $schema: z.string().optional().describe('Optional pointer to policy.schema.json for editors.'),
    schema: z.literal(POLICY_SCHEMA_ID).describe(`Format identifier; must be "${POLICY_SCHEMA_ID}".`),
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a policy id is 1–100 characters: letters, digits, ".", "_" or "-"')
      .describe('Identifier of this policy, quoted in every evaluation.'),
    version: z
      .number()
      .int()
      .min(1)
      .max(1_000_000_000)
      .optional()
      .describe('Version of the policy under this id; a policy store refuses the same id and version with different content.'),
    title: z.string().min(1).max(200),
    supplier: z.string().max(200).optional(),
    warranty: z
      .strictObject({
        periodDays: z.number().int().min(1).max(36_500).describe('Warranty period from the purchase date, days.'),
        doaDays: z.number().int().min(0).max(36_500).describe('Dead-on-arrival window from the purchase date, days.'),
      })
      .refine((w) => w.doaDays <= w.periodDays, { message: 'doaDays must not exceed periodDays', path: ['doaDays'] }),
    ratedCapacityAh: z.number().gt(0).max(100_000).optional().describe('Rated capacity used for C-rates; default: the capacity the device reports.'),
    evidence: z
      .strictObject({
        maxRecordGapS: z.number().gt(0).max(31_536_000).describe('Two consecutive records further apart than this are a gap in the evidence, s.'),
        failureProximityHours: z.number().gt(0).max(87_600).describe('The newest record must be at most this long before the reported failure, h.'),
        requireSignedData: z.boolean().describe('Unsigned data (desktop recordings) cannot support a covered verdict.'),
        unreadableSegments: z
          .enum(['inconclusive', 'excluded'])
          .optional()
          .describe(
            'Outcome when segments the board attests are missing or unreadable, so misuse cannot be ruled out: ' +
              '"inconclusive" (default) or "excluded". Never covered.',
          ),
        coverage: z
          .strictObject({
            fromPurchase: z.boolean().optional().describe('The board must hold history from the purchase date (start of day) on.'),
            minDaysBeforeFailure: z
              .number()
              .int()
              .min(0)
              .max(36_500)
              .optional()
              .describe('The board must hold history from at least this many days before the failure date.'),
          })
          .optional()
          .describe('How far back the history must reach; too little history makes the claim inconclusive.'),
      })
      .describe('What the log must show before a claim can be decided.'),
    voidConditions: z.array(VoidConditionSchema).max(64).describe('Misuse that voids the warranty.'),
    defectIndicators: z.array(DefectIndicatorSchema).max(64).describe('Signs of a manufacturing defect.'),
    inspections: z
      .array(InspectionSchema)
      .max(32)
      .optional()
      .describe('Conditions logs cannot show; a log without misuse is inconclusive until the supplier has what each one requires.'),
  })
  .superRefine((p, ctx) => {
    const seen = new Map<string, string>();
    const check = (id: string, path: (string | number)[]) => {
      const prev = seen.get(id);
      if (id === UNREADABLE_SEGMENTS_ID) {
        ctx.addIssue({ code: 'custom', path, message: `clause id "${id}" is reserved for unreadable attested segments` });
      } else if (prev) ctx.addIssue({ code: 'custom', path, message: `clause id "${id}" is already used at ${prev}` });
      else seen.set(id, path.join('.'));
    };
    p.voidConditions.forEach((c, i) => check(c.id, ['voidConditions', i, 'id']));
    p.defectIndicators.forEach((c, i) => check(c.id, ['defectIndicators', i, 'id']));
    (p.inspections ?? []).forEach((c, i) => check(c.id, ['inspections', i, 'id']));
  });
export type WarrantyPolicy = z.infer<typeof WarrantyPolicySchema>;

export interface PolicyProblem {
  /** JSON path of the offending value, e.g. `voidConditions[1].thresholdC` ('' for the document). */
  path: string;
  message: string;
}

/** Validates a parsed JSON value; returns the typed policy or the list of problems. */
export function checkPolicy(value: unknown): { ok: true; policy: WarrantyPolicy } | { ok: false; problems: PolicyProblem[] } {
  const r = WarrantyPolicySchema.safeParse(value);
  if (r.success) return { ok: true, policy: r.data };
  return { ok: false, problems: r.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
}

/** Parses policy text; throws PackscopeError('REFUSED') naming each problem (a bad policy is refused). */
export function parsePolicy(text: string | Uint8Array): WarrantyPolicy {
  const s = typeof text === 'string' ? text : utf8Decode(text);
  let json: unknown;
  try {
    json = JSON.parse(s);
  } catch (e) {
    throw new PackscopeError('REFUSED', `policy is not valid JSON: ${(e as Error).message}`, [{ path: '', message: (e as Error).message }]);
  }
  const r = checkPolicy(json);
  if (!r.ok) {
    const list = r.problems.map((p) => `  ${p.path || '(document)'}: ${p.message}`).join('\n');
    throw new PackscopeError('REFUSED', `policy does not match ${POLICY_SCHEMA_ID}:\n${list}`, r.problems);
  }
  return r.policy;
}

/** SHA-256 of the policy's canonical JSON: the same policy always has the same hash, whatever its formatting. */
export function policyHash(policy: WarrantyPolicy): string {
  return toHex(sha256(utf8Encode(canonicalJson(policy, 0))));
}

/** The JSON Schema (draft 2020-12) of the policy, generated from the zod schema. */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(WarrantyPolicySchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://packscope.dev/schemas/warranty-policy-1.json', title: 'PackScope warranty policy' };
}
