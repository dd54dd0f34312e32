import type { CommandModule } from '../context.js';
import { parseCommandArgs } from '../context.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, openDeviceSession } from '../device-options.js';

export default {
  summary: 'Show device identity (model, serial, board id, versions, cells, key fingerprint)',
  usage: `Usage: packscope info --port PATH [--baud N] [--protocol P|auto] [--json]

${DEVICE_USAGE}
  --json              one JSON document: device, transport, detection, link error counters`,
  async run(argv, ctx) {
    const { values } = parseCommandArgs(argv, { ...DEVICE_OPTIONS });
    const session = await openDeviceSession(values, ctx);
    try {
      const d = session.info!;
      if (values.json) {
        ctx.out(
          JSON.stringify(
            { device: d, transport: session.transport.info, line: session.line, detection: session.detection, link: session.stats() },
            null,
            2,
          ),
        );
        return 0;
      }
      const rows: Array<[string, string]> = [
        ['Model', d.model],
        ['Serial', d.serial],
        ['Board id', d.boardId],
        ['Hardware revision', d.hardwareRevision],
        ['Firmware', d.firmwareVersion],
        ['Bootloader', d.bootloaderVersion],
        ['Cells', `${d.cellCount} in series`],
        ['Chemistry', d.chemistry.toUpperCase()],
        ['Nominal capacity', `${d.nominalCapacityAh} Ah`],
        ['Device key (SHA-256)', d.publicKeyFingerprint ?? 'none (board has no device key)'],
        [
          'Protocol',
          `${d.protocol} on ${session.transport.info.path} at ${session.line.baudRate} baud` +
            (session.detection.length ? ` (detected: ${session.detection.map((x) => `${x.protocol} ${x.answered ? 'answered' : 'silent'} in ${x.ms} ms`).join(', ')})` : ''),
        ],
        ...(session.transport.info.adapter ? [['Adapter', session.transport.info.adapter] as [string, string]] : []),
      ];
      const w = Math.max(...rows.map((r) => r[0].length));
      for (const [k, v] of rows) ctx.out(`${k.padEnd(w)}  ${v}`);
      const s = session.stats();
      if (s.crcErrors + s.decodeErrors + s.timeouts + s.retries > 0) {
        ctx.err(`link: ${s.crcErrors} CRC errors, ${s.decodeErrors} decode errors, ${s.timeouts} timeouts, ${s.retries} retries`);
      }
      return 0;
    } finally {
      await session.close();
    }
  },
} satisfies CommandModule;
