import os from 'node:os';
import { PackscopeError } from '../../../shared/errors.js';
import type { Features } from '../../../shared/api/contract.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import type { Handlers } from '../../../shared/api/rpc-server.js';
import type { InstallationKeyStore } from '../evidence/keystore.js';
import { DeviceSession } from './device.js';
import { FirmwareJobs } from './firmware.js';
import {
  addInstallKeys,
  addPolicyFile,
  createClaimPackage,
  evaluateClaim,
  inspectPhoto,
  listInstallKeys,
  listPolicies,
  packagePhoto,
  verifyPackageForScreen,
} from './evidence.js';
import { InstallKeyStore } from '../evidence/install-keys.js';
import { PolicyStore } from '../evidence/policy-store.js';
import { configDir, FileKeyStore } from '../evidence/keystore.js';
import { LogJobs } from './logs.js';
import { SelfCheckJobs } from './selfcheck.js';
import { startRecording, type RecordingHandle } from '../recorder/index.js';
import path from 'node:path';
import { HostEvents } from './events.js';
import { defaultDataDir, ensureDir, listDir } from './files.js';
import { DEMO_PORT, listSerialPorts } from './port-list.js';

export interface HostApiOptions {
  host: 'electron' | 'browser';
  /** The app's version (package.json; Electron's app.getVersion()). */
  version: string;
  dataDir?: string;
  /** Where the installation key (package signing) lives; the desktop app passes its keychain-backed store. */
  keyStore?: InstallationKeyStore;
  /** The verifier's warranty policies (default: `policies` in the config dir). */
  policyStore?: PolicyStore;
  /** The installation keys the verifier knows (default: `known-install-keys` in the config dir). */
  installKeys?: InstallKeyStore;
}

export interface HostApi {
  handlers: Handlers;
  events: HostEvents;
  session: DeviceSession;
  dispose(): Promise<void>;
}

/** Operations that can be cancelled by id (log pull, flash, self-check). */
export class Operations {
  private ops = new Map<string, AbortController>();
  start(opId: string, parent?: AbortSignal): AbortController {
    if (this.ops.has(opId)) throw new PackscopeError('USAGE', `operation ${opId} is already running`);
    const ac = new AbortController();
    if (parent) parent.addEventListener('abort', () => ac.abort(parent.reason), { once: true });
    this.ops.set(opId, ac);
    return ac;
  }
  end(opId: string): void {
    this.ops.delete(opId);
  }
  cancel(opId: string): boolean {
    const ac = this.ops.get(opId);
    if (!ac) return false;
    ac.abort(new PackscopeError('CANCELLED', 'cancelled by the user'));
    return true;
  }
  cancelAll(): void {
    for (const id of [...this.ops.keys()]) this.cancel(id);
  }
}

/**
 * The host side of the API contract: plain Node, no Electron. One instance serves every window
 * and every bridge connection of a process.
 */
export function createHostApi(options: HostApiOptions): HostApi {
  const events = new HostEvents();
  const dataDir = options.dataDir ?? defaultDataDir();
  const session = new DeviceSession(events);
  const ops = new Operations();
  // Package signing key: the desktop app passes its keychain-sealed store; elsewhere the CLI's file.
  const keyStore = options.keyStore ?? new FileKeyStore(configDir());
  // What the verifier brings to the Verify screen, kept in the config dir as the CLI keeps it.
  const verifier = { policies: options.policyStore ?? new PolicyStore(), installKeys: options.installKeys ?? new InstallKeyStore() };
  const firmware = new FirmwareJobs(session);
  const logs = new LogJobs(session, dataDir);
  const selfcheck = new SelfCheckJobs(session);
  let recording: RecordingHandle | null = null;
  const features: Features = { live: true, logs: true, firmware: true, evidence: true };

  /** Runs a cancellable long operation, forwarding its progress as events tagged with opId. */
  async function operation<T>(opId: string, run: (signal: AbortSignal, progress: (p: TransferProgress) => void) => Promise<T>): Promise<T> {
    const ac = ops.start(opId);
    try {
      return await run(ac.signal, (p) => events.emit('progress', { opId, ...p }));
    } finally {
      ops.end(opId);
    }
  }

  const handlers: Handlers = {
    'app.info': async () => ({
      version: options.version,
      host: options.host,
      platform: `${os.platform()}-${os.arch()}`,
      dataDir,
      features,
    }),
    'files.list': async ({ dir, extensions }) => listDir(dir ?? ensureDir(dataDir), extensions),
    'ports.list': async () => [DEMO_PORT, ...(await listSerialPorts())],
    'device.connect': async ({ path, protocol, baudRate }) => session.connect(path, protocol, baudRate),
    'device.disconnect': async () => {
      ops.cancelAll();
      if (recording) {
        const r = recording;
        recording = null;
        await r.stop().catch(() => r.abort());
      }
      await session.disconnect();
      return { ok: true as const };
    },
    'device.status': async () => session.status(),
    'device.identity': async () => session.identity(),
    'telemetry.start': async ({ rateHz }) => {
      await session.startTelemetry(rateHz);
      return { ok: true as const };
    },
    'telemetry.stop': async () => {
      await session.stopTelemetry();
      return { ok: true as const };
    },
    'image.inspect': async ({ path }) => firmware.inspect(path),
    'fw.status': async () => firmware.status(),
    'flash.start': async ({ opId, ...req }) => operation(opId, (signal, progress) => firmware.flash(req, signal, progress)),
    'fw.confirm': async () => firmware.confirm(),
    'fw.revert': async () => firmware.revert(),
    'log.pull': async ({ opId, ...req }) => {
      ensureDir(dataDir);
      return operation(opId, (signal, progress) => logs.pull(req, signal, progress));
    },
    'log.open': async ({ path, rootKeyPath }) => logs.open(path, rootKeyPath),
    'log.series': async ({ path, ...range }) => (await logs.index.get(path)).series(range),
    'log.events': async ({ path, ...range }) => (await logs.index.get(path)).events(range),
    'log.export': async ({ path, out, opId, range }) => operation(opId, (signal) => logs.export(path, out, range, signal)),
    'package.verify': async (req) => verifyPackageForScreen(req, verifier),
    'policies.list': async () => listPolicies(verifier.policies),
    'policies.add': async ({ path: file }) => addPolicyFile(verifier.policies, file),
    'installKeys.list': async () => listInstallKeys(verifier.installKeys),
    'installKeys.add': async (req) => addInstallKeys(verifier.installKeys, req),
    'installKeys.remove': async ({ fingerprint }) => ({ removed: verifier.installKeys.remove(fingerprint) }),
    'selfcheck.start': async ({ charger, ambientC }) => selfcheck.start({ charger, ambientC }),
    'selfcheck.step': async ({ id, opId }) => operation(opId, (signal) => selfcheck.step(id, signal)),
    'selfcheck.conclusion': async () => selfcheck.conclusion(),
    'recording.start': async ({ path: out, rateHz }) => {
      if (recording) throw new PackscopeError('REFUSED', `already recording to ${recording.path}`);
      const s = session.require();
      const file =
        out ?? path.join(ensureDir(dataDir), `${s.info?.serial ?? 'pack'}-live-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.pslog`);
      recording = await startRecording(s, file, { rateHz, tool: `packscope ${options.version}` });
      return { path: file };
    },
    'recording.stop': async () => {
      if (!recording) throw new PackscopeError('USAGE', 'not recording');
      const r = recording;
      recording = null;
      const summary = await r.stop();
      return { path: summary.path, records: summary.records, segments: summary.segments, gaps: summary.gaps.length };
    },
    'recording.status': async () => ({ active: recording !== null, path: recording?.path ?? null, records: recording?.records ?? 0 }),
    'claim.evaluate': async ({ logPath, claim, ticketPath }) => evaluateClaim(logPath, claim, ticketPath),
    'photo.inspect': async ({ path: file }) => inspectPhoto(file),
    'package.photo': async ({ path: file, name, sha256 }) => packagePhoto(file, name, sha256),
    'package.create': async ({ logPath, claim, out, photos, ticketPath }) => createClaimPackage(logPath, claim, out, photos, keyStore, ticketPath),
    'op.cancel': async ({ opId }) => ({ cancelled: ops.cancel(opId) }),
  };

  return {
    handlers,
    events,
    session,
    async dispose() {
      ops.cancelAll();
      if (recording) await recording.stop().catch(() => recording?.abort());
      await session.disconnect('host shutting down');
    },
  };
}
