import { PackscopeError } from '../../shared/errors.js';
import { Emitter } from '../../shared/util/emitter.js';
import { realClock, type Cancel, type Clock } from '../../shared/util/clock.js';
import type { DeviceInfo, LinkStats, ProtocolId, TelemetryFrame } from '../../shared/types/domain.js';
import type { ByteTransport, CloseReason, LineSettings, Parity } from '../../shared/types/transport.js';
import { DETECTION_ORDER, DRIVERS, driverFactory } from './drivers/registry.js';
import type { Driver, DriverFactory } from './drivers/types.js';
import { NativeDriver } from './drivers/native.js';
import { createTransport } from './transport/index.js';

/**
 * One connection to one device, as the CLI and the app both use it: opens the transport, picks the
 * driver (forced, or detected by probing DETECTION_ORDER with short read-only probes), identifies
 * the device, and turns the raw streams into events — telemetry frames, 'stale' when frames stop
 * for longer than `staleMs` (and 'fresh' when they resume), and 'disconnect' when the cable goes.
 */
export interface SessionOptions {
  /** A protocol, or 'auto' (default) to probe. */
  protocol?: ProtocolId | 'auto';
  /** Baud rate; default: the protocol's own line settings. */
  baud?: number;
  parity?: Parity;
  /** Per-request timeout and retries for the driver. */
  timeoutMs?: number;
  retries?: number;
  /** Per-protocol probe timeout during auto-detection (default 400 ms). */
  probeTimeoutMs?: number;
  /** Which pack on a shared bus (protocols with addressing: Daly board number, Pylontech module address). */
  address?: number;
  /**
   * Wraps the opened transport before anything is sent (raw capture records every byte through
   * this; tests put a misbehaving line here).
   */
  wrapTransport?: (t: ByteTransport, line: LineSettings) => ByteTransport;
  /** Frames missing for this long make the session stale (default 1000 ms). */
  staleMs?: number;
  signal?: AbortSignal;
  /** Skip identify() on open (default false). */
  skipIdentify?: boolean;
  /**
   * Time base of the session, its driver and an in-process `sim:` board (default: the real
   * clock). A VirtualClock runs host and simulated board in virtual time.
   */
  clock?: Clock;
}

export interface ProbeReport {
  protocol: ProtocolId;
  line: LineSettings;
  answered: boolean;
  /** Frames of this protocol arrived but none passed its checksum. */
  corrupt?: boolean;
  /** Probes sent (a probe that gets no answer is repeated once). */
  attempts: number;
  ms: number;
}

/**
 * Probes per protocol during auto-detection. A board that has just received another protocol's
 * probe may still be busy with those bytes (waiting out a receive timeout, or taking them as the
 * start of its own frame) and miss the next request; a second probe, sent after that board's
 * receive idle time, finds it.
 */
export const PROBE_ATTEMPTS = 2;
/** Quiet time before a repeated probe: longer than a commodity board's receive idle reset (~50 ms). */
export const PROBE_RETRY_GAP_MS = 80;

/** Each event's payload: a frame, the silence in ms, nothing, the reason. */
type SessionEvents = {
  telemetry: TelemetryFrame;
  stale: number;
  fresh: void;
  disconnect: string;
};

export class Session {
  private events: { [K in keyof SessionEvents]: Emitter<SessionEvents[K]> } = {
    telemetry: new Emitter(),
    stale: new Emitter(),
    fresh: new Emitter(),
    disconnect: new Emitter(),
  };
  private lastFrameAt: number;
  private staleTimer: Cancel | null = null;
  private isStale = false;
  private telemetryRate = 0;
  private closed = false;
  private disconnected: string | null = null;
  private unsubs: Array<() => void> = [];

  private constructor(
    readonly path: string,
    readonly transport: ByteTransport,
    readonly driver: Driver,
    readonly line: LineSettings,
    readonly detection: ProbeReport[],
    private readonly staleMs: number,
    readonly clock: Clock,
  ) {
    this.lastFrameAt = clock.now();
    this.unsubs.push(
      driver.onTelemetry((f) => {
        this.lastFrameAt = this.clock.now();
        if (this.isStale) {
          this.isStale = false;
          this.emit('fresh');
        }
        this.emit('telemetry', f);
      }),
      driver.onDisconnect((why) => this.onGone(why)),
      transport.onClose((r: CloseReason) => {
        if (r.kind !== 'closed') this.onGone(r.message);
      }),
    );
  }

  /** Device identity (set by open() unless skipIdentify). */
  info: DeviceInfo | null = null;

  get protocol(): ProtocolId {
    return this.driver.protocol;
  }

  /** The native driver, for bulk transfers, parameters and events; null for other protocols. */
  get native(): NativeDriver | null {
    return this.driver instanceof NativeDriver ? this.driver : null;
  }

  get isDisconnected(): boolean {
    return this.disconnected !== null;
  }

  static async open(path: string, options: SessionOptions = {}): Promise<Session> {
    const protocol = options.protocol ?? 'auto';
    const candidates: DriverFactory[] = [];
    if (protocol === 'auto') {
      for (const p of DETECTION_ORDER) if (DRIVERS[p]) candidates.push(await driverFactory(p));
      if (!candidates.length) throw new PackscopeError('INTERNAL', 'no drivers registered');
    } else {
      candidates.push(await driverFactory(protocol));
    }
    if (options.address !== undefined && protocol !== 'auto' && !candidates[0]!.addressing) {
      throw new PackscopeError('USAGE', `--address: the ${protocol} protocol has no pack addresses (one board per line)`);
    }
    const lineFor = (f: DriverFactory): LineSettings => ({
      baudRate: options.baud ?? f.defaultLine.baudRate,
      parity: options.parity ?? f.defaultLine.parity ?? 'none',
    });
    let line = lineFor(candidates[0]!);
    const clock = options.clock ?? realClock;
    const raw = createTransport(path, line, { clock });
    const transport = options.wrapTransport ? options.wrapTransport(raw, line) : raw;
    await transport.open();
    const detection: ProbeReport[] = [];
    try {
      let chosen: DriverFactory | null = null;
      if (protocol !== 'auto') chosen = candidates[0]!;
      else {
        for (const f of candidates) {
          if (options.signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled');
          const want = lineFor(f);
          if ((want.baudRate !== line.baudRate || want.parity !== line.parity) && transport.setLine) {
            await transport.setLine(want);
            line = want;
          }
          const t0 = clock.now();
          let result: boolean | 'corrupt' = false;
          let attempts = 0;
          let corrupt = false;
          while (attempts < PROBE_ATTEMPTS && result !== true) {
            if (attempts > 0) await clock.sleep(PROBE_RETRY_GAP_MS, options.signal);
            attempts++;
            // The repeat waits twice as long: a board that answers late (a loaded PC) is found, not skipped.
            result = await f.probe(transport, (options.probeTimeoutMs ?? 400) * attempts, clock);
            if (result === 'corrupt') corrupt = true;
          }
          const answered = result === true;
          detection.push({
            protocol: f.protocol,
            line,
            answered,
            ...(corrupt && !answered ? { corrupt: true } : {}),
            attempts,
            ms: Math.round(clock.now() - t0),
          });
          if (answered) {
            chosen = f;
            break;
          }
        }
        const garbled = detection.filter((d) => d.corrupt);
        if (!chosen && garbled.length) {
          throw new PackscopeError(
            'DEVICE',
            `a device on ${path} answers with bad checksums (${garbled.map((d) => `${d.protocol} at ${d.line.baudRate}`).join(', ')}): every frame it sent was damaged. Check the wiring (A/B swapped, missing ground, termination), noise on the line and the baud rate (--baud)`,
            { detection },
          );
        }
        if (!chosen) {
          throw new PackscopeError(
            'TIMEOUT',
            `no device answered on ${path} (tried ${detection.map((d) => `${d.protocol} at ${d.line.baudRate}`).join(', ')}); check the cable, the baud rate (--baud) or force a protocol (--protocol)`,
            { detection },
          );
        }
      }
      const driver = await chosen.create(transport, {
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.retries !== undefined ? { retries: options.retries } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.address !== undefined && chosen.addressing ? { address: options.address } : {}),
        clock,
        line,
      } as never);
      const session = new Session(path, transport, driver, line, detection, options.staleMs ?? 1000, clock);
      if (!options.skipIdentify) {
        try {
          session.info = await driver.identify(options.signal);
        } catch (e) {
          await session.close();
          if (e instanceof PackscopeError && e.code === 'TIMEOUT') {
            const crc = driver.stats().crcErrors;
            if (crc > 0) {
              throw new PackscopeError(
                'DEVICE',
                `a ${chosen.protocol} device on ${path} answers with bad checksums (${crc} damaged frame(s), none intact): check the wiring, noise on the line and the baud rate (--baud)`,
              );
            }
            throw new PackscopeError('TIMEOUT', `no ${chosen.protocol} device answered on ${path}: ${e.message}`);
          }
          throw e;
        }
      }
      return session;
    } catch (e) {
      if (transport.isOpen) await transport.close().catch(() => undefined);
      throw e;
    }
  }

  on<K extends keyof SessionEvents>(event: K, listener: (value: SessionEvents[K]) => void): () => void {
    return (this.events[event] as Emitter<SessionEvents[K]>).on(listener);
  }

  private emit<K extends keyof SessionEvents>(event: K, ...value: SessionEvents[K] extends void ? [] : [SessionEvents[K]]): void {
    (this.events[event] as Emitter<SessionEvents[K] | undefined>).emit(value[0]);
  }

  private onGone(why: string): void {
    if (this.disconnected !== null || this.closed) return;
    this.disconnected = why;
    this.stopStaleTimer();
    this.emit('disconnect', why);
  }

  async startTelemetry(rateHz: number): Promise<void> {
    await this.driver.startTelemetry(rateHz);
    this.telemetryRate = rateHz;
    this.lastFrameAt = this.clock.now();
    this.isStale = false;
    this.stopStaleTimer();
    // A slow stream (0.2 Hz, or a pack that broadcasts at its own 1 Hz) is not stale just because
    // frames are far apart: judge silence against the rate the device can really deliver.
    const deliverable = Math.min(rateHz, this.driver.maxTelemetryRateHz ?? Infinity);
    const limit = Math.max(this.staleMs, 2500 / deliverable);
    this.staleTimer = this.clock.every(100, () => {
      const silent = this.clock.now() - this.lastFrameAt;
      if (!this.isStale && silent > limit) {
        this.isStale = true;
        this.emit('stale', Math.ceil(silent)); // ceil: the silence really exceeded the limit
      }
    });
  }

  async stopTelemetry(): Promise<void> {
    this.stopStaleTimer();
    this.telemetryRate = 0;
    await this.driver.stopTelemetry();
  }

  get telemetryRateHz(): number {
    return this.telemetryRate;
  }

  private stopStaleTimer(): void {
    this.staleTimer?.();
    this.staleTimer = null;
  }

  stats(): LinkStats {
    return this.driver.stats();
  }

  /** Stops telemetry, releases the driver and closes the port. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopStaleTimer();
    for (const u of this.unsubs) u();
    await this.driver.dispose().catch(() => undefined);
    await this.transport.close().catch(() => undefined);
  }
}
