/**
 * Diagnosis packages on disk: create (assemble, sign with the installation key, write the ZIP to a
 * temp name and rename) and verify (read, vet, check everything) — the host half of
 * shared/evidence/package.ts, used by the CLI and the app's Claim and Verify screens.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import { type DeviceEvidenceParts, decodeDeviceEvidence, deviceFiles } from '../../../shared/evidence/blackbox-evidence.js';
import type { Claim } from '../../../shared/warranty/claim.js';
import type { Evaluation } from '../../../shared/warranty/evaluation.js';
import type { Manifest } from '../../../shared/evidence/manifest.js';
import { assemblePackage, verifyPackage, type PackageVerification } from '../../../shared/evidence/package.js';
import type { WarrantyPolicy } from '../../../shared/warranty/policy.js';
import { MAX_PHOTO_BYTES, MAX_PHOTOS, photoKind, type PhotoKind } from '../../../shared/evidence/photos.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { writeFileAtomic } from '../util/files.js';
import { packageVersion } from '../util/package-root.js';
import { readInput } from './files.js';
import type { InstallationKeyStore } from './keystore.js';
import { hostSignatureVerifier } from './fast-verify.js';

/** node:crypto SHA-256 (OpenSSL): verification hashes every byte of a package at least once. */
export const hostSha256 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(data).digest());

/** Largest package `package verify` reads. */
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
  parts: DeviceEvidenceParts;
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

export async function createPackageFile(o: CreatePackageOptions): Promise<CreatedPackage> {
  const files = deviceFiles(o.parts);
  const evidence = decodeDeviceEvidence(files, { rootPublicKeyPem: null }, hostSignatureVerifier());
  const key = await o.keyStore.load();
  const {
    files: pkg,
    evaluation,
    manifest,
  } = await assemblePackage({
    evidence,
    deviceFiles: files,
    claim: o.claim,
    policy: o.policy,
    photos: o.photos ?? [],
    createdAt: o.createdAt ?? new Date(),
    toolVersion: toolVersion(),
    signer: { publicKey: key.publicKey, sign: (m) => key.sign(m) },
    ticket: o.ticket ?? null,
  });
  const zip = writeZip(pkg);
  writeFileAtomic(o.out, zip);
  return { path: o.out, bytes: zip.length, sha256: createHash('sha256').update(zip).digest('hex'), evaluation, manifest };
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

export async function verifyPackageBytes(zip: Uint8Array, trust: VerifierTrust | string): Promise<PackageVerification> {
  const t: VerifierTrust = typeof trust === 'string' ? { rootPem: trust } : trust;
  return verifyPackage(zip, {
    rootPublicKeyPem: t.rootPem,
    decoder: { decode: (files, tr) => decodeDeviceEvidence(files, tr, hostSignatureVerifier(), hostSha256) },
    toolVersion: toolVersion(),
    sha256: hostSha256,
    ...(t.policy ? { policy: t.policy } : {}),
    ...(t.policyBySha256 ? { policyBySha256: t.policyBySha256 } : {}),
    ...(t.ticketKey ? { ticketKey: t.ticketKey } : {}),
    ...(t.ticket ? { ticket: t.ticket } : {}),
    ...(t.installKeys ? { installKeys: t.installKeys } : {}),
  });
}

/** Reads a root key PEM, refusing anything else with a usage error. */
export function readRootPem(rootPemPath: string): string {
  const root = new TextDecoder().decode(readInput(rootPemPath, 'root key', 64 * 1024));
  if (!root.includes('-----BEGIN PUBLIC KEY-----')) throw new PackscopeError('USAGE', `${rootPemPath} is not a PEM public key`);
  return root;
}

export async function verifyPackageFile(path: string, trust: (VerifierTrust & { rootPemPath?: string }) | string): Promise<PackageVerification> {
  const t: VerifierTrust = typeof trust === 'string' ? { rootPem: readRootPem(trust) } : trust;
  return verifyPackageBytes(readInput(path, 'package', MAX_PACKAGE_BYTES), t);
}
