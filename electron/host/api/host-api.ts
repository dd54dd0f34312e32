import os from 'node:os';
import path from 'node:path';
import type { Features } from '../../../shared/api/contract.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import type { Handlers } from '../../../shared/api/rpc-server.js';
import type { InstallationKeyStore } from '../evidence/keystore.js';
import { DeskApi } from './desk.js';
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
import { configDir } from '../evidence/keystore.js';
import { chooseInstallationKeyStore, type KeyProtection } from '../evidence/key-protection.js';
import { JobRegistry, type JobControl, type JobSpec } from './jobs.js';
import { LogJobs, listPartialPulls } from './logs.js';
import { RecordingJob } from './recording-job.js';
import { inAppError, inAppWords } from './app-words.js';
import { makeSigningKey, monitorCan, signImageFile } from './rnd.js';
import { SelfCheckJobs } from './selfcheck.js';
import { UpdateJobs } from './update.js';
import { SettingsApi } from './settings.js';
import { BusJobs } from './bus.js';
import { HostEvents } from './events.js';
import { defaultDataDir, ensureDir, listDir } from './files.js';
import { DEMO_PORT, listSerialPorts } from './port-list.js';
import { ClaimDraftStore } from '../desktop/claim-draft.js';
import { DesktopAccess, type DesktopShell } from '../desktop/shell.js';
import { importChunk } from '../desktop/file-import.js';
import { screenForName } from '../../../shared/api/desktop.js';
import { VerificationReports } from '../evidence/verification-reports.js';
import { PackscopeError } from '../../../shared/errors.js';
import { analyseLogFile } from '../health/log-health.js';
import { capacityTestJobProgress, runCapacityTest } from '../health/capacity-test.js';

export interface HostApiOptions {
  host: 'electron' | 'browser';
  /** The app's version (package.json; Electron's app.getVersion()). */
  version: string;
  dataDir?: string;
  /** Where the installation key (package signing) lives; the desktop app passes its keychain-backed store. */
  keyStore?: InstallationKeyStore;
  /** How that store protects the key (the desktop app's choice, chooseInstallationKeyStore). */
  keyProtection?: KeyProtection;
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
  jobs: JobRegistry;
  dispose(): Promise<void>;
}

/**
 * The host side of the API contract: plain Node, no Electron. One instance serves every window
 * and every bridge connection of a process.
 */
export function createHostApi(options: HostApiOptions): HostApi {
  const events = new HostEvents();
  const dataDir = options.dataDir ?? defaultDataDir();
  const session = new DeviceSession(events);
  const jobs = new JobRegistry(events);
  // Package signing key: the desktop app passes its store (keyring-sealed where there is one);
  // elsewhere (packscope serve, tests) the CLI's mode-0600 file, and the app says what that means.
  const chosen = chooseInstallationKeyStore({ dir: configDir(), host: options.host === 'browser' ? 'browser' : 'cli' });
  const keyStore = options.keyStore ?? chosen.store;
  const keyProtection: KeyProtection =
    options.keyProtection ?? (options.keyStore ? { ...chosen.protection, location: options.keyStore.location } : chosen.protection);
  // What the verifier brings to the Verify screen, kept in the config dir as the CLI keeps it.
  const verifier = { policies: options.policyStore ?? new PolicyStore(), installKeys: options.installKeys ?? new InstallKeyStore() };
  const firmware = new FirmwareJobs(session, path.join(dataDir, 'settings-backups'));
  const logs = new LogJobs(session, dataDir);
  const selfcheck = new SelfCheckJobs(session, events, jobs);
  const update = new UpdateJobs(session, undefined, path.join(dataDir, 'settings-backups'), keyStore);
  const settings = new SettingsApi(session, dataDir);
  const bus = new BusJobs(session, events);
  const recording = new RecordingJob(session, jobs, dataDir, `packscope ${options.version}`);
  const desk = new DeskApi();
  const desktop = new DesktopAccess(options.desktop ?? null);
  const claimDraft = new ClaimDraftStore(options.claimDraftFile === undefined ? path.join(configDir(), 'claim-draft.json') : options.claimDraftFile);
  const reports = new VerificationReports(dataDir);
  const features: Features = { live: true, logs: true, firmware: true, evidence: true };

  /**
   * Runs a long operation as a host job: it outlives the screen and the page that started it,
   * reports progress to every window ('job' events, and 'progress' tagged with opId as before).
   */
  async function operation<T>(
    spec: Omit<JobSpec, 'id'> & { id: string },
    run: (signal: AbortSignal, progress: (p: TransferProgress) => void, job: JobControl) => Promise<T>,
  ): Promise<T> {
    return jobs.run(spec, (job) =>
      run(
        job.signal,
        (p) => {
          job.progress(p);
          events.emit('progress', { opId: spec.id, ...p });
        },
        job,
      ).catch((e: unknown) => {
        throw inAppError(e);
      }),
    );
  }
  const boardName = () => {
    const info = session.current?.info;
    return info ? `${info.model} #${info.serial}` : 'the board';
  };

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
      jobs.cancelAll();
      await recording.stop('stopped: the board was disconnected').catch(() => undefined);
      await session.disconnect();
      return { ok: true as const };
    },
    'device.status': async () => session.status(),
    'device.identity': async () => session.identity(),
    // The Live screen's share of the stream; a recording holds its own (see DeviceSession.holdTelemetry).
    'telemetry.start': async ({ rateHz }) => {
      await session.holdTelemetry('view', rateHz);
      return { ok: true as const };
    },
    'telemetry.stop': async () => {
      await session.releaseTelemetry('view');
      return { ok: true as const };
    },
    'image.inspect': async ({ path }) => firmware.inspect(path),
    'fw.status': async () => firmware.status(),
    'flash.start': async ({ opId, ...req }) =>
      operation(
        {
          id: opId,
          kind: 'flash',
          title: `Flashing ${req.path.split(/[\\/]/).pop()} ${req.protocol === 'native' && !req.port ? `on ${boardName()}` : `over ${req.protocol} on ${req.port}`}`,
          guard: true,
        },
        (signal, progress) => firmware.flash(req, signal, progress),
      ),
    'update.inspect': async ({ path: file }) => update.inspect(file),
    'update.apply': async ({ path: file, opId, ...targets }) =>
      operation({ id: opId, kind: 'update', title: `Updating ${boardName()} with ${file.split(/[\\/]/).pop()}`, guard: true }, (signal, progress) =>
        update.apply(file, signal, progress, targets),
      ),
    'fw.confirm': async () => firmware.confirm(),
    'fw.revert': async () => firmware.revert(),
    'log.pull': async ({ opId, ...req }) => {
      ensureDir(dataDir);
      return operation(
        { id: opId, kind: 'pull', title: `Downloading the black box of ${boardName()}`, guard: true, file: req.out ?? null },
        (signal, progress, job) => logs.pull(req, signal, progress, (file) => job.setFile(file)),
      );
    },
    'log.partials': async () => listPartialPulls(ensureDir(dataDir)),
    'image.sign': async (req) => signImageFile(req),
    'image.keygen': async (req) => makeSigningKey(req),
    'can.monitor': async (req) =>
      operation({ id: req.opId, kind: 'can-monitor', title: `CAN monitor on ${req.port} at ${req.bitrate / 1000} kbit/s` }, (signal, _p, job) =>
        monitorCan(req, events, signal, (frames, seconds) =>
          job.progress({ done: frames, total: 0, rate: seconds > 0 ? frames / seconds : 0, etaSeconds: null, phase: `${frames.toLocaleString('en')} frames` }),
        ),
      ),
    'log.open': async ({ path, rootKeyPath }) => logs.open(path, rootKeyPath),
    'health.analyse': async ({ path: file, ratedCapacityAh, chemistry }) =>
      analyseLogFile(file, { ...(ratedCapacityAh !== undefined ? { ratedCapacityAh } : {}), ...(chemistry ? { chemistry } : {}) }),
    'health.capacityTest': async ({ opId, ...settings }) => {
      const s = session.require();
      const native = s.native;
      if (!native) throw new PackscopeError('REFUSED', `${boardName()} runs no capacity test: it does not speak the native protocol`);
      const rating = { ratedCapacityAh: s.info?.nominalCapacityAh ?? 0, chemistry: s.info?.chemistry ?? 'unknown' };
      return operation({ id: opId, kind: 'capacity-test', title: `Capacity test of ${boardName()}`, guard: true }, (signal, progress) =>
        runCapacityTest(native, rating, { ...settings, signal, onProgress: (p) => progress(capacityTestJobProgress(p)) }),
      );
    },
    'log.series': ({ path, ...range }) => logs.index.series(path, range),
    'log.events': async ({ path, ...range }) => (await logs.index.get(path)).events(range),
    'log.export': async ({ path, out, opId, range }) =>
      operation({ id: opId, kind: 'export', title: `Exporting ${out.split(/[\\/]/).pop()}`, file: out }, (signal) => logs.export(path, out, range, signal)),
    'package.verify': async (req) => reports.remember(await verifyPackageForScreen(req, verifier)),
    ...desk.handlers(),
    'desk.ingest': async ({ opId, paths }) =>
      operation(
        {
          id: opId,
          kind: 'desk-ingest',
          title: `Adding ${paths.length === 1 ? paths[0]!.split(/[\\/]/).pop() : `${paths.length} packages or folders`} to the claims desk`,
        },
        (signal, progress) => desk.ingest(paths, signal, progress),
      ),
    'bus.scan': async (req) =>
      operation({ id: req.opId, kind: 'bus-scan', title: `Looking for packs on ${req.port}` }, (signal, progress) => bus.scan(req, signal, progress)),
    'bus.monitor': async (req) =>
      operation({ id: req.opId, kind: 'bus-monitor', title: `Watching ${req.addresses.length} packs on ${req.port}` }, (signal, progress) =>
        bus.monitor(req, signal, progress),
      ),
    'bus.state': async () => bus.state(),
    'settings.read': async () => settings.read(),
    'settings.apply': async (req) => settings.apply(req),
    'settings.backup': async (req) => settings.backup(req),
    'settings.compare': async (req) => settings.compare(req),
    'settings.restore': async (req) => settings.restore(req),
    'policies.list': async () => listPolicies(verifier.policies),
    'policies.add': async ({ path: file }) => addPolicyFile(verifier.policies, file),
    'installKey.protection': async () => keyProtection,
    'installKeys.list': async () => listInstallKeys(verifier.installKeys),
    'installKeys.add': async (req) => addInstallKeys(verifier.installKeys, req),
    'installKeys.remove': async ({ fingerprint }) => ({ removed: verifier.installKeys.remove(fingerprint) }),
    'selfcheck.start': async ({ charger, ambientC, chargerText }) => selfcheck.start({ charger, ambientC, chargerText }),
    'selfcheck.step': async ({ id, opId, charger }) =>
      operation({ id: opId, kind: 'selfcheck', title: `Self-check: ${id.replace(/-/g, ' ')}` }, (signal) => selfcheck.step(id, opId, signal, charger)),
    'selfcheck.conclusion': async () => selfcheck.conclusion(),
    'selfcheck.state': async () => selfcheck.state(),
    'selfcheck.position': async (p) => (selfcheck.position(p), { ok: true as const }),
    'selfcheck.discard': async () => (selfcheck.discard(), { ok: true as const }),
    'selfcheck.report': async ({ out }) => {
      const r = selfcheck.report(ensureDir(dataDir), out);
      desktop.wroteReport(r.path);
      return r;
    },
    'recording.start': async ({ path: out, rateHz }) => recording.start(out, rateHz),
    'recording.stop': async () => recording.stop(),
    'recording.status': async () => recording.status(),
    'claim.evaluate': async ({ logPath, claim, ticketPath }) => evaluateClaim(logPath, claim, ticketPath),
    'photo.inspect': async ({ path: file }) => inspectPhoto(file),
    'package.photo': async ({ path: file, name, sha256 }) => packagePhoto(file, name, sha256),
    'package.create': async (req) => createClaimPackage(req, keyStore, ensureDir(dataDir)),
    'op.cancel': async ({ opId }) => ({ cancelled: jobs.cancel(opId) }),
    'jobs.list': async () => jobs.list(),
    'claim.draft.get': async () => claimDraft.get(),
    'claim.draft.set': async ({ draft }) => (claimDraft.set(draft), { ok: true as const }),
    'package.report': async ({ path: file, sha256, out }) => {
      const r = reports.write(file, sha256, out);
      desktop.wroteReport(r.path);
      return r;
    },
    'desktop.openDialog': async (req) => {
      const paths = await desktop.openDialog(req);
      return { path: paths[0] ?? null, paths };
    },
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
    handlers: inAppWords(handlers),
    events,
    session,
    jobs,
    async dispose() {
      jobs.cancelAll();
      await recording.stop('stopped: PackScope closed').catch(() => undefined);
      await session.disconnect('host shutting down');
    },
  };
}
