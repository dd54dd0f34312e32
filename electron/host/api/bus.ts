import type { Params, Res } from '../../../shared/api/contract.js';
import type { BusPackView, BusRoundView } from '../../../shared/api/bus-contract.js';
import { parallelCheck, type ParallelPack } from '../../../shared/bms/parallel-check.js';
import { PackscopeError } from '../../../shared/errors.js';
import { unsignedDevice, type DeviceInfo, type TelemetryFrame, type TransferProgress } from '../../../shared/types/domain.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';
import { addressedFactory, BusPoller, openBus, scanBus, type BusRound, type OpenBus } from '../drivers/pack-bus.js';
import type { DeviceSession } from './device.js';
import type { HostEvents } from './events.js';

/**
 * The Packs screen's host half: several packs on one RS485 bus, with the multi-pack back end the
 * CLI's `scan` and `monitor --address` use (drivers/pack-bus.ts). Scan and monitor are host jobs,
 * so leaving the screen never stops them; each round goes to every window as a 'bus' event with
 * the totals and the parallel check of the two packs that differ most, and the last round is kept
 * for a screen that opens while the monitor runs.
 */
export interface BusJobsOptions {
  clock?: Clock;
}

interface Watched {
  opId: string;
  port: string;
  protocol: Params<'bus.monitor'>['protocol'];
  label: string;
  packs: BusPackView[];
  last: BusRoundView | null;
}

export class BusJobs {
  private watched: Watched | null = null;
  private readonly clock: Clock;

  constructor(
    private device: DeviceSession,
    private events: HostEvents,
    options: BusJobsOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
  }

  /** The connected board's port is held by its session: a bus job cannot open it a second time. */
  private refuseConnectedPort(port: string): void {
    const s = this.device.current;
    if (s && !s.isDisconnected && s.path === port)
      throw new PackscopeError('REFUSED', `${port} is the connected pack's port: disconnect it on the Connect screen first, then read the bus here.`);
  }

  private async open(req: { port: string; protocol: Params<'bus.scan'>['protocol']; baudRate?: number | undefined }, signal: AbortSignal): Promise<OpenBus> {
    this.refuseConnectedPort(req.port);
    return openBus(req.port, { protocol: req.protocol, ...(req.baudRate ? { baud: req.baudRate } : {}), clock: this.clock, signal });
  }

  async scan(req: Params<'bus.scan'>, signal: AbortSignal, progress: (p: TransferProgress) => void): Promise<Res<'bus.scan'>> {
    const factory = await addressedFactory(req.protocol);
    const [lo, hi] = factory.addressing.range;
    const asked = req.addresses ?? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    const outside = asked.filter((a) => a < lo || a > hi);
    if (outside.length) throw new PackscopeError('USAGE', `A ${factory.addressing.label} is ${lo} to ${hi} on ${req.protocol}; ${outside.join(', ')} is not.`);
    const bus = await this.open(req, signal);
    try {
      let done = 0;
      let found = 0;
      const hits = await scanBus(bus.bus, asked, signal, (_a, hit, again) => {
        if (!again) done++;
        if (hit) found++;
        progress({ done, total: asked.length, rate: 0, etaSeconds: null, phase: `${found} pack(s) found` });
      });
      return {
        protocol: req.protocol,
        label: factory.addressing.label,
        asked,
        packs: hits.map((h) => ({ address: h.address, device: h.device, frame: h.frame })),
      };
    } finally {
      await bus.close();
    }
  }

  async monitor(req: Params<'bus.monitor'>, signal: AbortSignal, progress: (p: TransferProgress) => void): Promise<Res<'bus.monitor'>> {
    const bus = await this.open(req, signal);
    const label = bus.factory.addressing!.label;
    const t0 = this.clock.now();
    let rounds = 0;
    const end: { outcome: Res<'bus.monitor'>['outcome']; reason: string | null } = { outcome: 'stopped', reason: null };
    try {
      // Who is who first: the model and capacity weigh the totals and size the parallel check.
      const packs: BusPackView[] = [];
      for (const address of req.addresses) {
        if (signal.aborted) break;
        const device = await bus.bus.identify(address, signal).catch((e: unknown) => {
          if (e instanceof PackscopeError && (e.code === 'TIMEOUT' || e.code === 'DECODE' || e.code === 'DEVICE')) return unknownPack(req.protocol, address);
          throw e;
        });
        packs.push({ address, device, frame: null });
      }
      const watched: Watched = { opId: req.opId, port: req.port, protocol: req.protocol, label, packs, last: null };
      this.watched = watched;
      const byAddress = new Map(packs.map((p) => [p.address, p]));
      const poller = new BusPoller(bus.bus, req.addresses, new Map(packs.map((p) => [p.address, p.device.nominalCapacityAh])), this.clock);
      poller.onRound((r) => {
        rounds++;
        for (const [a, f] of r.frames) byAddress.get(a)!.frame = f;
        watched.last = roundView(req.opId, rounds, r, req.addresses, byAddress, label, this.clock.now());
        this.events.emit('bus', watched.last);
        const seconds = (this.clock.now() - t0) / 1000;
        progress({
          done: rounds,
          total: 0,
          rate: seconds > 0 ? rounds / seconds : 0,
          etaSeconds: null,
          phase: `${r.frames.size} of ${req.addresses.length} packs answered`,
        });
      });
      await new Promise<void>((resolve) => {
        const offGone = bus.bus.onDisconnect((why) => {
          end.outcome = 'disconnected';
          end.reason = why;
          resolve();
        });
        const stop = () => (offGone(), resolve());
        if (signal.aborted) return stop();
        signal.addEventListener('abort', stop, { once: true });
        poller.start(req.rateHz);
      }).finally(() => poller.stopPolling());
    } finally {
      await bus.close();
    }
    if (end.outcome === 'disconnected')
      throw new PackscopeError('DISCONNECTED', `The bus adapter on ${req.port} went away (${end.reason}). Check the cable, then start watching again.`);
    return { rounds, seconds: (this.clock.now() - t0) / 1000, ...end };
  }

  state(): Res<'bus.state'> {
    const w = this.watched;
    return {
      opId: w?.opId ?? null,
      port: w?.port ?? null,
      protocol: w?.protocol ?? null,
      label: w?.label ?? null,
      packs: w?.packs ?? [],
      last: w?.last ?? null,
    };
  }
}

/** A pack that did not say who it is (it may answer later): its address is all there is. */
function unknownPack(protocol: DeviceInfo['protocol'], address: number): DeviceInfo {
  return unsignedDevice(protocol, { model: `pack ${address}`, boardId: protocol });
}

function roundView(
  opId: string,
  round: number,
  r: BusRound,
  addresses: readonly number[],
  packs: ReadonlyMap<number, BusPackView>,
  label: string,
  t: number,
): BusRoundView {
  return {
    opId,
    t,
    round,
    packs: addresses.map((address) => ({ address, frame: r.frames.get(address) ?? null })),
    missing: r.missing,
    totals: r.totals,
    parallel: worstPair(
      [...r.frames].map(([a, f]) => ({ a, f, d: packs.get(a)!.device })),
      label,
    ),
  };
}

/**
 * The parallel check of the packs that differ most: the highest against the lowest voltage, and
 * the fullest against the emptiest; the first pair that is not safe to join is reported (else the
 * voltage pair). Packs already joined in parallel share one voltage, so on a bus of joined packs
 * this reads their SOC gap; packs on separate breakers show what closing them would do.
 */
export function worstPair(packs: ReadonlyArray<{ a: number; f: TelemetryFrame; d: DeviceInfo }>, label: string): BusRoundView['parallel'] {
  if (packs.length < 2) return null;
  const as = (p: { a: number; f: TelemetryFrame; d: DeviceInfo }): ParallelPack => ({
    label: `${label} ${p.a}`,
    voltage: p.f.packVoltage,
    soc: p.f.soc,
    cells: p.f.cellVoltages.length || p.d.cellCount,
    capacityAh: p.d.nominalCapacityAh,
    chemistry: p.d.chemistry,
  });
  const by = (key: (f: TelemetryFrame) => number) => {
    const sorted = [...packs].sort((x, y) => key(y.f) - key(x.f));
    return [sorted[0]!, sorted[sorted.length - 1]!] as const;
  };
  const pairs = [by((f) => f.packVoltage), by((f) => f.soc)];
  const verdicts = pairs.map(([x, y]) => ({ v: parallelCheck(as(x), as(y)), between: [as(x).label, as(y).label] as [string, string] }));
  const pick = verdicts.find((p) => !p.v.safe) ?? verdicts[0]!;
  const { v } = pick;
  return {
    safe: v.safe,
    between: pick.between,
    voltageDelta: v.voltageDelta,
    socDelta: v.socDelta,
    currentA: v.currentA,
    currentLimitA: v.currentLimitA,
    from: v.from,
    reasons: v.reasons,
  };
}
