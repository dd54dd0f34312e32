import { z } from 'zod';
import { PackscopeError } from '../errors.js';

/**
 * UDS target profiles: what a given bootloader wants for a flash sequence, as JSON, so an
 * ordinary ISO 14229 bootloader needs no code in PackScope. A profile names the sessions to pass
 * through, the security-access level and seed-to-key algorithm, the erase and check routines and
 * what their option records carry, where the image goes in memory and in which address/size
 * formats, the identifiers to read before and after (software version, serial) and the reset.
 *
 * `generic` is the default for an unknown ECU: extended then programming session, no security
 * access, ISO 14229-1 Annex F routines FF00 (eraseMemory, record = addressAndLengthFormatIdentifier
 * ‖ address ‖ size) and FF01 (checkProgrammingDependencies), download at the image's own address,
 * hard reset. `packscope` is PackScope's own bootloader: its extras (the FD00 firmware status,
 * MCUboot prechecks in the erase routine, test boot, confirm and revert) run through the common
 * MCUboot flasher rather than this sequence.
 *
 * Numbers may be written as JSON numbers or as strings ("0xFF00"), as bootloader datasheets do.
 */
const num = (what: string, max: number) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^0x[0-9a-f]+$/i.test(v.trim()) ? parseInt(v.trim(), 16) : /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > max) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} must be an integer 0..0x${max.toString(16).toUpperCase()} (e.g. "0x${Math.min(max, 0xff00).toString(16).toUpperCase()}"), got ${JSON.stringify(v)}`,
      });
      return z.NEVER;
    }
    return n;
  });

const byteLen = z.number().int().min(1).max(4);

export const UdsProfileSchema = z
  .object({
    /** Name shown in reports. */
    name: z.string().min(1).max(64),
    description: z.string().max(500).optional(),
    /** 'packscope': PackScope's bootloader with its MCUboot extras; absent: the ISO 14229 sequence below. */
    extensions: z.literal('packscope').optional(),
    /** Physical request / response identifiers (11- or 29-bit). */
    txId: num('txId', 0x1fffffff).optional(),
    rxId: num('rxId', 0x1fffffff).optional(),
    /** Sessions entered before programming, in order (e.g. [3] for extended), then the programming session. */
    preSessions: z.array(num('session', 0x7f)).max(4).default([0x03]),
    programmingSession: num('programmingSession', 0x7f).default(0x02),
    /** null: the bootloader needs no security access. */
    securityAccess: z
      .object({
        /** Odd requestSeed sub-function; the key goes to level + 1. */
        level: num('securityAccess.level', 0x7d).refine((n) => n % 2 === 1, 'securityAccess.level must be odd (requestSeed)'),
        /** A name in SEED_KEY_ALGORITHMS. */
        algorithm: z.string().min(1),
      })
      .nullable()
      .default(null),
    /** null: the bootloader erases as it programs (or on RequestDownload). */
    erase: z
      .object({
        routineId: num('erase.routineId', 0xffff).default(0xff00),
        /** 'address-and-length': addressAndLengthFormatIdentifier ‖ address ‖ size; 'none': no option record. */
        record: z.enum(['address-and-length', 'none']).default('address-and-length'),
      })
      .nullable()
      .default({ routineId: 0xff00, record: 'address-and-length' }),
    /** Where a raw binary goes (Intel HEX carries its own addresses); the download's formats. */
    memory: z
      .object({
        address: num('memory.address', 0xffffffff).default(0),
        addressBytes: byteLen.default(4),
        sizeBytes: byteLen.default(4),
        /** dataFormatIdentifier of RequestDownload: 0x00 = neither compressed nor encrypted. */
        dataFormat: num('memory.dataFormat', 0xff).default(0),
      })
      .prefault({}),
    /** null: no check routine. */
    check: z
      .object({
        routineId: num('check.routineId', 0xffff).default(0xff01),
        /** What the option record carries: nothing, or the CRC-32 (IEEE, big-endian) of every segment in order. */
        record: z.enum(['none', 'crc32']).default('none'),
      })
      .nullable()
      .default({ routineId: 0xff01, record: 'none' }),
    /** Identifiers read before and after (ISO 14229-1 Annex C defaults); null to skip. */
    identifiers: z
      .object({
        softwareVersion: num('identifiers.softwareVersion', 0xffff).nullable().default(0xf195),
        serial: num('identifiers.serial', 0xffff).nullable().default(0xf18c),
      })
      .prefault({}),
    /** ECU reset at the end (null: leave the ECU in its bootloader). */
    reset: z
      .object({ type: num('reset.type', 0x7f).default(0x01) })
      .nullable()
      .default({ type: 0x01 }),
    /** Largest TransferData payload sent, whatever maxNumberOfBlockLength allows. */
    maxBlockPayload: z
      .number()
      .int()
      .min(1)
      .max(1 << 20)
      .optional(),
  })
  .strict();

export type UdsProfile = z.output<typeof UdsProfileSchema>;
export type UdsProfileInput = z.input<typeof UdsProfileSchema>;

/** Parses a profile document; errors name the field. */
export function parseUdsProfile(doc: unknown, source = 'UDS profile'): UdsProfile {
  const r = UdsProfileSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : '(document)';
    throw new PackscopeError('DECODE', `${source}: ${where}: ${issue.message}`);
  }
  return r.data;
}

export function parseUdsProfileJson(text: string, source = 'UDS profile'): UdsProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PackscopeError('DECODE', `${source} is not JSON: ${(e as Error).message}`);
  }
  return parseUdsProfile(doc, source);
}

/** The built-in profiles, by name. */
export const BUILTIN_UDS_PROFILES: Readonly<Record<string, UdsProfile>> = {
  generic: parseUdsProfile({ name: 'generic', description: 'ISO 14229-1 programming sequence with Annex F routines, no security access' }),
  packscope: parseUdsProfile({
    name: 'packscope',
    description: "PackScope's UDS bootloader: MCUboot images, FD00 firmware status, test boot, confirm and revert",
    extensions: 'packscope',
    securityAccess: { level: 1, algorithm: 'packscope-hmac' },
  }),
};

export function isPackscopeProfile(p: UdsProfile): boolean {
  return p.extensions === 'packscope';
}
