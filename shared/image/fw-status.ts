import { z } from 'zod';

/**
 * The firmware state a board reports (native FW_STATUS as JSON, PROTOCOL.md "Firmware"), and what
 * `packscope fw status` prints. Validated on receipt: a board is a peer, not a trusted source.
 */
export const FwSlotSchema = z.object({
  present: z.boolean(),
  version: z.string().nullable(),
  imageSize: z.number().int().nonnegative(),
  totalSize: z.number().int().nonnegative(),
  securityCounter: z.number().int().nonnegative().nullable(),
  boardId: z.string().nullable(),
  hash: z.string().nullable(),
  signature: z.enum(['valid', 'unknown_key', 'bad_signature', 'missing']).nullable(),
  signedBy: z.string().nullable(),
  valid: z.boolean(),
  problem: z.string().nullable(),
});
export type FwSlot = z.infer<typeof FwSlotSchema>;

export const FwStatusSchema = z.object({
  boardId: z.string(),
  running: z.enum(['primary']).nullable(),
  runningVersion: z.string().nullable(),
  primary: FwSlotSchema,
  secondary: FwSlotSchema,
  testing: z.boolean(),
  pending: z.enum(['none', 'test', 'perm']),
  securityCounter: z.number().int().nonnegative(),
  lastEvent: z.string(),
  lastReason: z.string().nullable(),
  swapInProgress: z.boolean(),
  slotSize: z.number().int().positive(),
  sectorSize: z.number().int().positive(),
  /** DER SubjectPublicKeyInfo of each key the bootloader trusts, hex. */
  trustedKeys: z.array(z.string().regex(/^[0-9a-f]+$/)),
  /** Bulk-transfer region that receives uploads (the secondary slot). */
  uploadRegion: z.number().int().min(0).max(255),
  /**
   * How the bootloader starts a new image: 'swap' copies it into the bank it runs from (the reset
   * after an upload takes as long as the copy), 'dual-bank' switches the bank it boots. Absent
   * from older boards. Either way 'primary' is the running image and 'secondary' the other slot.
   */
  mode: z.enum(['swap', 'dual-bank']).optional(),
  /** Which flash bank holds the primary slot ('a' first, 'b' second); absent from older boards. */
  activeBank: z.enum(['a', 'b']).optional(),
});
export type FwStatus = z.infer<typeof FwStatusSchema>;

export const BOOT_EVENT_NAMES = ['none', 'booted', 'swapped-test', 'swapped-permanent', 'reverted', 'rejected', 'recovered', 'no-image'] as const;
