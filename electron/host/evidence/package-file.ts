/**
 * Diagnosis packages on disk: create (assemble, sign with the installation key, write the ZIP to a
 * temp name and rename) and verify (read, vet, check everything) — the host half of
 * shared/evidence/package.ts, used by the CLI and the app's Claim and Verify screens.
 */
import * as nodeCrypto from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { zlibInflater } from './zlib-inflate.js';
import { basename } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import { type StreamedEvidenceParts, DEVICE_FILES, DeviceEvidenceStream, deviceFiles } from '../../../shared/evidence/blackbox-evidence.js';
import type { EvidenceDecoder } from '../../../shared/evidence/device-evidence.js';
import type { Claim } from '../../../shared/warranty/claim.js';
import type { Evaluation } from '../../../shared/warranty/evaluation.js';
import type { Manifest } from '../../../shared/evidence/manifest.js';
import { type HashFactory, writePackage } from '../../../shared/evidence/package.js';
import {
  PACKAGE_ZIP_LIMITS,
  verifyPackage,
  verifyPackageSource,
  type PackageVerification,
  type VerifyOptions,
} from '../../../shared/evidence/package-verify.js';
import type { WarrantyPolicy } from '../../../shared/warranty/policy.js';
import { MAX_PHOTO_BYTES, MAX_PHOTOS, photoKind, type PhotoKind } from '../../../shared/evidence/photos.js';
import { ZipStreamWriter } from '../../../shared/codec/zip-write.js';
import { bytesSource, type ByteSource, type ZipCodecs } from '../../../shared/codec/zip.js';
import { fileSource, sourceChunks, writeStreamedFile, zlibDeflater } from './file-io.js';
import { packageVersion } from '../util/package-root.js';
import { readInput } from './files.js';
import type { InstallationKeyStore } from './keystore.js';
import { hostSignatureVerifier } from './fast-verify.js';

const { createHash } = nodeCrypto;
/** node:crypto's one-shot digest (Node 20.12 and later; looked up, so older runtimes take createHash): no Hash object per call. */
const oneShot = typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash : null;

/**
 * node:crypto SHA-256 (OpenSSL): verification hashes every byte of a package at least once, and
 * every segment of the log on its own (a 1 GiB ring is 262,144 calls), where the one-shot form
 * saves a third of the time a Hash object per segment costs.
 */
export const hostSha256 = oneShot
  ? (data: Uint8Array): Uint8Array => {
      const d = oneShot('sha256', data, 'buffer');
      return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    }
  : (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(data).digest());

/** The same, incremental. */
export const hostHashFactory: HashFactory = () => {
  const h = createHash('sha256');
  return {
    update: (data: Uint8Array) => h.update(data),
    digest: () => new Uint8Array(h.digest()),
  };
};

/** zlib's CRC-32 (several times the portable one's speed): every inflated byte of a package passes it. */
const hostCrc32 = (data: Uint8Array, previous: number): number => zlibCrc32(data, previous);

/** Native CRC-32 and inflate for reading packages. */
export const HOST_ZIP_CODECS: ZipCodecs = { crc32: hostCrc32, inflater: zlibInflater };

/** The device-evidence decoder with node:crypto's ECDSA and SHA-256. */
export const hostEvidenceDecoder: EvidenceDecoder = {
  open: (files, trust, sink, o) => new DeviceEvidenceStream(files, trust, sink, { ...o, verify: hostSignatureVerifier(), hash: hostSha256 }),
};

/**
 * Largest package held in memory (the app's Verify screen reads the package it shows); `package
 * verify` of a file streams it, up to what ZIP without ZIP64 can address.
 */
export const MAX_PACKAGE_BYTES = 2 ** 31;

export function toolVersion(): string {
  try {
    return packageVersion();
  } catch {
    return '0.0.0';
  }
}

export function readPhotos(paths: readonly string[]): { name: string; data: Uint8Array; kind: PhotoKind }[] {
  if (paths.length > MAX_PHOTOS) throw new PackscopeError('USAGE', `at most ${MAX_PHOTOS} photos, got ${paths.length}`);
  return paths.map((p) => {
    const data = readInput(p, 'photo', MAX_PHOTO_BYTES);
    const kind = photoKind(data);
    if (!kind) throw new PackscopeError('USAGE', `photo ${p} is not a JPEG, PNG, WebP or HEIC image`);
    return { name: basename(p), data, kind };
  });
}

export interface CreatePackageOptions {
  parts: StreamedEvidenceParts;
  claim: Claim;
  policy: WarrantyPolicy;
  photos?: { name: string; data: Uint8Array }[];
  out: string;
  keyStore: InstallationKeyStore;
  createdAt?: Date;
  /** The supplier's claim ticket file the log was pulled with (bytes as issued). */
  ticket?: Uint8Array | null;
}

export interface CreatedPackage {
  path: string;
  bytes: number;
  sha256: string;
  evaluation: Evaluation;
  manifest: Manifest;
}

/**
 * Makes the package and writes it streaming: the log's segments are read in chunks (from memory,
 * or from the .pslog on disk when the parts come from evidenceFromPslog), the ZIP is written entry
 * by entry under a temporary name and renamed into place. Peak memory does not grow with the log.
 */
export async function createPackageFile(o: CreatePackageOptions): Promise<CreatedPackage> {
  const small = deviceFiles({ ...o.parts, segments: new Uint8Array(0) });
  small.delete(DEVICE_FILES.segments);
  const src: ByteSource = o.parts.segments instanceof Uint8Array ? bytesSource(o.parts.segments) : o.parts.segments;
  const key = await o.keyStore.load();
  let made: { evaluation: Evaluation; manifest: Manifest } | null = null;
  const bytes = await writeStreamedFile(o.out, async (sink) => {
    const zip = new ZipStreamWriter(sink, { deflater: zlibDeflater, crc32: hostCrc32 });
    made = await writePackage(
      {
        deviceFiles: small,
        segments: () => sourceChunks(src),
        decoder: hostEvidenceDecoder,
        hash: hostHashFactory,
        claim: o.claim,
        policy: o.policy,
        photos: o.photos ?? [],
        createdAt: o.createdAt ?? new Date(),
        toolVersion: toolVersion(),
        signer: { publicKey: key.publicKey, sign: (m) => key.sign(m) },
        ticket: o.ticket ?? null,
      },
      zip,
    );
    zip.finish();
  });
  // The file's SHA-256, from the file as written (patched headers included).
  const sha256 = sourceSha256(fileSource(o.out, 'package'));
  const { evaluation, manifest } = made!;
  return { path: o.out, bytes, sha256, evaluation, manifest };
}

/** What the supplier brings to a verification (every field optional except the root). */
export interface VerifierTrust {
  rootPem: string;
  policy?: WarrantyPolicy | null;
  /** The verifier's policy store (its copies by SHA-256). */
  policyBySha256?: (sha256: string) => WarrantyPolicy | null;
  ticketKey?: Uint8Array | null;
  ticket?: Uint8Array | null;
  installKeys?: readonly Uint8Array[];
}

function verifyOptions(t: VerifierTrust): VerifyOptions {
  return {
    rootPublicKeyPem: t.rootPem,
    decoder: hostEvidenceDecoder,
    toolVersion: toolVersion(),
    hash: hostHashFactory,
    ...HOST_ZIP_CODECS,
    bytesEqual: (a, b) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b),
    ...(t.policy ? { policy: t.policy } : {}),
    ...(t.policyBySha256 ? { policyBySha256: t.policyBySha256 } : {}),
    ...(t.ticketKey ? { ticketKey: t.ticketKey } : {}),
    ...(t.ticket ? { ticket: t.ticket } : {}),
    ...(t.installKeys ? { installKeys: t.installKeys } : {}),
  };
}

/** Verifies a package already in memory. */
export async function verifyPackageBytes(zip: Uint8Array, trust: VerifierTrust | string): Promise<PackageVerification> {
  return verifyPackage(zip, verifyOptions(typeof trust === 'string' ? { rootPem: trust } : trust));
}

/** Reads a root key PEM, refusing anything else with a usage error. */
export function readRootPem(rootPemPath: string): string {
  const root = new TextDecoder().decode(readInput(rootPemPath, 'root key', 64 * 1024));
  if (!root.includes('-----BEGIN PUBLIC KEY-----')) throw new PackscopeError('USAGE', `${rootPemPath} is not a PEM public key`);
  return root;
}

/**
 * Verifies a package file, streaming it (the service function the CLI and the app use): range
 * reads through the file (its path, or a fileSource already open on it), so a package of any size
 * is checked in bounded memory. `trust` is the supplier's root key PEM file's path, or everything
 * the supplier brings.
 */
export async function verifyPackageFile(
  path: string | ByteSource,
  trust: VerifierTrust | string,
  extra: Pick<VerifyOptions, 'onRecords'> = {},
): Promise<PackageVerification> {
  const t: VerifierTrust = typeof trust === 'string' ? { rootPem: readRootPem(trust) } : trust;
  const src = typeof path === 'string' ? fileSource(path, 'package') : path;
  return verifyPackageSource(src, { ...verifyOptions(t), limits: PACKAGE_ZIP_LIMITS, ...extra });
}

/** SHA-256 (hex) of a source read start to end in pieces. */
export function sourceSha256(src: ByteSource): string {
  const h = createHash('sha256');
  for (const chunk of sourceChunks(src)) h.update(chunk);
  return h.digest('hex');
}
