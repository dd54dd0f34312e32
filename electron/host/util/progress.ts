import type { TransferProgress } from '../../../shared/types/domain.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';

/**
 * The one rate and ETA calculator of the host (black-box pulls, bulk transfers, every flash back
 * end): the rate over a sliding window (default 2 s) and the time the rest takes at that rate,
 * measured on the clock of the transfer it reports.
 */
export class ProgressMeter {
  private samples: Array<{ t: number; done: number }> = [];
  constructor(
    readonly total: number,
    private readonly windowMs = 2000,
    private readonly clock: Clock = realClock,
  ) {}

  /** Units per second over the window, and the seconds left (null while no rate is known yet). */
  measure(done: number): { rate: number; etaSeconds: number | null } {
    const t = this.clock.now();
    this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    const rate = dt > 0.05 ? (done - first.done) / dt : 0;
    return { rate, etaSeconds: rate > 0 ? Math.max(0, (this.total - done) / rate) : done >= this.total ? 0 : null };
  }

  update(done: number, phase?: string): TransferProgress {
    return { done, total: this.total, ...this.measure(done), ...(phase ? { phase } : {}) };
  }
}
