import { seedKeyAlgorithm } from '../../../shared/can/seedkey.js';
import type { FwStatus } from '../../../shared/image/fw-status.js';
import type { FirmwareTarget } from '../flasher/target.js';
import { createTransport } from '../transport/index.js';
import type { TransportWrapper } from '../transport/capture.js';
import { closeCanChannel, openCanChannel, SLCAN_SERIAL_BAUD } from './open.js';
import { UdsClient } from './uds-client.js';
import { UdsFirmwareTarget } from './uds-target.js';

/**
 * Opens the SLCAN adapter on a port (a serial device, tcp:// or sim:), puts a UdsClient on the
 * ECU's ids and returns the flasher's FirmwareTarget; closing releases the adapter.
 */
export interface UdsTargetOpenOptions {
  port: string;
  /** The adapter's serial line rate (default 115200; USB CDC adapters ignore it). */
  baudRate?: number;
  bitrate?: number;
  txId?: number;
  rxId?: number;
  /** Name in shared/can/seedkey.ts SEED_KEY_ALGORITHMS. */
  seedKey?: string;
  /** Largest TransferData payload sent (default: UdsFirmwareTarget's). */
  maxBlockPayload?: number;
  /** The firmware status read a moment before (by the probe): the target's first status() answer. */
  status?: FwStatus;
  signal?: AbortSignal;
  /** Wraps the adapter's serial port (--capture). */
  wrapTransport?: TransportWrapper;
  /** An adapter already open on this port and these ids (the probe's): used instead of opening it again, closed with the target. */
  opened?: OpenedUdsClient;
}

export interface OpenedFlashTarget {
  target: FirmwareTarget;
  close(): Promise<void>;
}

export interface OpenedUdsClient {
  client: UdsClient;
  close(): Promise<void>;
}

/** Opens the adapter on the port at the bitrate and puts a UDS client on the ECU's ids. */
export async function openUdsClient(o: Omit<UdsTargetOpenOptions, 'seedKey' | 'maxBlockPayload'>): Promise<OpenedUdsClient> {
  const line = { baudRate: o.baudRate ?? SLCAN_SERIAL_BAUD };
  const raw = createTransport(o.port, line);
  const transport = o.wrapTransport ? o.wrapTransport(raw, line) : raw;
  const channel = await openCanChannel(o.port, { bitrate: o.bitrate ?? 500_000, ...(o.signal ? { signal: o.signal } : {}) }, transport);
  const client = new UdsClient(channel, { txId: o.txId ?? 0x7e0, rxId: o.rxId ?? 0x7e8 });
  return {
    client,
    async close() {
      client.dispose();
      await closeCanChannel(channel);
    },
  };
}

export async function openUdsFlashTarget(o: UdsTargetOpenOptions): Promise<OpenedFlashTarget> {
  const seedKey = seedKeyAlgorithm(o.seedKey ?? 'packscope-hmac');
  const { client, close } = o.opened ?? (await openUdsClient(o));
  const target = new UdsFirmwareTarget(client, {
    seedKey,
    ...(o.maxBlockPayload !== undefined ? { maxBlockPayload: o.maxBlockPayload } : {}),
    ...(o.status ? { knownStatus: o.status } : {}),
  });
  return { target, close };
}
