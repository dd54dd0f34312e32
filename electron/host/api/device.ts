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
export class DeviceSession {
  private session: Session | null = null;
  private offs: Array<() => void> = [];
  private frames = new Emitter<TelemetryFrame>();
  private busy = false;

  constructor(private events: HostEvents) {}

  /** The open link-layer session (log pull, firmware and self-check work on it). */
  get current(): Session | null {
    return this.session;
  }

  require(): Session {
    if (!this.session || this.session.isDisconnected) {
      throw new PackscopeError('USAGE', 'no device connected: connect to a port or the demo pack first');
    }
    return this.session;
  }

  /** Frames for in-host consumers (the recorder); the renderer gets them as events. */
  onFrame(listener: (f: TelemetryFrame) => void): () => void {
    return this.frames.on(listener);
  }

  async connect(path: string, protocol: ProtocolId | 'auto', baudRate?: number): Promise<ConnectResult> {
    if (this.busy) throw new PackscopeError('REFUSED', 'a connection attempt is already running');
    this.busy = true;
    try {
      await this.disconnect('replaced by a new connection');
      const session = await Session.open(path, { protocol, ...(baudRate ? { baud: baudRate } : {}) });
      this.session = session;
      this.offs.push(
        session.on('telemetry', (f) => {
          this.frames.emit(f);
          this.events.emit('telemetry', f);
        }),
        session.on('stale', (silentMs) => this.events.emit('link', { state: 'stale', path, reason: `no telemetry for ${silentMs} ms` })),
        session.on('fresh', () => this.events.emit('link', { state: 'connected', path })),
        session.on('disconnect', (reason) => void this.lost(reason)),
      );
      this.events.emit('link', { state: 'connected', path });
      return {
        device: session.info!,
        protocol: session.protocol,
        probes: session.detection.map((d) => ({ protocol: d.protocol, answered: d.answered })),
        transport: transportInfo(session.transport.info),
      };
    } finally {
      this.busy = false;
    }
  }

  private async lost(reason: string): Promise<void> {
    const path = this.session?.path ?? null;
    await this.teardown();
    this.events.emit('link', { state: 'disconnected', path, reason });
  }

  private async teardown(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    const s = this.session;
    this.session = null;
    if (s) await s.close().catch(() => undefined);
  }

  async disconnect(reason = 'disconnected by the user'): Promise<void> {
    if (!this.session) return;
    const path = this.session.path;
    await this.teardown();
    this.events.emit('link', { state: 'disconnected', path, reason });
  }

  async identity(): Promise<DeviceInfo> {
    const s = this.require();
    s.info = await s.driver.identify();
    return s.info;
  }

  async startTelemetry(rateHz: number): Promise<void> {
    await this.require().startTelemetry(rateHz);
  }

  async stopTelemetry(): Promise<void> {
    if (this.session && !this.session.isDisconnected) await this.session.stopTelemetry();
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

function transportInfo(info: TransportInfo): TransportInfo {
  const out: TransportInfo = { kind: info.kind, path: info.path };
  for (const k of ['vendorId', 'productId', 'manufacturer', 'serialNumber', 'adapter'] as const) if (info[k]) out[k] = info[k];
  return out;
}
