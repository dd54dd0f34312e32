import { PackscopeError } from '../../../shared/errors.js';
import { Emitter } from '../../../shared/util/emitter.js';
import type { ConnectResult, EventPayload, SessionStatus } from '../../../shared/api/contract.js';
import type { DeviceInfo, ProtocolId, TelemetryFrame } from '../../../shared/types/domain.js';
import type { ByteTransport, LineSettings, TransportInfo } from '../../../shared/types/transport.js';
import { realClock, type Cancel, type Clock } from '../../../shared/util/clock.js';
import { Session } from '../session.js';
import type { HostEvents } from './events.js';

/**
 * The one device session of a host (wrapping the link layer's Session): connect with protocol
 * detection, identity, telemetry, disconnect. Frames and link changes go out as host events, so
 * every window, bridge connection and recorder sees the same stream.
 */
/** Line rates tried after the protocols' own when the user asks for automatic rate detection. */
export const PROBE_BAUD_RATES = [921_600, 460_800, 230_400, 115_200, 57_600, 38_400, 19_200, 9_600] as const;

/**
 * The keep-alive: while nothing else talks to the board (no telemetry holder, no download or
 * flash), the host asks it something light every KEEPALIVE_MS, so a board that goes silent is
 * noticed on every screen, not only while Live runs. Silence longer than KEEPALIVE_SILENT_MS makes
 * the link stale ('not answering': actions that need the board are disabled); an answer makes it
 * connected again.
 */
export const KEEPALIVE_MS = 500;
export const KEEPALIVE_SILENT_MS = 1500;

export interface DeviceSessionOptions {
  /** Time base of the keep-alive and of the sessions it opens (default: the real clock). */
  clock?: Clock;
  /** Wraps each opened transport (raw capture; tests cut a line with it). */
  wrapTransport?: (t: ByteTransport, line: LineSettings) => ByteTransport;
}

export class DeviceSession {
  private session: Session | null = null;
  private offs: Array<() => void> = [];
  private frames = new Emitter<TelemetryFrame>();
  private pauses = new Emitter<string>();
  /** Who must know of a new identity before the stream resumes (a recording rolls over to a new file). */
  private identityHooks = new Set<(was: DeviceInfo | null, now: DeviceInfo) => Promise<void>>();
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
  private readonly clock: Clock;
  private told: EventPayload<'link'>['state'] = 'disconnected';
  /** Keep-alive state: when the board last proved it is there, and whether the host said it went quiet. */
  private keepAlive: { stop: Cancel; heardAt: number; framesIn: number; pinging: boolean; lastPingAt: number; quiet: boolean } | null = null;

  constructor(
    private events: HostEvents,
    private options: DeviceSessionOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
  }

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
      const { session, probes } = await openProbing(path, protocol, baudRate, this.options);
      this.session = session;
      this.lastFrameAt = null;
      this.offs.push(
        session.on('telemetry', (f) => {
          this.lastFrameAt = f.t;
          this.heard();
          this.frames.emit(f);
          this.events.emit('telemetry', f);
        }),
        session.on('stale', (silentMs) =>
          this.link({
            state: 'stale',
            path,
            reason: `the board has sent nothing for ${(silentMs / 1000).toFixed(1)} s`,
            since: this.lastFrameAt,
          }),
        ),
        session.on('fresh', () => this.link({ state: 'connected', path, device: session.info })),
        session.on('disconnect', (reason) => void this.lost(reason)),
      );
      this.startKeepAlive(session);
      this.link({ state: 'connected', path, device: session.info });
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
    this.link({ state: 'disconnected', path, reason: lostInWords(reason), since: this.lastFrameAt });
    await this.teardown();
  }

  /** Every link event goes through here: the last state told is what an answer may lift. */
  private link(e: EventPayload<'link'>): void {
    this.told = e.state;
    this.events.emit('link', e);
  }

  /** The board answered something: it is there (and if a screen was told it went quiet, it is back). */
  private heard(): void {
    const k = this.keepAlive;
    if (k) {
      k.heardAt = this.clock.now();
      k.quiet = false;
    }
    const s = this.session;
    if (this.told === 'stale' && s && !s.isDisconnected) this.link({ state: 'connected', path: s.path, device: s.info });
  }

  private startKeepAlive(session: Session): void {
    const ping = session.driver.ping?.bind(session.driver);
    if (!ping) return; // a broadcast-only device: its stream's own silence check is all there is
    const k = {
      stop: (() => undefined) as Cancel,
      heardAt: this.clock.now(),
      framesIn: session.stats().framesIn,
      pinging: false,
      lastPingAt: -Infinity,
      quiet: false,
    };
    this.keepAlive = k;
    k.stop = this.clock.every(KEEPALIVE_MS / 5, () => {
      if (this.session !== session || session.isDisconnected) return;
      const now = this.clock.now();
      // Any frame the board sent (an answer to a settings read, a slot status) proves it is there.
      const framesIn = session.stats().framesIn;
      if (framesIn !== k.framesIn) {
        k.framesIn = framesIn;
        this.heard();
      }
      // A download or flash speaks for itself (and reports its own failure); a running stream
      // has the session's stale check. The keep-alive speaks only into silence.
      if (this.exclusiveJobs > 0 || session.telemetryRateHz > 0) {
        if (!k.quiet) k.heardAt = now;
        return;
      }
      const silent = now - k.heardAt;
      if (!k.quiet && silent > KEEPALIVE_SILENT_MS) {
        k.quiet = true;
        // Already told (the stream's own check saw it first): once is enough.
        if (this.told !== 'stale')
          this.link({
            state: 'stale',
            path: session.path,
            reason: `the board has not answered for ${(silent / 1000).toFixed(1)} s`,
            since: this.lastFrameAt,
          });
      }
      if (k.pinging || now - k.lastPingAt < KEEPALIVE_MS) return;
      k.pinging = true;
      k.lastPingAt = now;
      ping()
        .then(() => {
          if (this.session === session) this.heard();
        })
        .catch(() => undefined) // silence is judged by the clock above, not by one lost answer
        .finally(() => (k.pinging = false));
    });
  }

  private stopKeepAlive(): void {
    this.keepAlive?.stop();
    this.keepAlive = null;
  }

  private async teardown(): Promise<void> {
    this.stopKeepAlive();
    for (const off of this.offs.splice(0)) off();
    this.holds.clear();
    const s = this.session;
    this.session = null;
    if (s) await s.close().catch(() => undefined);
  }

  async disconnect(reason = 'disconnected by the user'): Promise<void> {
    if (!this.session) return;
    const path = this.session.path;
    this.link({ state: 'disconnected', path, reason, since: this.lastFrameAt });
    await this.teardown();
  }

  /**
   * Called with the identity before and after each re-read, and awaited before identity() returns:
   * a flash re-reads the identity while it still has the link, so whoever keeps the identity (a
   * recording's file header) has caught up before the first frame of the new firmware arrives.
   */
  onIdentity(hook: (was: DeviceInfo | null, now: DeviceInfo) => Promise<void>): () => void {
    this.identityHooks.add(hook);
    return () => this.identityHooks.delete(hook);
  }

  /** Reads the identity again and tells every screen (after a flash, a revert, a reset). */
  async identity(): Promise<DeviceInfo> {
    const s = this.require();
    const was = s.info;
    const now = await s.driver.identify();
    s.info = now;
    for (const hook of [...this.identityHooks]) await hook(was, now).catch(() => undefined);
    this.link({ state: 'connected', path: s.path, device: now });
    return now;
  }

  /**
   * The identity after the board restarted into other firmware: asked until it answers (a board
   * still starting misses the first question). When it never answers, the link is stale with the
   * reason, so no screen goes on showing the version from before as if it were current.
   */
  async refreshIdentity(attempts = 3): Promise<DeviceInfo | null> {
    let last: unknown = null;
    for (let i = 0; i < attempts; i++) {
      try {
        return await this.identity();
      } catch (e) {
        last = e;
        if (!this.session || this.session.isDisconnected) return null;
      }
    }
    const s = this.session;
    if (s && !s.isDisconnected)
      this.link({
        state: 'stale',
        path: s.path,
        reason: `the board did not say which firmware it runs after the restart (${(last as Error)?.message ?? 'no answer'}); connect it again before relying on its version`,
        since: this.lastFrameAt,
      });
    return null;
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
async function openProbing(path: string, protocol: ProtocolId | 'auto', baudRate: number | 'auto' | undefined, options: DeviceSessionOptions) {
  const probesOf = (s: Session) => s.detection.map((d) => ({ protocol: d.protocol, answered: d.answered, baudRate: d.line.baudRate }));
  const common = { protocol, ...(options.clock ? { clock: options.clock } : {}), ...(options.wrapTransport ? { wrapTransport: options.wrapTransport } : {}) };
  if (baudRate !== 'auto') {
    const session = await Session.open(path, { ...common, ...(baudRate ? { baud: baudRate } : {}) });
    return { session, probes: probesOf(session) };
  }
  const tried: ConnectResult['probes'] = [];
  for (const baud of [undefined, ...PROBE_BAUD_RATES]) {
    try {
      const session = await Session.open(path, { ...common, ...(baud ? { baud } : {}) });
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
