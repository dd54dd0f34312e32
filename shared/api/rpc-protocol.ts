/**
 * The RPC wire protocol, one for every transport (Electron IPC, WebSocket, in-process channel in
 * tests):
 *
 *   client → server  {t:'call', id, method, params} | {t:'sub', event} | {t:'unsub', event}
 *   server → client  {t:'result', id, value} | {t:'error', id, error:{code,message}} | {t:'event', event, payload}
 *
 * Plain types only, no runtime code: the client (rpc-client.ts) runs in the sandboxed preload and
 * in the renderer, the server (rpc-server.ts) in the host, and neither drags the other along.
 */
import type { ErrorCode } from '../errors.js';

export type ClientMessage = { t: 'call'; id: number; method: string; params?: unknown } | { t: 'sub'; event: string } | { t: 'unsub'; event: string };

export interface RpcErrorPayload {
  code: ErrorCode;
  message: string;
}

export type ServerMessage =
  | { t: 'result'; id: number; value?: unknown }
  | { t: 'error'; id: number | null; error: RpcErrorPayload }
  | { t: 'event'; event: string; payload?: unknown };
