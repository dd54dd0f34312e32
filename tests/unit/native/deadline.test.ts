import { describe, expect, it } from 'vitest';
import { deadline } from '../../../electron/host/util/deadline.js';

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

  it('can be cancelled before it fires, and between its timer and its expiry', async () => {
    let fired = 0;
    deadline(5, () => fired++)();
    const cancel = deadline(5, () => fired++);
    // Cancel from a timer that runs after the deadline's own timer, before its immediate.
    setTimeout(cancel, 5);
    stall(20);
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(0);
  });
});
