import { z } from 'zod';

/**
 * Runtime schemas of the domain types that cross the API (shared/types/domain.ts is the source of
 * truth for their meaning; these mirror them so every request and response can be validated).
 */
export const protocolId = z.enum(['native', 'jbd', 'daly', 'jk', 'pylontech-can', 'pylontech-rs485', 'uds', 'stm32-rom']);

export const deviceInfo = z.object({
  protocol: protocolId,
  model: z.string(),
  serial: z.string(),
  boardId: z.string(),
  hardwareRevision: z.string(),
  firmwareVersion: z.string(),
  bootloaderVersion: z.string(),
  cellCount: z.number().int().nonnegative(),
  chemistry: z.enum(['lfp', 'nmc', 'unknown']),
  nominalCapacityAh: z.number(),
  publicKeyFingerprint: z.string().nullable(),
  signsEvidence: z.boolean(),
});

export const telemetryFrame = z.object({
  t: z.number(),
  packVoltage: z.number(),
  current: z.number(),
  soc: z.number(),
  soh: z.number().optional(),
  cellVoltages: z.array(z.number()),
  temperatures: z.array(z.number()),
  status: z.number().int(),
  alarms: z.number().int(),
});

export const linkStats = z.object({
  bytesIn: z.number(),
  bytesOut: z.number(),
  framesIn: z.number(),
  framesOut: z.number(),
  crcErrors: z.number(),
  decodeErrors: z.number(),
  timeouts: z.number(),
  retries: z.number(),
});

export const transferProgress = z.object({
  done: z.number(),
  total: z.number(),
  rate: z.number(),
  etaSeconds: z.number().nullable(),
  phase: z.string().optional(),
});

export const portInfo = z.object({
  kind: z.enum(['serial', 'sim', 'tcp']),
  path: z.string(),
  vendorId: z.string().optional(),
  productId: z.string().optional(),
  manufacturer: z.string().optional(),
  serialNumber: z.string().optional(),
  adapter: z.string().optional(),
});

/** A path on the host's file system (the machine running the host, which may not be the viewer's). */
export const hostPath = z.string().min(1).max(4096);

/** Operation id chosen by the caller so it can cancel the operation and match its progress events. */
export const opId = z.string().min(1).max(64);
