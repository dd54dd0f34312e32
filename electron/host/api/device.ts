import { PackscopeError } from '../../../shared/errors.js';
import type { ConnectResult, SessionStatus } from '../../../shared/api/contract.js';
import type { DeviceInfo, ProtocolId, TelemetryFrame } from '../../../shared/types/domain.js';
import type { ByteTransport, TransportInfo } from '../../../shared/types/transport.js';
import { DETECTION_ORDER, DRIVERS, driverFactory } from '../drivers/registry.js';
import type { Driver } from '../drivers/types.js';
import type { HostEvents } from './events.js';

/** Opens the byte transport a path names (serial port, sim: demo pack, ...). */
export type TransportOpener = (path: string, protocol: ProtocolId | 'auto', baudRate?: number) => Promise<ByteTransport>;

/** How long one protocol gets to answer during auto-detection. */
const PROBE_TIMEOUT_MS = 600;

/**
 * The one device session of a host: connect (with protocol detection), identity, telemetry
 * stream, disconnect. Telemetry frames and link changes go out as host events, so every window
 * and every recorder sees the same stream.
 */
export class DeviceSession {
  private transport: ByteTransport | null = null;
  private driver: Driver | null = null;
  private device: DeviceInfo | null = null;
  private rateHz: number | null = null;
  private offs: Array<() => void> = [];
  private frameListeners = new Set<(f: TelemetryFrame) => void>();
  private busy = false;

  constructor(
    private events: HostEvents,
    private openTransport: TransportOpener,
  ) {}

  get current(): { driver: Driver; device: DeviceInfo; transport: ByteTransport } | null {
    return this.driver && this.device && this.transport ? { driver: this.driver, device: this.device, transport: this.transport } : null;
  }

  /** Frames for in-host consumers (the recorder); the renderer gets them as events. */
  onFrame(listener: (f: TelemetryFrame) => void): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  requireDriver(): Driver {
    if (!this.driver) throw new PackscopeError('USAGE', 'no device connected: connect to a port or the demo pack first');
    return this.driver;
  }

  async connect(path: string, protocol: ProtocolId | 'auto', baudRate?: number): Promise<ConnectResult> {
    if (this.busy) throw new PackscopeError('REFUSED', 'a connection attempt is already running');
    this.busy = true;
    try {
      await this.disconnect('replaced by a new connection');
      const order: ProtocolId[] = protocol === 'auto' ? DETECTION_ORDER.filter((p) => DRIVERS[p]) : [protocol];
      if (order.length === 0) throw new PackscopeError('INTERNAL', 'no device drivers are installed in this build');
      const probes: ConnectResult['probes'] = [];
      let transport: ByteTransport | null = null;
      let chosen: ProtocolId | null = null;
      for (const p of order) {
        const factory = await driverFactory(p);
        // Each protocol has its own line settings (JBD at 9600, native at its own rate), so the
        // port is reopened per probe on a real serial line; an in-process link ignores them.
        transport = await this.openTransport(path, p, baudRate ?? factory.defaultLine.baudRate);
        if (protocol !== 'auto') {
          chosen = p;
          break;
        }
        let answered = false;
        let error: string | undefined;
        try {
          answered = await factory.probe(transport, PROBE_TIMEOUT_MS);
        } catch (e) {
          error = (e as Error).message;
        }
        probes.push(error ? { protocol: p, answered, error } : { protocol: p, answered });
        if (answered) {
          chosen = p;
          break;
        }
        await transport.close().catch(() => undefined);
        transport = null;
      }
      if (!chosen || !transport) {
        throw new PackscopeError(
          'TIMEOUT',
          `no device answered on ${path} (tried ${probes.map((p) => p.protocol).join(', ')}). Check the cable and power, or choose the protocol by hand.`,
        );
      }
      try {
        const driver = await (await driverFactory(chosen)).create(transport);
        const device = await driver.identify();
        this.transport = transport;
        this.driver = driver;
        this.device = device;
        this.offs.push(
          driver.onTelemetry((f) => {
            for (const l of this.frameListeners) l(f);
            this.events.emit('telemetry', f);
          }),
          driver.onDisconnect((reason) => void this.lost(reason)),
        );
        this.events.emit('link', { state: 'connected', path });
        return { device, protocol: chosen, probes, transport: transportInfo(transport.info) };
      } catch (e) {
        await transport.close().catch(() => undefined);
        throw e;
      }
    } finally {
      this.busy = false;
    }
  }

  private async lost(reason: string): Promise<void> {
    const path = this.transport?.info.path ?? null;
    await this.teardown();
    this.events.emit('link', { state: 'disconnected', path, reason });
  }

  private async teardown(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    const driver = this.driver;
    const transport = this.transport;
    this.driver = null;
    this.device = null;
    this.transport = null;
    this.rateHz = null;
    if (driver) await driver.dispose().catch(() => undefined);
    if (transport) await transport.close().catch(() => undefined);
  }

  async disconnect(reason = 'disconnected by the user'): Promise<void> {
    if (!this.transport) return;
    const path = this.transport.info.path;
    await this.teardown();
    this.events.emit('link', { state: 'disconnected', path, reason });
  }

  async identity(): Promise<DeviceInfo> {
    const device = await this.requireDriver().identify();
    this.device = device;
    return device;
  }

  async startTelemetry(rateHz: number): Promise<void> {
    await this.requireDriver().startTelemetry(rateHz);
    this.rateHz = rateHz;
  }

  async stopTelemetry(): Promise<void> {
    if (!this.driver) return;
    await this.driver.stopTelemetry();
    this.rateHz = null;
  }

  status(): SessionStatus {
    return {
      connected: this.driver !== null,
      path: this.transport?.info.path ?? null,
      device: this.device,
      stats: this.driver?.stats() ?? null,
      telemetryRateHz: this.rateHz,
    };
  }
}

function transportInfo(info: TransportInfo): TransportInfo {
  const out: TransportInfo = { kind: info.kind, path: info.path };
  for (const k of ['vendorId', 'productId', 'manufacturer', 'serialNumber', 'adapter'] as const) if (info[k]) out[k] = info[k];
  return out;
}
