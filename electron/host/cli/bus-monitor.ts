import { PackscopeError } from '../../../shared/errors.js';
import { unsignedDevice, type DeviceInfo, type ProtocolId, type TelemetryFrame } from '../../../shared/types/domain.js';
import type { LineSettings } from '../../../shared/types/transport.js';
import { realClock } from '../../../shared/util/clock.js';
import { Emitter } from '../../../shared/util/emitter.js';
import { BusListener, LISTEN_PROTOCOLS } from '../drivers/bus-listener.js';
import { BusPoller } from '../drivers/pack-bus.js';
import { driverFactory } from '../drivers/registry.js';
import { startRecording, type RecordingHandle } from '../recorder/index.js';
import type { Session } from '../session.js';
import { createTransport } from '../transport/index.js';
import { packageVersion } from '../util/package-root.js';
import { addressList, busProtocol, openBusFromOptions, packLine, totalsJson, totalsLine } from './bus-options.js';
import { captureOption, resolvePort } from './device-options.js';
import type { CliContext } from './context.js';
import { numberOption } from './context.js';
import { EXIT } from './exit-codes.js';
import { frameToJson } from './telemetry-json.js';

/**
 * The two ways `monitor` follows several packs on one bus: polling them itself
 * (--address LIST: one line per pack, then the totals of the round) and listening only
 * (--listen: the inverter masters the bus; PackScope decodes its polling and the packs' answers
 * without sending a byte). Both stop on --duration, Ctrl-C or a lost port.
 */
export interface BusMonitorValues {
  port?: string;
  baud?: string;
  protocol?: string;
  timeout?: string;
  address?: string;
  rate?: string;
  duration?: string;
  record?: string;
  capture?: string;
  json?: boolean;
}

/** Resolves when the run should end: --duration, Ctrl-C, or the port going away. */
function stopper(ctx: CliContext, duration: number | null, onClose: (l: (why: string) => void) => () => void) {
  const clock = ctx.clock ?? realClock;
  let outcome: 'done' | 'interrupted' | 'disconnected' = 'done';
  let reason = '';
  const stopped = new Promise<void>((resolve) => {
    if (ctx.signal.aborted) {
      outcome = 'interrupted';
      resolve();
    }
    ctx.signal.addEventListener('abort', () => {
      outcome = 'interrupted';
      resolve();
    });
    onClose((why) => {
      outcome = 'disconnected';
      reason = why;
      resolve();
    });
    if (duration !== null) clock.after(duration * 1000, resolve, { background: true });
  });
  return { stopped, outcome: () => outcome, reason: () => reason, clock };
}

/** A pack heard or polled on the bus, as the recorder sees a session: identity, events. */
class PackFeed {
  private events = { telemetry: new Emitter<TelemetryFrame>(), stale: new Emitter<number>(), disconnect: new Emitter<string>() };
  readonly driver = {};
  constructor(
    readonly info: DeviceInfo,
    readonly path: string,
    readonly line: LineSettings,
  ) {}
  on(event: 'telemetry' | 'stale' | 'disconnect', l: (v: never) => void): () => void {
    return (this.events[event] as Emitter<unknown>).on(l as (v: unknown) => void);
  }
  push(f: TelemetryFrame): void {
    this.events.telemetry.emit(f);
  }
  gone(why: string): void {
    this.events.disconnect.emit(why);
  }
}

function heardDevice(protocol: ProtocolId, pack: number, f: TelemetryFrame): DeviceInfo {
  return unsignedDevice(protocol, { model: `${protocol} pack ${pack}`, boardId: protocol, cellCount: f.cellVoltages.length });
}

/** `--record FILE.pslog` with several packs: one recording per pack, FILE-pack<N>.pslog. */
class PackRecordings {
  private feeds = new Map<number, { feed: PackFeed; rec: Promise<RecordingHandle> }>();
  constructor(
    private base: string,
    private rateHz: number,
    private path: string,
    private line: LineSettings,
  ) {}
  fileFor(pack: number): string {
    return this.base.replace(/(\.pslog)?$/i, `-pack${pack}.pslog`);
  }
  push(protocol: ProtocolId, pack: number, f: TelemetryFrame, info?: DeviceInfo): void {
    let e = this.feeds.get(pack);
    if (!e) {
      const feed = new PackFeed(info ?? heardDevice(protocol, pack, f), this.path, this.line);
      const rec = startRecording(feed as unknown as Session, this.fileFor(pack), { rateHz: this.rateHz, tool: `packscope ${packageVersion()}` });
      e = { feed, rec };
      this.feeds.set(pack, e);
    }
    e.feed.push(f);
  }
  async stop(why: string | null) {
    const out = [];
    for (const { feed, rec } of this.feeds.values()) {
      if (why) feed.gone(why);
      out.push(await (await rec).stop());
    }
    return out;
  }
  async abort() {
    for (const { rec } of this.feeds.values()) await (await rec.catch(() => null))?.abort();
  }
}

export async function runListen(values: BusMonitorValues, ctx: CliContext): Promise<number> {
  const protocol = (values.protocol ?? '') as ProtocolId;
  if (!LISTEN_PROTOCOLS.includes(protocol))
    throw new PackscopeError('USAGE', `--listen needs --protocol ${LISTEN_PROTOCOLS.join(', ')} (listening cannot probe)`);
  const port = await resolvePort(values.port);
  const factory = await driverFactory(protocol);
  const baud = values.baud === undefined ? factory.defaultLine.baudRate : numberOption(values.baud, 'baud', 9600, 300, 12_000_000);
  const line: LineSettings = { baudRate: baud, parity: factory.defaultLine.parity ?? 'none' };
  const duration = values.duration === undefined ? null : numberOption(values.duration, 'duration', 0, 0.1, 7 * 24 * 3600);
  const json = Boolean(values.json);
  const capture = captureOption(values.capture);
  const raw = createTransport(port, line, ctx.clock ? { clock: ctx.clock } : {});
  const transport = capture ? capture(raw, line) : raw;
  await transport.open();
  // The listener gets the receive side only: it has no way to send.
  const listener = BusListener.on(protocol, { onData: (l) => transport.onData(l) });
  const rec = values.record ? new PackRecordings(values.record, 1, port, line) : null;
  let frames = 0;
  listener.onTelemetry(({ pack, frame }) => {
    frames++;
    rec?.push(protocol, pack, frame);
    ctx.out(json ? JSON.stringify({ pack, ...frameToJson(frame) }) : packLine(pack, frame));
  });
  listener.onMessage((m) => {
    if (json) ctx.out(JSON.stringify({ pack: m.pack, message: m.what, values: m.values }));
  });
  const run = stopper(ctx, duration, (l) =>
    transport.onClose((r) => r.kind !== 'closed' && l(r.kind === 'disconnected' || r.kind === 'error' ? r.message : 'closed')),
  );
  // On stderr even with --json: a script (or a test) knows from it that the port is open.
  ctx.err(`listening on ${port} at ${baud} baud for ${protocol} traffic (listen-only: nothing is sent)${duration ? ` for ${duration} s` : ', Ctrl-C to stop'}`);
  try {
    await run.stopped;
    const recorded = rec ? await rec.stop(run.outcome() === 'disconnected' ? run.reason() : null) : [];
    const summary = { frames, outcome: run.outcome(), listen: { ...listener.stats, bytesOut: 0 }, ...(recorded.length ? { recordings: recorded } : {}) };
    if (json) ctx.out(JSON.stringify({ summary }));
    else {
      ctx.err(
        `${frames} pack frames heard; ${listener.stats.requests} requests, ${listener.stats.answers} answers, ${listener.stats.crcErrors} bad checksums; 0 bytes sent`,
      );
      for (const r of recorded) ctx.err(`recorded ${r.records} frames to ${r.path} (unsigned desktop recording, listen-only)`);
    }
    if (run.outcome() === 'disconnected') {
      ctx.err(`packscope: port lost (${run.reason()})`);
      return EXIT.DISCONNECTED;
    }
    return EXIT.OK;
  } finally {
    await rec?.abort();
    listener.dispose();
    await transport.close().catch(() => undefined);
  }
}

export async function runBusMonitor(values: BusMonitorValues, ctx: CliContext): Promise<number> {
  const protocol = busProtocol(values.protocol);
  const addresses = await addressList(values.address ?? 'all', protocol);
  const rate = numberOption(values.rate, 'rate', 1, 0.01, 20);
  const duration = values.duration === undefined ? null : numberOption(values.duration, 'duration', 0, 0.1, 7 * 24 * 3600);
  const json = Boolean(values.json);
  const bus = await openBusFromOptions(values, protocol, ctx);
  const capacities = new Map<number, number>();
  const infos = new Map<number, DeviceInfo>();
  try {
    for (const a of addresses) {
      try {
        const d = await bus.bus.identify(a, ctx.signal);
        infos.set(a, d);
        capacities.set(a, d.nominalCapacityAh);
      } catch (e) {
        if (e instanceof PackscopeError && e.code === 'CANCELLED') throw e;
        ctx.err(`warning: ${bus.factory.addressing!.label} ${a} did not identify (${(e as Error).message}); it is polled anyway`);
      }
    }
  } catch (e) {
    await bus.close();
    throw e;
  }
  const rec = values.record ? new PackRecordings(values.record, rate, values.port ?? '', bus.line) : null;
  const poller = new BusPoller(bus.bus, addresses, capacities, bus.clock);
  let rounds = 0;
  let frames = 0;
  poller.onPack(({ address, frame }) => {
    frames++;
    rec?.push(protocol, address, frame, infos.get(address));
    ctx.out(json ? JSON.stringify({ pack: address, ...frameToJson(frame) }) : packLine(address, frame));
  });
  poller.onRound((r) => {
    rounds++;
    ctx.out(json ? JSON.stringify({ totals: totalsJson(r.totals), missing: r.missing }) : totalsLine(r.totals, r.missing));
  });
  const run = stopper(ctx, duration, (l) => bus.bus.onDisconnect(l));
  if (!json) ctx.err(`${addresses.length} pack(s) on ${values.port}, ${protocol} ${bus.factory.addressing!.label}s ${addresses.join(', ')}, ${rate} Hz`);
  try {
    poller.start(rate);
    await run.stopped;
    await poller.stopPolling();
    const recorded = rec ? await rec.stop(run.outcome() === 'disconnected' ? run.reason() : null) : [];
    const link = bus.bus.stats();
    if (json) ctx.out(JSON.stringify({ summary: { rounds, frames, outcome: run.outcome(), link, ...(recorded.length ? { recordings: recorded } : {}) } }));
    else ctx.err(`${rounds} rounds, ${frames} pack frames; link: ${link.crcErrors} CRC errors, ${link.timeouts} timeouts`);
    if (run.outcome() === 'disconnected') return EXIT.DISCONNECTED;
    return EXIT.OK;
  } finally {
    await poller.stopPolling();
    await rec?.abort();
    await bus.close();
  }
}
