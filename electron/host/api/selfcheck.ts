import { PackscopeError } from '../../../shared/errors.js';
import { SelfCheck, STEPS } from '../selfcheck/selfcheck.js';
import type { Conclusion, StepId, StepResult } from '../selfcheck/types.js';
import type { DeviceSession } from './device.js';
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

/**
 * The self-check wizard's host half: one guided check at a time on the connected pack, step by
 * step (each step may be run again after the user fixed something), then the conclusion.
 */
export class SelfCheckJobs {
  private check: SelfCheck | null = null;
  /** The board's identity the running check judges (firmware and serial at its start). */
  private checked: { serial: string; firmwareVersion: string } | null = null;
  private signal: AbortController | null = null;

  constructor(private device: DeviceSession) {}

  steps() {
    return STEPS.map((s) => ({ id: s.id, title: s.title, prompt: s.prompt }));
  }

  start(options: { charger: { voltageV: number; currentA: number } | null; ambientC: number | null }) {
    const session = this.device.require();
    this.signal?.abort();
    this.signal = new AbortController();
    this.check = new SelfCheck(session, { charger: options.charger, ambientC: options.ambientC, signal: this.signal.signal });
    this.checked = session.info ? { serial: session.info.serial, firmwareVersion: session.info.firmwareVersion } : null;
    return this.steps();
  }

  /**
   * The running check, as long as it still describes the connected board: after a flash, an
   * update or a revert its identity step (and the rest) judged other firmware, and a report
   * mixing the two would put wrong data into evidence.
   */
  private current(): SelfCheck {
    if (!this.check) throw new PackscopeError('USAGE', 'start the self-check first');
    const now = this.device.current?.info;
    const was = this.checked;
    if (was && now && (now.serial !== was.serial || now.firmwareVersion !== was.firmwareVersion)) {
      this.check = null;
      this.checked = null;
      this.signal?.abort();
      throw new PackscopeError(
        'REFUSED',
        now.serial !== was.serial
          ? `Another pack (serial ${now.serial}) is connected now than the one this check started on (${was.serial}): start the self-check again.`
          : `The board's firmware changed since this check started (${was.firmwareVersion} → ${now.firmwareVersion}): start the self-check again, so every step judges the firmware it runs now.`,
      );
    }
    return this.check;
  }

  async step(id: StepId, signal: AbortSignal, charger?: { voltageV: number; currentA: number } | null): Promise<StepResult> {
    const check = this.current();
    if (charger !== undefined) check.setCharger(charger);
    const stop = () => this.signal?.abort(new PackscopeError('CANCELLED', 'self-check cancelled'));
    signal.addEventListener('abort', stop, { once: true });
    try {
      return resultInAppWords(await check.runStep(id));
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
    return { ...c, summary: inAppWords(c.summary), results: c.results.map(resultInAppWords) };
  }
}
