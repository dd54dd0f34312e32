import type { CloseReason } from '../../../shared/types/transport.js';

/**
 * The listener bookkeeping every ByteTransport needs (data and close listeners, each
 * registration returning its own remover), so serial, TCP and the in-process simulator only
 * say when bytes arrive and why the line went away.
 */
export abstract class TransportListeners {
  private readonly dataListeners = new Set<(chunk: Uint8Array) => void>();
  private readonly closeListeners = new Set<(reason: CloseReason) => void>();

  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onClose(listener: (reason: CloseReason) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  protected emitData(chunk: Uint8Array): void {
    for (const l of this.dataListeners) l(chunk);
  }

  protected emitClose(reason: CloseReason): void {
    for (const l of this.closeListeners) l(reason);
  }
}
