import { realClock, type Clock } from '../../../shared/util/clock.js';

/**
 * A timeout for an answer that may already be waiting. After an event-loop stall (a loaded
 * machine, a long GC pause) a request's timer and its answer fall due together, and Node runs
 * timers before I/O callbacks (and before setImmediate deliveries of the simulated line): a plain
 * setTimeout would then report "no answer" with the answer already in the queue. `onExpire`
 * therefore runs one turn later (the clock's `defer`), after what has arrived has been handled.
 * On a virtual clock the same holds: an answer due at the same instant is delivered first.
 *
 * Returns the cancel function; it stops either stage, so a settled request is never failed late.
 */
export function deadline(ms: number, onExpire: () => void, clock: Clock = realClock): () => void {
  let cancelDeferred: (() => void) | null = null;
  const cancelTimer = clock.after(ms, () => {
    cancelDeferred = clock.defer(onExpire);
  });
  return () => {
    cancelTimer();
    cancelDeferred?.();
  };
}
