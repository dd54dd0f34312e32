import type { TelemetryFrame } from '../../shared/types/domain.js';
import type { Session } from './session.js';

/**
 * One telemetry sample from an open session: `info` shows it with the identity (for Pylontech CAN
 * the identity alone says little), and a bundle update checks its preconditions against it. Null
 * when the protocol has no telemetry or nothing arrived within a few periods.
 */
export async function telemetrySnapshot(session: Session): Promise<TelemetryFrame | null> {
  if (!session.driver.capabilities.has('telemetry')) return null;
  const rate = Math.min(10, session.driver.maxTelemetryRateHz ?? 10);
  let off: (() => void) | null = null;
  try {
    const frame = await new Promise<TelemetryFrame | null>((resolve) => {
      const cancelTimer = session.clock.after(2500 / rate + 500, () => resolve(null));
      off = session.on('telemetry', (f) => {
        cancelTimer();
        resolve(f);
      });
      session.startTelemetry(rate).catch(() => {
        cancelTimer();
        resolve(null);
      });
    });
    return frame;
  } finally {
    (off as (() => void) | null)?.();
    await session.stopTelemetry().catch(() => undefined);
  }
}
