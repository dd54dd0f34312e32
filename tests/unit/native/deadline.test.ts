import { describe, expect, it } from 'vitest';
import { deadline } from '../../../electron/host/util/deadline.js';
import { VirtualClock } from '../../../shared/util/clock.js';

function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // the event loop is blocked
  }
}

describe('deadline', () => {
  it('expires after what was already queued when a stall made both due at once', async () => {
    const order: string[] = [];
    setTimeout(() => setImmediate(() => order.push('answer')), 5);
    const expired = new Promise<void>((r) => deadline(10, () => (order.push('expired'), r())));
    stall(40);
    await expired;
    expect(order).toEqual(['answer', 'expired']);
  });

  it('expires after exactly its time, after an answer that fell due at the same instant', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    // The answer's line timer falls due at 10 ms and hands the bytes over a turn later (defer).
    clock.after(10, () => clock.defer(() => order.push(`answer at ${clock.now()}`)));
    deadline(10, () => order.push(`expired at ${clock.now()}`), clock);
    await clock.advance(9);
    expect(order).toEqual([]);
    await clock.advance(1);
    expect(order).toEqual(['answer at 10', 'expired at 10']);
  });

  it('can be cancelled before it fires, and between its timer and its expiry', async () => {
    const clock = new VirtualClock();
    let fired = 0;
    deadline(5, () => fired++, clock)();
    const cancel = deadline(5, () => fired++, clock);
    // Cancel from a timer that runs after the deadline's own timer, before its deferred expiry.
    clock.after(5, cancel);
    await clock.runUntilIdle();
    expect(fired).toBe(0);
    expect(clock.now()).toBe(5);
  });
});
