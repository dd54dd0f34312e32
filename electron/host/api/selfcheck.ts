import { PackscopeError } from '../../../shared/errors.js';
import { SelfCheck, STEPS } from '../selfcheck/selfcheck.js';
import type { Conclusion, StepId, StepResult } from '../selfcheck/types.js';
import type { DeviceSession } from './device.js';

/**
 * The self-check wizard's host half: one guided check at a time on the connected pack, step by
 * step (each step may be run again after the user fixed something), then the conclusion.
 */
export class SelfCheckJobs {
  private check: SelfCheck | null = null;
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
    return this.steps();
  }

  private current(): SelfCheck {
    if (!this.check) throw new PackscopeError('USAGE', 'start the self-check first');
    return this.check;
  }

  async step(id: StepId, signal: AbortSignal): Promise<StepResult> {
    const check = this.current();
    const stop = () => this.signal?.abort(new PackscopeError('CANCELLED', 'self-check cancelled'));
    signal.addEventListener('abort', stop, { once: true });
    try {
      return await check.runStep(id);
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  conclusion(): Conclusion {
    return this.current().conclusion();
  }
}
