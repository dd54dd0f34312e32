import type { CloseReason } from '../../../shared/types/transport.js';
import { Emitter } from '../../../shared/util/emitter.js';

/**
 * The listener bookkeeping every ByteTransport needs (data and close listeners, each
 * registration returning its own remover), so serial, TCP and the in-process simulator only
 * say when bytes arrive and why the line went away.
 */
export abstract class TransportListeners {
  private readonly dataEvents = new Emitter<Uint8Array>();
  private readonly closeEvents = new Emitter<CloseReason>();

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.dataEvents.on(listener);
  }

  onClose(listener: (reason: CloseReason) => void): () => void {
    return this.closeEvents.on(listener);
  }

  protected emitData(chunk: Uint8Array): void {
    this.dataEvents.emit(chunk);
  }

  protected emitClose(reason: CloseReason): void {
    this.closeEvents.emit(reason);
  }
}
