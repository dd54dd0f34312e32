import { afterEach, describe, expect, it } from 'vitest';
import { Session } from '../../../electron/host/session.js';
import type { TelemetryFrame } from '../../../shared/types/domain.js';
import { expectMatchesBoard, startRig, type BmsRig } from './harness.js';

/**
 * The session as the CLI and the app use it, against each simulated commodity board on a pty:
 * `--protocol auto` finds the board, frames match the simulator, a board that falls silent is
 * reported stale within about a second (no invented frames in between), and an unplug is a
 * disconnect event.
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
  it(`auto-detection finds the ${protocol} board; silence is stale within 1 s; unplug is a disconnect`, async () => {
    rig = await startRig(protocol);
    session = await Session.open(rig.pty.path, { protocol: 'auto', probeTimeoutMs: 300 });
    expect(session.protocol).toBe(protocol);
    expect(session.detection.at(-1)).toMatchObject({ protocol, answered: true });
    expect(session.detection[0]).toMatchObject({ protocol: 'native', answered: false });
    expect(session.info).toMatchObject({ protocol, signsEvidence: false });

    const frames: TelemetryFrame[] = [];
    let lastFrameAt = 0;
    session.on('telemetry', (f) => {
      frames.push(f);
      lastFrameAt = performance.now();
    });
    await session.startTelemetry(4);
    await until(() => frames.length >= 2, 4000, 'two telemetry frames');
    expectMatchesBoard(protocol, frames.at(-1)!, rig.board);

    const stale = new Promise<number>((r) => session!.on('stale', () => r(performance.now())));
    rig.personality.detach(); // the board stops answering; the port stays open
    const staleAt = await stale;
    const count = frames.length;
    // Stale is declared 1 s after the last real frame (timer granularity 100 ms; the upper bound
    // leaves room for a loaded machine, the lower one proves no frame was invented meanwhile).
    expect(staleAt - lastFrameAt).toBeGreaterThanOrEqual(900);
    expect(staleAt - lastFrameAt).toBeLessThan(1800);
    await new Promise((r) => setTimeout(r, 300));
    expect(frames.length).toBe(count);
    expect(session.stats().timeouts).toBeGreaterThan(0);

    const gone = new Promise<string>((r) => session!.on('disconnect', r));
    rig.pty.close();
    expect(typeof (await gone)).toBe('string');
  });
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
