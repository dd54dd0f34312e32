import type { EventName, EventPayload } from '../../../shared/api/contract.js';
import type { EventSource } from '../../../shared/api/rpc.js';

/** The host's event hub: back-end modules emit, every RPC connection subscribes. */
export class HostEvents implements EventSource {
  private listeners = new Map<EventName, Set<(payload: never) => void>>();

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    // A listener that throws (a closed socket) must not starve the others.
    for (const l of [...set]) {
      try {
        (l as (p: EventPayload<E>) => void)(payload);
      } catch {
        /* the connection's own close handling removes it */
      }
    }
  }

  listenerCount(event: EventName): number {
    return this.listeners.get(event)?.size ?? 0;
  }
}
