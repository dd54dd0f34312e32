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

/**
 * Applying a release bundle to a board, as smpmgr teaches: never confirm blindly.
 *   1. check — trust chain, revocation, signature, expiry, images, board and hardware revision,
 *      the sequence this installation and this board have seen, then the live preconditions;
 *      any refusal comes before anything is erased;
 *   2. install each MCUboot component through the common flasher (board-side checks, resume,
 *      upload, read-back hash, test boot into the new image);
 *   3. self-test the running image (it runs what the bundle holds, not in a reverted state, and the
 *      pack answers with plausible telemetry);
 *   4. confirm — or, when the self-test fails, revert to the previous image and reset.
 * A native board signs each test boot, confirmation and revert into its journal with the release's
 * sequence number, announced before the install (FW_RELEASE), so its firmware history is evidence.
 * A power cut at any point leaves a bootable board (the flasher's guarantee); applying the same
 * bundle again finishes the job (an equal sequence with the same metadata is accepted).
 */
export type ApplyStep = 'check' | 'preconditions' | 'install' | 'test-boot' | 'self-test' | 'confirm' | 'revert' | 'done';

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

export interface ApplyBundleResult {
  outcome: 'installed' | 'reverted' | 'already-installed';
  sequence: number;
  vendorId: string;
  metadataSha256: string;
  releaseKeyId: string;
  preconditions: PreconditionCheck[];
  components: Array<{ name: string; from: string | null; to: string; outcome: 'installed' | 'already-installed' | 'reverted' }>;
  selfTest: { ok: boolean; problems: string[] } | null;
  /** What the board runs at the end. */
  runningVersion: string | null;
  seconds: number;
}

/** Every decision that needs no erase: the bundle, the board, the sequence, the preconditions. */
export async function checkBundleApplicable(
  o: Pick<ApplyBundleOptions, 'bundle' | 'board' | 'trust' | 'history' | 'now' | 'sample'>,
): Promise<{ bundle: OpenedBundle; preconditions: PreconditionCheck[] }> {
  const bundle = o.bundle instanceof Uint8Array ? openBundle(o.bundle) : o.bundle;
  checkBundle(bundle, o.trust, (o.now ?? (() => new Date()))());
  checkBundleForBoard(bundle, o.board, o.history.seen(o.board.serial));
  for (const c of bundle.metadata.components) {
    if (c.target.kind !== 'mcuboot' || c.format !== 'mcuboot') {
      throw new BundleRefusal('malformed', `component '${c.name}' targets ${c.target.kind} (${c.format}); this connection installs MCUboot components only`);
    }
  }
  const sample = o.sample ? await o.sample() : null;
  const preconditions = evaluatePreconditions(bundle.metadata.preconditions, sample);
  const failed = preconditions.filter((p) => !p.ok);
  if (failed.length) {
    throw new BundleRefusal('precondition', failed.map((p) => `${p.required} (now ${p.actual})`).join('; '));
  }
  return { bundle, preconditions };
}

export async function applyBundle(o: ApplyBundleOptions): Promise<ApplyBundleResult> {
  const t0 = performance.now();
  const step = (s: ApplyStep, detail: string) => {
    o.onStep?.(s, detail);
    o.log?.(detail);
  };
  const { bundle, preconditions } = await checkBundleApplicable(o);
  const m = bundle.metadata;
  step(
    'check',
    `release ${m.sequence} from ${m.vendorId} accepted for ${o.board.boardId} rev ${o.board.hardwareRevision} (key ${bundle.releaseKeyId.slice(0, 16)}…)`,
  );
  if (preconditions.length) step('preconditions', `preconditions hold: ${preconditions.map((p) => p.actual).join(', ')}`);
  await o.onChecked?.();

  const components: ApplyBundleResult['components'] = [];
  let status: FwStatus | null = null;
  for (const c of m.components) {
    if (o.signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled; the board still runs its previous image');
    const before = await o.target.status(o.signal);
    // The board signs the release's sequence into the update records it makes for this install.
    await o.target.announceRelease?.({ sequence: m.sequence, metadataSha256: fromHex(bundle.metadataSha256) }, o.signal);
    step('install', `installing ${c.name} ${c.version} (now ${before.runningVersion ?? 'nothing'})`);
    const report = await flashImage(o.target, bundle.images.get(c.name)!, {
      confirm: false,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    status = report.status;
    const already = report.outcome === 'already-running' && !status.testing;
    components.push({ name: c.name, from: before.runningVersion, to: report.image.version, outcome: already ? 'already-installed' : 'installed' });
    if (!already) step('test-boot', `${c.name} ${report.image.version} runs in test mode`);
  }

  const pending = components.filter((c) => c.outcome === 'installed');
  if (pending.length === 0) {
    step('done', `release ${m.sequence} is already installed`);
    o.history.record(o.board.serial, { sequence: m.sequence, metadataSha256: bundle.metadataSha256 });
    return result('already-installed', null);
  }

  // Self-test: the board runs the new image, and the pack answers.
  const problems: string[] = [];
  status = await o.target.status(o.signal);
  if (!status.running || !status.testing) problems.push(`the board is not running the new image in test mode (boot: ${status.lastEvent})`);
  if (o.sample && !(await o.sample().catch(() => null))) problems.push('no telemetry from the new firmware');
  if (o.selfTest) problems.push(...(await o.selfTest(status)));
  step('self-test', problems.length ? `self-test failed: ${problems.join('; ')}` : 'self-test passed');

  if (problems.length) {
    await o.target.revert(o.signal);
    await o.target.reset(o.signal);
    status = await o.target.status(o.signal);
    for (const c of pending) c.outcome = 'reverted';
    step('revert', `reverted: the board runs ${status.runningVersion ?? 'nothing'} again`);
    return result('reverted', { ok: false, problems });
  }
  await o.target.confirm(o.signal);
  status = await o.target.status(o.signal);
  o.history.record(o.board.serial, { sequence: m.sequence, metadataSha256: bundle.metadataSha256 });
  step('confirm', `confirmed: ${status.runningVersion ?? '?'} is permanent (security counter ${status.securityCounter})`);
  for (const c of pending) {
    await o.onApplied?.({ sequence: m.sequence, metadataSha256: bundle.metadataSha256, component: c.name, oldVersion: c.from, newVersion: c.to });
  }
  step('done', `release ${m.sequence} installed`);
  return result('installed', { ok: true, problems: [] });

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
