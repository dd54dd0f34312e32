import type { EventName, EventPayload } from '../../../shared/api/contract.js';
import type { EventSource } from '../../../shared/api/rpc-server.js';
import { Emitter } from '../../../shared/util/emitter.js';

/** The host's event hub: back-end modules emit, every RPC connection subscribes. */
export class HostEvents implements EventSource {
  private emitters = new Map<EventName, Emitter<unknown>>();

  private emitter<E extends EventName>(event: E): Emitter<EventPayload<E>> {
    let e = this.emitters.get(event);
    // A listener that throws (a closed socket) must not starve the others; the connection's own
    // close handling removes it.
    if (!e) this.emitters.set(event, (e = new Emitter<unknown>({ onListenerError: () => undefined })));
    return e as unknown as Emitter<EventPayload<E>>;
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    return this.emitter(event).on(listener);
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    this.emitters.get(event)?.emit(payload);
  }

  listenerCount(event: EventName): number {
    return this.emitters.get(event)?.listenerCount ?? 0;
  }
}
