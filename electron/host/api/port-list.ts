import type { TransportInfo } from '../../../shared/types/transport.js';
import { listPorts } from '../transport/serial-ports.js';

/** The built-in demo pack: a simulated board running in-process. */
export const DEMO_PORT: TransportInfo = { kind: 'sim', path: 'sim:', manufacturer: 'PackScope demo pack (simulated)' };

/** Serial ports the OS reports, with recognised adapters named. */
export async function listSerialPorts(): Promise<TransportInfo[]> {
  return (await listPorts()).map((p) => {
    const info: TransportInfo = { kind: 'serial', path: p.path };
    for (const k of ['vendorId', 'productId', 'manufacturer', 'serialNumber', 'adapter'] as const) if (p[k]) info[k] = p[k];
    return info;
  });
}
