import type { CommandModule } from '../context.js';
import { parseCommandArgs } from '../context.js';
import { listPorts } from '../../transport/serial-ports.js';
import { adapterIdentities, withPhysicalPaths } from '../../transport/usb-adapters.js';

export default {
  summary: 'List serial ports with USB identity and recognised adapters',
  usage: `Usage: packscope ports [--json]

Lists serial ports: path, USB VID:PID, manufacturer, serial number, and the adapter recognised
from PackScope's table (CH340, CP210x, FTDI, PL2303, CANable/SLCAN, ...).
The KEY column names each adapter by what survives a re-plug (USB serial number, else the physical
USB port), so two identical CH340s are told apart: pass it as --port usb:… to any device command.
The built-in simulated device is always available as 'sim:' (e.g. sim:?scenario=weak-cell).`,
  async run(argv, ctx) {
    const { values } = parseCommandArgs(argv, {});
    const facts = await withPhysicalPaths(await listPorts());
    const ids = adapterIdentities(facts);
    const ports = facts.map((p, i) => ({ ...p, key: ids[i]!.key, keyBasis: ids[i]!.basis, ambiguous: ids[i]!.ambiguous }));
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
      p.ambiguous ? `${p.key} (ambiguous: identical adapter without serial number)` : p.key,
    ]);
    const head = ['PATH', 'VID:PID', 'ADAPTER', 'MANUFACTURER', 'SERIAL', 'KEY'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (r: string[]) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd();
    ctx.out(fmt(head));
    for (const r of rows) ctx.out(fmt(r));
    return 0;
  },
} satisfies CommandModule;
