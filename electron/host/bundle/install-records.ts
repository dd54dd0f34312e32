/**
 * The installation's own signed record of every bundle component it installed or failed to
 * install (`firmware-installs.jsonl` in the config directory). An STM32 ROM or an ordinary UDS
 * bootloader signs nothing, so for those components this is the only record: the installation key
 * (Ed25519, the key diagnosis packages are signed with) signs each line over SHA-256 of a domain
 * tag and the record's canonical JSON, and every record names the SHA-256 of the line before it, so
 * a line edited, removed or reordered afterwards breaks the chain. That proves integrity after
 * signing and which installation wrote it, not what the target really holds: the target's own
 * readouts (ECU identifiers before and after, the ROM's part and how the write was verified) are
 * recorded as reported. MCUboot components of a native board are also in the board's own
 * device-signed journal; their records here say so (`attestation: 'device-journal'`).
 * The file is rewritten under a temporary name and renamed, so a reader never sees half a line.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { canonicalJson } from '../../../shared/codec/canonical-json.js';
import { PackscopeError } from '../../../shared/errors.js';
import { concatBytes, fromHex, toHex, utf8Encode } from '../../../shared/util/bytes.js';
import { configDir, type InstallationKey } from '../evidence/keystore.js';
import { fsError, writeFileAtomic } from '../util/files.js';

export const INSTALL_RECORDS_FILE = 'firmware-installs.jsonl';
const DOMAIN = 'PSFW-INSTALL-RECORD-v1\0';
const ZERO = '0'.repeat(64);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const reported = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

export const InstallRecordSchema = z
  .object({
    schema: z.literal(1),
    /** Position in this installation's history, from 1. */
    index: z.number().int().min(1),
    /** SHA-256 of the previous line (zeros for the first). */
    previous: hex64,
    time: z.iso.datetime({ offset: true }),
    release: z.object({ sequence: z.number().int().min(1), metadataSha256: hex64, vendorId: z.string(), releaseKeyId: hex64 }).strict(),
    board: z.object({ boardId: z.string(), hardwareRevision: z.string(), serial: z.string() }).strict(),
    component: z.object({ name: z.string(), target: z.string(), format: z.string(), version: z.string(), size: z.number().int(), sha256: hex64 }).strict(),
    /** Where the target is (port, ECU ids, address). */
    where: z.string(),
    outcome: z.enum(['installed', 'failed', 'reverted']),
    /** Why it failed, as the flasher said. */
    error: z.string().nullable(),
    /** What the target reported (identifiers before and after, part, verification method). */
    reported,
    /** 'device-journal': the board also signed this update into its own journal; 'installation': only this record exists. */
    attestation: z.enum(['device-journal', 'installation']),
  })
  .strict();
export type InstallRecord = z.infer<typeof InstallRecordSchema>;
export type NewInstallRecord = Omit<InstallRecord, 'schema' | 'index' | 'previous' | 'time'>;

const LineSchema = z.object({ record: InstallRecordSchema, publicKey: hex64, signature: z.string().regex(/^[0-9a-f]{128}$/) }).strict();
type Line = z.infer<typeof LineSchema>;

function message(record: InstallRecord): Uint8Array {
  return sha256(concatBytes(utf8Encode(DOMAIN), utf8Encode(canonicalJson(record, 0))));
}

function lineHash(line: string): string {
  return toHex(sha256(utf8Encode(line)));
}

function verifyEd25519(publicKey: Uint8Array, msg: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    return cryptoVerify(null, msg, key, signature);
  } catch {
    return false;
  }
}

export interface CheckedRecord {
  record: InstallRecord | null;
  /** The installation key that signed it, hex. */
  publicKey: string | null;
  /** Problems with this line (signature, chain, format); empty when it holds. */
  problems: string[];
}

export class InstallRecords {
  readonly file: string;
  constructor(
    readonly dir: string = configDir(),
    private readonly key?: () => Promise<InstallationKey>,
  ) {
    this.file = join(dir, INSTALL_RECORDS_FILE);
  }

  private lines(): string[] {
    try {
      return readFileSync(this.file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fsError(e, this.file);
    }
  }

  /** Signs and appends a record; returns it as stored. */
  async append(r: NewInstallRecord, now: Date = new Date()): Promise<InstallRecord> {
    if (!this.key) throw new PackscopeError('INTERNAL', 'install records are written with an installation key');
    const key = await this.key();
    const lines = this.lines();
    const last = lines[lines.length - 1];
    const record: InstallRecord = { schema: 1, index: lines.length + 1, previous: last ? lineHash(last) : ZERO, time: now.toISOString(), ...r };
    const line: Line = { record, publicKey: toHex(key.publicKey), signature: toHex(await key.sign(message(record))) };
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      throw fsError(e, this.dir);
    }
    writeFileAtomic(this.file, [...lines, JSON.stringify(line)].join('\n') + '\n');
    return record;
  }

  /** Every record with its signature and chain checked (a problem is reported, never repaired). */
  read(): CheckedRecord[] {
    let previous = ZERO;
    return this.lines().map((text, i) => {
      const problems: string[] = [];
      let line: Line | null = null;
      try {
        const parsed = LineSchema.safeParse(JSON.parse(text));
        if (parsed.success) line = parsed.data;
        else problems.push(`line ${i + 1} does not match the record schema`);
      } catch {
        problems.push(`line ${i + 1} is not JSON`);
      }
      if (line) {
        if (line.record.index !== i + 1) problems.push(`line ${i + 1} says it is record ${line.record.index} (a record was removed or moved)`);
        if (line.record.previous !== previous) problems.push(`line ${i + 1} does not follow the line before it (the history was edited)`);
        if (!verifyEd25519(fromHex(line.publicKey), message(line.record), fromHex(line.signature))) {
          problems.push(`line ${i + 1}: the installation signature does not verify`);
        }
      }
      previous = lineHash(text);
      return { record: line?.record ?? null, publicKey: line?.publicKey ?? null, problems };
    });
  }
}
