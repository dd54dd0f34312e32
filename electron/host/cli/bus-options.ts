import { PackscopeError } from '../../../shared/errors.js';
import type { ProtocolId, TelemetryFrame } from '../../../shared/types/domain.js';
import { addressedFactory, openBus, type BusTotals, type OpenBus } from '../drivers/pack-bus.js';
import type { CliContext } from './context.js';
import { numberOption } from './context.js';
import { captureOption, resolvePort } from './device-options.js';

/**
 * Options of the commands that talk to several packs on one bus (scan, monitor --address LIST,
 * parallel): the addressed protocol, an address list, and opening the bus from them.
 */
export const BUS_PROTOCOLS: readonly ProtocolId[] = ['daly', 'pylontech-rs485'];

export function busProtocol(value: string | undefined): ProtocolId {
  const p = (value ?? '') as ProtocolId;
  if (!BUS_PROTOCOLS.includes(p))
    throw new PackscopeError('USAGE', `--protocol must be one of ${BUS_PROTOCOLS.join(', ')} (the protocols whose packs have addresses)`);
  return p;
}

/** "2,3,5", "0-3", "all" → addresses within the protocol's range. */
export async function addressList(value: string, protocol: ProtocolId): Promise<number[]> {
  const [lo, hi] = (await addressedFactory(protocol)).addressing.range;
  if (value === 'all') return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  const out = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new PackscopeError('USAGE', `--address: '${part}' is not an address or a range (e.g. 2,3 or 0-3)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > b || a < lo || b > hi) throw new PackscopeError('USAGE', `--address: ${part} is outside ${lo}-${hi} for ${protocol}`);
    for (let x = a; x <= b; x++) out.add(x);
  }
  return [...out];
}

export async function openBusFromOptions(
  values: { port?: string; baud?: string; timeout?: string; capture?: string },
  protocol: ProtocolId,
  ctx: CliContext,
): Promise<OpenBus> {
  const capture = captureOption(values.capture);
  const port = await resolvePort(values.port);
  const baud = values.baud === undefined ? undefined : numberOption(values.baud, 'baud', 9600, 300, 12_000_000);
  const timeoutMs = values.timeout === undefined ? undefined : numberOption(values.timeout, 'timeout', 250, 10, 60_000);
  return openBus(port, {
    protocol,
    ...(baud !== undefined ? { baud } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(ctx.clock ? { clock: ctx.clock } : {}),
    signal: ctx.signal,
    ...(capture ? { wrapTransport: capture } : {}),
  });
}

const f2 = (v: number) => v.toFixed(2);

/** One human line per pack. */
export function packLine(address: number, f: TelemetryFrame): string {
  const cells = f.cellVoltages;
  const spread = cells.length ? `Δ ${((Math.max(...cells) - Math.min(...cells)) * 1000).toFixed(0)} mV` : 'cells n/a';
  return `pack ${String(address).padStart(2)}  ${f.packVoltage.toFixed(3).padStart(7)} V  ${f2(f.current).padStart(8)} A  SOC ${f.soc.toFixed(1).padStart(5)} %  ${cells.length} cells ${spread}`;
}

export function totalsLine(t: BusTotals, missing: number[]): string {
  return `total   ${t.voltage.toFixed(3).padStart(7)} V  ${f2(t.current).padStart(8)} A  SOC ${t.soc.toFixed(1).padStart(5)} %  ${t.packs} pack(s), ${(t.power / 1000).toFixed(2)} kW, spread ${(t.voltageSpread * 1000).toFixed(0)} mV / ${t.socSpread.toFixed(1)} %${missing.length ? `, no answer from ${missing.join(', ')}` : ''}`;
}

export function totalsJson(t: BusTotals) {
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  return {
    packs: t.packs,
    voltage: r3(t.voltage),
    current: r3(t.current),
    power: r3(t.power),
    soc: r3(t.soc),
    voltageSpread: r3(t.voltageSpread),
    socSpread: r3(t.socSpread),
  };
}
