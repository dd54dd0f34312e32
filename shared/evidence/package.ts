/**
 * Diagnosis packages (.psdiag), platform-free: assembling the file set (the host adds the key and
 * writes the ZIP) and verifying one completely. Layout:
 *
 *   manifest.json        identity, policy, verdict, every payload file with size and SHA-256
 *   SHA256SUMS           sha256sum format over every file except the three below
 *   SHA256SUMS.sig       raw Ed25519 over SHA256SUMS (openssl pkeyutl -verify -rawin)
 *   SHA256SUMS.sshsig    SSHSIG, namespace packscope-diagnosis (ssh-keygen -Y verify)
 *   VERIFY.txt           the stock-tool commands
 *   claim.json policy.json evaluation.json report.html
 *   keys/install.pub.pem keys/install.pub keys/allowed_signers
 *   device/…             the raw signed black box as pulled (segments, signatures, certificate)
 *   data/records.csv data/events.csv
 *   photos/…
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { PackscopeError, isPackscopeError } from '../errors.js';
import { bytesEqual, toHex, utf8Decode, utf8Encode } from '../util/bytes.js';
import { canonicalJson } from './canonical-json.js';
import { type Claim, validateClaim } from './claim.js';
import { recordsToCsv } from './csv.js';
import type { DecodedEvidence, EvidenceCheck, EvidenceDecoder } from './device-evidence.js';
import { type Evaluation, Evaluator, type LogFacts } from './engine.js';
import { ed25519FromOpenSsh, ed25519OpenSsh, ed25519PublicKeyFromPem, ed25519PublicKeyPem, sshFingerprint } from './keys.js';
import { MANIFEST_FILE, MANIFEST_SCHEMA_ID, type Manifest, parseManifest, SIGNATURE_FILES } from './manifest.js';
import { parsePolicy, policyHash, type WarrantyPolicy } from './policy.js';
import { renderReportHtml } from './report.js';
import { encodeText } from './text.js';
import { formatSha256Sums, parseSha256Sums } from './sha256sums.js';
import { SSHSIG_NAMESPACE, sshsigSign, sshsigVerify } from './sshsig.js';
import { DEFAULT_ZIP_LIMITS, openZip, type ZipLimits } from './zip.js';

export const INSTALL_IDENTITY = 'packscope-install';
export const FILES = {
  manifest: MANIFEST_FILE,
  sums: 'SHA256SUMS',
  sig: 'SHA256SUMS.sig',
  sshsig: 'SHA256SUMS.sshsig',
  verify: 'VERIFY.txt',
  claim: 'claim.json',
  policy: 'policy.json',
  evaluation: 'evaluation.json',
  report: 'report.html',
  pubPem: 'keys/install.pub.pem',
  pubSsh: 'keys/install.pub',
  allowedSigners: 'keys/allowed_signers',
  recordsCsv: 'data/records.csv',
  eventsCsv: 'data/events.csv',
} as const;
export const DEVICE_DIR = 'device/';
export const PHOTO_DIR = 'photos/';

export interface PackageSigner {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array> | Uint8Array;
}

export interface AssembleInput {
  evidence: DecodedEvidence;
  /** Raw device files, names relative to device/. */
  deviceFiles: ReadonlyMap<string, Uint8Array>;
  claim: Claim;
  policy: WarrantyPolicy;
  photos: readonly { name: string; data: Uint8Array }[];
  createdAt: Date;
  toolVersion: string;
  signer: PackageSigner;
}

/** The commands VERIFY.txt prints; the integration tests run exactly these lines. */
export function verifyCommands(): string[] {
  return [
    'sha256sum -c SHA256SUMS',
    `openssl pkeyutl -verify -pubin -inkey ${FILES.pubPem} -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig`,
    `ssh-keygen -Y verify -f ${FILES.allowedSigners} -I ${INSTALL_IDENTITY} -n ${SSHSIG_NAMESPACE} -s SHA256SUMS.sshsig < SHA256SUMS`,
  ];
}

export function verifyText(fingerprint: string): string {
  const [sums, openssl, ssh] = verifyCommands();
  return [
    'How to check this PackScope diagnosis package with stock tools',
    '================================================================',
    '',
    'Unpack the package (it is a ZIP file) and run the commands below inside the unpacked',
    'directory. Lines starting with "$ " are commands: type them without the "$ ".',
    '',
    '1. Every file is intact (GNU coreutils). Each file must print "OK":',
    `$ ${sums}`,
    '',
    '2. The list of files is signed by the installation key (OpenSSL 3, raw Ed25519).',
    '   It must print "Signature Verified Successfully":',
    `$ ${openssl}`,
    '',
    '3. The same signature in OpenSSH form (OpenSSH 8.1 or later). It must print',
    `   'Good "${SSHSIG_NAMESPACE}" signature for ${INSTALL_IDENTITY}':`,
    `$ ${ssh}`,
    '',
    `The installation key's fingerprint is ${fingerprint}; compare it with the one`,
    'the customer\'s PackScope shows under Settings, or with earlier packages from the same',
    'customer. The installation key proves the package was not changed after it was made; the',
    'device evidence in device/ is signed by the battery itself. Check that, the certificate',
    'chain to your manufacturing root, the CSVs and the evaluation all at once with:',
    '',
    '  packscope package verify THIS-FILE.psdiag --root YOUR-ROOT.pem',
    '',
  ].join('\n');
}

function safePhotoName(i: number, name: string): string {
  const base = name.split(/[\\/]/).pop() ?? 'photo';
  const clean = base.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(0, 80) || 'photo';
  return `${PHOTO_DIR}${String(i + 1).padStart(2, '0')}-${clean}`;
}

/** Evaluates decoded evidence: the one function both creation and verification use. */
export function evaluateEvidence(evidence: DecodedEvidence, policy: WarrantyPolicy, claim: Claim, createdAtIso: string): Evaluation {
  const ev = new Evaluator(policy, { nominalCapacityAh: evidence.device.nominalCapacityAh });
  for (const r of evidence.records) ev.push(r);
  const facts: LogFacts = {
    source: evidence.source,
    signature: evidence.signature,
    gaps: evidence.gaps,
    deviceSerial: evidence.source === 'device' ? evidence.device.serial : null,
    reportedAt: Date.parse(createdAtIso),
  };
  return ev.finish(claim, facts);
}

function csvFor(evidence: DecodedEvidence) {
  return recordsToCsv(evidence.records, evidence.device.cellCount, evidence.device.temperatureLabels);
}

/** Builds every file of a package. Returns the files and the evaluation. */
export async function assemblePackage(input: AssembleInput): Promise<{ files: Map<string, Uint8Array>; evaluation: Evaluation; manifest: Manifest }> {
  const claim = validateClaim(input.claim);
  const { evidence, policy, signer } = input;
  const createdAt = new Date(Math.floor(input.createdAt.getTime() / 1000) * 1000).toISOString();
  const evaluation = evaluateEvidence(evidence, policy, claim, createdAt);
  const files = new Map<string, Uint8Array>();
  for (const [name, data] of input.deviceFiles) files.set(DEVICE_DIR + name, data);
  const csv = csvFor(evidence);
  files.set(FILES.recordsCsv, csv.records);
  files.set(FILES.eventsCsv, csv.events);
  files.set(FILES.claim, utf8Encode(canonicalJson(claim)));
  files.set(FILES.policy, utf8Encode(canonicalJson(policy)));
  files.set(FILES.evaluation, encodeText(canonicalJson(evaluation)));
  const photos: string[] = [];
  input.photos.forEach((p, i) => {
    const name = safePhotoName(i, p.name);
    photos.push(name);
    files.set(name, p.data);
  });
  const fingerprint = sshFingerprint(signer.publicKey);
  files.set(FILES.pubPem, utf8Encode(ed25519PublicKeyPem(signer.publicKey)));
  files.set(FILES.pubSsh, utf8Encode(ed25519OpenSsh(signer.publicKey, INSTALL_IDENTITY) + '\n'));
  files.set(FILES.allowedSigners, utf8Encode(`${INSTALL_IDENTITY} namespaces="${SSHSIG_NAMESPACE}" ${ed25519OpenSsh(signer.publicKey)}\n`));
  files.set(FILES.verify, utf8Encode(verifyText(fingerprint)));
  files.set(
    FILES.report,
    encodeText(
      renderReportHtml({
        evaluation,
        claim,
        device: { serial: evidence.device.serial, model: evidence.device.model, firmwareVersion: evidence.device.firmwareVersion, source: evidence.source },
        createdAt,
        toolVersion: input.toolVersion,
        installKeyFingerprint: fingerprint,
        records: evidence.records,
        photos,
      }),
    ),
  );
  const manifest: Manifest = {
    schema: MANIFEST_SCHEMA_ID,
    tool: { name: 'packscope', version: input.toolVersion },
    createdAt,
    device: {
      serial: evidence.device.serial,
      model: evidence.device.model,
      firmwareVersion: evidence.device.firmwareVersion,
      hardwareRevision: evidence.device.hardwareRevision,
      publicKeyFingerprint: evidence.device.publicKeyFingerprint,
      source: evidence.source,
    },
    installKey: { algorithm: 'ed25519', fingerprint, identity: INSTALL_IDENTITY },
    policy: { id: policy.id, sha256: policyHash(policy) },
    claim: { serial: claim.serial, remedy: claim.remedy },
    verdict: { verdict: evaluation.verdict, summary: evaluation.summary, excludedBy: evaluation.excludedBy },
    log: { records: evaluation.log.records, segments: evidence.segments, from: evaluation.log.from, to: evaluation.log.to },
    files: [...files.keys()].sort().map((name) => ({ name, size: files.get(name)!.length, sha256: toHex(sha256(files.get(name)!)) })),
  };
  files.set(FILES.manifest, utf8Encode(canonicalJson(manifest)));
  const sums = formatSha256Sums(files);
  files.set(FILES.sums, sums);
  files.set(FILES.sig, await signer.sign(sums));
  files.set(FILES.sshsig, utf8Encode(await sshsigSign(sums, signer.publicKey, (d) => signer.sign(d))));
  return { files, evaluation, manifest };
}

export interface PackageVerification {
  ok: boolean;
  /** First line of the report: VERIFIED/FAILED and the verdict or the first failure. */
  line: string;
  checks: EvidenceCheck[];
  manifest: Manifest | null;
  claim: Claim | null;
  /** The evaluation recomputed from the raw device data. */
  evaluation: Evaluation | null;
}

function fail(checks: EvidenceCheck[], id: string, detail: string): void {
  checks.push({ id, ok: false, detail });
}

/**
 * Verifies a package completely. Never throws for a bad package: every problem becomes a failed
 * check (a malformed or unsafe ZIP is the 'archive' check).
 */
export async function verifyPackage(
  zipBytes: Uint8Array,
  opts: { decoder: EvidenceDecoder; rootPublicKeyPem: string | null; limits?: ZipLimits },
): Promise<PackageVerification> {
  const checks: EvidenceCheck[] = [];
  const result = (manifest: Manifest | null, claim: Claim | null, evaluation: Evaluation | null): PackageVerification => {
    const failed = checks.filter((c) => !c.ok);
    const ok = failed.length === 0;
    const line = ok
      ? `VERIFIED: ${evaluation!.summary}`
      : `FAILED: ${failed.length} check(s) failed; first: ${failed[0]!.id}: ${failed[0]!.detail}`;
    return { ok, line, checks, manifest, claim, evaluation };
  };

  // 1. The archive is safe and complete.
  const files = new Map<string, Uint8Array>();
  try {
    const zip = openZip(zipBytes, opts.limits ?? DEFAULT_ZIP_LIMITS);
    for (const e of zip.entries) files.set(e.name, zip.read(e));
    checks.push({ id: 'archive', ok: true, detail: `${files.size} files, no unsafe entries` });
  } catch (e) {
    fail(checks, 'archive', isPackscopeError(e) ? e.message : String(e));
    return result(null, null, null);
  }
  const need = (name: string): Uint8Array | null => {
    const f = files.get(name);
    if (!f) fail(checks, 'file-set', `${name} is missing`);
    return f ?? null;
  };
  const sums = need(FILES.sums);
  const manifestBytes = need(FILES.manifest);
  if (!sums || !manifestBytes) return result(null, null, null);

  // 2. SHA256SUMS covers exactly the files present, and every hash matches.
  let listed: { name: string; sha256: string }[] = [];
  try {
    listed = parseSha256Sums(sums);
  } catch (e) {
    fail(checks, 'hashes', (e as Error).message);
  }
  if (listed.length) {
    const expected = new Set([...files.keys()].filter((n) => !(SIGNATURE_FILES as readonly string[]).includes(n)));
    const inSums = new Set(listed.map((e) => e.name));
    const extra = [...expected].filter((n) => !inSums.has(n));
    const absent = [...inSums].filter((n) => !files.has(n));
    const bad = listed.filter((e) => files.has(e.name) && toHex(sha256(files.get(e.name)!)) !== e.sha256).map((e) => e.name);
    if (extra.length) fail(checks, 'file-set', `not listed in SHA256SUMS: ${extra.join(', ')}`);
    if (absent.length) fail(checks, 'file-set', `listed in SHA256SUMS but missing: ${absent.join(', ')}`);
    for (const s of SIGNATURE_FILES) if (s !== FILES.sums && !files.has(s)) fail(checks, 'file-set', `${s} is missing`);
    if (bad.length) fail(checks, 'hashes', `SHA-256 differs for ${bad.join(', ')}`);
    else if (!absent.length) checks.push({ id: 'hashes', ok: true, detail: `${listed.length} files match SHA256SUMS` });
  }

  // 3. Both installation-key signatures over SHA256SUMS, by the key the package names.
  let installKey: Uint8Array | null = null;
  try {
    installKey = ed25519PublicKeyFromPem(utf8Decode(files.get(FILES.pubPem) ?? new Uint8Array()));
    const ssh = ed25519FromOpenSsh(utf8Decode(files.get(FILES.pubSsh) ?? new Uint8Array()).split('\n')[0]!);
    const allowed = utf8Decode(files.get(FILES.allowedSigners) ?? new Uint8Array()).trim();
    const m = /^(\S+) namespaces="([^"]*)" (ssh-ed25519 \S+)$/.exec(allowed);
    if (!bytesEqual(ssh, installKey)) fail(checks, 'install-key', `${FILES.pubSsh} and ${FILES.pubPem} hold different keys`);
    else if (!m || m[1] !== INSTALL_IDENTITY || m[2] !== SSHSIG_NAMESPACE || !bytesEqual(ed25519FromOpenSsh(m[3]!), installKey)) {
      fail(checks, 'install-key', `${FILES.allowedSigners} does not name the installation key`);
    } else checks.push({ id: 'install-key', ok: true, detail: sshFingerprint(installKey) });
  } catch (e) {
    fail(checks, 'install-key', `installation public key unreadable: ${(e as Error).message}`);
    installKey = null;
  }
  if (installKey) {
    const sig = files.get(FILES.sig);
    const okRaw = sig !== undefined && sig.length === 64 && ed25519.verify(sig, sums, installKey, { zip215: false });
    checks.push({ id: 'signature-raw', ok: okRaw, detail: okRaw ? 'SHA256SUMS.sig verifies (Ed25519)' : 'SHA256SUMS.sig does not verify' });
    const arm = files.get(FILES.sshsig);
    const why = arm ? sshsigVerify(utf8Decode(arm), sums, installKey) : 'SHA256SUMS.sshsig is missing';
    checks.push({ id: 'signature-ssh', ok: why === null, detail: why === null ? 'SHA256SUMS.sshsig verifies (SSHSIG)' : why });
  }

  // 4. Manifest: schema, and agreement with the files and the key.
  let manifest: Manifest | null = null;
  try {
    manifest = parseManifest(manifestBytes);
    const listedFiles = manifest.files.map((f) => f.name);
    const payload = [...files.keys()].filter((n) => n !== FILES.manifest && !(SIGNATURE_FILES as readonly string[]).includes(n)).sort();
    const problems: string[] = [];
    if (listedFiles.join('\n') !== payload.join('\n')) problems.push('its file list differs from the package');
    for (const f of manifest.files) {
      const d = files.get(f.name);
      if (d && (d.length !== f.size || toHex(sha256(d)) !== f.sha256)) problems.push(`${f.name} differs from its entry`);
    }
    if (installKey && manifest.installKey.fingerprint !== sshFingerprint(installKey)) problems.push('it names another installation key');
    if (problems.length) fail(checks, 'manifest', problems.join('; '));
    else checks.push({ id: 'manifest', ok: true, detail: `${MANIFEST_SCHEMA_ID}, ${manifest.files.length} files` });
  } catch (e) {
    fail(checks, 'manifest', (e as Error).message);
  }

  // 5. Claim and policy.
  let claim: Claim | null = null;
  let policy: WarrantyPolicy | null = null;
  try {
    claim = validateClaim(JSON.parse(utf8Decode(need(FILES.claim) ?? utf8Encode('null'))));
    policy = parsePolicy(need(FILES.policy) ?? new Uint8Array());
    if (manifest && (manifest.policy.sha256 !== policyHash(policy) || manifest.policy.id !== policy.id)) {
      fail(checks, 'policy', 'policy.json is not the policy the manifest names');
    } else checks.push({ id: 'policy', ok: true, detail: `${policy.id} (${policyHash(policy).slice(0, 16)}…)` });
  } catch (e) {
    fail(checks, 'claim-policy', (e as Error).message);
  }

  // 6. Device evidence, decoded afresh from the raw files.
  const deviceFiles = new Map<string, Uint8Array>();
  for (const [name, data] of files) if (name.startsWith(DEVICE_DIR)) deviceFiles.set(name.slice(DEVICE_DIR.length), data);
  let evidence: DecodedEvidence | null = null;
  try {
    evidence = await opts.decoder.decode(deviceFiles, { rootPublicKeyPem: opts.rootPublicKeyPem });
    checks.push(...evidence.checks);
    if (manifest) {
      const d = manifest.device;
      const e = evidence.device;
      if (d.serial !== e.serial || d.model !== e.model || d.publicKeyFingerprint !== e.publicKeyFingerprint || d.source !== evidence.source) {
        fail(checks, 'device-identity', `manifest names ${d.model} ${d.serial}, the device data is from ${e.model} ${e.serial}`);
      } else checks.push({ id: 'device-identity', ok: true, detail: `${e.model} ${e.serial}` });
    }
  } catch (e) {
    fail(checks, 'device-evidence', isPackscopeError(e) ? e.message : `device data does not decode: ${(e as Error).message}`);
  }

  // 7. CSVs and evaluation recomputed and compared byte for byte.
  let evaluation: Evaluation | null = null;
  if (evidence) {
    const csv = csvFor(evidence);
    const badCsv = [
      [FILES.recordsCsv, csv.records],
      [FILES.eventsCsv, csv.events],
    ].filter(([n, b]) => !files.has(n as string) || !bytesEqual(files.get(n as string)!, b as Uint8Array));
    if (badCsv.length) fail(checks, 'csv', `${badCsv.map((x) => x[0]).join(', ')} differ from a fresh decode of the device data`);
    else checks.push({ id: 'csv', ok: true, detail: `${evidence.records.length} records match a fresh decode` });
    if (claim && policy && manifest) {
      evaluation = evaluateEvidence(evidence, policy, claim, manifest.createdAt);
      const again = encodeText(canonicalJson(evaluation));
      const inPkg = files.get(FILES.evaluation);
      if (!inPkg || !bytesEqual(inPkg, again)) fail(checks, 'evaluation', 'evaluation.json differs from the evaluation recomputed from the device data');
      else if (manifest.verdict.verdict !== evaluation.verdict || manifest.verdict.summary !== evaluation.summary) {
        fail(checks, 'evaluation', 'the manifest states another verdict');
      } else checks.push({ id: 'evaluation', ok: true, detail: `recomputed: ${evaluation.verdict}` });
    }
  }
  if (!opts.rootPublicKeyPem) fail(checks, 'device-certificate', 'no root key given: the device certificate chain was not checked');
  return result(manifest, claim, evaluation);
}

/** Throws the verification's first failure as a typed error (for callers that want an exception). */
export function assertVerified(v: PackageVerification): void {
  if (!v.ok) throw new PackscopeError('VERIFY_FAILED', v.line, v.checks.filter((c) => !c.ok));
}
