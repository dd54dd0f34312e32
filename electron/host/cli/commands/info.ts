import { ALARM_FLAGS, flagNames, type TelemetryFrame } from '../../../../shared/types/domain.js';
import { telemetrySnapshot as snapshot } from '../../telemetry-snapshot.js';
import type { CommandModule } from '../context.js';
import { parseCommandArgs } from '../context.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, openDeviceSession } from '../device-options.js';
import { frameToJson } from './monitor.js';

export default {
  summary: 'Show device identity (model, serial, board id, versions, cells, key fingerprint)',
  usage: `Usage: packscope info --port PATH [--baud N] [--protocol P|auto] [--identity-only] [--json]

${DEVICE_USAGE}
  --identity-only     skip the telemetry sample (identity only)
  --json              one JSON document: device, telemetry sample, transport, detection, link error counters`,
  async run(argv, ctx) {
    const { values } = parseCommandArgs(argv, { ...DEVICE_OPTIONS, 'identity-only': { type: 'boolean' } });
    const session = await openDeviceSession(values, ctx);
    try {
      const d = session.info!;
      const sample = values['identity-only'] ? null : await snapshot(session);
      if (values.json) {
        ctx.out(
          JSON.stringify(
            {
              device: d,
              telemetry: sample ? frameToJson(sample) : null,
              transport: session.transport.info,
              line: session.line,
              detection: session.detection,
              link: session.stats(),
            },
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
            (session.detection.length
              ? ` (detected: ${session.detection.map((x) => `${x.protocol} ${x.answered ? 'answered' : 'silent'} in ${x.ms} ms`).join(', ')})`
              : ''),
        ],
        ...(session.transport.info.adapter ? [['Adapter', session.transport.info.adapter] as [string, string]] : []),
        ...(sample ? sampleRows(sample) : []),
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

function sampleRows(f: TelemetryFrame): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    [
      'Pack',
      `${f.packVoltage.toFixed(2)} V, ${(Math.abs(f.current) < 0.005 ? 0 : f.current).toFixed(2)} A (+ = charge), SOC ${f.soc.toFixed(1)} %${f.soh !== undefined ? `, SOH ${f.soh.toFixed(0)} %` : ''}`,
    ],
  ];
  if (f.cellVoltages.length) {
    const min = Math.min(...f.cellVoltages);
    const max = Math.max(...f.cellVoltages);
    rows.push(['Cell voltages', `${min.toFixed(3)}–${max.toFixed(3)} V (spread ${((max - min) * 1000).toFixed(0)} mV)`]);
  }
  if (f.temperatures.length) rows.push(['Temperatures', f.temperatures.map((t) => `${t.toFixed(1)}`).join(', ') + ' °C']);
  const alarms = flagNames(ALARM_FLAGS, f.alarms);
  rows.push(['Alarms', alarms.length ? alarms.join(', ') : 'none']);
  return rows;
}
