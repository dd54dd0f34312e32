import type { Capability, DeviceInfo, LinkStats, ProtocolId, TelemetryFrame } from '../../../shared/types/domain.js';
import type { ByteTransport, LineSettings } from '../../../shared/types/transport.js';
import { Emitter } from '../../../shared/util/emitter.js';
import type { Clock } from '../../../shared/util/clock.js';

/**
 * A driver speaks one device protocol over an open transport and presents capabilities
 * (ARCHITECTURE.md section 2). Polled protocols (JBD, Daly, JK) poll inside startTelemetry;
 * streaming ones (native, Pylontech CAN) subscribe. Either way frames reach onTelemetry listeners
 * in the same TelemetryFrame shape, so the live view and the recorder never care which it was.
 */
export interface Driver {
  readonly protocol: ProtocolId;
  readonly capabilities: ReadonlySet<Capability>;
  readonly transport: ByteTransport;
  /**
   * The fastest telemetry this device can deliver, when the device (not the host) sets the pace:
   * e.g. Pylontech CAN broadcasts at about 1 Hz whatever rate is asked for. Undefined = as asked.
   */
  readonly maxTelemetryRateHz?: number;
  identify(signal?: AbortSignal): Promise<DeviceInfo>;
  /**
   * One light request the board must answer (the host's keep-alive while no telemetry runs):
   * resolves when it answered, rejects with TIMEOUT when it stayed silent. Absent on devices the
   * host cannot ask anything (broadcast-only CAN packs).
   */
  ping?(signal?: AbortSignal): Promise<void>;
  startTelemetry(rateHz: number): Promise<void>;
  stopTelemetry(): Promise<void>;
  onTelemetry(listener: (frame: TelemetryFrame) => void): () => void;
  /** Fired once when the link is lost (cable pulled, device reset or killed). */
  onDisconnect(listener: (reason: string) => void): () => void;
  stats(): LinkStats;
  /** Stops telemetry and releases the transport listeners (does not close the transport). */
  dispose(): Promise<void>;
}

/** The telemetry stream every driver has: a driver emits frames, onTelemetry listeners get them. */
export abstract class TelemetryStream {
  protected readonly telemetryEvents = new Emitter<TelemetryFrame>();

  onTelemetry(listener: (frame: TelemetryFrame) => void): () => void {
    return this.telemetryEvents.on(listener);
  }
}

export interface DriverOptions {
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  retries?: number;
  signal?: AbortSignal;
  /** Time base of the driver's timeouts and polling (default: the real clock). */
  clock?: Clock;
  /** Which pack on a shared bus (protocols with addressing; default: the protocol's). */
  address?: number;
}

/**
 * Several packs on one bus (Daly board numbers, Pylontech module addresses): one channel, one
 * request on the line at a time, each pack asked by its address.
 */
export interface PackBus {
  identify(address: number, signal?: AbortSignal, retries?: number): Promise<DeviceInfo>;
  poll(address: number, signal?: AbortSignal): Promise<TelemetryFrame>;
  stats(): LinkStats;
  /** Intact frames that arrived with no request waiting for them: late replies, mostly. */
  readonly unclaimedFrames: number;
  onDisconnect(listener: (reason: string) => void): () => void;
  dispose(): void;
}

/** How a protocol addresses packs on a shared bus. */
export interface PackAddressing {
  /** What the vendor calls an address ('board number', 'module address'). */
  readonly label: string;
  readonly defaultAddress: number;
  /** Valid addresses, inclusive; `scan` tries them all by default. */
  readonly range: readonly [number, number];
  openBus(transport: ByteTransport, options?: DriverOptions): PackBus;
}

export interface DriverFactory {
  readonly protocol: ProtocolId;
  /** Line settings this protocol uses on a serial port (JBD/Daly 9600 8N1, JK 115200, ...). */
  readonly defaultLine: LineSettings;
  create(transport: ByteTransport, options?: DriverOptions): Promise<Driver>;
  /**
   * A short, safe probe for auto-detection (read-only requests only): resolves true if a device
   * answered in this protocol within timeoutMs (on `clock`, default the real one). Must leave no
   * listeners behind.
   */
  probe(transport: ByteTransport, timeoutMs: number, clock?: Clock): Promise<ProbeResult>;
  /** Present when several packs of this protocol can share one bus. */
  readonly addressing?: PackAddressing;
}

/**
 * What a probe saw: true (an intact answer), false (silence or foreign traffic), or 'corrupt'
 * (frames of this protocol arrived, but every one failed its checksum).
 */
export type ProbeResult = boolean | 'corrupt';
