import { createRpcClient, type RpcClient } from '../../shared/api/rpc-client.js';
import type { PackscopeApi } from '../../shared/api/contract.js';

declare global {
  interface Window {
    /** Exposed by the Electron preload; absent in a browser. */
    packscope?: PackscopeApi;
  }
}

export type ConnectionState = 'open' | 'connecting' | 'closed';

/**
 * The API as the renderer uses it. In Electron the preload provides it; in a browser it is the
 * WebSocket bridge of `packscope serve`, whose token arrives in the URL fragment and rides on
 * every message.
 */
export function connectApi(onState: (s: ConnectionState, reason?: string) => void): PackscopeApi {
  if (window.packscope) {
    onState('open');
    return window.packscope;
  }
  const token = new URLSearchParams(location.hash.replace(/^#/, '')).get('token');
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/rpc`);
  const queue: string[] = [];
  const client: RpcClient = createRpcClient((m) => {
    const text = JSON.stringify({ ...m, token });
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
    else queue.push(text);
  });
  onState('connecting');
  ws.addEventListener('open', () => {
    for (const q of queue.splice(0)) ws.send(q);
    onState('open');
  });
  ws.addEventListener('message', (e) => {
    try {
      client.receive(JSON.parse(String(e.data)));
    } catch {
      /* not JSON: ignore */
    }
  });
  ws.addEventListener('close', (e) => {
    const reason = !token
      ? 'this page was opened without its token: open the full URL that "packscope serve" printed'
      : e.code === 1008
        ? 'the host refused the session token: open the URL that "packscope serve" printed for this run'
        : 'the connection to the PackScope host closed: is "packscope serve" still running?';
    client.close(reason);
    onState('closed', reason);
  });
  return client;
}
