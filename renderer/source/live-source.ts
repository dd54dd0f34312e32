import type { PackscopeApi } from '../../shared/api/contract.js';
import type { TelemetryFrame } from '../../shared/types/domain.js';
import { decimate, type Decimated } from './decimate.js';
import { CHANNEL_NAMES, ChangeNotifier, channelValues, type Channel, type Source } from './source.js';

/**
 * The live device as a Source: telemetry events go into a columnar ring buffer (one typed array
 * per channel), so a chart redraw reads numbers, never allocates per frame.
 */
export class LiveSource implements Source {
  readonly kind = 'live' as const;
  readonly capabilities = { live: true, seek: false };
  private capacity: number;
  private t: Float64Array;
  private cols: Record<Channel, Float64Array>;
  private start = 0;
  private n = 0;
  private last: TelemetryFrame | null = null;
  private lastArrival = 0;
  private notifier = new ChangeNotifier();
  private paused = false;
  private off: (() => void) | null = null;

  /** `capacity` samples are kept (default: 30 minutes at 50 Hz). */
  constructor(capacity = 90_000) {
    this.capacity = capacity;
    this.t = new Float64Array(capacity);
    this.cols = Object.fromEntries(CHANNEL_NAMES.map((c) => [c, new Float64Array(capacity)])) as Record<Channel, Float64Array>;
  }

  attach(api: PackscopeApi): this {
    this.off = api.on('telemetry', (f) => this.push(f));
    return this;
  }

  detach(): void {
    this.off?.();
    this.off = null;
  }

  push(f: TelemetryFrame, arrival = performance.now()): void {
    this.last = f;
    this.lastArrival = arrival;
    const v = channelValues(f);
    // The ring is kept contiguous by compacting when it wraps: charts decimate over [start, start+n).
    if (this.start + this.n >= this.capacity) {
      const keep = Math.floor(this.capacity / 2);
      const from = this.start + this.n - keep;
      this.t.copyWithin(0, from, from + keep);
      for (const c of CHANNEL_NAMES) this.cols[c].copyWithin(0, from, from + keep);
      this.start = 0;
      this.n = keep;
    }
    const i = this.start + this.n;
    this.t[i] = f.t;
    for (const c of CHANNEL_NAMES) this.cols[c][i] = v[c];
    this.n++;
    if (!this.paused) this.notifier.notify();
  }

  /** Milliseconds since the last frame arrived (Infinity before the first). */
  ageMs(now = performance.now()): number {
    return this.last ? now - this.lastArrival : Infinity;
  }

  setPaused(p: boolean): void {
    this.paused = p;
    if (!p) this.notifier.notify();
  }

  clear(): void {
    this.start = 0;
    this.n = 0;
    this.last = null;
    this.notifier.notify();
  }

  span(): [number, number] | null {
    return this.n ? [this.t[this.start]!, this.t[this.start + this.n - 1]!] : null;
  }

  count(): number {
    return this.n;
  }

  latest(): TelemetryFrame | null {
    return this.last;
  }

  series(channel: Channel, t0: number, t1: number, buckets: number): Decimated {
    return decimate(this.t, this.cols[channel], this.start, this.start + this.n, t0, t1, buckets);
  }

  onChange(listener: () => void): () => void {
    return this.notifier.on(listener);
  }
}
