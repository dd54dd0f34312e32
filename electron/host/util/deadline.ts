/**
 * A timeout for an answer that may already be waiting. After an event-loop stall (a loaded
 * machine, a long GC pause) a request's timer and its answer fall due together, and Node runs
 * timers before I/O callbacks (and before setImmediate deliveries of the simulated line): a plain
 * setTimeout would then report "no answer" with the answer already in the queue. `onExpire`
 * therefore runs one turn later (setImmediate), after what has arrived has been handled.
 *
 * Returns the cancel function; it stops either stage, so a settled request is never failed late.
 */
export function deadline(ms: number, onExpire: () => void): () => void {
  let immediate: NodeJS.Immediate | null = null;
  const timer = setTimeout(() => {
    immediate = setImmediate(onExpire);
  }, ms);
  return () => {
    clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
  };
}
