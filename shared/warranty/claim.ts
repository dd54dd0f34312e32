/**
 * The claim form the customer fills in (CLAIM.json / the app's Claim screen). Validated strictly:
 * a typo in a key name is an error rather than a silently empty field on the supplier's side.
 */
import { z } from 'zod';
import { PackscopeError } from '../errors.js';
import { utf8Decode } from '../util/bytes.js';
import { formatPath } from '../util/json-path.js';

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  }, 'not a calendar date');

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`);

export const REMEDIES = ['repair', 'replacement', 'consultation'] as const;
export type Remedy = (typeof REMEDIES)[number];

export const PROBLEMS = ['capacity', 'other'] as const;
export type Problem = (typeof PROBLEMS)[number];

export const ClaimSchema = z.strictObject({
  customer: text(200).describe('Customer name.'),
  contact: text(200).describe('E-mail address or phone number.'),
  model: text(100).describe('Product model as printed on the pack.'),
  serial: text(100).describe('Serial number as printed on the pack.'),
  purchaseDate: isoDate.describe('Purchase date, YYYY-MM-DD.'),
  description: text(10_000).describe('What went wrong, in the customer’s words.'),
  remedy: z.enum(REMEDIES, { error: () => 'remedy must be one of repair, replacement, consultation' }),
  problem: z
    .enum(PROBLEMS, { error: () => 'problem must be one of capacity, other' })
    .optional()
    .describe('What the pack does wrong: "capacity" (it no longer holds its charge) is decided by the capacity guarantee of the policy.'),
  failureDate: isoDate
    .optional()
    .describe(
      'When the problem appeared, YYYY-MM-DD (default: the day the claim was made: the claim ticket’s issue day, else the board’s clock at the pull, else the day the package is created).',
    ),
});
export type Claim = z.infer<typeof ClaimSchema>;

/** Validates a parsed claim; a bad claim is a usage error naming every field at fault. */
export function validateClaim(value: unknown): Claim {
  const r = ClaimSchema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  throw new PackscopeError('USAGE', `claim is not valid:\n${problems.map((p) => `  ${p.path || '(document)'}: ${p.message}`).join('\n')}`, problems);
}

/**
 * Parses a claim form file. Text that is not JSON is a bad input file (DECODE), named by `name`;
 * the message never quotes the file's bytes, which may be binary.
 */
export function parseClaim(text: string | Uint8Array, name = 'claim'): Claim {
  const notClaim = (why: string) => new PackscopeError('DECODE', `${name} is not a JSON claim form (${why})`);
  const s = typeof text === 'string' ? text : utf8Decode(text);
  if (s.includes('\u0000') || s.includes('\ufffd')) throw notClaim('binary data');
  let json: unknown;
  try {
    json = JSON.parse(s);
  } catch (e) {
    const at = /at position (\d+)/.exec((e as Error).message);
    throw notClaim(at ? `not valid JSON at line ${s.slice(0, Number(at[1])).split('\n').length}` : 'not valid JSON');
  }
  return validateClaim(json);
}

/** Milliseconds since the epoch of a YYYY-MM-DD date (midnight UTC). */
export function dateToMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}
