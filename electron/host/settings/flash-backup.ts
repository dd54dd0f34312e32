/**
 * Settings kept safe across a firmware update: a backup of every setting is written before
 * anything is erased, and after the update the board's settings are compared with it, so the
 * user learns what the new firmware changed and can restore the backup. Boards whose protocol
 * carries no settings PackScope reads are updated without one. Release bundles (bundle apply, the
 * Update screen) and single images (flash, the Firmware screen) take the same backup.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import { diffSettings, type SettingDifference, type SettingsBackup } from '../../../shared/settings/backup.js';
import type { Session } from '../session.js';
import { writeFileAtomic } from '../util/files.js';
import { backupFileName } from './files.js';
import { settingsAccess, takeBackup, toolIdentity } from './service.js';

export interface FlashBackup {
  path: string;
  digest: string;
  backup: SettingsBackup;
}

/** Writes the backup into `dir` (its name says `label`); null when the board's protocol carries no settings. */
export async function backupBeforeFlash(
  session: Session,
  dir: string,
  now: Date,
  signal?: AbortSignal,
  label: 'before-update' | 'before-flash' = 'before-update',
): Promise<FlashBackup | null> {
  let access;
  try {
    access = await settingsAccess(session);
  } catch (e) {
    if (e instanceof PackscopeError && e.code === 'USAGE') return null;
    throw e;
  }
  const backup = await takeBackup(access, { tool: toolIdentity(), now, ...(signal ? { signal } : {}) });
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, backupFileName(backup.board.serial, now, label));
  writeFileAtomic(file, JSON.stringify(backup, null, 2) + '\n');
  return { path: file, digest: backup.digest, backup };
}

/** The writable settings that differ from the backup now (left: the board, right: the backup). */
export async function settingsSinceBackup(session: Session, b: FlashBackup, signal?: AbortSignal): Promise<SettingDifference[]> {
  const access = await settingsAccess(session);
  const now = await access.read(signal);
  const writable = new Set([...now.limits].filter(([, l]) => l.writable).map(([id]) => id));
  return diffSettings(now.values, b.backup.values, writable).filter((d) => d.right !== null);
}

/** The settings side of a flash: the backup taken before anything was erased and what differs from it afterwards. */
export interface SettingsAcrossFlash {
  backup: { path: string; digest: string } | null;
  /** Writable settings that differ from the backup after the flash (left: the board, right: the backup); null when the board could not be read. */
  changed: SettingDifference[] | null;
}

/**
 * A settings backup for one flash of `session`'s board: `onChecked` goes to the flasher (it runs
 * once the checks have passed, before the first erase), `after` compares the board with the
 * backup once the flash is over. A board that no longer answers a settings read after its reset
 * is reported as not compared (null), with the backup still there to restore.
 */
export function settingsBackupForFlash(
  session: Session,
  dir: string,
  o: { now?: () => Date; signal?: AbortSignal; log?: (line: string) => void } = {},
): { onChecked: () => Promise<void>; after: () => Promise<SettingsAcrossFlash> } {
  let taken: FlashBackup | null = null;
  return {
    onChecked: async () => {
      taken = await backupBeforeFlash(session, dir, (o.now ?? (() => new Date()))(), o.signal, 'before-flash');
      if (taken) o.log?.(`settings backed up to ${taken.path} before the flash`);
    },
    after: async () => {
      const b = taken as FlashBackup | null;
      if (!b) return { backup: null, changed: [] };
      let changed: SettingDifference[] | null;
      try {
        changed = await settingsSinceBackup(session, b, o.signal);
      } catch (e) {
        o.log?.(`the settings could not be compared with the backup after the flash: ${(e as Error).message}`);
        changed = null;
      }
      return { backup: { path: b.path, digest: b.digest }, changed };
    },
  };
}
