import { sha256 } from '@noble/hashes/sha2.js';
import { PackscopeError } from '../../../shared/errors.js';
import { CMD } from '../../../shared/protocol/constants.js';
import {
  CAPABILITY_BITS,
  DEVICE_KEY,
  EVENTS_LIST,
  EVENTS_QUERY,
  FAULTS,
  IDENTITY,
  PARAM_ID,
  PARAM_LIST,
  PARAM_VALUE,
  RESET,
  TELEMETRY,
  TELEMETRY_START,
  type BoardEvent,
  type IdentityPayload,
  type ParamInfo,
} from '../../../shared/protocol/messages.js';
import { payloadToTelemetry } from '../../../shared/protocol/telemetry.js';
import { boardIdentityOf, type Capability, type DeviceInfo, type LinkStats, type TelemetryFrame } from '../../../shared/types/domain.js';
import type { ByteTransport, LineSettings } from '../../../shared/types/transport.js';
import { toHex } from '../../../shared/util/bytes.js';
import {
  bulkRead,
  bulkWrite,
  listRegions,
  regionErase,
  regionHash,
  regionInfo,
  type BulkReadOptions,
  type BulkReadResult,
  type BulkWriteOptions,
  type BulkWriteResult,
  type RegionRef,
} from '../link/bulk.js';
import { NativeLink, type RequestOptions } from '../link/native-link.js';
import { lineBytesPerSecond } from '../transport/index.js';
import { TelemetryStream, type Driver, type DriverFactory, type DriverOptions } from './types.js';

/**
 * Driver for PackScope's native protocol (firmware/PROTOCOL.md): identity, streamed telemetry,
 * parameters, faults and events, and the windowed bulk transfer other features build on
 * (black-box pull, firmware upload) through `driver.link` / `bulkRead` / `bulkWrite`.
 */
export interface NativeDriverOptions extends DriverOptions {
  /** Line settings the transport was opened with (sizes timeouts and paces bulk writes). */
  line?: LineSettings;
}

export const NATIVE_DEFAULT_LINE: LineSettings = { baudRate: 115200, parity: 'none' };

export class NativeDriver extends TelemetryStream implements Driver {
  readonly protocol = 'native' as const;
  readonly capabilities = new Set<Capability>(['identity', 'telemetry', 'params']);
  readonly link: NativeLink;
  /** The raw identity answer (after identify()). */
  identity: IdentityPayload | null = null;
  /** Device public key, DER SPKI (after identify()). */
  publicKey: Uint8Array | null = null;
  private unsubs: Array<() => void> = [];
  private telemetryOn = false;
  private pings = 0;

  constructor(
    readonly transport: ByteTransport,
    options: NativeDriverOptions = {},
  ) {
    super();
    const line = options.line ?? NATIVE_DEFAULT_LINE;
    this.link = new NativeLink(transport, {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      lineBytesPerSecond: lineBytesPerSecond(transport, line),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.unsubs.push(
      this.link.onEvent(CMD.EV_TELEMETRY, (payload) => {
        let frame: TelemetryFrame;
        try {
          frame = payloadToTelemetry(TELEMETRY.decode(payload));
        } catch {
          this.link.stats.decodeErrors++;
          return;
        }
        this.telemetryEvents.emit(frame);
      }),
    );
  }

  request(cmd: number, payload?: Uint8Array, options?: RequestOptions): Promise<Uint8Array> {
    return this.link.request(cmd, payload, options);
  }

  async identify(signal?: AbortSignal): Promise<DeviceInfo> {
    // Identity is the largest routine answer; on a noisy line it may take many attempts.
    const id = IDENTITY.decode(await this.link.request(CMD.IDENTITY, new Uint8Array(0), { signal, retries: 40 }));
    const { publicKey } = DEVICE_KEY.decode(await this.link.request(CMD.DEVICE_KEY, new Uint8Array(0), { signal, retries: 40 }));
    this.identity = id;
    this.publicKey = publicKey;
    for (let i = 0; i < CAPABILITY_BITS.length; i++) {
      const c = CAPABILITY_BITS[i]!;
      if ((id.capabilities >>> i) & 1 && c !== 'bulk') this.capabilities.add(c);
    }
    return {
      protocol: 'native',
      ...boardIdentityOf(id),
      nominalCapacityAh: id.nominalCapacityMah / 1000,
      publicKeyFingerprint: publicKey.length ? toHex(sha256(publicKey)) : null,
      signsEvidence: publicKey.length > 0,
    };
  }

  /** PING with a fresh token: the cheapest request the board answers (keep-alive). */
  async ping(signal?: AbortSignal): Promise<void> {
    const token = new Uint8Array([0x4b, 0x41, this.pings++ & 0xff]); // 'KA' + a counter
    const echo = await this.link.request(CMD.PING, token, { ...(signal ? { signal } : {}), retries: 0 });
    if (echo.length !== token.length || echo.some((b, i) => b !== token[i])) throw new PackscopeError('DEVICE', 'the board echoed a different PING');
  }

  async startTelemetry(rateHz: number): Promise<void> {
    if (!(rateHz > 0 && rateHz <= 100)) throw new PackscopeError('USAGE', `telemetry rate must be within 0..100 Hz, got ${rateHz}`);
    await this.link.request(CMD.TELEMETRY_START, TELEMETRY_START.encode({ rateMilliHz: Math.max(1, Math.round(rateHz * 1000)) }), { retries: 20 });
    this.telemetryOn = true;
  }

  async stopTelemetry(): Promise<void> {
    this.telemetryOn = false;
    await this.link.request(CMD.TELEMETRY_STOP, new Uint8Array(0), { retries: 10 });
  }

  /** One sample on request (no stream). */
  async readTelemetry(signal?: AbortSignal): Promise<TelemetryFrame> {
    return payloadToTelemetry(TELEMETRY.decode(await this.link.request(CMD.TELEMETRY_GET, new Uint8Array(0), { signal, retries: 20 })));
  }

  onDisconnect(listener: (reason: string) => void): () => void {
    return this.link.onDisconnect(listener);
  }

  stats(): LinkStats {
    return { ...this.link.stats };
  }

  async params(signal?: AbortSignal): Promise<ParamInfo[]> {
    return PARAM_LIST.decode(await this.link.request(CMD.PARAM_LIST, new Uint8Array(0), { signal })).params;
  }
  async getParam(id: number): Promise<number> {
    return PARAM_VALUE.decode(await this.link.request(CMD.PARAM_GET, PARAM_ID.encode({ id }))).value;
  }
  async setParam(id: number, value: number): Promise<number> {
    return PARAM_VALUE.decode(await this.link.request(CMD.PARAM_SET, PARAM_VALUE.encode({ id, value }))).value;
  }
  async faults(): Promise<{ status: number; activeAlarms: number; latchedAlarms: number }> {
    return FAULTS.decode(await this.link.request(CMD.FAULTS_GET));
  }
  async clearFaults(): Promise<{ status: number; activeAlarms: number; latchedAlarms: number }> {
    return FAULTS.decode(await this.link.request(CMD.FAULTS_CLEAR));
  }
  /** Every event the board still holds after `since` (pages through EVENTS_LIST). */
  async events(since = 0): Promise<BoardEvent[]> {
    const out: BoardEvent[] = [];
    for (;;) {
      const page = EVENTS_LIST.decode(await this.link.request(CMD.EVENTS_LIST, EVENTS_QUERY.encode({ since, max: 64 })));
      out.push(...page.events);
      if (page.events.length < 64 || page.next <= since) return out;
      since = page.next;
    }
  }
  async reset(mode: 'application' | 'bootloader' = 'application'): Promise<void> {
    await this.link.request(CMD.RESET, RESET.encode({ mode }));
  }

  listRegions(signal?: AbortSignal) {
    return listRegions(this.link, signal);
  }
  regionInfo(region: RegionRef, signal?: AbortSignal) {
    return regionInfo(this.link, region, signal);
  }
  regionHash(region: RegionRef, offset: number, length: number, signal?: AbortSignal) {
    return regionHash(this.link, region, offset, length, signal);
  }
  regionErase(region: RegionRef, offset: number, length: number, signal?: AbortSignal) {
    return regionErase(this.link, region, offset, length, signal);
  }
  bulkRead(options: BulkReadOptions): Promise<BulkReadResult> {
    return bulkRead(this.link, options);
  }
  bulkWrite(options: BulkWriteOptions): Promise<BulkWriteResult> {
    return bulkWrite(this.link, options);
  }

  async dispose(): Promise<void> {
    if (this.telemetryOn && !this.link.isClosed) {
      this.telemetryOn = false;
      // Best effort: a board left streaming to nobody would fill the line for the next user.
      await this.link.request(CMD.TELEMETRY_STOP, new Uint8Array(0), { retries: 2, timeoutMs: 150 }).catch(() => undefined);
    }
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.telemetryEvents.clear();
    this.link.dispose();
  }
}

export const nativeDriverFactory: DriverFactory & { create(transport: ByteTransport, options?: NativeDriverOptions): Promise<NativeDriver> } = {
  protocol: 'native',
  defaultLine: NATIVE_DEFAULT_LINE,
  async create(transport, options) {
    return new NativeDriver(transport, options);
  },
  async probe(transport, timeoutMs, clock) {
    // Several short attempts rather than one long one: a probe on a noisy line must not miss the
    // board (the next protocol's probe would switch the port to another baud rate).
    const link = new NativeLink(transport, { timeoutMs: Math.max(60, Math.floor(timeoutMs / 4)), retries: 5, ...(clock ? { clock } : {}) });
    try {
      const probe = new Uint8Array([0x50, 0x53]); // 'PS'
      const echo = await link.request(CMD.PING, probe);
      return echo.length === 2 && echo[0] === 0x50 && echo[1] === 0x53;
    } catch {
      return false;
    } finally {
      link.dispose();
    }
  },
};

export default nativeDriverFactory;
