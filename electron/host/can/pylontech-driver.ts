import { PYLONTECH_ID_SET, applyPylontech, decodePylontech, pylontechTelemetry, type PylontechState } from '../../../shared/can/pylontech.js';
import { PackscopeError } from '../../../shared/errors.js';
import { emptyLinkStats, unsignedDevice, type Capability, type DeviceInfo, type LinkStats } from '../../../shared/types/domain.js';
import type { ByteTransport } from '../../../shared/types/transport.js';
import { TelemetryStream, type Driver, type DriverFactory, type DriverOptions } from '../drivers/types.js';
import { SLCAN_SERIAL_BAUD } from './open.js';
import { SlcanChannel } from './slcan-channel.js';
import { Emitter } from '../../../shared/util/emitter.js';

/**
 * Pylontech / SMA-style CAN telemetry through an SLCAN adapter: the pack broadcasts by itself
 * (0x351, 0x355, 0x356, 0x359, 0x35C, 0x35E about once a second), so the driver listens only — it
 * opens the adapter in listen-only mode and never puts a frame on the battery's bus. A telemetry
 * frame is emitted whenever a 0x356 (voltage, current, temperature) arrives, with the latest SOC,
 * alarms and request flags; the bus has no cell voltages.
 *
 * The bitrate is 500 kbit/s (the Pylontech standard) unless PACKSCOPE_CAN_BITRATE says otherwise.
 */
export const PYLONTECH_BITRATE = 500_000;

function bitrateFromEnv(): number {
  const v = process.env.PACKSCOPE_CAN_BITRATE;
  return v ? Number(v) : PYLONTECH_BITRATE;
}

export class PylontechCanDriver extends TelemetryStream implements Driver {
  readonly protocol = 'pylontech-can' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['identity', 'telemetry']);
  /** The pack broadcasts its frames about once a second, whatever rate is asked for. */
  readonly maxTelemetryRateHz = 1;
  private state: PylontechState = {};
  private disconnectEvents = new Emitter<string>();
  private streaming = false;
  private counters: LinkStats = emptyLinkStats();
  private unsubs: Array<() => void> = [];
  private seen = new Set<number>();
  private waiters: Array<() => void> = [];

  constructor(readonly channel: SlcanChannel) {
    super();
    this.unsubs.push(channel.onFrame(({ frame, t }) => this.onFrame(frame.id, frame.data, frame.extended || frame.remote, t)));
    this.unsubs.push(
      channel.onClose((why) => {
        this.disconnectEvents.emit(why);
      }),
    );
  }

  get transport(): ByteTransport {
    return this.channel.transport;
  }

  private onFrame(id: number, data: Uint8Array, skip: boolean, t: number): void {
    this.counters.framesIn++;
    this.counters.bytesIn += data.length;
    if (skip || !PYLONTECH_ID_SET.has(id)) return;
    let m;
    try {
      m = decodePylontech(id, data);
    } catch {
      this.counters.decodeErrors++;
      return;
    }
    if (!m) return;
    applyPylontech(this.state, m);
    this.seen.add(id);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
    if (m.kind === 'measurements' && this.streaming) {
      const frame = pylontechTelemetry(this.state, t);
      if (frame) this.telemetryEvents.emit(frame);
    }
  }

  /** Waits until every broadcast has been seen once (one period), or times out with what is missing. */
  async waitForBroadcasts(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const needed = [0x351, 0x355, 0x356, 0x359, 0x35c, 0x35e];
    const deadline = performance.now() + timeoutMs;
    while (!needed.every((id) => this.seen.has(id))) {
      if (signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled');
      const left = deadline - performance.now();
      if (left <= 0) {
        if (this.seen.has(0x356) && this.seen.has(0x355)) return; // enough for telemetry; some packs skip the others
        const missing = needed.filter((id) => !this.seen.has(id)).map((id) => `0x${id.toString(16).toUpperCase()}`);
        this.counters.timeouts++;
        // The adapter's status says why, when it knows: bus errors mean a wrong bitrate or wiring.
        const flags = await this.channel.status().catch(() => [] as string[]);
        const hint = flags.some((f) => f === 'bus_error' || f === 'error_passive' || f === 'error_warning')
          ? `the adapter reports ${flags.join(', ')}: check the bitrate (${this.channel.bitrate} bit/s), CAN-H/CAN-L wiring and termination`
          : `is the pack on, the bitrate (${this.channel.bitrate} bit/s) right and the bus terminated?`;
        throw new PackscopeError('TIMEOUT', `no Pylontech broadcast (${missing.join(', ')}) on the CAN bus within ${timeoutMs / 1000} s; ${hint}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async identify(signal?: AbortSignal): Promise<DeviceInfo> {
    await this.waitForBroadcasts(3000, signal);
    const modules = this.state.alarms?.moduleCount ?? 1;
    return unsignedDevice('pylontech-can', { model: `${this.state.manufacturer ?? 'unknown'} (CAN, ${modules} module${modules === 1 ? '' : 's'})` });
  }

  /** The broadcast values as decoded (limits, warnings and request flags are not in TelemetryFrame). */
  latest(): Readonly<PylontechState> {
    return this.state;
  }

  /** The pack sets the rate (about 1 Hz); the requested rate cannot change it. */
  async startTelemetry(_rateHz: number): Promise<void> {
    this.streaming = true;
  }

  async stopTelemetry(): Promise<void> {
    this.streaming = false;
  }

  onDisconnect(listener: (reason: string) => void): () => void {
    return this.disconnectEvents.on(listener);
  }

  stats(): LinkStats {
    return { ...this.counters, decodeErrors: this.counters.decodeErrors + this.channel.stats.decodeErrors };
  }

  async dispose(): Promise<void> {
    this.streaming = false;
    for (const u of this.unsubs) u();
    this.unsubs = [];
    await this.channel.close();
  }
}

export const pylontechCanDriverFactory: DriverFactory = {
  protocol: 'pylontech-can',
  defaultLine: { baudRate: SLCAN_SERIAL_BAUD, parity: 'none' },
  async create(transport: ByteTransport, options?: DriverOptions): Promise<Driver> {
    const channel = new SlcanChannel(transport);
    await channel.open({
      bitrate: bitrateFromEnv(),
      listenOnly: true,
      timeoutMs: options?.timeoutMs ?? 500,
      ...(options?.signal ? { signal: options.signal } : {}),
    });
    return new PylontechCanDriver(channel);
  },
  /** An SLCAN adapter that answers its version query (read-only; the channel is not opened). */
  async probe(transport: ByteTransport, timeoutMs: number): Promise<boolean> {
    const channel = new SlcanChannel(transport);
    try {
      await channel.open({ bitrate: bitrateFromEnv(), listenOnly: true, timeoutMs: Math.min(timeoutMs, 500) });
      const driver = new PylontechCanDriver(channel);
      try {
        await driver.waitForBroadcasts(timeoutMs);
        return true;
      } finally {
        await driver.dispose();
      }
    } catch {
      await channel.close().catch(() => undefined);
      return false;
    }
  },
};

export default pylontechCanDriverFactory;
