import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { contract } from '../../../shared/api/contract.js';
import { createRpcClient, isServerMessage } from '../../../shared/api/rpc-client.js';
import { createRpcServer, type Handlers, type ServerMessage } from '../../../shared/api/rpc-server.js';
import { PackscopeError } from '../../../shared/errors.js';
import { HostEvents } from '../../../electron/host/api/events.js';

const device = {
  protocol: 'native' as const,
  model: 'PS-16',
  serial: 'S1',
  boardId: 'b',
  hardwareRevision: 'A',
  firmwareVersion: '1.0.0',
  bootloaderVersion: '1.0.0',
  cellCount: 16,
  chemistry: 'lfp' as const,
  nominalCapacityAh: 100,
  publicKeyFingerprint: null,
  signsEvidence: true,
};

/** Handlers that record every call, so a test can prove what never reached the host. */
function spyHandlers() {
  const calls: Array<[string, unknown]> = [];
  const h = {} as Record<string, (p: unknown) => Promise<unknown>>;
  for (const m of Object.keys(contract.methods)) {
    h[m] = vi.fn(async (p: unknown) => {
      calls.push([m, p]);
      if (m === 'device.identity') return device;
      if (m === 'op.cancel') throw new PackscopeError('NOT_FOUND', 'no such operation');
      if (m === 'device.status') throw new Error('boom');
      return { ok: true };
    });
  }
  return { handlers: h as unknown as Handlers, calls };
}

function pair() {
  const { handlers, calls } = spyHandlers();
  const events = new HostEvents();
  const sent: ServerMessage[] = [];
  const client = createRpcClient((m) => server.receive(JSON.parse(JSON.stringify(m))));
  const server = createRpcServer(
    handlers,
    events,
    (m) => {
      sent.push(m);
      queueMicrotask(() => client.receive(JSON.parse(JSON.stringify(m))));
    },
    { validateOutput: true },
  );
  return { client, server, calls, events, sent };
}

describe('RPC layer', () => {
  it('round-trips a call, applying the contract defaults before the host sees the request', async () => {
    const { client, calls } = pair();
    await expect(client.call('telemetry.start', {})).resolves.toEqual({ ok: true });
    expect(calls).toEqual([['telemetry.start', { rateHz: 10 }]]);
    await expect(client.call('device.identity', {})).resolves.toEqual(device);
  });

  it('rejects invalid params with a USAGE schema error and never calls the host', async () => {
    const { client, calls } = pair();
    await expect(client.call('telemetry.start', { rateHz: 5000 })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('params.rateHz') });
    await expect(client.call('device.connect', { path: '' })).rejects.toMatchObject({ code: 'USAGE' });
    // Unknown keys are refused too (strict objects): nothing smuggled past the schema.
    await expect(client.call('device.disconnect', { extra: 1 } as never)).rejects.toMatchObject({ code: 'USAGE' });
    expect(calls).toEqual([]);
  });

  it('rejects unknown methods and malformed envelopes', async () => {
    const { client, server, calls, sent } = pair();
    await expect(client.call('fs.readFile' as never, {} as never)).rejects.toMatchObject({ code: 'USAGE', message: "unknown method 'fs.readFile'" });
    server.receive({ t: 'call', id: 'x', method: 'app.info' });
    server.receive('hello');
    server.receive(null);
    server.receive({ t: 'sub', event: 'secrets' });
    expect(calls).toEqual([]);
    expect(sent.filter((m) => m.t === 'error' && m.error.code === 'USAGE')).toHaveLength(5);
  });

  it('sends errors as {code, message}: typed errors keep their code, others become INTERNAL', async () => {
    const { client } = pair();
    await expect(client.call('op.cancel', { opId: 'a' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such operation' });
    await expect(client.call('device.status', {})).rejects.toMatchObject({ code: 'INTERNAL', message: 'boom' });
  });

  it('refuses a host response that breaks the contract when output validation is on', async () => {
    const { client } = pair();
    // app.info's spy returns {ok:true}, which is not an app.info response.
    await expect(client.call('app.info', {})).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('delivers events only to subscribers, and stops after unsubscribe or close', async () => {
    const { client, server, events } = pair();
    const got: unknown[] = [];
    events.emit('link', { state: 'connected', path: 'sim:' });
    const off = client.on('link', (e) => got.push(e));
    events.emit('link', { state: 'connected', path: 'sim:' });
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toEqual([{ state: 'connected', path: 'sim:' }]);
    off();
    events.emit('link', { state: 'disconnected', path: 'sim:' });
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toHaveLength(1);
    client.on('link', () => undefined);
    expect(events.listenerCount('link')).toBe(1);
    server.close();
    expect(events.listenerCount('link')).toBe(0);
  });

  it('fails calls in flight when the connection closes', async () => {
    const client = createRpcClient(() => undefined);
    const p = client.call('app.info', {});
    client.close('gone');
    await expect(p).rejects.toMatchObject({ code: 'DISCONNECTED', message: 'gone' });
    await expect(client.call('app.info', {})).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('property: arbitrary messages never throw, never reach the host unless they are valid calls', () => {
    const { handlers, calls } = spyHandlers();
    const sent: ServerMessage[] = [];
    const server = createRpcServer(handlers, new HostEvents(), (m) => sent.push(m));
    const names = [...Object.keys(contract.methods), 'x', '__proto__', 'constructor'];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              t: fc.constantFrom('call', 'sub', 'unsub', 'result'),
              id: fc.oneof(fc.nat(), fc.string()),
              method: fc.constantFrom(...names),
              event: fc.string(),
              params: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
        ),
        (msg) => {
          calls.length = 0;
          expect(() => server.receive(msg)).not.toThrow();
          for (const [method, params] of calls) {
            // Whatever reached a handler passed that method's request schema.
            expect(contract.methods[method as keyof typeof contract.methods].request.safeParse(params).success).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the client takes well-formed server messages only, and arbitrary ones never throw', async () => {
    expect(isServerMessage({ t: 'result', id: 1, value: 2 })).toBe(true);
    expect(isServerMessage({ t: 'error', id: null, error: { code: 'IO', message: 'm' } })).toBe(true);
    expect(isServerMessage({ t: 'event', event: 'link', payload: {} })).toBe(true);
    for (const bad of [
      null,
      3,
      'x',
      [],
      { t: 'result' },
      { t: 'result', id: '1' },
      { t: 'result', id: Number.NaN },
      { t: 'error', id: 1, error: { code: 'NOPE', message: 'm' } },
      { t: 'error', id: 1, error: { code: 'IO' } },
      { t: 'error', id: 1 },
      { t: 'event', event: 7 },
      { t: 'call', id: 1, method: 'app.info' },
    ]) {
      expect(isServerMessage(bad)).toBe(false);
    }
    const client = createRpcClient(() => undefined);
    const pending = client.call('app.info', {});
    client.receive({ t: 'error', id: 1, error: { code: 'NOPE', message: 'not a code' } });
    client.receive({ t: 'result', id: 1, value: 'answered' });
    await expect(pending).resolves.toBe('answered');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              t: fc.constantFrom('result', 'error', 'event'),
              id: fc.oneof(fc.nat(), fc.string(), fc.constant(null)),
              error: fc.jsonValue(),
              event: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
        ),
        (msg) => {
          expect(() => client.receive(msg)).not.toThrow();
        },
      ),
      { numRuns: 300 },
    );
  });
});
