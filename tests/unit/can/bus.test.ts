import { describe, expect, it } from 'vitest';
import { exactFrameBits } from '../../../shared/can/bittime.js';
import { dataFrame, type CanFrame } from '../../../shared/can/frame.js';
import { CanBus } from '../../../firmware/sim/can/bus.js';

/**
 * The simulated bus keeps its own time line (frame completion times), so its timing is checked
 * exactly, independent of how fast the machine runs the test.
 */
describe('simulated CAN bus', () => {
  it('serialises frames back to back, each taking its exact bit time at the bitrate', async () => {
    let now = 0;
    const bus = new CanBus(125_000, () => now);
    const seen: Array<{ f: CanFrame; at: number }> = [];
    bus.attach({ name: 'rx', bitrate: () => 125_000, receive: (f, at) => seen.push({ f, at }) });
    const tx = bus.attach({ name: 'tx', bitrate: () => 125_000, receive: () => undefined });
    const frames = Array.from({ length: 40 }, (_, i) =>
      dataFrame(
        0x100 + i,
        Uint8Array.from({ length: 8 }, (_, j) => (i * 37 + j * 11) & 0xff),
      ),
    );
    const sent = frames.map((f) => tx.transmit(f));
    now = 1e6;
    await Promise.all(sent);
    expect(seen.map((s) => s.f.id)).toEqual(frames.map((f) => f.id));
    for (let i = 1; i < seen.length; i++) {
      const expected = (exactFrameBits(seen[i]!.f) * 1000) / 125_000;
      expect(seen[i]!.at - seen[i - 1]!.at).toBeCloseTo(expected, 6);
    }
    const bits = frames.reduce((n, f) => n + exactFrameBits(f), 0);
    expect(bus.stats.bits).toBe(bits);
    expect(bus.stats.busyMs).toBeCloseTo((bits * 1000) / 125_000, 6);
  });

  it('the lowest identifier wins arbitration among waiting frames', async () => {
    let now = 0;
    const bus = new CanBus(500_000, () => now);
    const order: number[] = [];
    bus.attach({ name: 'rx', bitrate: () => 500_000, receive: (f) => order.push(f.id) });
    const a = bus.attach({ name: 'a', bitrate: () => 500_000, receive: () => undefined });
    const b = bus.attach({ name: 'b', bitrate: () => 500_000, receive: () => undefined });
    // The first frame takes the idle bus; the others wait and then go by priority.
    const p = [a.transmit(dataFrame(0x700, [1])), a.transmit(dataFrame(0x600, [2])), b.transmit(dataFrame(0x100, [3])), b.transmit(dataFrame(0x050, [4]))];
    now = 1000; // the bus's clock moves on only after everything was queued
    await Promise.all(p);
    expect(order).toEqual([0x700, 0x100, 0x050, 0x600]);
  });

  it('a node at another bitrate gets no acknowledgement and no frames', async () => {
    const bus = new CanBus(500_000);
    const got: number[] = [];
    let errors = 0;
    const wrong = bus.attach({ name: 'w', bitrate: () => 250_000, receive: (f) => got.push(f.id), busError: () => errors++ });
    const ok = bus.attach({ name: 'ok', bitrate: () => 500_000, receive: () => undefined });
    await expect(wrong.transmit(dataFrame(0x123, [1]))).rejects.toThrow(/no acknowledgement/);
    await ok.transmit(dataFrame(0x124, [1]));
    expect(got).toEqual([]);
    expect(errors).toBe(1);
    expect(bus.stats.errors).toBe(1);
  });
});
