/**
 * The Packs screen's part of the API contract (spread into contract.methods): several packs on one
 * RS485 bus (Pylontech modules by address, Daly boards by board number). Scan finds the packs that
 * answer; the monitor polls them round by round as a host job and sends each round as a 'bus'
 * event: every pack's frame (or that it did not answer), the totals the inverter sees, and the
 * parallel check of the packs that differ most.
 */
import { z } from 'zod';
import { deviceInfo, opId, telemetryFrame } from './schemas.js';

/** The protocols whose packs have addresses on a shared bus. */
export const BUS_PROTOCOLS = ['pylontech-rs485', 'daly'] as const;
const busProtocol = z.enum(BUS_PROTOCOLS);
const port = z.string().min(1).max(512);
const baudRate = z.number().int().min(300).max(12_000_000).optional();
const address = z.number().int().min(0).max(255);

export const busPackView = z.object({ address, device: deviceInfo, frame: telemetryFrame.nullable() });

export const busTotalsView = z.object({
  packs: z.number(),
  voltage: z.number(),
  current: z.number(),
  power: z.number(),
  soc: z.number(),
  voltageSpread: z.number(),
  socSpread: z.number(),
});

/** The parallel check between the two packs that differ most (voltage first, then SOC). */
export const busParallelView = z.object({
  safe: z.boolean(),
  /** The pair judged, as labels ("module address 2"). */
  between: z.tuple([z.string(), z.string()]),
  voltageDelta: z.number(),
  socDelta: z.number(),
  currentA: z.number(),
  currentLimitA: z.number(),
  from: z.string(),
  reasons: z.array(z.string()),
});

export const busRoundView = z.object({
  opId,
  t: z.number(),
  round: z.number().int(),
  packs: z.array(z.object({ address, frame: telemetryFrame.nullable() })),
  missing: z.array(address),
  totals: busTotalsView,
  parallel: busParallelView.nullable(),
});

const method = <Req extends z.ZodType, Res extends z.ZodType>(request: Req, response: Res, summary: string) => ({ request, response, summary });

export const busMethods = {
  'bus.scan': method(
    z
      .object({
        opId,
        port,
        protocol: busProtocol,
        baudRate,
        /** Addresses to ask (default: the protocol's whole range). */
        addresses: z.array(address).min(1).max(256).optional(),
      })
      .strict(),
    z.object({ protocol: busProtocol, label: z.string(), asked: z.array(address), packs: z.array(busPackView) }),
    'Asks every address on a shared bus once and lists the packs that answered, with one reading each.',
  ),
  'bus.monitor': method(
    z
      .object({
        opId,
        port,
        protocol: busProtocol,
        baudRate,
        addresses: z.array(address).min(1).max(16),
        rateHz: z.number().min(0.1).max(10).default(1),
      })
      .strict(),
    z.object({ rounds: z.number(), seconds: z.number(), outcome: z.enum(['stopped', 'disconnected']), reason: z.string().nullable() }),
    "Polls the packs on a shared bus round by round until op.cancel ('bus' events under opId); a host job, so it outlives the screen.",
  ),
  'bus.state': method(
    z.object({}).strict(),
    z.object({
      opId: z.string().nullable(),
      port: z.string().nullable(),
      protocol: busProtocol.nullable(),
      label: z.string().nullable(),
      packs: z.array(busPackView),
      last: busRoundView.nullable(),
    }),
    'What the running (or last) bus monitor watches and its last round, for a screen that opens while it runs.',
  ),
};

export type BusRoundView = z.output<typeof busRoundView>;
export type BusPackView = z.output<typeof busPackView>;
