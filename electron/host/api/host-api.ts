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
import { ClaimDraftStore } from '../desktop/claim-draft.js';
import { DesktopAccess, type DesktopShell } from '../desktop/shell.js';
import { importChunk } from '../desktop/file-import.js';
import { screenForName } from '../../../shared/api/desktop.js';
import { VerificationReports } from '../evidence/verification-reports.js';

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
  /** The desktop shell's dialogs and window (Electron); absent in the browser host. */
  desktop?: DesktopShell;
  /** Where the Claim screen's draft is kept (default: claim-draft.json in the config dir; null: memory only). */
  claimDraftFile?: string | null;
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
  const desktop = new DesktopAccess(options.desktop ?? null);
  const claimDraft = new ClaimDraftStore(options.claimDraftFile === undefined ? path.join(configDir(), 'claim-draft.json') : options.claimDraftFile);
  const reports = new VerificationReports(dataDir);
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
      desktop: desktop.available,
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
    'log.export': async ({ path, out, opId, range }) => operation(opId, (signal) => logs.export(path, out, range, signal)),
    'package.verify': async (req) => reports.remember(await verifyPackageForScreen(req, verifier)),
    'policies.list': async () => listPolicies(verifier.policies),
    'policies.add': async ({ path: file }) => addPolicyFile(verifier.policies, file),
    'installKeys.list': async () => listInstallKeys(verifier.installKeys),
    'installKeys.add': async (req) => addInstallKeys(verifier.installKeys, req),
    'installKeys.remove': async ({ fingerprint }) => ({ removed: verifier.installKeys.remove(fingerprint) }),
    'selfcheck.start': async ({ charger, ambientC }) => selfcheck.start({ charger, ambientC }),
    'selfcheck.step': async ({ id, opId, charger }) => operation(opId, (signal) => selfcheck.step(id, signal, charger)),
    'selfcheck.conclusion': async () => selfcheck.conclusion(),
    'selfcheck.report': async ({ out }) => {
      const r = selfcheck.report(ensureDir(dataDir), out);
      desktop.wroteReport(r.path);
      return r;
    },
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
    'package.create': async (req) => createClaimPackage(req, keyStore, ensureDir(dataDir)),
    'op.cancel': async ({ opId }) => ({ cancelled: ops.cancel(opId) }),
    'claim.draft.get': async () => claimDraft.get(),
    'claim.draft.set': async ({ draft }) => (claimDraft.set(draft), { ok: true as const }),
    'package.report': async ({ path: file, sha256, out }) => {
      const r = reports.write(file, sha256, out);
      desktop.wroteReport(r.path);
      return r;
    },
    'desktop.openDialog': async (req) => ({ path: await desktop.openDialog(req) }),
    'desktop.saveDialog': async (req) => ({ path: await desktop.saveDialog(req) }),
    'desktop.showInFolder': async ({ path: file }) => (desktop.showInFolder(file), { ok: true as const }),
    'desktop.openPath': async ({ path: file }) => (await desktop.openPath(file), { ok: true as const }),
    'desktop.theme': async ({ theme }) => (desktop.setTheme(theme), { ok: true as const }),
    'files.import': async (req) => importChunk(ensureDir(dataDir), req),
    'files.dropped': async ({ path: file }) => {
      const screen = screenForName(file);
      if (screen) events.emit('open-file', { screen, path: path.resolve(file) });
      return { screen };
    },
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
