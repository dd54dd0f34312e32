import { describe, expect, it } from 'vitest';
import { ByteReader } from '../../../electron/host/stm32/reader.js';
import { VirtualClock } from '../../../shared/util/clock.js';
import { MockTransport } from '../../support/mock-transport.js';

/** A transport whose data the test pushes by hand. */
function manualTransport(): { transport: MockTransport; push(d: Uint8Array): void } {
  const transport = new MockTransport({ path: 'manual' });
  return { transport, push: (d) => transport.emitData(d) };
}

function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // the event loop is blocked, as under a long GC or a loaded machine
  }
}

describe('ByteReader', () => {
  it('serves an answer that arrived during an event-loop stall instead of timing out', async () => {
    const { transport, push } = manualTransport();
    const reader = new ByteReader(transport);
    const read = reader.read(4, 20);
    // The answer is due after 5 ms and reaches the reader as an I/O-style callback; the loop is
    // blocked past the 20 ms deadline, so after the stall both are due at once.
    setTimeout(() => setImmediate(() => push(Uint8Array.of(1, 2, 3, 4))), 5);
    stall(60);
    await expect(read).resolves.toEqual(Uint8Array.of(1, 2, 3, 4));
    reader.dispose();
  });

  it('still times out when nothing comes, and a later read is not failed by the old deadline', async () => {
    const { transport, push } = manualTransport();
    const clock = new VirtualClock();
    const reader = new ByteReader(transport, clock);
    await expect(clock.run(reader.read(2, 15))).rejects.toMatchObject({ code: 'TIMEOUT', message: 'no answer within 15 ms (got 0 of 2 bytes)' });
    expect(clock.now()).toBe(15);
    const next = reader.read(2, 200);
    clock.after(30, () => push(Uint8Array.of(7, 8)));
    await expect(clock.run(next)).resolves.toEqual(Uint8Array.of(7, 8));
    expect(clock.now()).toBe(45);
    reader.dispose();
  });
});
