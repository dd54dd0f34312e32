import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import { decodeDeviceEvidence } from '../../../shared/evidence/blackbox-evidence.js';
import { DEVICE_DIR, PHOTO_DIR } from '../../../shared/evidence/package.js';
import { MAX_PHOTO_BYTES, photoKind } from '../../../shared/evidence/photos.js';
import { parseSha256Sums } from '../../../shared/evidence/sha256sums.js';
import { openZip } from '../../../shared/evidence/zip.js';
import type { Res } from '../../../shared/api/contract.js';
import { hostSignatureVerifier } from '../evidence/fast-verify.js';
import { createPackageFile } from '../evidence/package-file.js';
import { evidenceFromPslog } from '../evidence/sources.js';
import type { InstallationKeyStore } from '../evidence/keystore.js';
import { deviceFiles } from '../../../shared/evidence/blackbox-evidence.js';
import { DEFAULT_POLICY } from '../../../shared/evidence/default-policy.js';
import { evaluateEvidence } from '../../../shared/evidence/package.js';
import type { Claim } from '../../../shared/evidence/claim.js';
import { MAX_PACKAGE_BYTES, readPhotos, verifyPackageBytes } from '../evidence/package-file.js';
import { recordsToSeries } from './series.js';

async function readHostFile(path: string, what: string, max: number): Promise<Uint8Array> {
  try {
    const b = new Uint8Array(await readFile(path));
    if (b.length > max) throw new PackscopeError('REFUSED', `${what} ${path} is larger than ${max} bytes`);
    return b;
  } catch (e) {
    if (e instanceof PackscopeError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new PackscopeError(code === 'ENOENT' ? 'NOT_FOUND' : code === 'EACCES' ? 'PERMISSION' : 'IO', `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/**
 * Verifies a diagnosis package the way `packscope package verify` does (every hash, both
 * signatures, manifest, certificate chain to the supplier root, segment signatures and chain,
 * CSVs, evaluation recomputed), and adds the decoded records as chart series for the Verify screen.
 */
export async function verifyPackageForScreen(path: string, rootKeyPath: string): Promise<Res<'package.verify'>> {
  const root = new TextDecoder().decode(await readHostFile(rootKeyPath, 'root key', 64 * 1024));
  if (!root.includes('-----BEGIN PUBLIC KEY-----')) throw new PackscopeError('USAGE', `${rootKeyPath} is not a PEM public key (the supplier's manufacturing root)`);
  const zip = await readHostFile(path, 'package', MAX_PACKAGE_BYTES);
  const v = await verifyPackageBytes(zip, root);
  let series: Res<'package.verify'>['series'] = null;
  let photos: Res<'package.verify'>['photos'] = [];
  if (v.checks.some((c) => c.id === 'archive' && c.ok)) {
    try {
      const files = new Map<string, Uint8Array>();
      const archive = openZip(zip);
      photos = archive.entries.filter((e) => e.name.startsWith(PHOTO_DIR)).map((e) => ({ name: e.name, bytes: e.size }));
      for (const e of archive.entries) if (e.name.startsWith(DEVICE_DIR)) files.set(e.name.slice(DEVICE_DIR.length), archive.read(e));
      series = recordsToSeries(decodeDeviceEvidence(files, { rootPublicKeyPem: null }, hostSignatureVerifier(files)).records);
    } catch {
      series = null; // the checks already say why the device data is unusable
    }
  }
  return {
    path,
    ok: v.ok,
    line: v.line,
    checks: v.checks,
    manifest: v.manifest,
    claim: v.claim,
    // Evaluation has no index signature; its shape is what evaluationView describes.
    evaluation: v.evaluation as unknown as Res<'package.verify'>['evaluation'],
    series,
    photos,
    sha256: createHash('sha256').update(zip).digest('hex'),
  };
}

/**
 * One photo of a package, for the Verify screen. `sha256` is the package the screen verified: a
 * file changed on disk since then is refused, and the photo must match its SHA256SUMS line, so
 * what is shown is what the signatures covered.
 */
export async function packagePhoto(path: string, name: string, sha256: string): Promise<Res<'package.photo'>> {
  const zip = await readHostFile(path, 'package', MAX_PACKAGE_BYTES);
  if (createHash('sha256').update(zip).digest('hex') !== sha256) throw new PackscopeError('REFUSED', `${path} has changed since it was verified; verify it again`);
  const archive = openZip(zip);
  const find = (n: string) => archive.entries.find((e) => e.name === n);
  const entry = find(name);
  const sums = find('SHA256SUMS');
  if (!entry || !sums) throw new PackscopeError('NOT_FOUND', `${basename(path)} holds no ${name}`);
  if (entry.size > MAX_PHOTO_BYTES) throw new PackscopeError('REFUSED', `${name} is larger than ${MAX_PHOTO_BYTES} bytes`);
  const data = archive.read(entry);
  const listed = parseSha256Sums(archive.read(sums)).find((l) => l.name === name);
  if (!listed || listed.sha256 !== createHash('sha256').update(data).digest('hex')) throw new PackscopeError('VERIFY_FAILED', `${name} does not match SHA256SUMS`);
  const kind = photoKind(data);
  if (!kind) throw new PackscopeError('VERIFY_FAILED', `${name} is not a JPEG, PNG, WebP or HEIC image`);
  return { name, kind, base64: Buffer.from(data).toString('base64') };
}

/** A photo the customer wants to attach: checked (image by content, size) before the claim is built. */
export function inspectPhoto(path: string): Res<'photo.inspect'> {
  const { name, data, kind } = readPhotos([path])[0]!;
  return { path, name, bytes: data.length, kind };
}

/** The claim's evaluation from a pulled .pslog and the default policy, before anything is signed. */
export async function evaluateClaim(logPath: string, claim: Claim): Promise<Res<'claim.evaluate'>> {
  const parts = await evidenceFromPslog(logPath);
  const files = deviceFiles(parts);
  const evidence = decodeDeviceEvidence(files, { rootPublicKeyPem: null }, hostSignatureVerifier(files));
  const evaluation = evaluateEvidence(evidence, DEFAULT_POLICY, claim, new Date().toISOString());
  return {
    device: { model: evidence.device.model, serial: evidence.device.serial, source: evidence.source },
    evaluation: evaluation as unknown as Res<'claim.evaluate'>['evaluation'],
    series: recordsToSeries(evidence.records),
  };
}

/** Assembles, signs (installation key) and writes the .psdiag; written to a temp name, then renamed. */
export async function createClaimPackage(logPath: string, claim: Claim, out: string, photoPaths: readonly string[], keyStore: InstallationKeyStore): Promise<Res<'package.create'>> {
  // Photos first: a bad one is reported before the log is read.
  const photos = readPhotos(photoPaths);
  const parts = await evidenceFromPslog(logPath);
  const created = await createPackageFile({ parts, claim, policy: DEFAULT_POLICY, photos, out, keyStore });
  return { path: created.path, bytes: created.bytes, sha256: created.sha256, verdict: created.evaluation.verdict, summary: created.evaluation.summary };
}
