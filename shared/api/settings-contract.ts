/**
 * The Settings screen's part of the API contract (spread into contract.methods): read a board's
 * settings with the limits it states, change one or many (the host validates again before sending
 * and reads back after), back them up to a file, compare the board with a backup or a profile, and
 * restore a backup. Setting ids and units are the catalogue's (shared/settings/catalog.ts).
 */
import { z } from 'zod';
import { BackupBoardSchema } from '../settings/backup.js';
import { SETTINGS_PROTOCOLS } from '../settings/catalog.js';
import { hostPath } from './schemas.js';

const settingId = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const values = z.record(z.string(), z.number());
/** How a JBD board leaves factory mode after a write (see electron/host/settings/access.ts). */
const jbdExit = z.enum(['keep-counters', 'save-and-reset-counters']);
/** Who makes the change: signed with the tool's identity into a native board's change record. */
const operator = z.string().trim().max(100).optional();

export const settingsReadView = z.object({
  protocol: z.enum(SETTINGS_PROTOCOLS),
  board: BackupBoardSchema,
  values,
  /** The board's own limits per setting (a native board's PARAM_LIST, a JBD register's scale). */
  limits: z.record(z.string(), z.object({ min: z.number(), max: z.number(), writable: z.boolean(), step: z.number().positive().optional() })),
  /** JBD: the 0xAA protection counters, read before anything is written. */
  jbdErrorCounters: z.record(z.string(), z.number()).nullable(),
  /** Native: the digest of the board's signed snapshot of these values. */
  snapshotDigest: z.string().nullable(),
  /** Series cells (from the values or the board's identity), for a profile's pack-level values. */
  cellCount: z.number().nullable(),
  notes: z.array(z.string()),
});

const outcome = z.object({
  id: z.string(),
  requested: z.number(),
  result: z.enum(['written', 'unchanged', 'refused', 'not_applied']),
  stored: z.number().nullable(),
  reason: z.string().optional(),
});

const difference = z.object({ id: z.string(), left: z.number().nullable(), right: z.number().nullable() });

export const settingsApplyView = z.object({
  before: values,
  requested: values,
  outcomes: z.array(outcome),
  after: values,
  mismatches: z.array(z.object({ id: z.string(), expected: z.number(), got: z.number().nullable() })),
  notes: z.array(z.string()),
  jbdErrorCounters: z.record(z.string(), z.number()).optional(),
  /** Restore only: what still differs from the backup after the read-back. */
  remaining: z.array(difference).optional(),
});

export const settingsCompareView = z.object({
  kind: z.enum(['backup', 'profile']),
  /** The file's name, or the built-in profile's name. */
  name: z.string(),
  values,
  /** Left: the board; right: the backup or profile (a profile names only what it prescribes). */
  differences: z.array(difference),
  /** Of the differences, those a restore would write (writable on this board). */
  writable: z.array(z.string()),
  backup: z
    .object({
      protocol: z.enum(SETTINGS_PROTOCOLS),
      board: BackupBoardSchema,
      createdAt: z.string(),
      digest: z.string(),
      /** Taken from the connected board (model, serial and board id agree). */
      sameBoard: z.boolean(),
      jbdErrorCounters: z.record(z.string(), z.number()).nullable(),
    })
    .nullable(),
});

const method = <Req extends z.ZodType, Res extends z.ZodType>(request: Req, response: Res, summary: string) => ({ request, response, summary });

export const settingsMethods = {
  'settings.read': method(
    z.object({}).strict(),
    settingsReadView,
    "Reads every setting the connected board exposes, in the catalogue's ids and units, with the limits it states.",
  ),
  'settings.apply': method(
    z
      .object({
        changes: z.record(settingId, finite).refine((c) => Object.keys(c).length > 0 && Object.keys(c).length <= 64, 'one to 64 changes'),
        operator,
        jbdExit: jbdExit.optional(),
      })
      .strict(),
    settingsApplyView,
    'Changes one or many settings: checked before anything is sent (nothing is written if one fails), then read back; per setting, what the board did and the value it holds.',
  ),
  'settings.backup': method(
    z.object({ out: hostPath.optional() }).strict(),
    z.object({ path: z.string(), digest: z.string(), settings: z.number(), board: BackupBoardSchema }),
    'Backs the board’s settings up to a JSON file with a digest (default: a fresh name in the data folder), written atomically.',
  ),
  'settings.compare': method(
    z.union([z.object({ path: hostPath }).strict(), z.object({ profile: z.string().min(1).max(64) }).strict()]),
    settingsCompareView,
    'Compares the board with a backup file, a profile file or a built-in profile (lfp, nmc).',
  ),
  'settings.restore': method(
    z.object({ path: hostPath, anyBoard: z.boolean().default(false), operator, jbdExit: jbdExit.optional() }).strict(),
    settingsApplyView,
    'Restores a backup: writes only the writable settings that differ, then reads everything back and compares.',
  ),
};
