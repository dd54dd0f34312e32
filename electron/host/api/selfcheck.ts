import { PackscopeError } from '../../../shared/errors.js';
import { SelfCheck, STEPS } from '../selfcheck/selfcheck.js';
import type { Conclusion, StepId, StepResult } from '../selfcheck/types.js';
import type { Res } from '../../../shared/api/contract.js';
import type { DeviceSession } from './device.js';
import type { HostEvents } from './events.js';
import type { JobRegistry } from './jobs.js';
import { renderSelfCheckReport } from '../selfcheck/report.js';
import { safeStem, uniquePath } from '../desktop/unique-path.js';
import { writeFileAtomic } from '../util/files.js';

/**
 * The step texts are shared with the command line; in the app they name screens and fields, not
 * commands and options.
 */
const APP_WORDS: [RegExp, string][] = [
  [/ \(--charger-voltage, --charger-current\)/g, ' in the charger fields of the self-check'],
  [/ \(packscope fw confirm\)/g, ' on the Firmware screen'],
  [/ \(packscope package create\) with the pack still connected/g, ' on the Claim screen'],
  [/ \(monitor --record\)/g, ' with Record on the Live screen'],
];

const inAppWords = (t: string) => APP_WORDS.reduce((s, [re, w]) => s.replace(re, w), t);

export function resultInAppWords(r: StepResult): StepResult {
  return { ...r, meaning: inAppWords(r.meaning), measured: inAppWords(r.measured) };
}

/** The wizard as the host keeps it (selfcheck.state, 'selfcheck' events). */
export type SelfCheckView = NonNullable<Res<'selfcheck.state'>>;
type ChargerText = SelfCheckView['charger'];

/**
 * The self-check wizard's host half, as a host job: one guided check at a time on the connected
 * pack, step by step (each step may be run again after the user fixed something), then the
 * conclusion. The host keeps where the wizard stands (steps, results, the page shown, the charger
 * ratings as typed, the step running, the conclusion), so leaving the screen, reloading the page
 * or opening another window finds the check as it was; every change goes out as a 'selfcheck'
 * event. The check is a job of kind 'selfcheck' (steps done of steps, Cancel ends it); a flash,
 * an update, a revert or another pack ends it, because its results described other firmware.
 */
export class SelfCheckJobs {
  private check: SelfCheck | null = null;
  private view: SelfCheckView | null = null;
  private signal: AbortController | null = null;
  private count = 0;

  constructor(
    private device: DeviceSession,
    private events: HostEvents,
    private jobs: JobRegistry,
  ) {
    // Another identity (a flash, a revert, another pack connected) ends the check at once, so no
    // screen goes on showing steps that judged other firmware.
    device.onIdentity(async (_was, now) => this.judgeBoard(now));
    events.on('link', (e) => {
      if (e.device) this.judgeBoard(e.device);
    });
  }

  steps() {
    return STEPS.map((s) => ({ id: s.id, title: s.title, prompt: s.prompt }));
  }

  state(): SelfCheckView | null {
    const now = this.device.current?.info;
    if (now) this.judgeBoard(now);
    return this.view;
  }

  start(options: { charger: { voltageV: number; currentA: number } | null; ambientC: number | null; chargerText?: ChargerText | undefined }) {
    const session = this.device.require();
    this.signal?.abort();
    const previous = this.view;
    if (previous && !previous.conclusion && !previous.ended)
      this.jobs.end(previous.jobId, 'cancelled', { error: { code: 'CANCELLED', message: 'a new self-check was started' } });
    this.signal = new AbortController();
    this.check = new SelfCheck(session, { charger: options.charger, ambientC: options.ambientC, signal: this.signal.signal });
    const info = session.info;
    const jobId = `selfcheck-${++this.count}-${Date.now()}`;
    const steps = this.steps();
    const entry = this.jobs.begin({
      id: jobId,
      kind: 'selfcheck',
      title: `Self-check of ${info ? `${info.model} #${info.serial}` : 'the pack'}`,
      guard: false,
    });
    entry.abort.signal.addEventListener('abort', () => this.discard(jobId), { once: true });
    this.view = {
      jobId,
      board: info ? { model: info.model, serial: info.serial, firmwareVersion: info.firmwareVersion } : null,
      steps,
      results: {},
      index: 0,
      charger: options.chargerText ?? { v: '', a: '' },
      running: null,
      conclusion: null,
      ended: null,
    };
    this.publish();
    return steps;
  }

  /** Where the wizard stands (the page shown, the charger as typed): kept for the next look. */
  position(p: { index?: number | undefined; charger?: ChargerText | undefined }): void {
    const v = this.view;
    if (!v || v.ended) return;
    this.view = {
      ...v,
      ...(p.index !== undefined ? { index: Math.max(0, Math.min(v.steps.length - 1, p.index)) } : {}),
      ...(p.charger ? { charger: p.charger } : {}),
    };
    this.publish();
  }

  /** Forgets the check (Check again, Cancel in the job list); a step still running is stopped. */
  discard(jobId?: string): void {
    const v = this.view;
    if (!v || (jobId !== undefined && v.jobId !== jobId)) return;
    this.signal?.abort(new PackscopeError('CANCELLED', 'self-check cancelled'));
    this.check = null;
    this.view = null;
    this.jobs.end(v.jobId, 'cancelled', { error: { code: 'CANCELLED', message: 'self-check ended' } });
    this.publish();
  }

  /** Ends the check when the connected board is not the one it judged (another pack, other firmware). */
  private judgeBoard(now: { serial: string; firmwareVersion: string }): void {
    const v = this.view;
    const was = v?.board;
    if (!v || !was || v.ended || (now.serial === was.serial && now.firmwareVersion === was.firmwareVersion)) return;
    const why =
      now.serial !== was.serial
        ? `Another pack (serial ${now.serial}) is connected now than the one this check started on (${was.serial}): start the self-check again.`
        : `The board's firmware changed since this check started (${was.firmwareVersion} → ${now.firmwareVersion}): start the self-check again, so every step judges the firmware it runs now.`;
    this.check = null;
    this.signal?.abort(new PackscopeError('CANCELLED', why));
    if (!v.conclusion) this.jobs.end(v.jobId, 'failed', { error: { code: 'REFUSED', message: why } });
    this.view = { ...v, running: null, ended: why };
    this.publish();
  }

  /** The running check, as long as it still describes the connected board. */
  private current(): SelfCheck {
    const v = this.state();
    if (v?.ended) throw new PackscopeError('REFUSED', v.ended);
    if (!this.check || !v) throw new PackscopeError('USAGE', 'start the self-check first');
    return this.check;
  }

  async step(id: StepId, opId: string, signal: AbortSignal, charger?: { voltageV: number; currentA: number } | null): Promise<StepResult> {
    const check = this.current();
    const v = this.view!;
    if (v.running)
      throw new PackscopeError(
        'REFUSED',
        `The step "${v.steps.find((s) => s.id === v.running!.id)?.title ?? v.running.id}" is still running: wait for its result.`,
      );
    if (charger !== undefined) check.setCharger(charger);
    const stop = () => this.signal?.abort(new PackscopeError('CANCELLED', 'self-check cancelled'));
    signal.addEventListener('abort', stop, { once: true });
    this.view = { ...v, running: { id, opId } };
    this.publish();
    try {
      const result = resultInAppWords(await check.runStep(id));
      // Stored by the host, so a screen that was away when it finished still finds it.
      if (this.check === check && this.view) {
        const results = { ...this.view.results, [id]: result };
        this.view = { ...this.view, results, running: null, conclusion: null };
        const done = Object.keys(results).length;
        this.jobs.progress(this.view.jobId, {
          done,
          total: this.view.steps.length,
          rate: 0,
          etaSeconds: null,
          phase: `${done} of ${this.view.steps.length} steps`,
        });
        this.publish();
      }
      return result;
    } catch (e) {
      if (this.check === check && this.view?.running?.opId === opId) {
        this.view = { ...this.view, running: null };
        this.publish();
      }
      throw e;
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  /** Writes the conclusion as an HTML report (default: a fresh name in `dataDir`). */
  report(dataDir: string, out?: string): { path: string; html: string } {
    const device = this.device.require().info;
    if (!device) throw new PackscopeError('USAGE', 'the pack has not identified itself');
    const at = new Date().toISOString();
    const html = renderSelfCheckReport(this.conclusion(), device, at);
    const target = out ?? uniquePath(dataDir, `selfcheck-${safeStem(device.serial)}-${at.slice(0, 10)}`, '.html');
    writeFileAtomic(target, html);
    return { path: target, html };
  }

  conclusion(): Conclusion {
    const c = this.current().conclusion();
    const conclusion = { ...c, summary: inAppWords(c.summary), results: c.results.map(resultInAppWords) };
    const v = this.view!;
    if (!v.conclusion) this.jobs.end(v.jobId, 'done', { result: { outcome: conclusion.outcome, summary: conclusion.summary } });
    this.view = { ...v, conclusion };
    this.publish();
    return conclusion;
  }

  private publish(): void {
    this.events.emit('selfcheck', this.view);
  }
}
