import {
  BundleRefusal,
  checkBundle,
  checkBundleForBoard,
  openBundle,
  type BoardFacts,
  type BundleTrust,
  type OpenedBundle,
  type SeenRelease,
} from '../../../shared/bundle/bundle.js';
import { evaluatePreconditions, type PreconditionCheck, type PreconditionSample } from '../../../shared/bundle/preconditions.js';
import { PackscopeError } from '../../../shared/errors.js';
import type { FwStatus } from '../../../shared/image/fw-status.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { flashImage } from '../flasher/flasher.js';
import type { FirmwareTarget } from '../flasher/target.js';
import { fromHex } from '../../../shared/util/bytes.js';
import { installComponent, planComponents, probeComponentTargets, type ComponentPorts, type PlannedComponent } from './component-targets.js';
import type { NewInstallRecord } from './install-records.js';

/**
 * Applying a release bundle to a board, as smpmgr teaches: never confirm blindly.
 *   1. check — trust chain, revocation, signature, expiry, images, board and hardware revision,
 *      the sequence this installation and this board have seen, then the live preconditions;
 *      then every other target is asked what it can report (the ECU answers, PackScope's UDS
 *      bootloader accepts the image, the STM32 ROM's part fits it); any refusal comes before
 *      anything is erased on any target;
 *   2. components that cannot be taken back (an ordinary UDS bootloader, the STM32 ROM) in the
 *      metadata's order, then MCUboot images on PackScope UDS ECUs (test boot, confirm), each
 *      through the host's flash service for its protocol (component-targets.ts); the
 *      preconditions are sampled again before each, and the first failure stops the update there;
 *   3. the board's own MCUboot components through the common flasher (board-side checks, resume,
 *      upload, read-back hash, test boot into the new image);
 *   4. self-test the running image (it runs what the bundle holds, not in a reverted state, and the
 *      pack answers with plausible telemetry);
 *   5. confirm — or, when the self-test fails, revert to the previous image and reset.
 * A native board signs each test boot, confirmation and revert into its journal with the release's
 * sequence number, announced before the install (FW_RELEASE), so its firmware history is evidence.
 * Every component, installed or failed, also gets a record signed by the installation
 * (install-records.ts): for ROM and ordinary UDS targets, which sign nothing, the only record.
 * A power cut at any point leaves every target bootable (the board on a signed image; an ECU or
 * ROM in its bootloader); applying the same bundle again finishes the job (an equal sequence with
 * the same metadata is accepted).
 */
export type ApplyStep = 'check' | 'preconditions' | 'targets' | 'install' | 'test-boot' | 'self-test' | 'confirm' | 'revert' | 'done';

export interface AppliedUpdateEvent {
  sequence: number;
  metadataSha256: string;
  component: string;
  oldVersion: string | null;
  newVersion: string;
}

export interface ApplyBundleOptions {
  bundle: Uint8Array | OpenedBundle;
  target: FirmwareTarget;
  board: BoardFacts;
  trust: BundleTrust;
  history: { seen(serial: string): { installation: SeenRelease | null; board: SeenRelease | null }; record(serial: string, r: SeenRelease): void };
  /** How the targets other than the board are reached (CAN adapter, STM32 ROM line). */
  ports?: ComponentPorts;
  /** The installation's signed record of each component (absent: none kept). */
  records?: { append(r: NewInstallRecord): Promise<unknown> };
  now?: () => Date;
  /** A live telemetry sample (preconditions, self-test); without it, preconditions cannot hold. */
  sample?: () => Promise<PreconditionSample | null>;
  /** Extra self-test checks on the running image; returns the problems found (empty: passed). */
  selfTest?: (status: FwStatus) => Promise<string[]>;
  /** Called once every check has passed, before anything is erased (a settings backup). */
  onChecked?: () => Promise<void>;
  /** Called once per installed component after it is confirmed (e.g. to record it in the board's black box). */
  onApplied?: (e: AppliedUpdateEvent) => Promise<void>;
  onStep?: (step: ApplyStep, detail: string) => void;
  onProgress?: (p: TransferProgress) => void;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface AppliedComponent {
  name: string;
  /** Where it went: the board, an ECU's ids and port, the ROM's port. */
  target: string;
  from: string | null;
  to: string;
  outcome: 'installed' | 'already-installed' | 'reverted';
}

export interface ApplyBundleResult {
  outcome: 'installed' | 'reverted' | 'already-installed';
  sequence: number;
  vendorId: string;
  metadataSha256: string;
  releaseKeyId: string;
  preconditions: PreconditionCheck[];
  components: AppliedComponent[];
  selfTest: { ok: boolean; problems: string[] } | null;
  /** What the board runs at the end. */
  runningVersion: string | null;
  seconds: number;
}

/** Details of the error an update that stopped part-way throws. */
export interface StoppedUpdate {
  reason: 'component_failed';
  component: string;
  target: string;
  installed: string[];
  notStarted: string[];
}

function failedPreconditions(checks: PreconditionCheck[]): string | null {
  const failed = checks.filter((p) => !p.ok);
  return failed.length ? failed.map((p) => `${p.required} (now ${p.actual})`).join('; ') : null;
}

/** Every decision that needs no erase: the bundle, the board, the sequence, the preconditions, what each other target reports. */
export async function checkBundleApplicable(
  o: Pick<ApplyBundleOptions, 'bundle' | 'board' | 'trust' | 'history' | 'now' | 'sample' | 'ports' | 'signal'>,
): Promise<{ bundle: OpenedBundle; preconditions: PreconditionCheck[]; plan: PlannedComponent[] }> {
  const bundle = o.bundle instanceof Uint8Array ? openBundle(o.bundle) : o.bundle;
  checkBundle(bundle, o.trust, (o.now ?? (() => new Date()))());
  checkBundleForBoard(bundle, o.board, o.history.seen(o.board.serial));
  const plan = planComponents(bundle, o.ports ?? {});
  const sample = o.sample ? await o.sample() : null;
  const preconditions = evaluatePreconditions(bundle.metadata.preconditions, sample);
  const failed = failedPreconditions(preconditions);
  if (failed) throw new BundleRefusal('precondition', failed);
  await probeComponentTargets(plan, o.ports ?? {}, o.signal);
  return { bundle, preconditions, plan };
}

export async function applyBundle(o: ApplyBundleOptions): Promise<ApplyBundleResult> {
  const t0 = performance.now();
  const step = (s: ApplyStep, detail: string) => {
    o.onStep?.(s, detail);
    o.log?.(detail);
  };
  const { bundle, preconditions, plan } = await checkBundleApplicable(o);
  const m = bundle.metadata;
  const ports = o.ports ?? {};
  step(
    'check',
    `release ${m.sequence} from ${m.vendorId} accepted for ${o.board.boardId} rev ${o.board.hardwareRevision} (key ${bundle.releaseKeyId.slice(0, 16)}…)`,
  );
  if (preconditions.length) step('preconditions', `preconditions hold: ${preconditions.map((p) => p.actual).join(', ')}`);
  const others = plan.filter((p) => p.class !== 'board-mcuboot');
  if (others.length) step('targets', `targets answer: ${others.map((p) => `${p.component.name} → ${p.where}${describeReported(p.reported)}`).join('; ')}`);
  await o.onChecked?.();

  const record = async (
    p: PlannedComponent,
    outcome: NewInstallRecord['outcome'],
    from: string | null,
    extra: { error?: string; reported?: NewInstallRecord['reported'] } = {},
  ) => {
    if (!o.records) return;
    const c = p.component;
    await o.records.append({
      release: { sequence: m.sequence, metadataSha256: bundle.metadataSha256, vendorId: m.vendorId, releaseKeyId: bundle.releaseKeyId },
      board: { boardId: o.board.boardId, hardwareRevision: o.board.hardwareRevision, serial: o.board.serial },
      component: { name: c.name, target: c.target.kind, format: c.format, version: c.version, size: c.size, sha256: c.sha256 },
      where: p.where,
      outcome,
      error: extra.error ?? null,
      reported: { ...(extra.reported ?? p.reported), ...(from !== null ? { from } : {}) },
      attestation: p.class === 'board-mcuboot' ? 'device-journal' : 'installation',
    });
  };

  const components: ApplyBundleResult['components'] = [];
  let status: FwStatus | null = null;
  for (const [i, p] of plan.entries()) {
    const c = p.component;
    if (o.signal?.aborted) throw new PackscopeError('CANCELLED', `cancelled before component '${c.name}'; every target still runs what it ran`);
    if (i > 0) {
      // Conditions change during a long update (a charger unplugged): stop between components, never inside one.
      const failed = failedPreconditions(evaluatePreconditions(m.preconditions, o.sample ? await o.sample().catch(() => null) : null));
      if (failed) throw stopped(p, components, new BundleRefusal('precondition', failed));
    }
    if (p.class !== 'board-mcuboot') {
      step('install', `installing ${c.name} ${c.version} → ${p.where}`);
      let done;
      try {
        done = await installComponent(p, ports, {
          ...(o.signal ? { signal: o.signal } : {}),
          ...(o.onProgress ? { onProgress: o.onProgress } : {}),
          ...(o.log ? { log: o.log } : {}),
        });
      } catch (e) {
        await record(p, 'failed', (p.reported.softwareBefore as string | null | undefined) ?? null, { error: (e as Error).message }).catch(() => undefined);
        throw stopped(p, components, e);
      }
      await record(p, 'installed', done.from, { reported: done.reported });
      components.push({ name: c.name, target: p.where, from: done.from, to: done.to, outcome: 'installed' });
      continue;
    }
    const before = await o.target.status(o.signal);
    // The board signs the release's sequence into the update records it makes for this install.
    await o.target.announceRelease?.({ sequence: m.sequence, metadataSha256: fromHex(bundle.metadataSha256) }, o.signal);
    step('install', `installing ${c.name} ${c.version} (now ${before.runningVersion ?? 'nothing'})`);
    let report;
    try {
      report = await flashImage(o.target, bundle.images.get(c.name)!, {
        confirm: false,
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(o.log ? { log: o.log } : {}),
      });
    } catch (e) {
      await record(p, 'failed', before.runningVersion, { error: (e as Error).message }).catch(() => undefined);
      throw stopped(p, components, e);
    }
    status = report.status;
    const already = report.outcome === 'already-running' && !status.testing;
    components.push({
      name: c.name,
      target: p.where,
      from: before.runningVersion,
      to: report.image.version,
      outcome: already ? 'already-installed' : 'installed',
    });
    if (!already) step('test-boot', `${c.name} ${report.image.version} runs in test mode`);
  }

  const boardPlans = plan.filter((p) => p.class === 'board-mcuboot');
  const pending = components.filter((c) => c.outcome === 'installed' && boardPlans.some((p) => p.component.name === c.name));
  if (components.every((c) => c.outcome === 'already-installed')) {
    step('done', `release ${m.sequence} is already installed`);
    o.history.record(o.board.serial, { sequence: m.sequence, metadataSha256: bundle.metadataSha256 });
    return result('already-installed', null);
  }

  // Self-test: the board runs the new image (when it got one), and the pack answers.
  const problems: string[] = [];
  status = await o.target.status(o.signal);
  if (pending.length && (!status.running || !status.testing)) problems.push(`the board is not running the new image in test mode (boot: ${status.lastEvent})`);
  if (o.sample && !(await o.sample().catch(() => null))) problems.push(pending.length ? 'no telemetry from the new firmware' : 'no telemetry from the board');
  if (o.selfTest) problems.push(...(await o.selfTest(status)));
  step('self-test', problems.length ? `self-test failed: ${problems.join('; ')}` : 'self-test passed');

  const planOf = (name: string) => plan.find((p) => p.component.name === name)!;
  if (problems.length && pending.length) {
    await o.target.revert(o.signal);
    await o.target.reset(o.signal);
    status = await o.target.status(o.signal);
    for (const c of pending) {
      c.outcome = 'reverted';
      await record(planOf(c.name), 'reverted', c.from, { error: problems.join('; ') });
    }
    step('revert', `reverted: the board runs ${status.runningVersion ?? 'nothing'} again`);
    return result('reverted', { ok: false, problems });
  }
  if (problems.length) {
    // Nothing on the board to take back: the other targets were written and verified.
    throw new PackscopeError('VERIFY_FAILED', `every component was written and verified, but the board's self-test failed: ${problems.join('; ')}`);
  }
  if (pending.length) {
    await o.target.confirm(o.signal);
    status = await o.target.status(o.signal);
  }
  o.history.record(o.board.serial, { sequence: m.sequence, metadataSha256: bundle.metadataSha256 });
  if (pending.length) step('confirm', `confirmed: ${status.runningVersion ?? '?'} is permanent (security counter ${status.securityCounter})`);
  for (const c of pending) {
    await record(planOf(c.name), 'installed', c.from, { reported: { softwareAfter: status.runningVersion, securityCounterAfter: status.securityCounter } });
    await o.onApplied?.({ sequence: m.sequence, metadataSha256: bundle.metadataSha256, component: c.name, oldVersion: c.from, newVersion: c.to });
  }
  step('done', `release ${m.sequence} installed`);
  return result('installed', { ok: true, problems: [] });

  function stopped(p: PlannedComponent, done: AppliedComponent[], e: unknown): unknown {
    // Not one of PackScope's errors (a bug, a simulated power loss): as it is. A single-target
    // update that stopped at its first component keeps the flasher's own error and its details.
    if (!(e instanceof PackscopeError) || (done.length === 0 && plan.length === 1)) return e;
    const at = plan.indexOf(p);
    const notStarted = plan.slice(at + 1).map((x) => x.component.name);
    const state =
      p.class === 'board-mcuboot'
        ? 'the board keeps its confirmed image'
        : p.class === 'ecu-mcuboot'
          ? 'the ECU keeps its confirmed image'
          : `${p.where} stays in its bootloader`;
    const err = e as PackscopeError;
    const message =
      `release ${m.sequence} stopped at component '${p.component.name}' (${p.where}): ${err.message}. ` +
      `Installed: ${done.map((c) => c.name).join(', ') || 'none'}; not started: ${notStarted.join(', ') || 'none'}; ${state}. Apply the bundle again to finish.`;
    const details: StoppedUpdate = { reason: 'component_failed', component: p.component.name, target: p.where, installed: done.map((c) => c.name), notStarted };
    return e instanceof BundleRefusal
      ? new BundleRefusal(e.reason, message.replace(/^bundle refused: /, ''))
      : new PackscopeError(err.code ?? 'INTERNAL', message, details);
  }

  function result(outcome: ApplyBundleResult['outcome'], selfTest: ApplyBundleResult['selfTest']): ApplyBundleResult {
    return {
      outcome,
      sequence: m.sequence,
      vendorId: m.vendorId,
      metadataSha256: bundle.metadataSha256,
      releaseKeyId: bundle.releaseKeyId,
      preconditions,
      components,
      selfTest,
      runningVersion: status?.runningVersion ?? null,
      seconds: (performance.now() - t0) / 1000,
    };
  }
}

function describeReported(r: PlannedComponent['reported']): string {
  const parts = [
    r.part,
    r.softwareBefore !== undefined ? `software ${r.softwareBefore ?? '?'}` : undefined,
    r.serial ? `serial ${r.serial}` : undefined,
  ].filter((x) => x !== undefined && x !== null);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
