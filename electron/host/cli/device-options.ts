import { PackscopeError } from '../../../shared/errors.js';
import type { ProtocolId } from '../../../shared/types/domain.js';
import { Session } from '../session.js';
import { listPorts } from '../transport/serial-ports.js';
import { resolveAdapter, withPhysicalPaths } from '../transport/usb-adapters.js';
import { captureTo } from '../transport/capture.js';
import { packageVersion } from '../util/package-root.js';
import type { CliContext } from './context.js';
import { numberOption, requireOption } from './context.js';

/**
 * The device options every device command shares (--port, --baud, --protocol, --timeout) and
 * opening a Session from them, so `info`, `monitor` and later commands behave alike.
 */
export const DEVICE_OPTIONS = {
  port: { type: 'string', short: 'p' },
  baud: { type: 'string', short: 'b' },
  protocol: { type: 'string' },
  timeout: { type: 'string' },
  address: { type: 'string' },
  capture: { type: 'string' },
} as const;

export const DEVICE_USAGE = `  --port PATH         serial device (/dev/ttyUSB0, COM3), an adapter key from 'packscope ports'
                      (usb:VID:PID:sn:SERIAL or usb:VID:PID:at:LOCATION), tcp://host:port,
                      or sim: (built-in demo)
  --baud N            line rate (default: the protocol's, 115200 for native)
  --protocol P|auto   native, jbd, daly, jk, pylontech-rs485, ... or auto (default: probe in a safe order)
  --timeout MS        per-request timeout before a retry (default 250)
  --address N         which pack on a shared bus: Daly board number (0-15, default 0),
                      Pylontech RS485 module address (1-16, default 2)
  --capture FILE.jsonl record every byte sent and received, with its time, as JSON lines
                      ('packscope replay FILE.jsonl' plays it back as a board)`;

const PROTOCOLS: ReadonlyArray<ProtocolId | 'auto'> = ['auto', 'native', 'jbd', 'daly', 'jk', 'pylontech-can', 'pylontech-rs485', 'uds', 'stm32-rom'];

/** --port as given, or the path of the adapter an adapter key names. */
export async function resolvePort(named: string | undefined): Promise<string> {
  const port = requireOption(named, 'port');
  // A stable adapter key finds the adapter wherever the OS put it after the last re-plug.
  return port.startsWith('usb:') ? resolveAdapter(port, await withPhysicalPaths(await listPorts())) : port;
}

/** --capture FILE.jsonl as a transport wrapper, or nothing. */
export function captureOption(file: string | undefined) {
  return captureTo(file, `packscope ${packageVersion()}`);
}

export async function openDeviceSession(
  values: { port?: string; baud?: string; protocol?: string; timeout?: string; address?: string; capture?: string },
  ctx: CliContext,
): Promise<Session> {
  const port = await resolvePort(values.port);
  const protocol = (values.protocol ?? 'auto') as ProtocolId | 'auto';
  if (!PROTOCOLS.includes(protocol)) throw new PackscopeError('USAGE', `--protocol must be one of ${PROTOCOLS.join(', ')}`);
  const baud = values.baud === undefined ? undefined : numberOption(values.baud, 'baud', 115200, 300, 12_000_000);
  const timeoutMs = values.timeout === undefined ? undefined : numberOption(values.timeout, 'timeout', 250, 10, 60_000);
  const address = values.address === undefined ? undefined : numberOption(values.address, 'address', 0, 0, 255);
  if (address !== undefined && !Number.isInteger(address)) throw new PackscopeError('USAGE', `--address must be a whole number, got '${values.address}'`);
  const capture = captureOption(values.capture);
  return Session.open(port, {
    protocol,
    ...(capture ? { wrapTransport: capture } : {}),
    ...(address !== undefined ? { address } : {}),
    ...(baud !== undefined ? { baud } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(ctx.clock ? { clock: ctx.clock } : {}),
    signal: ctx.signal,
  });
}
