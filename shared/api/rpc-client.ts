import { PackscopeError, isErrorCode } from '../errors.js';
import { Emitter } from '../util/emitter.js';
import type { EventName, EventPayload, MethodName, PackscopeApi, Req, Res } from './contract.js';
import type { ClientMessage, ServerMessage } from './rpc-protocol.js';

/**
 * The client half of the RPC layer (rpc-protocol.ts): what the Electron preload and the browser's
 * WebSocket connection run. It checks the envelope of what the server sends by hand and imports
 * the contract for its types only, so the sandboxed preload bundle carries neither the contract's
 * schemas nor zod: validating requests is the server's job (rpc-server.ts).
 */
export type { ClientMessage, ServerMessage } from './rpc-protocol.js';

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** True for a well-formed server message; anything else is dropped unread. */
export function isServerMessage(message: unknown): message is ServerMessage {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  switch (m.t) {
    case 'result':
      return isId(m.id);
    case 'event':
      return typeof m.event === 'string';
    case 'error': {
      const e = m.error as Record<string, unknown> | null | undefined;
      return (m.id === null || isId(m.id)) && typeof e === 'object' && e !== null && isErrorCode(e.code) && typeof e.message === 'string';
    }
    default:
      return false;
  }
}

export interface RpcClient extends PackscopeApi {
  /** Feeds one message received from the server. */
  receive(message: unknown): void;
  /** Fails every call in flight (the connection closed). */
  close(reason?: string): void;
}

/**
 * The client half. `send` delivers a client message to the server; the transport calls
 * `receive` with what the server sends back.
 */
export function createRpcClient(send: (message: ClientMessage) => void): RpcClient {
  let nextId = 1;
  let closedReason: string | null = null;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const listeners = new Map<EventName, Emitter<unknown>>();
  const errorEvents = new Emitter<PackscopeError>();

  const client: RpcClient & { onError(l: (e: PackscopeError) => void): () => void } = {
    call<M extends MethodName>(method: M, params: Req<M>): Promise<Res<M>> {
      if (closedReason !== null) return Promise.reject(new PackscopeError('DISCONNECTED', closedReason));
      const id = nextId++;
      return new Promise<Res<M>>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        try {
          send({ t: 'call', id, method, params });
        } catch (e) {
          pending.delete(id);
          reject(e);
        }
      });
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
      let events = listeners.get(event);
      if (!events) {
        events = new Emitter();
        listeners.set(event, events);
        if (closedReason === null) send({ t: 'sub', event });
      }
      const l = listener as (payload: unknown) => void;
      events.on(l);
      return () => {
        const e = listeners.get(event);
        if (!e) return;
        e.off(l);
        if (e.listenerCount === 0) {
          listeners.delete(event);
          if (closedReason === null) send({ t: 'unsub', event });
        }
      };
    },
    onError(l) {
      return errorEvents.on(l);
    },
    receive(message) {
      if (!isServerMessage(message)) return;
      const msg = message;
      if (msg.t === 'event') {
        listeners.get(msg.event as EventName)?.emit(msg.payload);
        return;
      }
      if (msg.t === 'result') {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        p?.resolve(msg.value);
        return;
      }
      const err = new PackscopeError(msg.error.code, msg.error.message);
      const p = msg.id === null ? undefined : pending.get(msg.id);
      if (p) {
        pending.delete(msg.id!);
        p.reject(err);
      } else {
        errorEvents.emit(err);
      }
    },
    close(reason = 'the connection to the host closed') {
      closedReason = reason;
      for (const p of pending.values()) p.reject(new PackscopeError('DISCONNECTED', reason));
      pending.clear();
    },
  };
  return client;
}
