/**
 * Settings backups and comparisons. A backup is a JSON document: the board's identity, the
 * protocol, every value PackScope read (canonical ids and units) and a digest over exactly those,
 * so two backups of an unchanged board have the same digest whenever they were taken. What is
 * kept beside the values (a JBD board's protection counters, the native board's signed snapshot)
 * is evidence, not settings, and stays out of the digest.
 */
import { z } from 'zod';
import { sha256 } from '@noble/hashes/sha2.js';
import { canonicalJson } from '../codec/canonical-json.js';
import { DecodeError } from '../errors.js';
import { toHex, utf8Encode } from '../util/bytes.js';
import { formatPath } from '../util/json-path.js';
import { quantize, settingDef, SETTINGS_PROTOCOLS, type SettingsProtocol } from './catalog.js';

export const BACKUP_FORMAT = 'packscope-settings-backup/1';

export const BackupBoardSchema = z.strictObject({
  model: z.string().max(200),
  serial: z.string().max(200),
  boardId: z.string().max(200),
  hardwareRevision: z.string().max(200),
  firmwareVersion: z.string().max(200),
});
export type BackupBoard = z.infer<typeof BackupBoardSchema>;

const Values = z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), z.number().refine(Number.isFinite, 'must be finite'));

export const SettingsBackupSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  createdAt: z.iso.datetime(),
  tool: z.string().max(200),
  protocol: z.enum(SETTINGS_PROTOCOLS),
  board: BackupBoardSchema,
  values: Values,
  /** SHA-256 (hex) of canonical JSON {format, protocol, board, values}. */
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  /** JBD: the 0xAA protection counters as read before any write (evidence; not in the digest). */
  jbdErrorCounters: z.record(z.string(), z.number().int().min(0).max(0xffff)).optional(),
  /** Native: the board's signed settings snapshot (hex) and its digest (evidence; not in the digest). */
  deviceSnapshot: z.strictObject({ hex: z.string().regex(/^([0-9a-f]{2})+$/), digest: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
});
export type SettingsBackup = z.infer<typeof SettingsBackupSchema>;

export function settingsDigest(protocol: SettingsProtocol, board: BackupBoard, values: Readonly<Record<string, number>>): string {
  return toHex(sha256(utf8Encode(canonicalJson({ format: BACKUP_FORMAT, protocol, board, values }))));
}

export function makeBackup(input: {
  protocol: SettingsProtocol;
  board: BackupBoard;
  values: Readonly<Record<string, number>>;
  createdAt: Date;
  tool: string;
  jbdErrorCounters?: Record<string, number>;
  deviceSnapshot?: { hex: string; digest: string };
}): SettingsBackup {
  const values = Object.fromEntries(
    Object.keys(input.values)
      .sort()
      .map((k) => [k, input.values[k]!]),
  );
  return {
    format: BACKUP_FORMAT,
    createdAt: input.createdAt.toISOString(),
    tool: input.tool,
    protocol: input.protocol,
    board: input.board,
    values,
    digest: settingsDigest(input.protocol, input.board, values),
    ...(input.jbdErrorCounters ? { jbdErrorCounters: input.jbdErrorCounters } : {}),
    ...(input.deviceSnapshot ? { deviceSnapshot: input.deviceSnapshot } : {}),
  };
}

/** Parses and checks a backup file: schema, then the digest over its values. */
export function parseBackup(text: string): SettingsBackup {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DecodeError(`not a settings backup: ${(e as Error).message}`);
  }
  const r = SettingsBackupSchema.safeParse(json);
  if (!r.success)
    throw new DecodeError(`not a settings backup: ${r.error.issues.map((i) => `${formatPath(i.path) || '(document)'}: ${i.message}`).join('; ')}`);
  const b = r.data;
  const want = settingsDigest(b.protocol, b.board, b.values);
  if (want !== b.digest)
    throw new DecodeError(
      `settings backup digest does not match its values (file says ${b.digest.slice(0, 16)}…, values give ${want.slice(0, 16)}…): the file was altered`,
    );
  return b;
}

export interface SettingDifference {
  id: string;
  /** Value on the left (the board, or the first backup); null when absent. */
  left: number | null;
  right: number | null;
}

/**
 * Settings whose values differ (after rounding to their steps), by id. States that move by
 * themselves (the SOC: catalogue `volatile`) are not settings to compare and are left out.
 */
export function diffSettings(left: Readonly<Record<string, number>>, right: Readonly<Record<string, number>>, only?: ReadonlySet<string>): SettingDifference[] {
  const ids = new Set([...Object.keys(left), ...Object.keys(right)]);
  const out: SettingDifference[] = [];
  for (const id of [...ids].sort()) {
    if (only && !only.has(id)) continue;
    const def = settingDef(id);
    if (def?.volatile) continue;
    const a = left[id];
    const b = right[id];
    const qa = a === undefined ? null : def ? quantize(def, a) : a;
    const qb = b === undefined ? null : def ? quantize(def, b) : b;
    if (qa !== qb) out.push({ id, left: qa, right: qb });
  }
  return out;
}
