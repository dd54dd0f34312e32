import { describe, expect, it } from 'vitest';
import type { CloseReason } from '../../../shared/types/transport.js';
import { MockTransport } from '../../support/mock-transport.js';

describe('MockTransport', () => {
  it('the scripted peer answers writes; answers arrive later and in order; writes are recorded on request', async () => {
    const t = new MockTransport({ record: true, peer: (d, port) => port.reply([d, Uint8Array.of(0xff)]) });
    const got: number[][] = [];
    t.onData((c) => got.push([...c]));
    await t.write(Uint8Array.of(1, 2));
    expect(got).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([[1, 2], [0xff]]);
    expect(t.written.map((c) => [...c])).toEqual([[1, 2]]);
  });

  it('data flows only while open; close reports closed once, unplug reports disconnected; listeners are counted', async () => {
    const t = new MockTransport({ open: false });
    const got: number[] = [];
    const reasons: CloseReason[] = [];
    const off = t.onData((c) => got.push(...c));
    t.onClose((r) => reasons.push(r));
    t.emitData(Uint8Array.of(1));
    await t.open();
    t.emitData(Uint8Array.of(2));
    await t.close();
    await t.close();
    t.emitData(Uint8Array.of(3));
    await t.open();
    t.unplug('cable');
    expect(got).toEqual([2]);
    expect(reasons).toEqual([{ kind: 'closed' }, { kind: 'disconnected', message: 'cable' }]);
    expect(t.listenerCount).toBe(2);
    off();
    expect(t.listenerCount).toBe(1);
  });
});
