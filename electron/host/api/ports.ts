import { SerialPort } from 'serialport';
import type { TransportInfo } from '../../../shared/types/transport.js';

/** The built-in demo pack: a simulated board running in-process. */
export const DEMO_PORT: TransportInfo = { kind: 'sim', path: 'sim:', manufacturer: 'PackScope demo pack (simulated)' };

/** Serial ports the OS reports. */
export async function listSerialPorts(): Promise<TransportInfo[]> {
  const ports = await SerialPort.list();
  return ports.map((p) => {
    const info: TransportInfo = { kind: 'serial', path: p.path };
    if (p.vendorId) info.vendorId = p.vendorId.toLowerCase();
    if (p.productId) info.productId = p.productId.toLowerCase();
    if (p.manufacturer) info.manufacturer = p.manufacturer;
    if (p.serialNumber) info.serialNumber = p.serialNumber;
    return info;
  });
}
