import { z } from 'zod';

/**
 * Release bundle (.psfw) metadata: what a supplier publishes with a firmware release, after TUF /
 * Uptane (signed metadata with expiry, a version and hashes; hardware identifiers; a release
 * counter against rollback and freeze; every image bound to the metadata against mix-and-match)
 * and the SUIT information model (monotonic sequence number, vendor and class ids, digests,
 * preconditions). The metadata is signed by a release key, which a root key certifies
 * (certificate.ts), so release keys rotate without a new app.
 */
export const BUNDLE_SCHEMA_VERSION = 1;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 as 64 lower-case hex digits');
const isoTime = z.iso.datetime({ offset: true });
const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** Where a component goes. */
export const ComponentTargetSchema = z.discriminatedUnion('kind', [
  /** The board's MCUboot bootloader over the native protocol: the image goes to the upload slot and is swapped in by a test boot. */
  z.object({ kind: z.literal('mcuboot'), slot: z.literal('secondary').default('secondary') }).strict(),
  /**
   * The STM32 ROM bootloader (AN3155) of a processor on its own serial line: raw firmware at an
   * address (Intel HEX carries its own). With productId, the ROM must report that part (Get ID).
   */
  z
    .object({
      kind: z.literal('stm32-rom'),
      address: z.number().int().min(0).max(0xffffffff),
      productId: z.number().int().min(0).max(0xffff).optional(),
    })
    .strict(),
  /** An ECU on CAN, by its UDS request / response ids and a target profile name. */
  z
    .object({
      kind: z.literal('uds'),
      txId: z.number().int().min(0).max(0x1fffffff),
      rxId: z.number().int().min(0).max(0x1fffffff),
      profile: z.string().min(1).max(64).default('generic'),
      address: z.number().int().min(0).max(0xffffffff).optional(),
    })
    .strict(),
]);
export type ComponentTarget = z.infer<typeof ComponentTargetSchema>;

export const BundleComponentSchema = z
  .object({
    /** Unique in the bundle; the image's file is `images/<name>`. */
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore'),
    target: ComponentTargetSchema,
    format: z.enum(['mcuboot', 'bin', 'ihex']),
    version: z.string().min(1).max(32),
    securityCounter: z.number().int().min(0).max(0xffffffff),
    size: z.number().int().positive(),
    sha256: hex64,
    /** For a delta image: the digest of the image it applies to. */
    baseSha256: hex64.optional(),
  })
  .strict();
export type BundleComponent = z.infer<typeof BundleComponentSchema>;

export const PreconditionsSchema = z
  .object({
    /** Minimum state of charge, percent. */
    minSocPercent: z.number().min(0).max(100).optional(),
    /** Largest current magnitude allowed while updating, A. */
    maxCurrentA: z.number().min(0).optional(),
    /** Every cell/board temperature must lie in this window, °C. */
    temperatureC: z
      .object({ min: z.number(), max: z.number() })
      .strict()
      .refine((t) => t.min <= t.max, 'temperatureC.min must not exceed max')
      .optional(),
    /** true: only on the charger (current ≥ 0); false: only off it. */
    onCharger: z.boolean().optional(),
  })
  .strict();
export type Preconditions = z.infer<typeof PreconditionsSchema>;

export const BundleMetadataSchema = z
  .object({
    schema: z.literal(BUNDLE_SCHEMA_VERSION),
    /** Monotonic release counter: an installation or a board never accepts a lower one. */
    sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    vendorId: id,
    /** Boards this release fits, each with the hardware revisions it fits. */
    boards: z.array(z.object({ boardId: id, hardwareRevisions: z.array(z.string().min(1).max(16)).min(1) }).strict()).min(1),
    created: isoTime,
    expires: isoTime,
    /** Release notes, plain text, shown to the customer. */
    notes: z.string().max(20_000),
    preconditions: PreconditionsSchema,
    components: z.array(BundleComponentSchema).min(1).max(16),
  })
  .strict()
  .refine((m) => new Set(m.components.map((c) => c.name)).size === m.components.length, 'component names must be unique')
  .refine((m) => Date.parse(m.expires) > Date.parse(m.created), 'expires must be after created');
export type BundleMetadata = z.infer<typeof BundleMetadataSchema>;
export type BundleMetadataInput = z.input<typeof BundleMetadataSchema>;
