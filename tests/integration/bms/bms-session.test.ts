import { afterEach, expect, it } from 'vitest';
import { Session } from '../../../electron/host/session.js';
import type { TelemetryFrame } from '../../../shared/types/domain.js';
import { expectMatchesBoard, startRig, until, type BmsRig } from './harness.js';

/**
 * The session as the CLI and the app use it, against each simulated commodity board on a pty:
 * `--protocol auto` finds the board, frames match the simulator, a board that falls silent is
 * reported stale after a second of silence (no invented frames in between, nor after while the
 * driver keeps polling), and an unplug is a disconnect event. Real time on a real pty: the test
 * waits for conditions, and its timing claims rest on the session's own measurements.
 */
let rig: BmsRig | null = null;
let session: Session | null = null;

afterEach(async () => {
  await session?.close();
  session = null;
  await rig?.stop();
  rig = null;
});

for (const protocol of ['jbd', 'daly', 'jk'] as const) {
  it(`auto-detection finds the ${protocol} board; silence is stale after 1 s of it, with no frame invented; unplug is a disconnect`, async () => {
    rig = await startRig(protocol);
    session = await Session.open(rig.pty.path, { protocol: 'auto', probeTimeoutMs: 300 });
    expect(session.protocol).toBe(protocol);
    expect(session.detection.at(-1)).toMatchObject({ protocol, answered: true });
    expect(session.detection[0]).toMatchObject({ protocol: 'native', answered: false });
    expect(session.info).toMatchObject({ protocol, signsEvidence: false });

    const frames: TelemetryFrame[] = [];
    session.on('telemetry', (f) => frames.push(f));
    await session.startTelemetry(4);
    await until(() => frames.length >= 2, 10_000, 'two telemetry frames');
    expectMatchesBoard(protocol, frames.at(-1)!, rig.board);

    let framesAtStale = -1;
    const stale = new Promise<number>((r) =>
      session!.on('stale', (silence) => {
        framesAtStale = frames.length;
        r(silence);
      }),
    );
    rig.personality.detach(); // the board stops answering; the port stays open
    // Stale once the session itself measured more than its 1 s limit of silence.
    expect(await stale).toBeGreaterThan(1000);
    // The driver goes on polling the silent board (two more timed-out requests) and invents no frame.
    const timeouts = session.stats().timeouts;
    await until(() => session!.stats().timeouts >= timeouts + 2, 10_000, 'two more timed-out polls');
    expect(frames.length).toBe(framesAtStale);
    expect(session.stats().timeouts).toBeGreaterThan(0);

    const gone = new Promise<string>((r) => session!.on('disconnect', r));
    rig.pty.close();
    expect(typeof (await gone)).toBe('string');
  });
}
