/**
 * Calendar time for the claims desk on top of the injected Clock: Clock.now() is monotonic and
 * means nothing as a date, so a WallClock pins the epoch time of the clock's zero once. On the
 * real clock that is Date.now() at start; tests give a VirtualClock whose time is already epoch
 * milliseconds (offset 0), so SLA deadlines and the daily digest move only when the test moves time.
 */
import { realClock, type Cancel, type Clock } from '../util/clock.js';
import { nextDigestMs, type Sla } from './sla.js';

export interface WallClock {
  readonly clock: Clock;
  /** Epoch milliseconds now. */
  nowMs(): number;
}

export function wallClock(clock: Clock = realClock, epochAtZeroMs: number = Date.now() - clock.now()): WallClock {
  return { clock, nowMs: () => epochAtZeroMs + clock.now() };
}

/**
 * Calls `fn` at every digest time (sla.digestHourUtc each day) until cancelled. Each run is
 * scheduled from the wall time then, so a clock that jumps does not drift the hour.
 */
export function scheduleDailyDigest(wall: WallClock, sla: Sla, fn: (atMs: number) => void): Cancel {
  let cancel: Cancel = () => {};
  let stopped = false;
  const arm = () => {
    const now = wall.nowMs();
    const at = nextDigestMs(sla, now);
    cancel = wall.clock.after(at - now, () => {
      if (stopped) return;
      fn(wall.nowMs());
      arm();
    });
  };
  arm();
  return () => {
    stopped = true;
    cancel();
  };
}
