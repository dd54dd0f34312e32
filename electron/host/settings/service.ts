/**
 * The settings jobs the CLI and the app share: read, change (validate first, write only what
 * differs, read back and compare), back up, restore (write only what differs from the backup, then
 * read everything back and compare) and compare with a profile or another backup.
 */
import { hostname } from 'node:os';
import { PackscopeError } from '../../../shared/errors.js';
import { diffSettings, makeBackup, type SettingDifference, type SettingsBackup } from '../../../shared/settings/backup.js';
import { quantize, settingDef } from '../../../shared/settings/catalog.js';
import { validateChanges, type ValidationIssue } from '../../../shared/settings/validate.js';
import type { Session } from '../session.js';
import { toolVersion } from '../evidence/package-file.js';
import type { JbdExit, SettingsAccess, SettingsRead, WriteOutcome } from './access.js';
import { NativeSettingsAccess } from './native-access.js';
import { commoditySettingsAccess } from './commodity.js';

/** Who changes settings: signed into the native board's change records. */
export function toolIdentity(operator?: string): string {
  const who = operator ? `; operator ${operator}` : '';
  return `packscope ${toolVersion()}; host ${hostname()}${who}`.slice(0, 200);
}

/** The settings back end for the session's protocol. */
export async function settingsAccess(session: Session): Promise<SettingsAccess> {
  const native = session.native;
  if (native) return new NativeSettingsAccess(native);
  const access = commoditySettingsAccess(session);
  if (!access) throw new PackscopeError('USAGE', `settings are not available over the ${session.protocol} protocol`);
  return access;
}

export interface ApplyReport {
  before: Record<string, number>;
  /** The changes as validated and rounded; settings already at their value are left out of the write. */
  requested: Record<string, number>;
  outcomes: WriteOutcome[];
  after: Record<string, number>;
  /** Requested values the read-back does not show. */
  mismatches: Array<{ id: string; expected: number; got: number | null }>;
  notes: string[];
  jbdErrorCounters?: Record<string, number>;
}

/** Raised before anything is sent: every issue at once, in details. */
export class SettingsValidationError extends PackscopeError {
  constructor(readonly issues: ValidationIssue[]) {
    super('USAGE', `nothing was written: ${issues.map((i) => `${i.id}=${i.value}: ${i.reason}`).join('; ')}`, { issues });
  }
}

function same(id: string, a: number, b: number | null | undefined): boolean {
  if (b === null || b === undefined) return false;
  const def = settingDef(id);
  return def ? quantize(def, a) === quantize(def, b) : a === b;
}

/** The read-back shows what was written: exactly, or within its drift for a state that moves by itself (the SOC). */
function readBackMatches(id: string, written: number, read: number | null | undefined): boolean {
  const tolerance = settingDef(id)?.volatile?.tolerance;
  if (tolerance === undefined || read === null || read === undefined) return same(id, written, read);
  return Math.abs(read - written) <= tolerance;
}

export async function applySettings(
  access: SettingsAccess,
  changes: Readonly<Record<string, number>>,
  options: { tool: string; signal?: AbortSignal; jbdExit?: JbdExit; current?: SettingsRead },
): Promise<ApplyReport> {
  const current = options.current ?? (await access.read(options.signal));
  const v = validateChanges(changes, { protocol: access.protocol, limits: current.limits, current: current.values });
  if (!v.ok) throw new SettingsValidationError(v.issues);
  const toWrite = Object.fromEntries(Object.entries(v.changes).filter(([id, value]) => !same(id, value, current.values[id])));
  const outcomes: WriteOutcome[] = Object.entries(v.changes)
    .filter(([id]) => !(id in toWrite))
    .map(([id, value]) => ({ id, requested: value, result: 'unchanged', stored: current.values[id] ?? null }));
  if (Object.keys(toWrite).length) {
    outcomes.push(
      ...(await access.write(toWrite, {
        tool: options.tool,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.jbdExit ? { jbdExit: options.jbdExit } : {}),
      })),
    );
  }
  const after = Object.keys(toWrite).length ? await access.read(options.signal) : current;
  const mismatches = Object.entries(v.changes)
    .filter(([id]) => outcomes.find((o) => o.id === id)?.result !== 'refused' && outcomes.find((o) => o.id === id)?.result !== 'not_applied')
    .filter(([id, value]) => !readBackMatches(id, value, after.values[id]))
    .map(([id, expected]) => ({ id, expected, got: after.values[id] ?? null }));
  return {
    before: current.values,
    requested: v.changes,
    outcomes,
    after: after.values,
    mismatches,
    notes: [...new Set([...current.notes, ...after.notes])],
    ...(current.jbdErrorCounters ? { jbdErrorCounters: current.jbdErrorCounters } : {}),
  };
}

export async function takeBackup(
  access: SettingsAccess,
  options: { tool: string; now: Date; signal?: AbortSignal; current?: SettingsRead },
): Promise<SettingsBackup> {
  const r = options.current ?? (await access.read(options.signal));
  // A state that moves by itself (the SOC) is no setting to keep or put back.
  const values = Object.fromEntries(Object.entries(r.values).filter(([id]) => !settingDef(id)?.volatile));
  return makeBackup({
    protocol: r.protocol,
    board: r.board,
    values,
    createdAt: options.now,
    tool: options.tool,
    ...(r.jbdErrorCounters ? { jbdErrorCounters: r.jbdErrorCounters } : {}),
    ...(r.deviceSnapshot ? { deviceSnapshot: r.deviceSnapshot } : {}),
  });
}

export interface RestoreReport extends ApplyReport {
  /** Differences between the backup and the board after the restore (writable settings only). */
  remaining: SettingDifference[];
}

/**
 * Restores a backup onto the board it was taken from (another board of the same protocol only with
 * `anyBoard`): writes the writable settings that differ, then reads everything back and compares.
 */
export async function restoreBackup(
  access: SettingsAccess,
  backup: SettingsBackup,
  options: { tool: string; signal?: AbortSignal; jbdExit?: JbdExit; anyBoard?: boolean },
): Promise<RestoreReport> {
  if (backup.protocol !== access.protocol) {
    throw new PackscopeError('REFUSED', `the backup is of a ${backup.protocol} board; this board speaks ${access.protocol}`);
  }
  const current = await access.read(options.signal);
  const b = backup.board;
  if (!options.anyBoard && (b.serial !== current.board.serial || b.boardId !== current.board.boardId || b.model !== current.board.model)) {
    throw new PackscopeError(
      'REFUSED',
      `the backup was taken from ${b.model} ${b.serial || '(no serial)'} (${b.boardId}); this is ${current.board.model} ${current.board.serial || '(no serial)'} (${current.board.boardId}). Use --any-board to restore it here anyway`,
    );
  }
  const writable = new Set([...current.limits].filter(([, l]) => l.writable).map(([id]) => id));
  const changes = Object.fromEntries(
    diffSettings(current.values, backup.values, writable)
      .filter((d) => d.right !== null)
      .map((d) => [d.id, d.right!]),
  );
  const report = await applySettings(access, changes, { ...options, current });
  return { ...report, remaining: diffSettings(report.after, backup.values, writable).filter((d) => d.right !== null) };
}
