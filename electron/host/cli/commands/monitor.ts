import { PackscopeError } from '../../../../shared/errors.js';
import { ALARM_FLAGS, STATUS_FLAGS, flagNames, type TelemetryFrame } from '../../../../shared/types/domain.js';
import { frameToJson } from '../telemetry-json.js';
import { runBusMonitor, runListen } from '../bus-monitor.js';
import type { CommandModule } from '../context.js';
import { numberOption, parseCommandArgs } from '../context.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, openDeviceSession } from '../device-options.js';
import { EXIT } from '../exit-codes.js';
import { startRecording } from '../../recorder/index.js';
import { packageVersion } from '../../util/package-root.js';

export { frameToJson };

function humanLine(f: TelemetryFrame): string {
  const cells = f.cellVoltages;
  const min = cells.length ? Math.min(...cells) : NaN;
  const max = cells.length ? Math.max(...cells) : NaN;
  const tmax = f.temperatures.length ? Math.max(...f.temperatures) : NaN;
  const alarms = flagNames(ALARM_FLAGS, f.alarms);
  return [
    new Date(f.t).toISOString().slice(11, 23),
    `${f.packVoltage.toFixed(3).padStart(7)} V`,
    `${(Math.abs(f.current) < 0.005 ? 0 : f.current).toFixed(2).padStart(8)} A`,
    `SOC ${f.soc.toFixed(1).padStart(5)} %`,
    cells.length ? `cells ${min.toFixed(3)}–${max.toFixed(3)} V (Δ ${((max - min) * 1000).toFixed(0)} mV)` : 'cells n/a',
    f.temperatures.length ? `Tmax ${tmax.toFixed(1)} °C` : 'T n/a',
    flagNames(STATUS_FLAGS, f.status).join(',') || '-',
    alarms.length ? `ALARM ${alarms.join(',')}` : '',
    f.deviceFlags?.length ? `BMS ${f.deviceFlags.join(',')}` : '',
  ]
    .filter((x) => x !== '')
    .join('  ')
    .trimEnd();
}

export default {
  summary: 'Live telemetry (one line per frame; --json gives JSON lines)',
  usage: `Usage: packscope monitor --port PATH [--rate HZ] [--duration S] [--count N] [--protocol P] [--record FILE.pslog] [--json]
       packscope monitor --port PATH --protocol daly|pylontech-rs485 --address LIST [...]
       packscope monitor --port PATH --protocol P --listen [...]

${DEVICE_USAGE}
  --rate HZ           frames per second to ask for (default 2, up to 100)
  --duration S        stop after S seconds (default: until Ctrl-C)
  --count N           stop after N frames (one device; with --duration, whichever comes first)
  --record FILE.pslog also store every frame in a .pslog, flagged as an unsigned desktop recording
                      (weaker evidence than a signed black box); written as FILE.pslog.partial
                      and renamed when monitoring stops
  --json              one JSON object per frame (t, packVoltage V, current A (+ = charge), soc %,
                      cellVoltages V, temperatures °C, status/alarms as bits and names), then a
                      final {"summary": ...} line with frame count and link error counters

Several packs on one bus:
  --address LIST      packs to poll in turn, e.g. 0-3, 2,3,4 or all (Daly board numbers,
                      Pylontech module addresses): one line per pack, then the round's totals
                      (bus voltage, summed current and power, capacity-weighted SOC, spreads);
                      --record FILE.pslog writes FILE-pack<N>.pslog per pack
  --listen            listen-only: another master (an inverter) polls the bus; its requests and
                      the packs' answers are decoded and nothing is sent (pylontech-rs485, daly,
                      jbd; for CAN see 'packscope can monitor --listen-only')

Exit codes: 0 when stopped by --duration, --count or Ctrl-C, 4 when the device disconnects.`,
  async run(argv, ctx) {
    const { values } = parseCommandArgs(argv, {
      ...DEVICE_OPTIONS,
      rate: { type: 'string' },
      duration: { type: 'string' },
      count: { type: 'string' },
      record: { type: 'string' },
      listen: { type: 'boolean' },
    });
    if (values.count !== undefined && (values.listen || (values.address !== undefined && /[,-]|^all$/.test(values.address))))
      throw new PackscopeError('USAGE', '--count applies to one device; with --address LIST or --listen use --duration or Ctrl-C');
    if (values.listen) return runListen(values, ctx);
    if (values.address !== undefined && /[,-]|^all$/.test(values.address)) return runBusMonitor(values, ctx);
    const rate = numberOption(values.rate, 'rate', 2, 0.01, 100);
    const duration = values.duration === undefined ? null : numberOption(values.duration, 'duration', 0, 0.1, 7 * 24 * 3600);
    const count = values.count === undefined ? Infinity : Math.round(numberOption(values.count, 'count', 1, 1, Number.MAX_SAFE_INTEGER));
    const json = Boolean(values.json);
    const session = await openDeviceSession(values, ctx);
    const recording = values.record
      ? await startRecording(session, values.record, { rateHz: rate, tool: `packscope ${packageVersion()}` }).catch(async (e: unknown) => {
          await session.close();
          throw e;
        })
      : null;
    const clock = session.clock;
    const t0 = clock.now();
    let frames = 0;
    let staleEvents = 0;
    let outcome = 'done' as 'done' | 'interrupted' | 'disconnected';
    let disconnectReason = '';
    try {
      const stopped = new Promise<void>((resolve) => {
        session.on('telemetry', (f) => {
          if (frames >= count) return;
          frames++;
          ctx.out(json ? JSON.stringify(frameToJson(f)) : humanLine(f));
          if (frames >= count) resolve();
        });
        session.on('stale', (ms) => {
          staleEvents++;
          ctx.err(`warning: no telemetry for ${(ms / 1000).toFixed(1)} s`);
        });
        session.on('fresh', () => ctx.err('telemetry resumed'));
        session.on('disconnect', (why) => {
          outcome = 'disconnected';
          disconnectReason = why;
          resolve();
        });
        if (ctx.signal.aborted) {
          outcome = 'interrupted';
          resolve();
        }
        ctx.signal.addEventListener('abort', () => {
          outcome = 'interrupted';
          resolve();
        });
        if (duration !== null) clock.after(duration * 1000, resolve, { background: true });
      });
      if (!json)
        ctx.err(`${session.info?.model ?? 'device'} ${session.info?.serial ?? ''} — ${rate} Hz${duration ? ` for ${duration} s` : ', Ctrl-C to stop'}`);
      await session.startTelemetry(rate);
      await stopped;
      const seconds = (clock.now() - t0) / 1000;
      const link = session.stats();
      const recorded = recording ? await recording.stop() : null;
      if (recorded && !json)
        ctx.err(
          `recorded ${recorded.records} frames in ${recorded.segments} segment(s) to ${recorded.path} (unsigned desktop recording${recorded.gaps.length ? `, ${recorded.gaps.length} gap(s)` : ''})`,
        );
      if (json)
        ctx.out(
          JSON.stringify({
            summary: {
              frames,
              seconds: Math.round(seconds * 1000) / 1000,
              rateHz: rate,
              staleEvents,
              outcome,
              link,
              ...(recorded ? { recording: recorded } : {}),
            },
          }),
        );
      else
        ctx.err(
          `${frames} frames in ${seconds.toFixed(1)} s; link: ${link.crcErrors} CRC errors, ${link.decodeErrors} decode errors, ${link.timeouts} timeouts, ${link.retries} retries`,
        );
      if (outcome === 'disconnected') {
        ctx.err(`packscope: device disconnected (${disconnectReason})`);
        return EXIT.DISCONNECTED;
      }
      return 0;
    } catch (e) {
      if (e instanceof PackscopeError && e.code === 'CANCELLED') return 0;
      throw e;
    } finally {
      if (recording) await recording.abort().catch(() => undefined);
      await session.close();
    }
  },
} satisfies CommandModule;
