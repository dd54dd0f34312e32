/**
 * The Settings screen's host half: the same settings service as `packscope settings`, on the
 * app's connected board. JBD boards are read and written in factory mode, so their telemetry poll
 * pauses meanwhile; a native board answers settings requests between its telemetry frames.
 */
import path from 'node:path';
import type { Params, Res } from '../../../shared/api/contract.js';
import { PackscopeError } from '../../../shared/errors.js';
import { diffSettings, type SettingsBackup } from '../../../shared/settings/backup.js';
import { profileValues, type SettingsProfile } from '../../../shared/settings/profiles.js';
import type { Session } from '../session.js';
import type { SettingsAccess, SettingsRead } from '../settings/access.js';
import { backupFileName, loadBackup, loadBackupOrProfile, loadProfile } from '../settings/files.js';
import { applySettings, restoreBackup, settingsAccess, takeBackup, toolIdentity } from '../settings/service.js';
import { writeFileAtomic } from '../util/files.js';
import type { DeviceSession } from './device.js';
import { ensureDir } from './files.js';

export function readView(r: SettingsRead, session: Session): Res<'settings.read'> {
  return {
    protocol: r.protocol,
    board: r.board,
    values: r.values,
    limits: Object.fromEntries(r.limits),
    jbdErrorCounters: r.jbdErrorCounters ?? null,
    snapshotDigest: r.deviceSnapshot?.digest ?? null,
    cellCount: r.values['cell_count'] ?? (session.info?.cellCount || null),
    notes: r.notes,
  };
}

/**
 * The board (left) against a backup or a profile (right). A backup of another protocol is refused;
 * a profile names only what it prescribes, so only those settings the board has are compared.
 */
export function compareWith(
  r: SettingsRead,
  file: { backup: SettingsBackup } | { profile: SettingsProfile },
  fileName: string | null,
  cellCount: number | null,
): Res<'settings.compare'> {
  const writable = (ids: string[]) => ids.filter((id) => r.limits.get(id)?.writable === true);
  if ('backup' in file) {
    const b = file.backup;
    if (b.protocol !== r.protocol) throw new PackscopeError('REFUSED', `the backup is of a ${b.protocol} board; this board speaks ${r.protocol}`);
    const differences = diffSettings(r.values, b.values);
    return {
      kind: 'backup',
      name: fileName ?? 'backup',
      values: b.values,
      differences,
      writable: writable(differences.filter((d) => d.right !== null).map((d) => d.id)),
      backup: {
        protocol: b.protocol,
        board: b.board,
        createdAt: b.createdAt,
        digest: b.digest,
        sameBoard: b.board.serial === r.board.serial && b.board.boardId === r.board.boardId && b.board.model === r.board.model,
        jbdErrorCounters: b.jbdErrorCounters ?? null,
      },
    };
  }
  const values = profileValues(file.profile, cellCount);
  const differences = diffSettings(r.values, values, new Set(Object.keys(values).filter((id) => id in r.values)));
  return { kind: 'profile', name: fileName ?? file.profile.name, values, differences, writable: writable(differences.map((d) => d.id)), backup: null };
}

export class SettingsApi {
  constructor(
    private readonly device: DeviceSession,
    private readonly dataDir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Runs fn with the board's settings back end; a commodity board has the line to itself meanwhile. */
  private async with<T>(fn: (access: SettingsAccess, session: Session) => Promise<T>): Promise<T> {
    const session = this.device.require();
    const access = await settingsAccess(session);
    if (access.protocol === 'native') return fn(access, session);
    return this.device.exclusive('settings are being read or written', () => fn(access, session));
  }

  read(): Promise<Res<'settings.read'>> {
    return this.with(async (access, session) => readView(await access.read(), session));
  }

  apply(p: Params<'settings.apply'>): Promise<Res<'settings.apply'>> {
    return this.with((access) =>
      applySettings(access, p.changes, { tool: toolIdentity(p.operator || undefined), ...(p.jbdExit ? { jbdExit: p.jbdExit } : {}) }),
    );
  }

  backup(p: Params<'settings.backup'>): Promise<Res<'settings.backup'>> {
    return this.with(async (access) => {
      const b = await takeBackup(access, { tool: toolIdentity(), now: this.now() });
      const out = p.out ?? path.join(ensureDir(this.dataDir), backupFileName(b.board.serial, this.now()));
      writeFileAtomic(out, JSON.stringify(b, null, 2) + '\n');
      return { path: out, digest: b.digest, settings: Object.keys(b.values).length, board: b.board };
    });
  }

  compare(p: Params<'settings.compare'>): Promise<Res<'settings.compare'>> {
    // The file first: a bad file is reported without a word to the board.
    const file = 'path' in p ? loadBackupOrProfile(p.path) : { profile: loadProfile(p.profile) };
    const name = 'path' in p ? path.basename(p.path) : null;
    return this.with(async (access, session) => {
      const r = await access.read();
      return compareWith(r, file, name, readView(r, session).cellCount);
    });
  }

  restore(p: Params<'settings.restore'>): Promise<Res<'settings.restore'>> {
    const backup = loadBackup(p.path);
    return this.with((access) =>
      restoreBackup(access, backup, { tool: toolIdentity(p.operator || undefined), anyBoard: p.anyBoard, ...(p.jbdExit ? { jbdExit: p.jbdExit } : {}) }),
    );
  }
}
