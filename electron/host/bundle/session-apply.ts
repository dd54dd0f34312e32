import { openBundle, type BundleTrust, type OpenedBundle } from '../../../shared/bundle/bundle.js';
import type { TransportWrapper } from '../transport/capture.js';
import { PackscopeError } from '../../../shared/errors.js';
import { openNativeTarget, targetForSession } from '../flasher/native-backend.js';
import type { Session } from '../session.js';
import { telemetrySnapshot } from '../telemetry-snapshot.js';
import { applyBundle, type ApplyBundleOptions, type ApplyBundleResult } from './apply.js';
import { BundleTrustStore, ReleaseHistory } from './trust.js';
import { InstallRecords } from './install-records.js';
import type { InstallationKeyStore } from '../evidence/keystore.js';
import type { SettingDifference } from '../../../shared/settings/backup.js';
import { backupBeforeFlash, settingsSinceBackup, type FlashBackup } from '../settings/flash-backup.js';

/**
 * A release bundle applied to a board over the native protocol: its identity (board id, hardware
 * revision, serial) and live telemetry come from the session; trust and release history from the
 * installation's config directory (trust.ts), plus any root keys the caller adds; the CAN adapter
 * and the STM32 ROM line, when the bundle has components for them, from the caller. The CLI's
 * `bundle apply` and the app's Update view both come through here.
 */
export interface SessionApplyOptions extends Pick<ApplyBundleOptions, 'onStep' | 'onProgress' | 'log' | 'signal' | 'now' | 'onApplied' | 'ports'> {
  bundle: Uint8Array | OpenedBundle;
  /** Config directory holding bundle-trust.json and bundle-releases.json (default: the installation's). */
  configDir?: string;
  /** Root keys trusted for this run besides the stored ones. */
  extraRoots?: BundleTrust['roots'];
  /** Where the settings backup taken before the install goes (absent: no backup). */
  settingsBackupDir?: string;
  /** The installation key that signs each component's record in firmware-installs.jsonl (absent: no record kept). */
  keyStore?: InstallationKeyStore;
}

export interface SessionApplyResult extends ApplyBundleResult {
  /** The backup of the board's settings taken after the checks, before anything was erased. */
  settingsBackup: { path: string; digest: string } | null;
  /** Writable settings that differ from that backup after the update (left: board, right: backup). */
  settingsChanged: SettingDifference[];
}

export function installationTrust(o: { configDir?: string; extraRoots?: BundleTrust['roots'] }): BundleTrust {
  const stored = new BundleTrustStore(o.configDir).trust();
  return { roots: [...stored.roots, ...(o.extraRoots ?? [])], revoked: stored.revoked };
}

export function boardFacts(session: Session): { boardId: string; hardwareRevision: string; serial: string } {
  const id = session.info;
  if (!id) throw new PackscopeError('PROTOCOL', `${session.path} did not identify itself: a bundle needs the board id and hardware revision`);
  return { boardId: id.boardId, hardwareRevision: id.hardwareRevision, serial: id.serial };
}

/**
 * Applies on an open native session (the app's connection); telemetry is sampled through it. With
 * settingsBackupDir, the board's settings are backed up once every check has passed, before
 * anything is erased, and compared with the backup after the update.
 */
export async function applyBundleToSession(session: Session, o: SessionApplyOptions): Promise<SessionApplyResult> {
  const bundle = o.bundle instanceof Uint8Array ? openBundle(o.bundle) : o.bundle;
  const rate = session.telemetryRateHz;
  if (rate > 0) await session.stopTelemetry().catch(() => undefined);
  let backup: FlashBackup | null = null;
  try {
    const r = await applyBundle({
      ...o,
      bundle,
      target: targetForSession(session),
      board: boardFacts(session),
      trust: installationTrust(o),
      history: new ReleaseHistory(o.configDir),
      ...(o.keyStore ? { records: new InstallRecords(o.configDir, () => o.keyStore!.load()) } : {}),
      sample: () => telemetrySnapshot(session),
      onChecked: async () => {
        if (o.settingsBackupDir) backup = await backupBeforeFlash(session, o.settingsBackupDir, (o.now ?? (() => new Date()))(), o.signal);
        if (backup) o.log?.(`settings backed up to ${backup.path} before the update`);
      },
    });
    const b = backup as FlashBackup | null;
    return {
      ...r,
      settingsBackup: b ? { path: b.path, digest: b.digest } : null,
      settingsChanged: b ? await settingsSinceBackup(session, b, o.signal) : [],
    };
  } finally {
    if (rate > 0 && !session.isDisconnected) await session.startTelemetry(rate).catch(() => undefined);
  }
}

/** Opens the port with the native protocol, applies, closes. */
export async function applyBundleOnPort(
  port: string,
  o: SessionApplyOptions & { baudRate?: number; wrapTransport?: TransportWrapper },
): Promise<SessionApplyResult> {
  const opened = await openNativeTarget(port, {
    ...(o.baudRate ? { baud: o.baudRate } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.wrapTransport ? { wrapTransport: o.wrapTransport } : {}),
  });
  try {
    return await applyBundleToSession(opened.session, o);
  } finally {
    await opened.close().catch(() => undefined);
  }
}
