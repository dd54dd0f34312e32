import { PackscopeError } from '../../../shared/errors.js';
import { Emitter } from '../../../shared/util/emitter.js';
import type { ConnectResult, SessionStatus } from '../../../shared/api/contract.js';
import type { DeviceInfo, ProtocolId, TelemetryFrame } from '../../../shared/types/domain.js';
import type { TransportInfo } from '../../../shared/types/transport.js';
import { Session } from '../session.js';
import type { HostEvents } from './events.js';

/**
 * The one device session of a host (wrapping the link layer's Session): connect with protocol
 * detection, identity, telemetry, disconnect. Frames and link changes go out as host events, so
 * every window, bridge connection and recorder sees the same stream.
 */
/** Line rates tried after the protocols' own when the user asks for automatic rate detection. */
export const PROBE_BAUD_RATES = [921_600, 460_800, 230_400, 115_200, 57_600, 38_400, 19_200, 9_600] as const;

export class DeviceSession {
  private session: Session | null = null;
  private offs: Array<() => void> = [];
  private frames = new Emitter<TelemetryFrame>();
  private pauses = new Emitter<string>();
  private busy = false;
  /**
   * Who wants telemetry, at what rate: the Live screen ('view'), a recording ('recording'). The
   * stream follows the holders, not a screen's lifetime: leaving Live never starves a recording.
   */
  private holds = new Map<string, number>();
  /** Jobs that need the link to themselves (download, flash) suspend the stream while they run. */
  private exclusiveJobs = 0;
  private rateQueue: Promise<void> = Promise.resolve();
  private lastFrameAt: number | null = null;

  constructor(private events: HostEvents) {}

  /** The open link-layer session (log pull, firmware and self-check work on it). */
  get current(): Session | null {
    return this.session;
  }

  require(): Session {
    if (!this.session || this.session.isDisconnected) {
      throw new PackscopeError('DISCONNECTED', 'No board is connected: connect one (or the demo pack) on the Connect screen first.');
    }
    return this.session;
  }

  /** Reasons the stream pauses on purpose (a download or flash has the link): a recording notes them as gaps. */
  onPause(listener: (reason: string) => void): () => void {
    return this.pauses.on(listener);
  }

  /** Frames for in-host consumers (the recorder); the renderer gets them as events. */
  onFrame(listener: (f: TelemetryFrame) => void): () => void {
    return this.frames.on(listener);
  }

  async connect(path: string, protocol: ProtocolId | 'auto', baudRate?: number | 'auto'): Promise<ConnectResult> {
    if (this.busy) throw new PackscopeError('REFUSED', 'a connection attempt is already running');
    this.busy = true;
    try {
      await this.disconnect('replaced by a new connection');
      const { session, probes } = await openProbing(path, protocol, baudRate);
      this.session = session;
      this.lastFrameAt = null;
      this.offs.push(
        session.on('telemetry', (f) => {
          this.lastFrameAt = f.t;
          this.frames.emit(f);
          this.events.emit('telemetry', f);
        }),
        session.on('stale', (silentMs) =>
          this.events.emit('link', {
            state: 'stale',
            path,
            reason: `the board has sent nothing for ${(silentMs / 1000).toFixed(1)} s`,
            since: this.lastFrameAt,
          }),
        ),
        session.on('fresh', () => this.events.emit('link', { state: 'connected', path, device: session.info })),
        session.on('disconnect', (reason) => void this.lost(reason)),
      );
      this.events.emit('link', { state: 'connected', path, device: session.info });
      return {
        device: session.info!,
        protocol: session.protocol,
        probes,
        transport: transportInfo(session.transport.info),
      };
    } finally {
      this.busy = false;
    }
  }

  private async lost(reason: string): Promise<void> {
    const path = this.session?.path ?? null;
    // Tell every screen first: closing the driver may wait for requests still in flight.
    this.events.emit('link', { state: 'disconnected', path, reason: lostInWords(reason), since: this.lastFrameAt });
    await this.teardown();
  }

  private async teardown(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    this.holds.clear();
    const s = this.session;
    this.session = null;
    if (s) await s.close().catch(() => undefined);
  }

  async disconnect(reason = 'disconnected by the user'): Promise<void> {
    if (!this.session) return;
    const path = this.session.path;
    this.events.emit('link', { state: 'disconnected', path, reason, since: this.lastFrameAt });
    await this.teardown();
  }

  /** Reads the identity again and tells every screen (after a flash, a revert, a reset). */
  async identity(): Promise<DeviceInfo> {
    const s = this.require();
    s.info = await s.driver.identify();
    this.events.emit('link', { state: 'connected', path: s.path, device: s.info });
    return s.info;
  }

  /** Telemetry for `holder` at `rateHz` (a recording's rate wins over the screen's). */
  async holdTelemetry(holder: string, rateHz: number): Promise<void> {
    this.require();
    this.holds.set(holder, rateHz);
    await this.applyRate();
  }

  async releaseTelemetry(holder: string): Promise<void> {
    this.holds.delete(holder);
    await this.applyRate();
  }

  /** The rate the stream runs at for its holders (0: stopped). */
  get wantedRateHz(): number {
    if (this.exclusiveJobs > 0) return 0;
    return this.holds.get('recording') ?? Math.max(0, ...this.holds.values());
  }

  /** A download or flash has the link: other requests wait for it to end. */
  get linkBusy(): boolean {
    return this.exclusiveJobs > 0;
  }

  /** Runs a job that needs the link alone (download, flash): the stream pauses and comes back after. */
  async exclusive<T>(reason: string, fn: () => Promise<T>): Promise<T> {
    this.exclusiveJobs++;
    if (this.holds.size) this.pauses.emit(reason);
    try {
      await this.applyRate().catch(() => undefined);
      return await fn();
    } finally {
      this.exclusiveJobs--;
      await this.applyRate().catch(() => undefined);
    }
  }

  private applyRate(): Promise<void> {
    const next = this.rateQueue.then(async () => {
      const s = this.session;
      if (!s || s.isDisconnected) return;
      const want = this.wantedRateHz;
      if (want === s.telemetryRateHz) return;
      if (want > 0) await s.startTelemetry(want);
      else await s.stopTelemetry();
    });
    this.rateQueue = next.catch(() => undefined);
    return next;
  }

  status(): SessionStatus {
    const s = this.session;
    return {
      connected: s !== null && !s.isDisconnected,
      path: s?.path ?? null,
      device: s?.info ?? null,
      stats: s?.stats() ?? null,
      telemetryRateHz: s && s.telemetryRateHz > 0 ? s.telemetryRateHz : null,
    };
  }
}

/** Opens a session; with baudRate 'auto', tries the protocols' own rates, then the other common ones. */
async function openProbing(path: string, protocol: ProtocolId | 'auto', baudRate: number | 'auto' | undefined) {
  const probesOf = (s: Session) => s.detection.map((d) => ({ protocol: d.protocol, answered: d.answered, baudRate: d.line.baudRate }));
  if (baudRate !== 'auto') {
    const session = await Session.open(path, { protocol, ...(baudRate ? { baud: baudRate } : {}) });
    return { session, probes: probesOf(session) };
  }
  const tried: ConnectResult['probes'] = [];
  for (const baud of [undefined, ...PROBE_BAUD_RATES]) {
    try {
      const session = await Session.open(path, { protocol, ...(baud ? { baud } : {}) });
      const probes = probesOf(session);
      // A forced protocol reports no probes of its own: the rate that answered is the probe.
      if (!probes.length) probes.push({ protocol: session.protocol, answered: true, baudRate: session.line.baudRate });
      return { session, probes: [...tried, ...probes] };
    } catch (e) {
      // Only silence moves on to the next rate; a port that cannot be opened fails at once.
      if (!(e instanceof PackscopeError) || e.code !== 'TIMEOUT') throw e;
      const detection = (e.details as { detection?: Array<{ protocol: ProtocolId; line: { baudRate: number } }> } | undefined)?.detection;
      if (detection) for (const d of detection) tried.push({ protocol: d.protocol, answered: false, baudRate: d.line.baudRate });
      else if (protocol !== 'auto' && baud) tried.push({ protocol, answered: false, baudRate: baud });
    }
  }
  throw new PackscopeError(
    'TIMEOUT',
    `Nothing answered on ${path} at any common line rate (${[...new Set(tried.map((t) => t.baudRate))].join(', ')} baud). Check the cable and that the pack is switched on, or choose the protocol by hand.`,
    { detection: tried },
  );
}

/** Why the link went away, for people (the transport's words are for developers). */
function lostInWords(reason: string): string {
  if (/bad file descriptor|EIO|hang ?up|port closed|ENXIO|disconnected/i.test(reason))
    return 'the board or its cable went away (the port closed). Check the cable and the pack power, then connect again.';
  return reason;
}

function transportInfo(info: TransportInfo): TransportInfo {
  const out: TransportInfo = { kind: info.kind, path: info.path };
  for (const k of ['vendorId', 'productId', 'manufacturer', 'serialNumber', 'adapter'] as const) if (info[k]) out[k] = info[k];
  return out;
}
