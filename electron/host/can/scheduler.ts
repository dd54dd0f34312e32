import type { Scheduler } from '../../../shared/can/scheduler.js';

/** Wall-clock Scheduler for the host's ISO-TP and UDS timers. */
export const hostScheduler: Scheduler = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};
