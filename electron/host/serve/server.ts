import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { contentSecurityPolicy, SECURITY_HEADERS } from '../../../shared/api/csp.js';
import { createRpcServer, type EventSource, type Handlers, type ServerMessage } from '../../../shared/api/rpc-server.js';
import { PackscopeError } from '../../../shared/errors.js';
import { contentType, readStatic, resolveStatic } from './static.js';

/**
 * The browser host: serves the built renderer and a WebSocket bridge to the host API.
 *
 * Safety: it binds 127.0.0.1 unless a non-loopback address is asked for explicitly; a random token
 * (new every run) must ride on EVERY WebSocket message, and a message without it closes the
 * socket; the Host and Origin headers must name this server (DNS-rebinding and cross-site
 * WebSocket hijacking); the token travels in the URL fragment, which browsers never send to a
 * server or a Referer.
 */
export interface ServeOptions {
  handlers: Handlers;
  events: EventSource;
  /** The built renderer (dist/renderer). */
  rendererDir: string;
  port?: number;
  host?: string;
  /** Must be true to bind anything but a loopback address (the CLI sets it only for an explicit --host). */
  allowNonLoopback?: boolean;
  /** Fixed token (tests); a fresh random one otherwise. */
  token?: string;
  validateOutput?: boolean;
}

export interface RunningServer {
  url: string;
  /** The URL to open: includes the token in its fragment. */
  openUrl: string;
  token: string;
  port: number;
  host: string;
  /** Number of open WebSocket connections. */
  connections(): number;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Bytes per WebSocket message; requests are small (paths, ids), so anything larger is refused. */
const MAX_MESSAGE = 256 * 1024;
/** Close code 1008 = policy violation. */
const POLICY = 1008;

function tokenMatches(expected: Buffer, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const g = Buffer.from(given);
  return g.length === expected.length && timingSafeEqual(g, expected);
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.allowNonLoopback) {
    throw new PackscopeError(
      'REFUSED',
      `refusing to listen on ${host}: the bridge controls connected devices, so it binds 127.0.0.1 only unless --host is given explicitly`,
    );
  }
  const token = options.token ?? randomBytes(24).toString('base64url');
  const expected = Buffer.from(token);
  let origins: Set<string> = new Set();
  let csp = contentSecurityPolicy();

  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, {
        'Content-Type': type,
        'Content-Security-Policy': csp,
        'Cache-Control': 'no-store',
        ...SECURITY_HEADERS,
      });
      res.end(body);
    };
    if (!hostAllowed(req.headers.host)) return send(421, 'misdirected request');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    const file = await resolveStatic(options.rendererDir, req.url ?? '/');
    if (!file) return send(404, 'not found');
    try {
      send(200, await readStatic(file), contentType(file));
    } catch {
      send(500, 'cannot read file');
    }
  });

  const hostAllowed = (h: string | undefined) => {
    if (!h) return false;
    if (!isLoopback(host)) return true; // explicitly exposed: any Host name may reach it
    return origins.has(`http://${h}`);
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });
  server.on('upgrade', (req, socket, head) => {
    const origin = req.headers.origin;
    const pathOk = (req.url ?? '').split('?')[0] === '/rpc';
    const originOk = origin === undefined ? false : isLoopback(host) ? origins.has(origin) : true;
    if (!pathOk || !hostAllowed(req.headers.host) || !originOk) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    const rpc = createRpcServer(
      options.handlers,
      options.events,
      (m: ServerMessage) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
      },
      { validateOutput: options.validateOutput },
    );
    ws.on('message', (data, isBinary) => {
      let msg: unknown;
      try {
        msg = isBinary ? undefined : JSON.parse(data.toString());
      } catch {
        msg = undefined;
      }
      const carried = msg && typeof msg === 'object' ? (msg as { token?: unknown }).token : undefined;
      if (!tokenMatches(expected, carried)) {
        ws.send(JSON.stringify({ t: 'error', id: null, error: { code: 'REFUSED', message: 'message without the session token refused' } }));
        ws.close(POLICY, 'token required');
        return;
      }
      const { token: _t, ...rest } = msg as Record<string, unknown>;
      rpc.receive(rest);
    });
    ws.on('close', () => rpc.close());
    ws.on('error', () => rpc.close());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new PackscopeError(
          e.code === 'EADDRINUSE' ? 'REFUSED' : 'IO',
          e.code === 'EADDRINUSE' ? `port ${options.port} is in use; pick another with --port` : `cannot listen: ${e.message}`,
        ),
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}/`;
  origins = new Set([`http://${urlHost}:${port}`, `http://localhost:${port}`, `http://127.0.0.1:${port}`]);
  csp = contentSecurityPolicy([...origins].map((o) => o.replace(/^http/, 'ws')));

  return {
    url,
    openUrl: `${url}#token=${token}`,
    token,
    port,
    host,
    connections: () => wss.clients.size,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
