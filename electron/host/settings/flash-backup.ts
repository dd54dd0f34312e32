/**
 * Settings kept safe across a firmware update: a backup of every setting is written before
 * anything is erased, and after the update the board's settings are compared with it, so the
 * user learns what the new firmware changed and can restore the backup. Boards whose protocol
 * carries no settings PackScope reads are updated without one.
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

/** Writes the backup into `dir`; null when the board's protocol carries no settings. */
export async function backupBeforeFlash(session: Session, dir: string, now: Date, signal?: AbortSignal): Promise<FlashBackup | null> {
  let access;
  try {
    access = await settingsAccess(session);
  } catch (e) {
    if (e instanceof PackscopeError && e.code === 'USAGE') return null;
    throw e;
  }
  const backup = await takeBackup(access, { tool: toolIdentity(), now, ...(signal ? { signal } : {}) });
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, backupFileName(backup.board.serial, now, 'before-update'));
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
