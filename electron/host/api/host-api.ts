import os from 'node:os';
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
import { configDir, FileKeyStore } from '../evidence/keystore.js';
import { JobRegistry, type JobControl, type JobSpec } from './jobs.js';
import { LogJobs, listPartialPulls } from './logs.js';
import { RecordingJob } from './recording-job.js';
import { inAppError, inAppWords } from './app-words.js';
import { SelfCheckJobs } from './selfcheck.js';
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
  // Package signing key: the desktop app passes its keychain-sealed store; elsewhere the CLI's file.
  const keyStore = options.keyStore ?? new FileKeyStore(configDir());
  // What the verifier brings to the Verify screen, kept in the config dir as the CLI keeps it.
  const verifier = { policies: options.policyStore ?? new PolicyStore(), installKeys: options.installKeys ?? new InstallKeyStore() };
  const firmware = new FirmwareJobs(session);
  const logs = new LogJobs(session, dataDir);
  const selfcheck = new SelfCheckJobs(session);
  const recording = new RecordingJob(session, jobs, dataDir, `packscope ${options.version}`);
  const desk = new DeskApi();
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
    'log.open': async ({ path, rootKeyPath }) => logs.open(path, rootKeyPath),
    'log.export': async ({ path, out, opId, range }) =>
      operation({ id: opId, kind: 'export', title: `Exporting ${out.split(/[\\/]/).pop()}`, file: out }, (signal) => logs.export(path, out, range, signal)),
    'package.verify': async (req) => verifyPackageForScreen(req, verifier),
    ...desk.handlers(),
    'policies.list': async () => listPolicies(verifier.policies),
    'policies.add': async ({ path: file }) => addPolicyFile(verifier.policies, file),
    'installKeys.list': async () => listInstallKeys(verifier.installKeys),
    'installKeys.add': async (req) => addInstallKeys(verifier.installKeys, req),
    'installKeys.remove': async ({ fingerprint }) => ({ removed: verifier.installKeys.remove(fingerprint) }),
    'selfcheck.start': async ({ charger, ambientC }) => selfcheck.start({ charger, ambientC }),
    'selfcheck.step': async ({ id, opId }) =>
      operation({ id: opId, kind: 'selfcheck', title: `Self-check: ${id.replace(/-/g, ' ')}` }, (signal) => selfcheck.step(id, signal)),
    'selfcheck.conclusion': async () => selfcheck.conclusion(),
    'recording.start': async ({ path: out, rateHz }) => recording.start(out, rateHz),
    'recording.stop': async () => recording.stop(),
    'recording.status': async () => recording.status(),
    'claim.evaluate': async ({ logPath, claim, ticketPath }) => evaluateClaim(logPath, claim, ticketPath),
    'photo.inspect': async ({ path: file }) => inspectPhoto(file),
    'package.photo': async ({ path: file, name, sha256 }) => packagePhoto(file, name, sha256),
    'package.create': async ({ logPath, claim, out, photos, ticketPath }) => createClaimPackage(logPath, claim, out, photos, keyStore, ticketPath),
    'op.cancel': async ({ opId }) => ({ cancelled: jobs.cancel(opId) }),
    'jobs.list': async () => jobs.list(),
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
