/**
 * The simulated serial line's pacing: bytes leave at line rate, and a process the machine runs
 * late (timers firing late) still moves them at line rate on average — the line was busy all
 * along — while an idle line never bursts ahead of the wire.
 */
import { describe, expect, it } from 'vitest';
import { createDeviceLink, type RawPipe } from '../../../firmware/sim/line.js';
import { VirtualClock, type Clock } from '../../../shared/util/clock.js';

/** A clock whose one-shot timers fire `lateMs` after they are due: a starved process. */
function lateClock(inner: VirtualClock, lateMs: number): Clock {
  return {
    now: () => inner.now(),
    after: (ms, fn) => inner.after(ms + lateMs, fn),
    every: (ms, fn) => inner.every(ms, fn),
    defer: (fn) => inner.defer(fn),
    sleep: (ms, signal) => inner.sleep(ms + lateMs, signal),
  };
}

function sink(): { pipe: RawPipe; total: () => number } {
  let total = 0;
  const pipe: RawPipe = {
    write: (d) => void (total += d.length),
    onData: () => () => {},
    onEnd: () => () => {},
    close: () => {},
  };
  return { pipe, total: () => total };
}

const settings = { baudRate: 115200, parity: 'none' as const }; // 11 520 bytes/s

describe('paced simulated line', () => {
  for (const lateMs of [0, 20, 150]) {
    it(`delivers at line rate with timers ${lateMs} ms late`, async () => {
      const vc = new VirtualClock();
      const s = sink();
      const link = createDeviceLink(s.pipe, { settings, clock: lateClock(vc, lateMs) });
      link.send(new Uint8Array(40_000)); // about 3.5 s of line time
      await vc.advance(2_000);
      const sent = s.total();
      // Two seconds of a busy line: about 23 040 bytes, less at most one late tick's worth.
      expect(sent).toBeLessThanOrEqual(23_040 + 16);
      expect(sent).toBeGreaterThanOrEqual(23_040 - Math.ceil((lateMs + 2) * 11.52) - 64);
      await vc.runUntilIdle();
      expect(s.total()).toBe(40_000);
      expect(link.backlog).toBe(0);
    });
  }

  it('an idle line does not burst: after a pause, bytes leave at line rate again', async () => {
    const vc = new VirtualClock();
    const s = sink();
    const link = createDeviceLink(s.pipe, { settings, clock: vc });
    link.send(new Uint8Array(100));
    await vc.runUntilIdle();
    await vc.advance(10_000); // idle for ten seconds
    const before = s.total();
    link.send(new Uint8Array(11_520));
    await vc.advance(500);
    expect(s.total() - before).toBeLessThanOrEqual(5_760 + 16);
  });
});
