/**
 * Pulling a board's black box from the command line, one way for every command that does it
 * (`log pull`, `health --port`): the device session from the shared device options, the native
 * check, the pull service (electron/host/blackbox/pull.ts) with the board's identity and the line
 * it came over, and the session closed whatever happens.
 */
import { PackscopeError } from '../../../shared/errors.js';
import { pullLog, type PullOptions, type PullResult } from '../blackbox/pull.js';
import type { LinkStats } from '../../../shared/types/domain.js';
import type { CliContext } from './context.js';
import { openDeviceSession } from './device-options.js';

export type DevicePullOptions = Omit<PullOptions, 'identity' | 'source' | 'signal' | 'tool'>;

export async function pullFromDevice(
  values: { port?: string; baud?: string; protocol?: string; timeout?: string; address?: string; capture?: string },
  ctx: CliContext,
  options: DevicePullOptions,
): Promise<{ result: PullResult; link: LinkStats }> {
  const session = await openDeviceSession({ ...values, protocol: values.protocol ?? 'native' }, ctx);
  try {
    const native = session.native;
    if (!native) throw new PackscopeError('REFUSED', `the device speaks ${session.protocol}, which has no black box`);
    const result = await pullLog(native.link, {
      ...options,
      signal: ctx.signal,
      identity: session.info,
      source: { port: session.transport.info.path, baud: session.line.baudRate },
      tool: 'packscope',
    });
    return { result, link: session.stats() };
  } finally {
    await session.close();
  }
}
