import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';
import { canonicalJson } from '../codec/canonical-json.js';
import { DEFAULT_ZIP_LIMITS, readZipFiles } from '../codec/zip.js';
import { writeZip } from '../codec/zip-write.js';
import { PackscopeError } from '../errors.js';
import { parseSpki, type PrivateKey, type PublicKey } from '../image/firmware-keys.js';
import { signDigest, verifyDigest } from '../image/sign.js';
import { decodeImageFile, formatVersion, boardIdOf, securityCounterOf } from '../image/index.js';
import { fromHex, toHex, utf8Decode, utf8Encode } from '../util/bytes.js';
import { BundleMetadataSchema, type BundleComponent, type BundleMetadata, type BundleMetadataInput } from './metadata.js';

/**
 * The .psfw container and its checks. A bundle is a ZIP with:
 *   metadata.json   the metadata (metadata.ts) as canonical JSON: the exact bytes signed;
 *   signature.json  the release key's certificate (signed by a root key) and the release key's
 *                   signature over metadata.json;
 *   images/<name>   one file per component, bound to the metadata by size and SHA-256.
 * Signatures are over SHA-256 of a domain tag ‖ the bytes, so a certificate can never pass for
 * metadata or the reverse. `checkBundle` makes every decision that needs no board (trust chain,
 * revocation, signature, expiry, images); `checkBundleForBoard` adds the board and the sequence
 * numbers seen before. Both throw a BundleRefusal naming the reason, before anything is written.
 */
const CERT_DOMAIN = 'PSFW-RELEASE-KEY-CERT-v1\0';
const META_DOMAIN = 'PSFW-METADATA-v1\0';

export const REFUSAL_REASONS = [
  'malformed',
  'untrusted_key',
  'revoked_key',
  'bad_signature',
  'expired',
  'wrong_vendor',
  'wrong_board',
  'wrong_hardware_revision',
  'sequence_too_low',
  'sequence_reused',
  'component_mismatch',
  'precondition',
  /** A component's target (ECU, ROM) reports another part or image constraint than the component fits. */
  'target_mismatch',
  /** A component's target does not answer, or no port to it was given. */
  'target_unavailable',
] as const;
export type BundleRefusalReason = (typeof REFUSAL_REASONS)[number];

export class BundleRefusal extends PackscopeError {
  constructor(
    readonly reason: BundleRefusalReason,
    message: string,
  ) {
    super('REFUSED', `bundle refused: ${message}`, { reason });
    this.name = 'BundleRefusal';
  }
}

const hexStr = z.string().regex(/^[0-9a-f]+$/);
const CertBodySchema = z
  .object({
    kind: z.literal('psfw-release-key'),
    vendorId: z.string().min(1).max(64),
    /** DER SubjectPublicKeyInfo of the release key, hex. */
    publicKey: hexStr,
    /** SHA-256 of the root key's SPKI, hex. */
    rootKeyId: z.string().regex(/^[0-9a-f]{64}$/),
    notBefore: z.iso.datetime({ offset: true }),
    notAfter: z.iso.datetime({ offset: true }),
  })
  .strict();
export type ReleaseKeyCertificateBody = z.infer<typeof CertBodySchema>;

const SigSchema = z.object({ type: z.number().int(), value: hexStr }).strict();
export const ReleaseKeyCertificateSchema = z.object({ body: CertBodySchema, signature: SigSchema }).strict();
export type ReleaseKeyCertificate = z.infer<typeof ReleaseKeyCertificateSchema>;

const SignatureFileSchema = z.object({ certificate: ReleaseKeyCertificateSchema, signature: SigSchema }).strict();

/** The id of a key: SHA-256 of its SPKI, hex (MCUboot's KEYHASH). */
export function keyId(key: PublicKey): string {
  return toHex(key.keyHash);
}

function digest(domain: string, bytes: Uint8Array): Uint8Array {
  const tag = utf8Encode(domain);
  const all = new Uint8Array(tag.length + bytes.length);
  all.set(tag);
  all.set(bytes, tag.length);
  return sha256(all);
}

function certBytes(body: ReleaseKeyCertificateBody): Uint8Array {
  return utf8Encode(canonicalJson(body, 0));
}

/** A root key certifies a release key for a vendor and a validity window. */
export function certifyReleaseKey(root: PrivateKey, release: PublicKey, o: { vendorId: string; notBefore: Date; notAfter: Date }): ReleaseKeyCertificate {
  const body: ReleaseKeyCertificateBody = {
    kind: 'psfw-release-key',
    vendorId: o.vendorId,
    publicKey: toHex(release.spki),
    rootKeyId: keyId(root.publicKey),
    notBefore: o.notBefore.toISOString(),
    notAfter: o.notAfter.toISOString(),
  };
  const sig = signDigest(root, digest(CERT_DOMAIN, certBytes(body)));
  return { body, signature: { type: sig.type, value: toHex(sig.value) } };
}

export function parseCertificate(doc: unknown, source = 'certificate'): ReleaseKeyCertificate {
  const r = ReleaseKeyCertificateSchema.safeParse(doc);
  if (!r.success) throw new PackscopeError('DECODE', `${source}: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`.trim());
  return r.data;
}

export interface BundleImage {
  name: string;
  bytes: Uint8Array;
}

/** Builds and signs a bundle. Component size and SHA-256 are computed from the images given. */
export function createBundle(o: {
  metadata: Omit<BundleMetadataInput, 'components'> & { components: Array<Omit<BundleComponent, 'size' | 'sha256'>> };
  images: BundleImage[];
  releaseKey: PrivateKey;
  certificate: ReleaseKeyCertificate;
}): Uint8Array {
  if (o.certificate.body.publicKey !== toHex(o.releaseKey.publicKey.spki)) {
    throw new PackscopeError('USAGE', 'the certificate is for another release key than the one signing');
  }
  const byName = new Map(o.images.map((i) => [i.name, i.bytes]));
  const components = o.metadata.components.map((c) => {
    const bytes = byName.get(c.name);
    if (!bytes) throw new PackscopeError('USAGE', `component '${c.name}' has no image`);
    return { ...c, size: bytes.length, sha256: toHex(sha256(bytes)) };
  });
  if (byName.size !== components.length) throw new PackscopeError('USAGE', 'every image must be a component of the metadata');
  const parsed = BundleMetadataSchema.safeParse({ ...o.metadata, components });
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new PackscopeError('USAGE', `bundle metadata: ${i.path.join('.') || '(document)'}: ${i.message}`);
  }
  if (parsed.data.vendorId !== o.certificate.body.vendorId) {
    throw new PackscopeError('USAGE', `the release key is certified for vendor '${o.certificate.body.vendorId}', not '${parsed.data.vendorId}'`);
  }
  for (const c of parsed.data.components) checkComponentImage(c, byName.get(c.name)!);
  const metaBytes = utf8Encode(canonicalJson(parsed.data));
  const sig = signDigest(o.releaseKey, digest(META_DOMAIN, metaBytes));
  const files = new Map<string, Uint8Array>([
    ['metadata.json', metaBytes],
    ['signature.json', utf8Encode(canonicalJson({ certificate: o.certificate, signature: { type: sig.type, value: toHex(sig.value) } }))],
  ]);
  for (const c of parsed.data.components) files.set(`images/${c.name}`, byName.get(c.name)!);
  return writeZip(files, { level: 6 });
}

export interface OpenedBundle {
  metadata: BundleMetadata;
  /** SHA-256 of metadata.json: the release's identity. */
  metadataSha256: string;
  certificate: ReleaseKeyCertificate;
  releaseKeyId: string;
  images: Map<string, Uint8Array>;
  /** Unchecked until checkBundle: the raw parts. */
  raw: { metadataBytes: Uint8Array; signature: { type: number; value: string } };
}

function jsonOf(bytes: Uint8Array | undefined, what: string): unknown {
  if (!bytes) throw new BundleRefusal('malformed', `it has no ${what}`);
  try {
    return JSON.parse(utf8Decode(bytes));
  } catch {
    throw new BundleRefusal('malformed', `its ${what} is not JSON`);
  }
}

/** Reads the container (safe ZIP reading); nothing is trusted yet. */
export function openBundle(bytes: Uint8Array): OpenedBundle {
  let files: Map<string, Uint8Array>;
  try {
    files = readZipFiles(bytes, { ...DEFAULT_ZIP_LIMITS, maxEntries: 64, maxTotalBytes: 64 * 1024 * 1024, maxEntryBytes: 32 * 1024 * 1024 });
  } catch (e) {
    throw new BundleRefusal('malformed', `not a readable .psfw archive (${(e as Error).message})`);
  }
  const metadataBytes = files.get('metadata.json');
  const meta = BundleMetadataSchema.safeParse(jsonOf(metadataBytes, 'metadata.json'));
  if (!meta.success) {
    const i = meta.error.issues[0]!;
    throw new BundleRefusal('malformed', `metadata.json: ${i.path.join('.') || '(document)'}: ${i.message}`);
  }
  const sigFile = SignatureFileSchema.safeParse(jsonOf(files.get('signature.json'), 'signature.json'));
  if (!sigFile.success) throw new BundleRefusal('malformed', 'signature.json does not match its schema');
  const images = new Map<string, Uint8Array>();
  for (const [name, data] of files) {
    if (name === 'metadata.json' || name === 'signature.json' || name.endsWith('/')) continue;
    if (!name.startsWith('images/')) throw new BundleRefusal('malformed', `unexpected file '${name}' in the bundle`);
    images.set(name.slice(7), data);
  }
  let releaseKeyId: string;
  try {
    releaseKeyId = keyId(parseSpki(fromHex(sigFile.data.certificate.body.publicKey)));
  } catch {
    throw new BundleRefusal('malformed', 'the release key in the certificate is not a key PackScope reads');
  }
  return {
    metadata: meta.data,
    metadataSha256: toHex(sha256(metadataBytes!)),
    certificate: sigFile.data.certificate,
    releaseKeyId,
    images,
    raw: { metadataBytes: metadataBytes!, signature: sigFile.data.signature },
  };
}

/** An MCUboot component must carry what the metadata says (version, counter); any image its size and digest. */
function checkComponentImage(c: BundleComponent, bytes: Uint8Array): void {
  if (bytes.length !== c.size || toHex(sha256(bytes)) !== c.sha256) {
    throw new BundleRefusal('component_mismatch', `component '${c.name}' does not match the metadata's size and SHA-256 (an image from another release?)`);
  }
  if (c.format !== 'mcuboot') return;
  let img;
  try {
    img = decodeImageFile(bytes).image;
  } catch (e) {
    throw new BundleRefusal('component_mismatch', `component '${c.name}' is not an MCUboot image: ${(e as Error).message}`);
  }
  const version = formatVersion(img.version);
  if (version !== c.version && version.replace(/\+0$/, '') !== c.version) {
    throw new BundleRefusal('component_mismatch', `component '${c.name}' is version ${version}, the metadata says ${c.version}`);
  }
  if ((securityCounterOf(img) ?? 0) !== c.securityCounter) {
    throw new BundleRefusal(
      'component_mismatch',
      `component '${c.name}' has security counter ${securityCounterOf(img) ?? 0}, the metadata says ${c.securityCounter}`,
    );
  }
}

export interface BundleTrust {
  /** Root keys that certify release keys. */
  roots: PublicKey[];
  /** Release (or root) key ids no longer trusted. */
  revoked: ReadonlySet<string>;
}

/** Trust chain, revocation, signature, expiry and images: everything that needs no board. */
export function checkBundle(b: OpenedBundle, trust: BundleTrust, now: Date): void {
  const cert = b.certificate.body;
  const root = trust.roots.find((r) => keyId(r) === cert.rootKeyId);
  if (!root)
    throw new BundleRefusal('untrusted_key', `its release key is certified by root ${cert.rootKeyId.slice(0, 16)}…, which this installation does not trust`);
  if (trust.revoked.has(cert.rootKeyId)) throw new BundleRefusal('revoked_key', `root key ${cert.rootKeyId.slice(0, 16)}… is revoked`);
  const certOk = verifyDigest(root, b.certificate.signature.type, fromHex(b.certificate.signature.value), digest(CERT_DOMAIN, certBytes(cert)));
  if (!certOk) throw new BundleRefusal('untrusted_key', 'the release key certificate does not verify with the root key it names');
  if (trust.revoked.has(b.releaseKeyId)) throw new BundleRefusal('revoked_key', `release key ${b.releaseKeyId.slice(0, 16)}… is revoked`);
  const t = now.getTime();
  if (t < Date.parse(cert.notBefore) || t > Date.parse(cert.notAfter)) {
    throw new BundleRefusal('untrusted_key', `the release key is certified from ${cert.notBefore} to ${cert.notAfter}, not now (${now.toISOString()})`);
  }
  const release = parseSpki(fromHex(cert.publicKey));
  if (!verifyDigest(release, b.raw.signature.type, fromHex(b.raw.signature.value), digest(META_DOMAIN, b.raw.metadataBytes))) {
    throw new BundleRefusal('bad_signature', 'the metadata signature does not verify with the certified release key');
  }
  const m = b.metadata;
  if (m.vendorId !== cert.vendorId)
    throw new BundleRefusal('wrong_vendor', `the metadata is for vendor '${m.vendorId}', the release key is certified for '${cert.vendorId}'`);
  if (t > Date.parse(m.expires)) throw new BundleRefusal('expired', `the release metadata expired on ${m.expires}`);
  if (b.images.size !== m.components.length) throw new BundleRefusal('component_mismatch', 'the bundle holds images the metadata does not list');
  for (const c of m.components) {
    const bytes = b.images.get(c.name);
    if (!bytes) throw new BundleRefusal('component_mismatch', `component '${c.name}' has no image in the bundle`);
    checkComponentImage(c, bytes);
  }
}

export interface BoardFacts {
  boardId: string;
  hardwareRevision: string;
  serial: string;
}

/** The last release an installation or a board accepted. */
export interface SeenRelease {
  sequence: number;
  metadataSha256: string;
}

/** Board, hardware revision, MCUboot board ids, and the sequence numbers seen before. */
export function checkBundleForBoard(b: OpenedBundle, board: BoardFacts, seen: { installation: SeenRelease | null; board: SeenRelease | null }): void {
  const m = b.metadata;
  const fit = m.boards.find((x) => x.boardId === board.boardId);
  if (!fit) throw new BundleRefusal('wrong_board', `it fits ${m.boards.map((x) => x.boardId).join(', ')}, the connected board is '${board.boardId}'`);
  if (!fit.hardwareRevisions.includes(board.hardwareRevision)) {
    throw new BundleRefusal(
      'wrong_hardware_revision',
      `it fits hardware revision ${fit.hardwareRevisions.join(', ')} of ${board.boardId}, the board is revision ${board.hardwareRevision}`,
    );
  }
  // MCUboot images for the board's own slots carry its board id; an ECU's image is checked against that ECU's status.
  for (const c of m.components) {
    if (c.format !== 'mcuboot' || c.target.kind !== 'mcuboot') continue;
    const id = boardIdOf(decodeImageFile(b.images.get(c.name)!).image);
    if (id !== board.boardId)
      throw new BundleRefusal('component_mismatch', `component '${c.name}' is signed for board '${id ?? 'none'}', not '${board.boardId}'`);
  }
  for (const [who, s] of [
    ['this installation', seen.installation],
    ['this board', seen.board],
  ] as const) {
    if (!s) continue;
    if (m.sequence < s.sequence) {
      throw new BundleRefusal(
        'sequence_too_low',
        `its release sequence ${m.sequence} is lower than ${s.sequence}, which ${who} has already seen (rollback blocked)`,
      );
    }
    if (m.sequence === s.sequence && b.metadataSha256 !== s.metadataSha256) {
      throw new BundleRefusal('sequence_reused', `release sequence ${m.sequence} was seen by ${who} with other metadata`);
    }
  }
}
