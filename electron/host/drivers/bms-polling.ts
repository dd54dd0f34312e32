import { isPackscopeError, PackscopeError } from '../../../shared/errors.js';
import type { FrameExtractor } from '../../../shared/bms/extractor.js';
import { emptyLinkStats, type Capability, type DeviceInfo, type LinkStats, type ProtocolId, type TelemetryFrame } from '../../../shared/types/domain.js';
import type { ByteTransport, LineSettings } from '../../../shared/types/transport.js';
import { TelemetryStream, type Driver, type DriverOptions, type PackBus, type ProbeResult } from './types.js';
import { deadline } from '../util/deadline.js';
import { Emitter } from '../../../shared/util/emitter.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';

/**
 * The request/response machinery the commodity-BMS drivers (JBD, Daly, JK) share. These boards
 * only speak when spoken to, so:
 *  - one request is on the line at a time (identity reads and telemetry polls queue up);
 *  - a request waits for the frames it expects, with a timeout; on timeout a half-received frame is
 *    given up (counted as partial) and the request is retried, then reported as TIMEOUT;
 *  - telemetry is emitted only when every request of a poll round was really answered, so a
 *    silent or unplugged board produces no frames at all and the session's stale detection sees it;
 *  - every byte, frame, checksum error, partial frame and timeout lands in LinkStats.
 */
export interface Exchange<F> {
  request: Uint8Array;
  /** Is this frame (one of) the answer(s)? Other frames are counted and dropped. */
  accept(frame: F): boolean;
  /** Enough frames collected? (multi-frame answers such as Daly 0x95). Default: one. */
  complete?(frames: F[]): boolean;
  /** Bytes the answer will take, to size the timeout to the line rate. */
  expectBytes: number;
}

interface Pending<F> {
  ex: Exchange<F>;
  got: F[];
  resolve(frames: F[]): void;
  reject(e: unknown): void;
}

export class BmsChannel<F> {
  readonly linkStats: LinkStats = emptyLinkStats();
  private pending: Pending<F> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private unsubs: Array<() => void> = [];
  private closed: string | null = null;
  private disconnectEvents = new Emitter<string>();
  /** Intact frames that arrived with no request waiting for them (late replies, another master's traffic). */
  unclaimedFrames = 0;

  constructor(
    readonly transport: ByteTransport,
    private extractor: FrameExtractor<F>,
    private line: LineSettings,
    private timeoutMs: number,
    /** Retries per request when the caller names none (scan lowers it while it sweeps addresses). */
    public retries: number,
    /** Time base of request timeouts and of the polling rhythm (default: the real clock). */
    readonly clock: Clock = realClock,
  ) {
    this.unsubs.push(
      transport.onData((chunk) => this.onData(chunk)),
      transport.onClose((reason) => this.lost(reason.kind === 'closed' ? 'port closed' : reason.message)),
    );
  }

  stats(): LinkStats {
    const x = this.extractor.stats;
    return {
      ...this.linkStats,
      framesIn: x.frames,
      crcErrors: x.crcErrors,
      decodeErrors: this.linkStats.decodeErrors + x.malformed + x.partial,
      garbageBytes: x.garbageBytes,
    };
  }

  onDisconnect(listener: (why: string) => void): () => void {
    return this.disconnectEvents.on(listener);
  }

  get disconnected(): boolean {
    return this.closed !== null;
  }

  /** Counts an answer whose fields did not decode (it arrived intact but made no sense). */
  countDecodeError(): void {
    this.linkStats.decodeErrors++;
  }

  /**
   * Timeout for an answer of n bytes: its time on the wire plus the board's turnaround, doubled
   * for each retry (up to four times). A board that missed a request answers the repeat in its
   * usual time, so the longer wait costs nothing then; it is for a reply that is merely late —
   * a board busy with an EEPROM write, or a bench PC so loaded that the process reading the port
   * (or a simulated board on it) runs late — which a fixed short timeout would call lost again.
   */
  timeoutFor(expectBytes: number, attempt = 0): number {
    const bits = this.line.parity === 'even' ? 11 : 10;
    return this.timeoutMs * 2 ** Math.min(attempt, 2) + Math.ceil((expectBytes * bits * 1000) / this.line.baudRate);
  }

  /** Runs `work` (identification, a bus scan's probe) with `retries` retries per request, then restores the channel's own. */
  async withRetries<T>(retries: number, work: () => Promise<T>): Promise<T> {
    const before = this.retries;
    this.retries = retries;
    try {
      return await work();
    } finally {
      this.retries = before;
    }
  }

  /** Sends a request and resolves with its answer; serialised with every other request. */
  request(ex: Exchange<F>, signal?: AbortSignal, retries = this.retries): Promise<F[]> {
    const run = async (): Promise<F[]> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.once(ex, signal, attempt);
        } catch (e) {
          if (!isPackscopeError(e) || e.code !== 'TIMEOUT' || attempt >= retries) throw e;
          this.linkStats.retries++;
        }
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  dispose(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
    if (this.pending) this.pending.reject(new PackscopeError('CANCELLED', 'driver disposed'));
    this.pending = null;
  }

  private once(ex: Exchange<F>, signal?: AbortSignal, attempt = 0): Promise<F[]> {
    if (this.closed) return Promise.reject(new PackscopeError('DISCONNECTED', `link lost: ${this.closed}`));
    if (signal?.aborted) return Promise.reject(new PackscopeError('CANCELLED', 'cancelled'));
    return new Promise<F[]>((resolve, reject) => {
      let cancelTimer: (() => void) | null = null;
      const done = () => {
        cancelTimer?.();
        signal?.removeEventListener('abort', onAbort);
        this.pending = null;
      };
      const onAbort = () => {
        done();
        reject(new PackscopeError('CANCELLED', 'cancelled'));
      };
      this.pending = {
        ex,
        got: [],
        resolve: (f) => {
          done();
          resolve(f);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timeoutMs = this.timeoutFor(ex.expectBytes, attempt);
      cancelTimer = deadline(
        timeoutMs,
        () => {
          this.linkStats.timeouts++;
          // A reply cut short must not glue itself to the next one.
          this.deliver(this.extractor.flush());
          done();
          reject(new PackscopeError('TIMEOUT', `no answer from the board within ${timeoutMs} ms`));
        },
        this.clock,
      );
      this.linkStats.bytesOut += ex.request.length;
      this.linkStats.framesOut++;
      this.transport.write(ex.request).catch((e: unknown) => {
        if (this.pending?.ex === ex) this.pending.reject(isPackscopeError(e) ? e : new PackscopeError('DISCONNECTED', String(e)));
      });
    });
  }

  private onData(chunk: Uint8Array): void {
    this.linkStats.bytesIn += chunk.length;
    this.deliver(this.extractor.push(chunk));
  }

  private deliver(frames: F[]): void {
    for (const f of frames) {
      const p = this.pending;
      if (!p || !p.ex.accept(f)) {
        // A stale or foreign frame: counted in framesIn, ignored, and noted (a late reply means
        // the board was there and the timeout too short for the moment).
        this.unclaimedFrames++;
        continue;
      }
      p.got.push(f);
      if (p.ex.complete ? p.ex.complete(p.got) : true) p.resolve(p.got);
    }
  }

  private lost(why: string): void {
    if (this.closed) return;
    this.closed = why;
    this.pending?.reject(new PackscopeError('DISCONNECTED', `link lost: ${why}`));
    this.disconnectEvents.emit(why);
  }
}

/**
 * Retries per exchange inside a poll round: one. A round is several exchanges, and losing all of
 * them to one corrupted byte would starve a noisy line. A silent board still fails the round in
 * two timeouts (the second twice the first), inside the session's 1 s stale limit, and no frame
 * is emitted.
 */
export const POLL_RETRIES = 1;

/**
 * Retries per exchange while identifying a board that has just answered the probe: three, the
 * timeouts doubling (see timeoutFor). A session that fails here fails to open, so a reply that is
 * only late must not end it; a board that went silent still fails within a few seconds.
 */
export const IDENTIFY_RETRIES = 3;

/** What a protocol plugs into PolledDriver. */
export interface PollingProtocol<F> {
  readonly protocol: ProtocolId;
  /** The pack's address on a shared bus (Daly board number), for protocols that have one. */
  readonly address?: number;
  identify(channel: BmsChannel<F>, signal?: AbortSignal): Promise<DeviceInfo>;
  /** One poll round → one frame; throws on timeout (nothing is emitted then). */
  poll(channel: BmsChannel<F>, round: number, signal?: AbortSignal): Promise<TelemetryFrame>;
  /**
   * The line's ceiling for this protocol (line rate ÷ one round's bytes), Hz. Requests above it
   * poll back to back; the board's turnaround keeps the real rate a little below.
   */
  maxRateHz(): number;
}

/** A polled commodity-BMS driver: identity and telemetry only, never a write to the board. */
export class PolledDriver<F> extends TelemetryStream implements Driver {
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['identity', 'telemetry']);
  private polling: { stop: AbortController; done: Promise<void> } | null = null;
  private round = 0;
  /** Rate actually used after clamping to what the line can carry. */
  effectiveRateHz = 0;

  constructor(
    readonly channel: BmsChannel<F>,
    private impl: PollingProtocol<F>,
    private signal?: AbortSignal,
  ) {
    super();
  }

  get protocol(): ProtocolId {
    return this.impl.protocol;
  }

  /** The pack's address on a shared bus, where the protocol has addresses. */
  get address(): number | undefined {
    return this.impl.address;
  }

  get transport(): ByteTransport {
    return this.channel.transport;
  }

  identify(signal?: AbortSignal): Promise<DeviceInfo> {
    return this.channel.withRetries(Math.max(this.channel.retries, IDENTIFY_RETRIES), () => this.impl.identify(this.channel, signal ?? this.signal));
  }

  /**
   * These boards have no echo request: the keep-alive is one poll round (the read the board
   * always answers). Its frame is not emitted: telemetry flows only while someone holds it.
   */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.impl.poll(this.channel, this.round++, signal ?? this.signal);
  }

  async startTelemetry(rateHz: number): Promise<void> {
    await this.stopTelemetry();
    if (!(rateHz > 0)) throw new PackscopeError('USAGE', `telemetry rate must be positive, got ${rateHz}`);
    this.effectiveRateHz = Math.min(rateHz, this.impl.maxRateHz());
    const period = 1000 / this.effectiveRateHz;
    const stop = new AbortController();
    const clock = this.channel.clock;
    const loop = async () => {
      let next = clock.now();
      while (!stop.signal.aborted && !this.channel.disconnected) {
        try {
          const frame = await this.impl.poll(this.channel, this.round++, stop.signal);
          if (!stop.signal.aborted) this.telemetryEvents.emit(frame);
        } catch (e) {
          if (!isPackscopeError(e)) throw e;
          if (e.code === 'DISCONNECTED' || e.code === 'CANCELLED') break;
          if (e.code === 'DECODE') this.channel.countDecodeError();
          // TIMEOUT or a refused register: no frame this round; the next round tries again.
        }
        next += period;
        const wait = next - clock.now();
        if (wait < -period) next = clock.now(); // fell behind (slow board): do not burst
        await clock.sleep(Math.max(0, wait), stop.signal);
      }
    };
    this.polling = { stop, done: loop() };
  }

  async stopTelemetry(): Promise<void> {
    const p = this.polling;
    this.polling = null;
    if (!p) return;
    p.stop.abort();
    await p.done.catch(() => undefined);
  }

  onDisconnect(listener: (reason: string) => void): () => void {
    return this.channel.onDisconnect(listener);
  }

  stats(): LinkStats {
    return this.channel.stats();
  }

  async dispose(): Promise<void> {
    await this.stopTelemetry();
    this.channel.dispose();
  }
}

/**
 * Auto-detection probe: one safe read request, true if an intact answer of the right kind arrives
 * within timeoutMs, 'corrupt' if frames of this protocol arrived but all failed their checksum
 * (a board that answers through noise or at a marginal baud rate is not "no answer"). The caller
 * (Session) has already put the port on the protocol's line (or the user's --baud); the probe
 * leaves no listener behind.
 */
export async function probeWith<F>(
  transport: ByteTransport,
  line: LineSettings,
  extractor: FrameExtractor<F>,
  request: Uint8Array,
  accept: (f: F) => boolean,
  timeoutMs: number,
  clock: Clock = realClock,
): Promise<ProbeResult> {
  // The probe's wait covers at least the request's and a short answer's time on this line.
  const wire = Math.ceil((64 * 10 * 1000) / line.baudRate);
  timeoutMs = Math.max(timeoutMs, wire);
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const finish = (ok: ProbeResult) => {
      if (settled) return;
      settled = true;
      cancelTimer();
      offData();
      offClose();
      resolve(ok);
    };
    const offData = transport.onData((chunk) => {
      for (const f of extractor.push(chunk)) if (accept(f)) finish(true);
    });
    const offClose = transport.onClose(() => finish(false));
    const cancelTimer = deadline(timeoutMs, () => finish(extractor.stats.crcErrors > 0 ? 'corrupt' : false), clock);
    transport.write(request).catch(() => finish(false));
  });
}

/**
 * Several addressed packs on one channel: a protocol instance per address (each keeps what it
 * learnt of its pack, e.g. the cell count), requests serialised by the shared channel.
 */
export class PolledBus<F> implements PackBus {
  private packs = new Map<number, PollingProtocol<F>>();
  private rounds = new Map<number, number>();

  constructor(
    readonly channel: BmsChannel<F>,
    private protocolFor: (address: number) => PollingProtocol<F>,
  ) {}

  private pack(address: number): PollingProtocol<F> {
    let p = this.packs.get(address);
    if (!p) {
      p = this.protocolFor(address);
      this.packs.set(address, p);
    }
    return p;
  }

  get unclaimedFrames(): number {
    return this.channel.unclaimedFrames;
  }

  async identify(address: number, signal?: AbortSignal, retries?: number): Promise<DeviceInfo> {
    if (retries === undefined) return this.pack(address).identify(this.channel, signal);
    return this.channel.withRetries(retries, () => this.pack(address).identify(this.channel, signal));
  }

  poll(address: number, signal?: AbortSignal): Promise<TelemetryFrame> {
    const round = this.rounds.get(address) ?? 0;
    this.rounds.set(address, round + 1);
    return this.pack(address).poll(this.channel, round, signal);
  }

  stats(): LinkStats {
    return this.channel.stats();
  }

  onDisconnect(listener: (reason: string) => void): () => void {
    return this.channel.onDisconnect(listener);
  }

  dispose(): void {
    this.channel.dispose();
  }
}

/** Options with defaults; `line` is what the session opened the port with (the user's --baud wins). */
export function driverOptions(
  o: DriverOptions | undefined,
  fallbackTimeoutMs: number,
  defaultLine: LineSettings,
): { timeoutMs: number; retries: number; line: LineSettings; clock: Clock; address: number | undefined } {
  const line = (o as (DriverOptions & { line?: LineSettings }) | undefined)?.line ?? defaultLine;
  return { timeoutMs: o?.timeoutMs ?? fallbackTimeoutMs, retries: o?.retries ?? 1, line, clock: o?.clock ?? realClock, address: o?.address };
}
