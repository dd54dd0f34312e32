import type { ByteTransport } from '../../../shared/types/transport.js';
import { SerialTransport } from '../transport/serial.js';
import { SlcanChannel, type OpenOptions } from './slcan-channel.js';

/**
 * Opens an SLCAN adapter on a serial port and its CAN channel at a bitrate. USB CDC adapters ignore
 * the serial baud rate; 115200 is set for the UART-bridged ones (Lawicel CAN232 class) that use it.
 */
export const SLCAN_SERIAL_BAUD = 115200;

export async function openCanChannel(path: string, o: OpenOptions, transport?: ByteTransport): Promise<SlcanChannel> {
  const t = transport ?? new SerialTransport(path, { baudRate: SLCAN_SERIAL_BAUD });
  const channel = new SlcanChannel(t);
  try {
    await channel.open(o);
  } catch (e) {
    await channel.close().catch(() => undefined);
    await t.close().catch(() => undefined);
    throw e;
  }
  return channel;
}

/** Closes the channel (`C`) and the serial port. */
export async function closeCanChannel(channel: SlcanChannel): Promise<void> {
  await channel.close();
  await channel.transport.close();
}
