import type { PackscopeApi } from '../../shared/api/contract.js';
import type { TelemetryFrame } from '../../shared/types/domain.js';
import { channelValuesInto, layoutChannels, type ChannelInfo } from '../../shared/series/channels.js';
import { decimate, EMPTY, type Decimated } from './decimate.js';
import { ChangeNotifier, type Source } from './source.js';

/** A step between frames longer than this is a gap (the link was quiet): the chart breaks its line. */
export const LIVE_GAP_MS = 2000;

/**
 * The live device as a Source: telemetry events go into a columnar ring buffer (one typed array
 * per channel: pack values, each cell, each sensor), so a chart redraw reads numbers, never
 * allocates per frame. Quiet periods are kept as gaps.
 */
export class LiveSource implements Source {
  readonly kind = 'live' as const;
  readonly capabilities = { live: true, seek: false };
  private capacity: number;
  private t: Float64Array;
  private cols = new Map<string, Float64Array>();
  private layout: ChannelInfo[] = layoutChannels(0, []);
  private layoutKey = '';
  private values = new Float64Array(8);
  private start = 0;
  private n = 0;
  private last: TelemetryFrame | null = null;
  private lastArrival = 0;
  private notifier = new ChangeNotifier();
  private paused = false;
  private off: (() => void) | null = null;
  /** [last time before, first time after] of each quiet period, ascending. */
  private gaps: Array<[number, number]> = [];

  /** `capacity` samples are kept (default: 30 minutes at 50 Hz). */
  constructor(capacity = 90_000) {
    this.capacity = capacity;
    this.t = new Float64Array(capacity);
  }

  attach(api: PackscopeApi): this {
    this.off = api.on('telemetry', (f) => this.push(f));
    return this;
  }

  detach(): void {
    this.off?.();
    this.off = null;
  }

  /** Marks a gap from the last frame to `until` (the host reports a quiet link or a reconnect). */
  markGap(until: number): void {
    const lastT = this.n ? this.t[this.start + this.n - 1]! : NaN;
    if (lastT === lastT && until > lastT && !this.gaps.some((g) => g[0] === lastT)) this.gaps.push([lastT, until]);
  }

  private ensureLayout(f: TelemetryFrame): void {
    const key = `${f.cellVoltages.length}/${f.temperatures.length}`;
    if (key === this.layoutKey) return;
    this.layoutKey = key;
    this.layout = layoutChannels(f.cellVoltages.length, [], f.temperatures.length);
    this.values = new Float64Array(this.layout.length);
    for (const c of this.layout) if (!this.cols.has(c.id)) this.cols.set(c.id, new Float64Array(this.capacity).fill(NaN));
  }

  push(f: TelemetryFrame, arrival = performance.now()): void {
    this.ensureLayout(f);
    const lastT = this.n ? this.t[this.start + this.n - 1]! : NaN;
    if (f.t - lastT > LIVE_GAP_MS) this.markGap(f.t);
    this.last = f;
    this.lastArrival = arrival;
    channelValuesInto(f, this.values);
    // The ring is kept contiguous by compacting when it wraps: charts decimate over [start, start+n).
    if (this.start + this.n >= this.capacity) {
      const keep = Math.floor(this.capacity / 2);
      const from = this.start + this.n - keep;
      this.t.copyWithin(0, from, from + keep);
      for (const col of this.cols.values()) col.copyWithin(0, from, from + keep);
      this.start = 0;
      this.n = keep;
      const first = this.t[0]!;
      this.gaps = this.gaps.filter((g) => g[1] > first);
    }
    const i = this.start + this.n;
    this.t[i] = f.t;
    for (const col of this.cols.values()) col[i] = NaN;
    this.layout.forEach((c, k) => (this.cols.get(c.id)![i] = this.values[k]!));
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
    this.gaps = [];
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

  channels(): ChannelInfo[] {
    return this.layout;
  }

  series(channel: string, t0: number, t1: number, buckets: number): Decimated {
    const col = this.cols.get(channel);
    if (!col) return EMPTY;
    return decimate(this.t, col, this.start, this.start + this.n, t0, t1, buckets, this.gaps);
  }

  onChange(listener: () => void): () => void {
    return this.notifier.on(listener);
  }
}
