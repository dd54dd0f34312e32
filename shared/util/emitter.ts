/**
 * The one event type of PackScope: a typed listener list for one kind of event (a transport's
 * data, a driver's telemetry, a board's ticks). Every `onX(listener)` in the code base returns the
 * function that removes that listener; the Emitter is what stands behind it.
 *
 * Delivery rules, the same everywhere:
 * - Listeners run in the order they were added; adding a listener that is already there keeps it
 *   once, in its first place (an `on` after a `once` makes it permanent).
 * - An emit delivers to the listeners registered when it starts: one added by a listener waits for
 *   the next emit, one removed by a listener is not called any more, even in this emit.
 * - A listener that throws does not stop the others. Without an `onListenerError` handler the
 *   emit, after every listener has run, rethrows the error (an AggregateError when several
 *   threw), so the code that raised the event still sees it, as it would with one listener. With
 *   a handler, each error goes to it and emit never throws (the host's event hub, where one
 *   closed connection must not break the others).
 */
export type Listener<T> = (value: T) => void;

export interface EmitterOptions {
  /** Receives each error a listener throws; emit then never throws. */
  onListenerError?: (error: unknown) => void;
}

export class Emitter<T = void> {
  /** Listener → whether it is a `once` listener. A Map keeps insertion order. */
  private readonly listeners = new Map<Listener<T>, boolean>();

  constructor(private readonly options: EmitterOptions = {}) {}

  /** Adds a listener; returns the function that removes it. */
  on(listener: Listener<T>): () => void {
    this.listeners.set(listener, false);
    return () => this.off(listener);
  }

  /** Adds a listener for the next emit only; returns the function that removes it before then. */
  once(listener: Listener<T>): () => void {
    if (!this.listeners.has(listener)) this.listeners.set(listener, true);
    return () => this.off(listener);
  }

  /** Removes a listener; true when it was there. */
  off(listener: Listener<T>): boolean {
    return this.listeners.delete(listener);
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners.clear();
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Calls every listener with `value` (see the delivery rules above). */
  emit(value: T): void {
    if (this.listeners.size === 0) return;
    let errors: unknown[] | null = null;
    for (const listener of this.due()) {
      try {
        listener(value);
      } catch (e) {
        (errors ??= []).push(e);
      }
    }
    if (errors) this.fail(errors);
  }

  /**
   * Calls the listeners one after another, awaiting each one's promise before the next starts
   * (the simulated board's reset and stop hooks, which flush state in order). Same rules as emit;
   * a rejection counts as a throw.
   */
  async emitSerial(value: T): Promise<void> {
    let errors: unknown[] | null = null;
    for (const listener of this.due()) {
      try {
        await (listener(value) as unknown);
      } catch (e) {
        (errors ??= []).push(e);
      }
    }
    if (errors) this.fail(errors);
  }

  /** The listeners of an emit starting now, each checked again when its turn comes; once listeners leave. */
  private *due(): Generator<Listener<T>> {
    for (const listener of [...this.listeners.keys()]) {
      const once = this.listeners.get(listener);
      if (once === undefined) continue; // removed by an earlier listener of this emit
      if (once) this.listeners.delete(listener);
      yield listener;
    }
  }

  private fail(errors: unknown[]): void {
    const report = this.options.onListenerError;
    if (report) {
      for (const e of errors) report(e);
      return;
    }
    if (errors.length === 1) throw errors[0];
    throw new AggregateError(errors, `${errors.length} event listeners threw`);
  }
}
