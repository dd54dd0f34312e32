import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHostApi } from '../../../electron/host/api/index.js';
import { startServer, type RunningServer } from '../../../electron/host/serve/server.js';
import { contract } from '../../../shared/api/contract.js';
import type { Handlers } from '../../../shared/api/rpc-server.js';

const rendererDir = mkdtempSync(path.join(os.tmpdir(), 'ps-renderer-'));
writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');

let server: RunningServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

/** A host whose handlers count calls, so tests can prove a refused message never reached it. */
function countingHost() {
  const api = createHostApi({ host: 'browser', version: '0.0.0-test', dataDir: rendererDir });
  let calls = 0;
  const handlers = Object.fromEntries(
    Object.entries(api.handlers).map(([k, fn]) => [k, (p: never, c: never) => (calls++, (fn as (p: never, c: never) => Promise<unknown>)(p, c))]),
  ) as unknown as Handlers;
  return { api, handlers, calls: () => calls };
}

function open(s: RunningServer, origin = `http://127.0.0.1:${s.port}`): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/rpc`, { origin });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function next(ws: WebSocket): Promise<{ msg: Record<string, unknown> | null; closeCode?: number }> {
  return new Promise((resolve) => {
    ws.once('message', (d) => resolve({ msg: JSON.parse(d.toString()) }));
    ws.once('close', (code) => resolve({ msg: null, closeCode: code }));
  });
}

describe('browser host bridge', () => {
  it('serves the renderer with a strict CSP on 127.0.0.1 and prints a URL carrying the token', async () => {
    const host = countingHost();
    server = await startServer({ handlers: host.handlers, events: host.api.events, rendererDir });
    expect(server.host).toBe('127.0.0.1');
    expect(server.openUrl).toBe(`http://127.0.0.1:${server.port}/#token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`${server.url}..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    // Each run gets its own token.
    const other = await startServer({ handlers: host.handlers, events: host.api.events, rendererDir });
    expect(other.token).not.toBe(server.token);
    await other.close();
  });

  it('answers calls that carry the token', async () => {
    const host = countingHost();
    server = await startServer({ handlers: host.handlers, events: host.api.events, rendererDir, validateOutput: true });
    const ws = await open(server);
    ws.send(JSON.stringify({ t: 'call', id: 1, method: 'app.info', params: {}, token: server.token }));
    const { msg } = await next(ws);
    expect(msg).toMatchObject({ t: 'result', id: 1, value: { host: 'browser' } });
    expect(contract.methods['app.info'].response.safeParse(msg!.value).success).toBe(true);
    ws.close();
  });

  it('refuses and closes on a message without the token, or with a wrong one, before the host sees it', async () => {
    const host = countingHost();
    server = await startServer({ handlers: host.handlers, events: host.api.events, rendererDir });
    for (const token of [undefined, 'wrong', server.token.slice(1), 42]) {
      const ws = await open(server);
      ws.send(JSON.stringify({ t: 'call', id: 1, method: 'app.info', params: {}, ...(token === undefined ? {} : { token }) }));
      const first = await next(ws);
      expect(first.msg).toMatchObject({ t: 'error', id: null, error: { code: 'REFUSED' } });
      const closed = await next(ws);
      expect(closed.closeCode).toBe(1008);
    }
    // A subscription without the token is refused the same way.
    const ws = await open(server);
    ws.send(JSON.stringify({ t: 'sub', event: 'telemetry' }));
    expect((await next(ws)).msg).toMatchObject({ error: { code: 'REFUSED' } });
    expect(host.calls()).toBe(0);
    expect(host.api.events.listenerCount('telemetry')).toBe(0);
  });

  it('answers malformed requests with a schema error that never reaches the host', async () => {
    const host = countingHost();
    server = await startServer({ handlers: host.handlers, events: host.api.events, rendererDir });
    const ws = await open(server);
    const t = server.token;
    const bad = [
      { t: 'call', id: 1, method: 'device.connect', params: { path: 42 }, token: t },
      { t: 'call', id: 2, method: 'telemetry.start', params: { rateHz: -1 }, token: t },
      { t: 'call', id: 3, method: 'files.list', params: { dir: 'x', extensions: ['../'] }, token: t },
      { t: 'call', id: 4, method: 'no.such', params: {}, token: t },
      { t: 'call', id: 5, method: 'device.connect', params: { path: 'sim:', shell: 'rm -rf /' }, token: t },
    ];
    for (const m of bad) {
      ws.send(JSON.stringify(m));
      const { msg } = await next(ws);
      expect(msg).toMatchObject({ t: 'error', id: m.id, error: { code: 'USAGE' } });
    }
    expect(host.calls()).toBe(0);
    ws.close();
  });

  it('refuses WebSocket upgrades from foreign origins and foreign Host names', async () => {
    const host = countingHost();
    server = await startServer({ handlers: host.handlers, events: host.api.events, rendererDir });
    await expect(open(server, 'https://evil.example')).rejects.toThrow(/403/);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host name.
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: server!.port, path: '/', headers: { host: `evil.example:${server!.port}` } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
        .on('error', reject);
    });
    expect(status).toBe(421);
  });

  it('refuses a non-loopback address unless it was asked for explicitly', async () => {
    const host = countingHost();
    await expect(startServer({ handlers: host.handlers, events: host.api.events, rendererDir, host: '0.0.0.0' })).rejects.toMatchObject({ code: 'REFUSED' });
    await expect(startServer({ handlers: host.handlers, events: host.api.events, rendererDir, host: '192.168.1.10' })).rejects.toMatchObject({
      code: 'REFUSED',
    });
    server = await startServer({ handlers: host.handlers, events: host.api.events, rendererDir, host: '0.0.0.0', allowNonLoopback: true });
    expect(server.host).toBe('0.0.0.0');
  });
});
