import { z } from 'zod';
import { PackscopeError, errorToPlain, type ErrorCode } from '../errors.js';
import { Emitter } from '../util/emitter.js';
import { contract, isEventName, isMethodName, type EventName, type EventPayload, type MethodName, type Params, type Res } from './contract.js';
import type { ClientMessage, ServerMessage } from './rpc-protocol.js';

/**
 * The server half of the RPC layer (rpc-protocol.ts): what the host runs for each connection,
 * over Electron IPC and the WebSocket bridge. It validates the envelope and the request params
 * against the contract before the host sees anything; a malformed message gets a USAGE error and
 * never reaches a handler.
 */
export type { ClientMessage, ServerMessage } from './rpc-protocol.js';

export const clientMessage: z.ZodType<ClientMessage> = z.discriminatedUnion('t', [
  z.object({ t: z.literal('call'), id: z.number().int().nonnegative(), method: z.string().max(64), params: z.unknown() }),
  z.object({ t: z.literal('sub'), event: z.string().max(64) }),
  z.object({ t: z.literal('unsub'), event: z.string().max(64) }),
]);

/** Human-readable summary of a zod error: "params.path: Too small ..." (first three issues). */
export function describeSchemaError(prefix: string, error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((i) => `${[prefix, ...i.path.map(String)].join('.')}: ${i.message}`);
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return `invalid request: ${issues.join('; ')}${more}`;
}

/** Per-call context a handler gets. */
export interface CallContext {
  /** True once the caller's connection went away. */
  readonly closed: boolean;
  /** Runs `listener` when the caller's connection goes away (a long operation may stop then). */
  onClose(listener: () => void): () => void;
}

export type Handlers = {
  [M in MethodName]: (params: Params<M>, ctx: CallContext) => Promise<Res<M>>;
};

/** Where the host's events come from; one source serves every connection. */
export interface EventSource {
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

export interface ServeOptions {
  /** Validate responses and event payloads too (tests and development; costs time on big replies). */
  validateOutput?: boolean;
}

export interface RpcServerConnection {
  /** Feeds one message received from the client. */
  receive(message: unknown): void;
  /** Drops every subscription and aborts calls in flight (the connection closed). */
  close(): void;
}

/**
 * Serves the contract on one connection. `send` delivers a server message to that client only.
 * Returns the connection object the transport feeds messages into.
 */
export function createRpcServer(
  handlers: Handlers,
  events: EventSource,
  send: (message: ServerMessage) => void,
  options: ServeOptions = {},
): RpcServerConnection {
  const subs = new Map<EventName, () => void>();
  const closeEvents = new Emitter();
  let closed = false;
  const callContext: CallContext = {
    get closed() {
      return closed;
    },
    onClose(listener) {
      return closeEvents.on(listener);
    },
  };

  const fail = (id: number | null, code: ErrorCode, message: string) => {
    if (!closed) send({ t: 'error', id, error: { code, message } });
  };

  const runCall = async (id: number, method: MethodName, rawParams: unknown) => {
    const spec = contract.methods[method];
    const parsed = spec.request.safeParse(rawParams ?? {});
    if (!parsed.success) return fail(id, 'USAGE', describeSchemaError('params', parsed.error));
    try {
      const handler = handlers[method] as (p: unknown, c: CallContext) => Promise<unknown>;
      let value = await handler(parsed.data, callContext);
      if (options.validateOutput) {
        const checked = spec.response.safeParse(value);
        if (!checked.success) throw new PackscopeError('INTERNAL', `host returned an invalid ${method} response: ${checked.error.message}`);
        value = checked.data;
      }
      if (!closed) send({ t: 'result', id, value });
    } catch (e) {
      const plain = errorToPlain(e);
      fail(id, plain.code, plain.message);
    }
  };

  return {
    receive(message) {
      if (closed) return;
      const env = clientMessage.safeParse(message);
      if (!env.success) {
        const id = typeof (message as { id?: unknown })?.id === 'number' ? (message as { id: number }).id : null;
        return fail(id, 'USAGE', describeSchemaError('message', env.error));
      }
      const msg = env.data;
      if (msg.t === 'call') {
        if (!isMethodName(msg.method)) return fail(msg.id, 'USAGE', `unknown method '${msg.method}'`);
        void runCall(msg.id, msg.method, msg.params);
        return;
      }
      if (!isEventName(msg.event)) return fail(null, 'USAGE', `unknown event '${msg.event}'`);
      const event = msg.event;
      if (msg.t === 'sub') {
        if (subs.has(event)) return;
        const schema = contract.events[event];
        subs.set(
          event,
          events.on(event, (payload) => {
            if (closed) return;
            if (options.validateOutput && !schema.safeParse(payload).success) {
              return fail(null, 'INTERNAL', `host emitted an invalid '${event}' event`);
            }
            send({ t: 'event', event, payload });
          }),
        );
      } else {
        subs.get(event)?.();
        subs.delete(event);
      }
    },
    close() {
      closed = true;
      for (const off of subs.values()) off();
      subs.clear();
      closeEvents.emit();
      closeEvents.clear();
    },
  };
}
