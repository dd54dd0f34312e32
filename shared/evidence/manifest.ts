/**
 * manifest.json of a diagnosis package: what the package is, where its data came from, which
 * policy decided it, and every payload file with its size and SHA-256. It is itself listed in
 * SHA256SUMS, so the installation-key signatures cover it.
 */
import { z } from 'zod';
import { DecodeError } from '../errors.js';
import { utf8Decode } from '../util/bytes.js';
import { formatPath } from '../util/json-path.js';
import { VerdictSchema } from '../warranty/evaluation.js';

export const MANIFEST_SCHEMA_ID = 'packscope-diagnosis/1';

/** Files that are not in the manifest's list: the manifest itself and what signs it. */
export const SIGNATURE_FILES = ['SHA256SUMS', 'SHA256SUMS.sig', 'SHA256SUMS.sshsig'] as const;
export const MANIFEST_FILE = 'manifest.json';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const ManifestSchema = z.strictObject({
  schema: z.literal(MANIFEST_SCHEMA_ID),
  tool: z.strictObject({ name: z.literal('packscope'), version: z.string().min(1).max(50) }),
  createdAt: z.iso.datetime(),
  device: z.strictObject({
    serial: z.string().max(100),
    model: z.string().max(100),
    firmwareVersion: z.string().max(100).nullable(),
    hardwareRevision: z.string().max(100).nullable(),
    /** SHA-256 (hex) of the device public key's DER SPKI; null for desktop recordings. */
    publicKeyFingerprint: hex64.nullable(),
    source: z.enum(['device', 'desktop']),
  }),
  installKey: z.strictObject({
    algorithm: z.literal('ed25519'),
    /** OpenSSH fingerprint (SHA256:…), as ssh-keygen prints it. */
    fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/),
    /** Principal used in keys/allowed_signers and VERIFY.txt. */
    identity: z.string().regex(/^[A-Za-z0-9._@-]{1,100}$/),
  }),
  policy: z.strictObject({ id: z.string().max(100), sha256: hex64 }),
  claim: z.strictObject({ serial: z.string().max(100), remedy: z.enum(['repair', 'replacement', 'consultation']) }),
  verdict: z.strictObject({
    verdict: VerdictSchema,
    summary: z.string().max(10_000),
    excludedBy: z.array(z.string().max(64)),
  }),
  log: z.strictObject({
    records: z.number().int().min(0),
    segments: z.number().int().min(0),
    from: z.string().nullable(),
    to: z.string().nullable(),
  }),
  files: z
    .array(z.strictObject({ name: z.string().min(1).max(255), size: z.number().int().min(0), sha256: hex64 }))
    .min(1)
    .max(10_000),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export function parseManifest(bytes: Uint8Array): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(utf8Decode(bytes));
  } catch (e) {
    throw new DecodeError(`manifest.json is not JSON: ${(e as Error).message}`);
  }
  const r = ManifestSchema.safeParse(json);
  if (!r.success) {
    throw new DecodeError(
      `manifest.json does not match ${MANIFEST_SCHEMA_ID}: ` + r.error.issues.map((i) => `${formatPath(i.path) || '(document)'}: ${i.message}`).join('; '),
    );
  }
  return r.data;
}
