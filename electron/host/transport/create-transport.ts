import type { ByteTransport, LineSettings } from '../../../shared/types/transport.js';
import type { Clock } from '../../../shared/util/clock.js';
import { SerialTransport } from './serial.js';
import { SimTransport } from './sim.js';
import { TcpTransport } from './tcp.js';

/**
 * One entry point for every kind of port a user can name: `sim:` (built-in demo device),
 * `tcp://host:port` (network serial server), anything else a serial device path (/dev/ttyUSB0, COM3).
 * The transport is created closed; call open(). `clock` is the time base of the in-process
 * simulator (a real port has the real world's).
 */
export function createTransport(path: string, line: LineSettings, options: { clock?: Clock } = {}): ByteTransport {
  if (path.startsWith('sim:')) return new SimTransport(path, line, options.clock ? { clock: options.clock } : {});
  if (path.startsWith('tcp://')) return new TcpTransport(path);
  return new SerialTransport(path, line);
}

/** Creates and opens a transport. */
export async function openTransport(path: string, line: LineSettings): Promise<ByteTransport> {
  const t = createTransport(path, line);
  await t.open();
  return t;
}

/** Bytes per second a line carries (8N1: 10 bits per byte; 8E1: 11); Infinity where no line is paced. */
export function lineBytesPerSecond(transport: ByteTransport, line: LineSettings): number {
  if (transport.info.kind === 'tcp') return Infinity;
  return line.baudRate / (line.parity === 'even' ? 11 : 10);
}
