/**
 * The settings tests' simulated commodity boards: each opened in-process on its own virtual
 * clock, with the settings access of its protocol, and closed after its test.
 */
import { afterEach } from 'vitest';
import { Session } from '../../../electron/host/session.js';
import { settingsAccess } from '../../../electron/host/settings/service.js';
import type { SimTransport } from '../../../electron/host/transport/sim.js';
import type { ProtocolId } from '../../../shared/types/domain.js';
import { VirtualClock } from '../../../shared/util/clock.js';

export function simulatedBoards(port: string, protocol: ProtocolId) {
  const open: Array<{ clock: VirtualClock; session: Session }> = [];
  afterEach(async () => {
    for (const { clock, session } of open.splice(0)) await clock.run(session.close());
  });
  return async () => {
    const clock = new VirtualClock();
    const session = await clock.run(Session.open(port, { protocol, clock }));
    open.push({ clock, session });
    return { clock, session, board: (session.transport as SimTransport).running!.board, access: await settingsAccess(session) };
  };
}
