import type { Scheduler } from '../../../shared/can/scheduler.js';

/** Wall-clock Scheduler for the simulated CAN nodes (ISO-TP timers, UDS P2/S3 timers). */
export const realTimeScheduler: Scheduler = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return () => clearTimeout(t);
  },
};
