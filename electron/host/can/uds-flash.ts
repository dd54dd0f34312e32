import { seedKeyAlgorithm } from '../../../shared/can/seedkey.js';
import { PackscopeError } from '../../../shared/errors.js';
import type { FirmwareTarget } from '../flasher/target.js';
import { closeCanChannel, openCanChannel } from './open.js';
import { UdsClient } from './uds-client.js';
import { UdsFirmwareTarget } from './uds-target.js';

/**
 * The UDS flash backend: `flash --protocol uds --port PATH IMAGE [--tx 0x7E0 --rx 0x7E8]
 * [--bitrate 500000] [--seed-key packscope-hmac]` opens the SLCAN adapter, puts a UdsClient on the
 * ECU's ids and hands the flasher a FirmwareTarget; closing releases the adapter.
 */
export interface UdsFlashOptions {
  port: string;
  bitrate?: number;
  txId?: number;
  rxId?: number;
  /** Name in shared/can/seedkey.ts SEED_KEY_ALGORITHMS. */
  seedKey?: string;
  signal?: AbortSignal;
}

export interface OpenedFlashTarget {
  target: FirmwareTarget;
  close(): Promise<void>;
}

export function parseCanId(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0x1fffffff) throw new PackscopeError('USAGE', `--${name} must be a CAN identifier (e.g. 0x7E0), got '${value}'`);
  return n;
}

export async function openUdsFlashTarget(o: UdsFlashOptions): Promise<OpenedFlashTarget> {
  const seedKey = seedKeyAlgorithm(o.seedKey ?? 'packscope-hmac');
  const channel = await openCanChannel(o.port, { bitrate: o.bitrate ?? 500_000, ...(o.signal ? { signal: o.signal } : {}) });
  const client = new UdsClient(channel, { txId: o.txId ?? 0x7e0, rxId: o.rxId ?? 0x7e8 });
  const target = new UdsFirmwareTarget(client, { seedKey });
  return {
    target,
    async close() {
      client.dispose();
      await closeCanChannel(channel);
    },
  };
}
