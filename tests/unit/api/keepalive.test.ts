import { describe, expect, it } from 'vitest';
import { DeviceSession, KEEPALIVE_SILENT_MS } from '../../../electron/host/api/device.js';
import { HostEvents } from '../../../electron/host/api/events.js';
import type { SimTransport } from '../../../electron/host/transport/sim.js';
import type { EventPayload } from '../../../shared/api/contract.js';
import type { ProtocolId } from '../../../shared/types/domain.js';
import { VirtualClock } from '../../../shared/util/clock.js';

/**
 * The host's keep-alive on virtual time, against the simulated board in-process: with no screen
 * holding telemetry, a board that stops answering turns the link stale a fixed time after its last
 * answer, and an answer turns it connected again; a quiet board that answers is never called stale.
 */
describe.each<ProtocolId>(['native', 'jbd'])('keep-alive (%s)', (protocol) => {
  it('notices a silent board with no telemetry running, and its return', async () => {
    const clock = new VirtualClock();
    const events = new HostEvents();
    const seen: Array<EventPayload<'link'> & { at: number }> = [];
    events.on('link', (e) => seen.push({ ...e, at: clock.now() }));
    const device = new DeviceSession(events, { clock });
    await clock.run(device.connect(`sim:?personality=${protocol}`, protocol));
    try {
      const session = device.current!;
      const sim = (session.transport as SimTransport).running!;
      const sentAtStart = session.stats().framesOut;
      expect(seen.map((e) => e.state)).toEqual(['connected']);

      // A board that answers: ten seconds of keep-alive requests, never called stale.
      await clock.advance(10_000);
      expect(session.stats().framesOut).toBeGreaterThan(sentAtStart + 5);
      expect(seen.map((e) => e.state)).toEqual(['connected']);
      expect(device.status().telemetryRateHz).toBeNull();

      // The board stops answering (its power gone behind an adapter that stays plugged in).
      sim.personality.detach();
      const silencedAt = clock.now();
      await clock.advance(5000);
      const stale = seen.filter((e) => e.state === 'stale');
      expect(stale).toHaveLength(1);
      // Its last answer came at most one keep-alive period before it went silent.
      expect(stale[0]!.at - silencedAt).toBeGreaterThan(KEEPALIVE_SILENT_MS - 600);
      expect(stale[0]!.at - silencedAt).toBeLessThanOrEqual(KEEPALIVE_SILENT_MS + 200);
      expect(stale[0]!.reason).toMatch(/^the board has not answered for \d+\.\d s$/);
      expect(device.status().connected).toBe(true);

      // It answers again: connected, with its identity, without reconnecting.
      sim.personality.attach(sim.link);
      await clock.advance(3000);
      expect(seen.at(-1)).toMatchObject({ state: 'connected', device: { protocol } });
      expect(seen.filter((e) => e.state === 'stale')).toHaveLength(1);
    } finally {
      await clock.run(device.disconnect());
    }
  });

  it('leaves silence on a running stream to the stream, and speaks into it again when the stream stops', async () => {
    const clock = new VirtualClock();
    const events = new HostEvents();
    const states: string[] = [];
    events.on('link', (e) => states.push(e.state + (e.state === 'disconnected' ? e.reason : '')));
    const device = new DeviceSession(events, { clock });
    await clock.run(device.connect(`sim:?personality=${protocol}`, protocol));
    try {
      const sim = (device.current!.transport as SimTransport).running!;
      await clock.run(device.holdTelemetry('view', 2));
      await clock.advance(3000);
      sim.personality.detach();
      await clock.advance(4000);
      // One stale from the stream's own check, none added by the keep-alive.
      expect(states).toEqual(['connected', 'stale']);
      await clock.run(device.releaseTelemetry('view').catch(() => undefined));
      sim.personality.attach(sim.link);
      await clock.advance(3000);
      expect(states).toEqual(['connected', 'stale', 'connected']);
    } finally {
      await clock.run(device.disconnect());
    }
  });
});
