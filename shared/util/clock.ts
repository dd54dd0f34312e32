/**
 * The one clock of PackScope. Everything that waits or measures time takes a Clock: the simulated
 * board (its pack steps, line pacing, telemetry and transfer timers), the host's native link
 * (timeouts, retransmissions), sessions and BMS polling, the STM32 ROM client and the CAN/ISO-TP
 * state machines. The default everywhere is `realClock` (the runtime's timers, monotonic time);
 * tests pass a VirtualClock, on which time moves only when the test moves it, so a 1 s telemetry
 * window or a 10 s stall timeout takes no wall time and gives the same answer on any machine.
 *
 * shared/ has no timers of its own (no DOM, no Node types): this is where it reaches them.
 */

/** Cancels a timer; harmless after it fired or when called twice. */
export type Cancel = () => void;

export interface TimerOptions {
  /**
   * The timer does not keep a Node process alive (simulated devices' housekeeping): a process
   * whose only work left is such timers exits. The virtual clock ignores it.
   */
  background?: boolean;
}

/** The part of AbortSignal the clock and the state machines in shared/ use (a real AbortSignal fits). */
export interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface Clock {
  /** Milliseconds, monotonic (fractions allowed); only differences mean anything. */
  now(): number;
  /** Runs fn once, ms from now (fractions allowed, negative = 0). */
  after(ms: number, fn: () => void, options?: TimerOptions): Cancel;
  /** Runs fn every ms (at least 1 ms) until cancelled; late ticks do not shift later ones. */
  every(ms: number, fn: () => void, options?: TimerOptions): Cancel;
  /**
   * Runs fn on the next turn, after everything already due now (I/O that has arrived, timers
   * that fell due together, data in flight on an in-process line): Node's setImmediate.
   */
  defer(fn: () => void): Cancel;
  /** Resolves after ms; resolves early (never rejects) when signal aborts: the caller checks it. */
  sleep(ms: number, signal?: AbortLike): Promise<void>;
}

/** The timers every runtime PackScope runs in has (Node, browsers); setImmediate is Node's. */
interface HostTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(timer: unknown): void;
  setImmediate?: (fn: () => void) => unknown;
  clearImmediate?: (immediate: unknown) => void;
  performance: { now(): number };
}

const host = globalThis as unknown as HostTimers;

function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}

function sleepOn(clock: Clock, ms: number, signal?: AbortLike): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = clock.after(ms, done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A clock on the runtime's timers. `background`: none of its timers keeps a Node process alive
 * (the simulated devices' timers; the host's own waits must, or a request on a quiet line would
 * be cut short by the process exiting).
 */
export function createRealClock(options: TimerOptions = {}): Clock {
  const clock: Clock = {
    now: () => host.performance.now(),
    after(ms, fn, o) {
      const t = host.setTimeout(fn, Math.max(0, ms));
      if (o?.background ?? options.background) unref(t);
      return () => host.clearTimeout(t);
    },
    every(ms, fn, o) {
      const t = host.setInterval(fn, Math.max(1, ms));
      if (o?.background ?? options.background) unref(t);
      return () => host.clearInterval(t);
    },
    defer(fn) {
      if (host.setImmediate && host.clearImmediate) {
        const i = host.setImmediate(fn);
        return () => host.clearImmediate!(i);
      }
      const t = host.setTimeout(fn, 0);
      return () => host.clearTimeout(t);
    },
    sleep: (ms, signal) => sleepOn(clock, ms, signal),
  };
  return clock;
}

/** The default clock: the runtime's timers, keeping the process alive while they wait. */
export const realClock: Clock = createRealClock();

/** One real turn of the event loop: every promise continuation queued so far has run after it. */
function macrotask(): Promise<void> {
  return new Promise((resolve) => (host.setImmediate ? host.setImmediate(resolve) : host.setTimeout(resolve, 0)));
}

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
  /** Repeat period for `every`, else 0. */
  period: number;
  cancelled: boolean;
}

/**
 * A clock for tests and offline simulation: time moves only when advanced, and timers fire in
 * order of due time, then of scheduling (so `defer` runs after everything already due now).
 * Between two timers the clock lets the real event loop turn once, so the promise chains a timer
 * starts (an answer decoded, a request resolved, the next request written) settle before the next
 * timer fires, as they would between two real timers.
 *
 * Work that waits for real I/O (files, sockets) is outside its reach: keep it off the virtual
 * timeline (in-memory state for the simulated board).
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: VirtualTimer[] = [];
  /**
   * Real time `run` grants work that waits with no timer scheduled (a module loading, a file
   * read) before calling the wait endless. Generous on purpose: on a loaded machine the first
   * import of a module tree can take seconds, and only a wait that really is endless pays it.
   */
  realGraceMs = 60_000;

  constructor(startMs = 0) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): Cancel {
    return this.add(this.t + Math.max(0, ms), fn, 0);
  }

  every(ms: number, fn: () => void): Cancel {
    const period = Math.max(1, ms);
    return this.add(this.t + period, fn, period);
  }

  defer(fn: () => void): Cancel {
    return this.add(this.t, fn, 0);
  }

  sleep(ms: number, signal?: AbortLike): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /** Due time of the next timer, or null when nothing is scheduled. */
  get nextAt(): number | null {
    return this.next()?.at ?? null;
  }

  /** Lets what is already queued (promise continuations, real I/O callbacks) run; time stays. */
  async settle(): Promise<void> {
    await macrotask();
  }

  /** Fires the next timer, moving time to it; false when nothing is scheduled. */
  async step(): Promise<boolean> {
    await this.settle();
    const next = this.next();
    if (!next) return false;
    this.fire(next);
    await this.settle();
    return true;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way (timers they add too). */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.t + Math.max(0, ms));
  }

  /** Moves time to `at` (never backwards), firing what falls due on the way. */
  async advanceTo(at: number): Promise<void> {
    for (;;) {
      await this.settle();
      const next = this.next();
      if (!next || next.at > at) break;
      this.fire(next);
    }
    this.t = Math.max(this.t, at);
    await this.settle();
  }

  /**
   * Fires timers until none is left. A repeating timer never leaves, so time is bounded: more
   * than `limitMs` from now throws.
   */
  async runUntilIdle(limitMs = 3_600_000): Promise<void> {
    const limit = this.t + limitMs;
    for (;;) {
      await this.settle();
      const next = this.next();
      if (!next) return;
      if (next.at > limit) throw new Error(`VirtualClock: still busy after ${limitMs} ms of virtual time (${this.timers.length} timer(s) pending)`);
      this.fire(next);
    }
  }

  /**
   * Moves time until `work` settles, and returns (or throws) what it does: the way a test runs
   * host and simulated board together. Time stops at the instant the work is done. Throws when
   * it would take more than `limitMs` of virtual time, or when nothing is scheduled that could
   * ever finish it.
   */
  async run<T>(work: Promise<T> | (() => Promise<T>), limitMs = 3_600_000): Promise<T> {
    const promise = typeof work === 'function' ? work() : work;
    let state: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
    promise.then(
      (value) => (state = { ok: true, value }),
      (error: unknown) => (state = { ok: false, error }),
    );
    const limit = this.t + limitMs;
    for (;;) {
      await this.settle();
      if (state) break;
      const next = this.next();
      if (!next) {
        // Nothing scheduled: real work may still be on its way (a module loading, a file read);
        // give it real time before calling the wait endless.
        const giveUpAt = host.performance.now() + this.realGraceMs;
        while (!state && !this.next() && host.performance.now() < giveUpAt) await new Promise<void>((r) => host.setTimeout(() => r(), 1));
        if (state || this.next()) continue;
        throw new Error('VirtualClock.run: the work waits, and no timer is scheduled that could end the wait');
      }
      if (next.at > limit) throw new Error(`VirtualClock.run: not done after ${limitMs} ms of virtual time`);
      this.fire(next);
    }
    const s = state as { ok: true; value: T } | { ok: false; error: unknown };
    if (!s.ok) throw s.error;
    return s.value;
  }

  private add(at: number, fn: () => void, period: number): Cancel {
    const timer: VirtualTimer = { at, seq: this.seq++, fn, period, cancelled: false };
    this.timers.push(timer);
    return () => {
      if (timer.cancelled) return;
      timer.cancelled = true;
      const i = this.timers.indexOf(timer);
      if (i >= 0) this.timers.splice(i, 1);
    };
  }

  private next(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const x of this.timers) if (!best || x.at < best.at || (x.at === best.at && x.seq < best.seq)) best = x;
    return best;
  }

  private fire(timer: VirtualTimer): void {
    this.t = Math.max(this.t, timer.at);
    if (timer.period > 0) {
      // Re-armed before it runs, so cancelling from inside the callback stops it.
      timer.at += timer.period;
      timer.seq = this.seq++;
    } else {
      timer.cancelled = true;
      this.timers.splice(this.timers.indexOf(timer), 1);
    }
    timer.fn();
  }
}
