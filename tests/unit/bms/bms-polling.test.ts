import { describe, expect, it } from 'vitest';
import { Session } from '../../../electron/host/session.js';
import type { SimTransport } from '../../../electron/host/transport/sim.js';
import type { ProtocolId } from '../../../shared/types/domain.js';
import { VirtualClock } from '../../../shared/util/clock.js';

/**
 * The polled drivers against the simulated JBD, Daly and JK boards in-process (each on its own
 * line rate), host and board on one virtual clock: the polling rhythm, the stale limit and the
 * absence of invented frames are exact, and no test waits for them.
 */
describe.each<ProtocolId>(['jbd', 'daly', 'jk'])('%s polling on virtual time', (protocol) => {
  it('polls at the asked rate; a silent board is stale after the limit, with no frame invented; an unplug is a disconnect', async () => {
    const clock = new VirtualClock();
    const s = await clock.run(Session.open(`sim:?personality=${protocol}`, { protocol, clock }));
    try {
      const arrivals: number[] = [];
      const sim = (s.transport as SimTransport).running!;
      let silencedAt: number | null = null;
      s.on('telemetry', () => {
        arrivals.push(clock.now());
        // After 12 frames the board stops answering, between two rounds (as a hung board would).
        if (arrivals.length === 12) {
          sim.personality.detach();
          silencedAt = clock.now();
        }
      });
      const stale = new Promise<{ silence: number; at: number }>((r) => s.on('stale', (silence) => r({ silence, at: clock.now() })));
      await clock.run(s.startTelemetry(2));
      // 2 Hz: a round starts every 500 ms and its frame arrives when it ends; a round that reads
      // more than the others (Daly's status, every tenth) ends a few tens of ms later.
      await clock.advance(5000);
      expect(arrivals.filter((t) => t < arrivals[0]! + 5000)).toHaveLength(10);
      for (let i = 1; i < arrivals.length; i++) expect(Math.abs(arrivals[i]! - arrivals[i - 1]! - 500)).toBeLessThanOrEqual(30);
      expect(Math.abs(arrivals[9]! - arrivals[1]! - 8 * 500)).toBeLessThanOrEqual(2);
      const { silence, at } = await clock.run(stale);
      // The limit at 2 Hz is 2.5 periods (1250 ms), seen by the 100 ms check after it.
      expect(silence).toBeGreaterThan(1250);
      expect(silence).toBeLessThanOrEqual(1350);
      expect(at - silencedAt!).toBe(silence);
      await clock.advance(2000);
      expect(arrivals).toHaveLength(12);
      expect(s.stats().timeouts).toBeGreaterThan(0);
      const gone = new Promise<string>((r) => s.on('disconnect', r));
      sim.link.disconnect('cable pulled');
      expect(await clock.run(gone)).toMatch(/cable pulled/);
    } finally {
      await clock.run(s.close());
    }
  });
});
