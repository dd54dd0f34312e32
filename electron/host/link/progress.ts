import type { TransferProgress } from '../../../shared/types/domain.js';

/** Rate over a sliding window (default 2 s) and the ETA it implies, for progress bars and --json. */
export class ProgressMeter {
  private samples: Array<{ t: number; done: number }> = [];
  constructor(
    readonly total: number,
    private readonly windowMs = 2000,
  ) {}

  update(done: number, phase?: string): TransferProgress {
    const t = performance.now();
    this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    const rate = dt > 0.05 ? (done - first.done) / dt : 0;
    return {
      done,
      total: this.total,
      rate,
      etaSeconds: rate > 0 ? Math.max(0, (this.total - done) / rate) : done >= this.total ? 0 : null,
      ...(phase ? { phase } : {}),
    };
  }
}
