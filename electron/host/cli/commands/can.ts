import { formatCandump } from '../../../../shared/can/frame.js';
import { PackscopeError } from '../../../../shared/errors.js';
import { ALARM_FLAGS, STATUS_FLAGS, flagNames, type TelemetryFrame } from '../../../../shared/types/domain.js';
import { toHex } from '../../../../shared/util/bytes.js';
import { PylontechCanDriver } from '../../can/pylontech-driver.js';
import { closeCanChannel, openCanChannel, SLCAN_SERIAL_BAUD } from '../../can/open.js';
import { createTransport } from '../../transport/index.js';
import { captureOption } from '../device-options.js';
import type { ReceivedFrame } from '../../can/slcan-channel.js';
import { numberOption, parseCommandArgs, requireOption, subcommands, type CliContext, type CommandModule } from '../context.js';

/** The adapter's port, wrapped for --capture when asked (else openCanChannel opens it itself). */
function adapterPort(port: string, capture: string | undefined) {
  const wrap = captureOption(capture);
  if (!wrap) return undefined;
  const line = { baudRate: SLCAN_SERIAL_BAUD };
  return wrap(createTransport(port, line), line);
}

const USAGE = `Usage: packscope can monitor --port PATH [--bitrate 500000] [--json] [--listen-only]
                         [--timestamps] [--duration SECONDS] [--count N] [--id 0x356,0x7E8]
       packscope can pylontech --port PATH [--bitrate 500000] [--json] [--capture FILE.jsonl]

CAN traffic through an SLCAN adapter (CANable and other Lawicel-protocol adapters).

  monitor    print every frame on the bus, candump style:   7E8   [8]  02 50 02 00 32 01 F4 CC
             --json gives one object per line: {"t","id","extended","remote","dlc","data"}
  pylontech  listen (listen-only) for one round of a battery's Pylontech/SMA broadcasts and print
             them decoded: voltage, current, SOC, SOH, temperature, protection and warning flags,
             charge/discharge limits, request flags, manufacturer, module count

Options:
  --port PATH        serial port of the adapter (see 'packscope ports')
  --bitrate N        bus bitrate, one of 10000 20000 50000 100000 125000 250000 500000 800000 1000000
  --listen-only      open the adapter in listen-only mode (it never acknowledges or sends)
  --timestamps       ask the adapter for its receive timestamps (ms, wrapping at 60 s): shown as
                     (ss.mmm) before each line, "adapterTs" in JSON
  --duration S       stop after S seconds;  --count N  stop after N frames;  Ctrl-C stops too
  --id LIST          show only these identifiers (comma-separated, hex with 0x or decimal)
  --capture FILE.jsonl  record every byte to and from the adapter ('packscope replay' plays it back)

Adapter status is read every second: receive overruns and bus errors are reported on stderr and
in the final summary (a wrong bitrate shows up as bus errors and no frames).`;

function parseIds(spec: string | undefined): Set<number> | null {
  if (!spec) return null;
  const out = new Set<number>();
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const n = Number(item);
    if (!Number.isInteger(n) || n < 0 || n > 0x1fffffff) throw new PackscopeError('USAGE', `--id: '${item}' is not a CAN identifier`);
    out.add(n);
  }
  return out;
}

async function monitor(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    port: { type: 'string' },
    capture: { type: 'string' },
    bitrate: { type: 'string' },
    'listen-only': { type: 'boolean' },
    timestamps: { type: 'boolean' },
    duration: { type: 'string' },
    count: { type: 'string' },
    id: { type: 'string' },
  });
  const port = requireOption(values.port, 'port');
  const bitrate = numberOption(values.bitrate, 'bitrate', 500_000, 10_000, 1_000_000);
  const duration = numberOption(values.duration, 'duration', Infinity, 0);
  const count = numberOption(values.count, 'count', Infinity, 1);
  const ids = parseIds(values.id);
  const json = !!values.json;
  const channel = await openCanChannel(
    port,
    { bitrate, listenOnly: !!values['listen-only'], timestamps: !!values.timestamps },
    adapterPort(port, values.capture),
  );
  const a = channel.info;
  ctx.err(
    `${port}: SLCAN adapter${a.hardwareVersion ? ` hw ${a.hardwareVersion} sw ${a.softwareVersion}` : ''}${a.serial ? ` serial ${a.serial}` : ''}, ${bitrate} bit/s${values['listen-only'] ? ', listen-only' : ''}`,
  );
  let shown = 0;
  const t0 = Date.now();
  let stopReason = 'stopped';
  try {
    await new Promise<void>((resolve, reject) => {
      const finish = (why: string) => {
        stopReason = why;
        cleanup();
        resolve();
      };
      const onFrame = (rf: ReceivedFrame) => {
        const f = rf.frame;
        if (ids && !ids.has(f.id)) return;
        shown++;
        const ts = rf.adapterTimestamp;
        if (json)
          ctx.out(
            JSON.stringify({
              t: rf.t,
              ...(ts !== undefined ? { adapterTs: ts } : {}),
              id: f.id,
              extended: f.extended,
              remote: f.remote,
              dlc: f.dlc,
              data: toHex(f.data),
            }),
          );
        else ctx.out(ts !== undefined ? `(${(ts / 1000).toFixed(3).padStart(6, '0')})  ${formatCandump(f)}` : formatCandump(f));
        if (shown >= count) finish(`${count} frames`);
      };
      const offFrame = channel.onFrame(onFrame);
      const offClose = channel.onClose((why) => {
        cleanup();
        reject(new PackscopeError('DISCONNECTED', `${port}: adapter went away (${why})`));
      });
      // Status poll: overruns and bus errors are the adapter's only way to say frames were lost.
      const poll = setInterval(() => {
        channel.status().then(
          (flags) => {
            const bad = flags.filter((f) => f !== 'tx_fifo_full');
            if (bad.length) ctx.err(`adapter status: ${bad.join(', ')}`);
          },
          () => undefined,
        );
      }, 1000);
      const timer = Number.isFinite(duration) ? setTimeout(() => finish(`${duration} s`), duration * 1000) : null;
      const onAbort = () => finish('interrupted');
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      function cleanup() {
        offFrame();
        offClose();
        clearInterval(poll);
        if (timer) clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
      }
    });
  } finally {
    await closeCanChannel(channel).catch(() => undefined);
  }
  const s = channel.stats;
  const secs = (Date.now() - t0) / 1000;
  ctx.err(
    `${shown} frames shown (${s.framesIn} received) in ${secs.toFixed(1)} s; ${s.overruns} overrun reports, ${s.busErrors} bus-error reports, ${s.decodeErrors} undecodable lines (${stopReason})`,
  );
  // A silent bus is usually the wrong bitrate (the controller cannot sample any frame) or no
  // CAN-H/CAN-L or termination; say so rather than leave an empty screen.
  if (s.framesIn === 0)
    ctx.err(`no frames received: check the bitrate (${bitrate} bit/s now; Pylontech packs use 500000), the CAN-H/CAN-L wiring and the 120 Ω termination`);
  return 0;
}

const onOff = (set: Record<string, boolean>) =>
  Object.keys(set)
    .filter((k) => set[k])
    .join(', ') || 'none';

async function pylontech(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs(argv, { port: { type: 'string' }, bitrate: { type: 'string' }, capture: { type: 'string' } });
  const port = requireOption(values.port, 'port');
  const bitrate = numberOption(values.bitrate, 'bitrate', 500_000, 10_000, 1_000_000);
  const channel = await openCanChannel(port, { bitrate, listenOnly: true }, adapterPort(port, values.capture));
  const driver = new PylontechCanDriver(channel);
  try {
    const info = await driver.identify(ctx.signal);
    await driver.startTelemetry(1);
    const frame = await new Promise<TelemetryFrame>((resolve, reject) => {
      const t = setTimeout(() => reject(new PackscopeError('TIMEOUT', 'no 0x356 broadcast within 3 s')), 3000);
      const off = driver.onTelemetry((f) => {
        clearTimeout(t);
        off();
        resolve(f);
      });
    });
    const st = driver.latest();
    if (values.json) {
      ctx.out(
        JSON.stringify(
          { device: info, telemetry: frame, alarms: flagNames(ALARM_FLAGS, frame.alarms), status: flagNames(STATUS_FLAGS, frame.status), broadcast: st },
          null,
          2,
        ),
      );
      return 0;
    }
    const rows: Array<[string, string]> = [
      ['Manufacturer', `${st.manufacturer ?? '?'} (${st.alarms?.moduleCount ?? '?'} module(s))`],
      ['Voltage', `${frame.packVoltage.toFixed(2)} V`],
      ['Current', `${frame.current.toFixed(1)} A`],
      ['SOC / SOH', `${frame.soc} % / ${frame.soh ?? '?'} %`],
      ['Temperature', `${frame.temperatures[0]?.toFixed(1) ?? '?'} °C`],
      ['Protection', st.alarms ? onOff(st.alarms.protection) : '?'],
      ['Warnings', st.alarms ? onOff(st.alarms.warning) : '?'],
      ['Alarms (PackScope)', flagNames(ALARM_FLAGS, frame.alarms).join(', ') || 'none'],
      ['Charge limits', st.limits ? `${st.limits.chargeVoltage.toFixed(1)} V, ${st.limits.chargeCurrentLimit.toFixed(1)} A` : '?'],
      ['Discharge limits', st.limits ? `${st.limits.dischargeVoltage.toFixed(1)} V, ${st.limits.dischargeCurrentLimit.toFixed(1)} A` : '?'],
      [
        'Requests',
        st.requests
          ? onOff({
              charge_enable: st.requests.chargeEnable,
              discharge_enable: st.requests.dischargeEnable,
              force_charge_1: st.requests.forceCharge1,
              force_charge_2: st.requests.forceCharge2,
              full_charge_request: st.requests.fullChargeRequest,
            })
          : '?',
      ],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) ctx.out(`${k.padEnd(w)}  ${v}`);
    return 0;
  } finally {
    await driver.dispose().catch(() => undefined);
    await channel.transport.close().catch(() => undefined);
  }
}

export default {
  summary: 'CAN bus tools over an SLCAN adapter (monitor, pylontech)',
  usage: USAGE,
  run: subcommands('can', USAGE, { monitor, pylontech }),
} satisfies CommandModule;
