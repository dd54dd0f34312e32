import { isPackscopeError, PackscopeError } from '../../../shared/errors.js';
import type { DeviceInfo, ProtocolId, TelemetryFrame } from '../../../shared/types/domain.js';
import type { ByteTransport, LineSettings } from '../../../shared/types/transport.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';
import { Emitter } from '../../../shared/util/emitter.js';
import { createTransport } from '../transport/index.js';
import { driverFactory } from './registry.js';
import type { DriverFactory, PackBus } from './types.js';

/**
 * Several packs on one serial bus, asked one after another by address: opening the bus, finding
 * every pack that answers (scan), polling a set of packs round by round, and the totals of packs
 * in parallel (one bus voltage, currents adding up).
 */
export interface OpenBusOptions {
  protocol: ProtocolId;
  baud?: number;
  timeoutMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
  wrapTransport?: (t: ByteTransport, line: LineSettings) => ByteTransport;
}

export interface OpenBus {
  readonly factory: DriverFactory;
  readonly transport: ByteTransport;
  readonly bus: PackBus;
  readonly line: LineSettings;
  readonly clock: Clock;
  close(): Promise<void>;
}

/** Protocols whose packs can share a bus. */
export async function addressedFactory(protocol: ProtocolId): Promise<DriverFactory & { addressing: NonNullable<DriverFactory['addressing']> }> {
  const f = await driverFactory(protocol);
  if (!f.addressing) throw new PackscopeError('USAGE', `the ${protocol} protocol has no pack addresses (one board per line): use daly or pylontech-rs485`);
  return f as DriverFactory & { addressing: NonNullable<DriverFactory['addressing']> };
}

export async function openBus(path: string, o: OpenBusOptions): Promise<OpenBus> {
  const factory = await addressedFactory(o.protocol);
  const line: LineSettings = { baudRate: o.baud ?? factory.defaultLine.baudRate, parity: factory.defaultLine.parity ?? 'none' };
  const clock = o.clock ?? realClock;
  const raw = createTransport(path, line, { clock });
  const transport = o.wrapTransport ? o.wrapTransport(raw, line) : raw;
  await transport.open();
  const bus = factory.addressing.openBus(transport, {
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    clock,
    line,
  } as never);
  return {
    factory,
    transport,
    bus,
    line,
    clock,
    async close() {
      bus.dispose();
      await transport.close().catch(() => undefined);
    },
  };
}

export interface ScanHit {
  address: number;
  device: DeviceInfo;
  frame: TelemetryFrame | null;
}

/**
 * Asks every address once (identity with no retry: an empty address costs one timeout) and reads
 * one telemetry round from each pack that answered.
 *
 * Every address silent in the sweep is asked a second time: a request can be lost to a collision
 * or to noise, and an empty address costs one timeout more. A reply that comes after its timeout
 * arrives while the next address is asked, and is no answer to that: if any such late reply turned
 * up during the sweep, the second asking has a retry with a longer timeout, so a pack that answered
 * late (a busy board, a loaded PC) is still found.
 */
export async function scanBus(
  bus: PackBus,
  addresses: readonly number[],
  signal?: AbortSignal,
  /** Once per address in the sweep; again (`again` true) for a silent address found on the second pass. */
  onProgress?: (address: number, found: boolean, again: boolean) => void,
): Promise<ScanHit[]> {
  const hits: ScanHit[] = [];
  const silent: number[] = [];
  const ask = async (address: number, again: boolean, retries = 0): Promise<void> => {
    if (signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled');
    let device: DeviceInfo;
    try {
      device = await bus.identify(address, signal, retries);
    } catch (e) {
      if (isPackscopeError(e) && (e.code === 'TIMEOUT' || e.code === 'DEVICE' || e.code === 'DECODE')) {
        if (!again) {
          silent.push(address);
          onProgress?.(address, false, false);
        }
        return;
      }
      throw e;
    }
    onProgress?.(address, true, again);
    const frame = await bus.poll(address, signal).catch((e: unknown) => {
      if (isPackscopeError(e) && (e.code === 'TIMEOUT' || e.code === 'DECODE' || e.code === 'DEVICE')) return null;
      throw e;
    });
    hits.push({ address, device, frame });
  };
  const lateBefore = bus.unclaimedFrames;
  for (const address of addresses) await ask(address, false);
  // The silent addresses are asked once more: a request lost to a collision with another master
  // (an inverter polling the same bus) or to noise costs a pack otherwise. With a retry and longer
  // timeouts when a late reply turned up during the sweep.
  const retries = bus.unclaimedFrames > lateBefore ? 1 : 0;
  for (const address of silent) await ask(address, true, retries);
  return hits.sort((a, b) => a.address - b.address);
}

/** Packs in parallel on one bus: what the inverter sees. */
export interface BusTotals {
  packs: number;
  /** Mean of the pack voltages (they share the bus bars). */
  voltage: number;
  /** Sum of the pack currents, A (+ = charging). */
  current: number;
  power: number;
  /** Mean SOC, weighted by capacity where it is known. */
  soc: number;
  /** Highest minus lowest pack voltage: what flows between packs when they are joined. */
  voltageSpread: number;
  socSpread: number;
}

export function busTotals(frames: readonly TelemetryFrame[], capacitiesAh: readonly number[] = []): BusTotals {
  const n = frames.length;
  if (!n) return { packs: 0, voltage: 0, current: 0, power: 0, soc: 0, voltageSpread: 0, socSpread: 0 };
  const v = frames.map((f) => f.packVoltage);
  const s = frames.map((f) => f.soc);
  const weights = frames.map((_, i) => ((capacitiesAh[i] ?? 0) > 0 ? capacitiesAh[i]! : 1));
  const wsum = weights.reduce((a, b) => a + b, 0);
  return {
    packs: n,
    voltage: v.reduce((a, b) => a + b, 0) / n,
    current: frames.reduce((a, f) => a + f.current, 0),
    power: frames.reduce((a, f) => a + f.current * f.packVoltage, 0),
    soc: frames.reduce((a, f, i) => a + f.soc * weights[i]!, 0) / wsum,
    voltageSpread: Math.max(...v) - Math.min(...v),
    socSpread: Math.max(...s) - Math.min(...s),
  };
}

export interface BusRound {
  /** Frames of the packs that answered this round, by address. */
  frames: Map<number, TelemetryFrame>;
  /** Addresses that did not answer this round. */
  missing: number[];
  totals: BusTotals;
}

/**
 * Polls a set of packs round by round at `rateHz` (clamped by how long a round takes): every
 * answer is a 'pack' event; the end of a round gives the round with its totals. A pack that does
 * not answer is missing from that round (never invented from its last frame).
 */
export class BusPoller {
  private packEvents = new Emitter<{ address: number; frame: TelemetryFrame }>();
  private roundEvents = new Emitter<BusRound>();
  private stop: AbortController | null = null;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private bus: PackBus,
    private addresses: readonly number[],
    private capacities: ReadonlyMap<number, number> = new Map(),
    private clock: Clock = realClock,
  ) {}

  onPack(l: (p: { address: number; frame: TelemetryFrame }) => void): () => void {
    return this.packEvents.on(l);
  }

  onRound(l: (r: BusRound) => void): () => void {
    return this.roundEvents.on(l);
  }

  start(rateHz: number): void {
    if (!(rateHz > 0)) throw new PackscopeError('USAGE', `poll rate must be positive, got ${rateHz}`);
    const stop = new AbortController();
    this.stop = stop;
    const period = 1000 / rateHz;
    const loop = async () => {
      let next = this.clock.now();
      while (!stop.signal.aborted) {
        const frames = new Map<number, TelemetryFrame>();
        const missing: number[] = [];
        for (const address of this.addresses) {
          if (stop.signal.aborted) return;
          try {
            const frame = await this.bus.poll(address, stop.signal);
            frames.set(address, frame);
            this.packEvents.emit({ address, frame });
          } catch (e) {
            if (!isPackscopeError(e)) throw e;
            if (e.code === 'CANCELLED' || e.code === 'DISCONNECTED') return;
            missing.push(address);
          }
        }
        const list = [...frames.keys()];
        this.roundEvents.emit({
          frames,
          missing,
          totals: busTotals(
            list.map((a) => frames.get(a)!),
            list.map((a) => this.capacities.get(a) ?? 0),
          ),
        });
        next += period;
        const wait = next - this.clock.now();
        if (wait < -period) next = this.clock.now();
        await this.clock.sleep(Math.max(0, wait), stop.signal).catch(() => undefined);
      }
    };
    this.done = loop();
  }

  async stopPolling(): Promise<void> {
    this.stop?.abort();
    await this.done.catch(() => undefined);
  }
}
