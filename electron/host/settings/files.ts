/**
 * Settings files as the CLI and the app read them: a backup (schema and digest checked) or a
 * profile (a supplier's JSON, or a built-in one by name). DecodeError names what is wrong.
 */
import { BACKUP_FORMAT, parseBackup, type SettingsBackup } from '../../../shared/settings/backup.js';
import { builtinProfile, parseProfile, type SettingsProfile } from '../../../shared/settings/profiles.js';
import { utf8Decode } from '../../../shared/util/bytes.js';
import { readInput } from '../evidence/files.js';

function readJsonFile(path: string, what: string): string {
  return utf8Decode(readInput(path, what, 16 << 20));
}

export function loadBackup(path: string): SettingsBackup {
  return parseBackup(readJsonFile(path, 'settings backup'));
}

/** A built-in profile by name (lfp, nmc), else a profile file. */
export function loadProfile(name: string): SettingsProfile {
  return builtinProfile(name) ?? parseProfile(readJsonFile(name, 'settings profile'));
}

/** A file that is either a backup or a profile, told apart by its format field. */
export function loadBackupOrProfile(path: string): { backup: SettingsBackup } | { profile: SettingsProfile } {
  const text = readJsonFile(path, 'settings file');
  return text.includes(`"${BACKUP_FORMAT}"`) ? { backup: parseBackup(text) } : { profile: parseProfile(text) };
}

/** A file name for a backup: the board's serial and the time, never an existing file's. */
export function backupFileName(serial: string, now: Date, prefix = 'settings'): string {
  const who = serial.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40) || 'board';
  return `${prefix}-${who}-${now.toISOString().replace(/[:.]/g, '-')}.json`;
}
