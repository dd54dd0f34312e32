/**
 * Time for the protocol state machines in shared/ (which has no timers of its own): the host and
 * the simulator pass real timers, unit tests pass a virtual clock so timeouts are tested exactly
 * and instantly.
 */
export interface Scheduler {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Runs fn after ms (fractions allowed); returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

/** The timers every runtime PackScope runs in has (Node, browsers); shared/ reaches them only here. */
interface HostTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  performance: { now(): number };
}

/**
 * The wall-clock Scheduler, for the host's ISO-TP and UDS timers and the simulated CAN nodes'.
 * `background` timers (the simulated ECU's session and response-pending timers) do not keep a
 * Node process alive; the host's do, so a request waiting on a quiet line is never cut short by
 * the process exiting.
 */
export function realTimeScheduler(options: { background?: boolean } = {}): Scheduler {
  const timers = globalThis as unknown as HostTimers;
  return {
    now: () => timers.performance.now(),
    after(ms, fn) {
      const t = timers.setTimeout(fn, Math.max(0, ms));
      if (options.background) (t as { unref?: () => void }).unref?.();
      return () => timers.clearTimeout(t);
    },
  };
}

/** A virtual clock for tests and offline simulation: time moves only when advanced. */
export class VirtualScheduler implements Scheduler {
  private t = 0;
  private seq = 0;
  private timers: Array<{ at: number; seq: number; fn: () => void }> = [];

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      const i = this.timers.indexOf(timer);
      if (i >= 0) this.timers.splice(i, 1);
    };
  }

  /** Advances time by ms, firing due timers in order (timers they add fire too if due). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      // Let promise continuations scheduled by the previous timer run before the next one fires.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }

  get pending(): number {
    return this.timers.length;
  }
}

/** The part of AbortSignal the state machines use (shared/ has no DOM types; a real AbortSignal fits). */
export interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
