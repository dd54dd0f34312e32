import { BundleRefusal, checkBundle, checkBundleForBoard, openBundle } from '../../../shared/bundle/bundle.js';
import type { Res } from '../../../shared/api/contract.js';
import { PackscopeError } from '../../../shared/errors.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { applyBundleToSession, boardFacts, installationTrust } from '../bundle/session-apply.js';
import { ReleaseHistory } from '../bundle/trust.js';
import { readInputFile } from '../flasher/files.js';
import { targetForSession } from '../flasher/native-backend.js';
import type { DeviceSession } from './device.js';
import { describeTarget, profileFor, type ComponentPorts } from '../bundle/component-targets.js';
import type { InstallationKeyStore } from '../evidence/keystore.js';

/** The ports of a bundle's targets other than the connected board. */
export interface UpdateTargets {
  canPort?: string;
  bitrate?: number;
  romPort?: string;
}

/**
 * The Update screen's host half: reads a release bundle and says what it would change on the
 * connected board and whether it may (trust, board, hardware revision, sequence), then applies it
 * with the same service as `packscope bundle apply`. Trust and release history are the
 * installation's (config directory), as on the command line.
 */
export class UpdateJobs {
  constructor(
    private device: DeviceSession,
    private configDir?: string,
    /** Where the settings backup taken before each update goes (absent: no backup). */
    private settingsBackupDir?: string,
    /** Signs the installation's record of each component installed. */
    private keyStore?: InstallationKeyStore,
  ) {}

  private read(path: string) {
    const bytes = readInputFile(path, 'bundle');
    try {
      return { bytes, bundle: openBundle(bytes) };
    } catch (e) {
      if (e instanceof BundleRefusal) throw new PackscopeError('DECODE', `${path}: ${e.message.replace(/^bundle refused: /, '')}`);
      throw e;
    }
  }

  async inspect(path: string): Promise<Res<'update.inspect'>> {
    const { bundle } = this.read(path);
    const session = this.device.require();
    const m = bundle.metadata;
    let refusal: { reason: string; message: string } | null = null;
    try {
      checkBundle(bundle, installationTrust({ ...(this.configDir ? { configDir: this.configDir } : {}) }), new Date());
      const board = boardFacts(session);
      checkBundleForBoard(bundle, board, new ReleaseHistory(this.configDir).seen(board.serial));
    } catch (e) {
      if (!(e instanceof BundleRefusal)) throw e;
      refusal = { reason: e.reason, message: e.message };
    }
    let running: string | null = null;
    if (session.native) running = (await targetForSession(session).status()).runningVersion;
    return {
      path,
      sequence: m.sequence,
      vendorId: m.vendorId,
      created: m.created,
      expires: m.expires,
      notes: m.notes,
      boards: m.boards,
      preconditions: m.preconditions,
      components: m.components.map((c) => ({
        name: c.name,
        target: c.target.kind,
        format: c.format,
        version: c.version,
        securityCounter: c.securityCounter,
        size: c.size,
        from: c.target.kind === 'mcuboot' ? running : null,
        ...describeTarget(c),
        ...(c.target.kind === 'uds' ? { profileKnown: profileFor(c.target.profile, this.configDir ? { profileDir: this.configDir } : {}) !== null } : {}),
      })),
      releaseKeyId: bundle.releaseKeyId,
      refusal,
    };
  }

  async apply(path: string, signal: AbortSignal, progress: (p: TransferProgress) => void, targets: UpdateTargets = {}): Promise<Res<'update.apply'>> {
    const { bundle } = this.read(path);
    const session = this.device.require();
    const ports: ComponentPorts = {
      ...(targets.canPort ? { can: { port: targets.canPort, ...(targets.bitrate ? { bitrate: targets.bitrate } : {}) } } : {}),
      ...(targets.romPort ? { rom: { port: targets.romPort } } : {}),
      ...(this.configDir ? { profileDir: this.configDir } : {}),
    };
    const r = await applyBundleToSession(session, {
      bundle,
      ports,
      ...(this.keyStore ? { keyStore: this.keyStore } : {}),
      ...(this.configDir ? { configDir: this.configDir } : {}),
      ...(this.settingsBackupDir ? { settingsBackupDir: this.settingsBackupDir } : {}),
      signal,
      onStep: (step) => progress({ done: 0, total: 0, rate: 0, etaSeconds: null, phase: step }),
      // The upload bar counts bytes: a ROM's erase (sectors) or connect step is not shown as one.
      onProgress: (p) => {
        if (!/(erase|connect|go)$/.test(p.phase ?? '')) progress({ ...p, phase: 'install' });
      },
    });
    // The board restarted into new firmware: read its identity again (every window hears of it).
    await this.device.refreshIdentity();
    return {
      outcome: r.outcome,
      sequence: r.sequence,
      components: r.components,
      preconditions: r.preconditions,
      selfTest: r.selfTest,
      runningVersion: r.runningVersion,
      seconds: r.seconds,
      settingsBackup: r.settingsBackup,
      settingsChanged: r.settingsChanged,
    };
  }
}
