import type { CommandModule } from '../context.js';
import { parseCommandArgs } from '../context.js';
import { listPorts } from '../../ports.js';

export default {
  summary: 'List serial ports with USB identity and recognised adapters',
  usage: `Usage: packscope ports [--json]

Lists serial ports: path, USB VID:PID, manufacturer, serial number, and the adapter recognised
from PackScope's table (CH340, CP210x, FTDI, PL2303, CANable/SLCAN, ...).
The built-in simulated device is always available as 'sim:' (e.g. sim:?scenario=weak-cell).`,
  async run(argv, ctx) {
    const { values } = parseCommandArgs(argv, {});
    const ports = await listPorts();
    if (values.json) {
      ctx.out(JSON.stringify({ ports }, null, 2));
      return 0;
    }
    if (!ports.length) {
      ctx.out('No serial ports found. (The built-in demo device is available as --port sim:)');
      return 0;
    }
    const rows = ports.map((p) => [
      p.path,
      p.vendorId ? `${p.vendorId}:${p.productId ?? '????'}` : '-',
      p.adapter ?? '-',
      p.manufacturer ?? '-',
      p.serialNumber ?? '-',
    ]);
    const head = ['PATH', 'VID:PID', 'ADAPTER', 'MANUFACTURER', 'SERIAL'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    ctx.out(fmt(head));
    for (const r of rows) ctx.out(fmt(r));
    return 0;
  },
} satisfies CommandModule;
