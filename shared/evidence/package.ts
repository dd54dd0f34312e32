/**
 * Diagnosis packages (.psdiag), platform-free: assembling the file set (the host adds the key and
 * writes the ZIP) and verifying one completely. Layout:
 *
 *   manifest.json        identity, policy, verdict, every payload file with size and SHA-256
 *   SHA256SUMS           sha256sum format over every file except the three below
 *   SHA256SUMS.sig       raw Ed25519 over SHA256SUMS (openssl pkeyutl -verify -rawin)
 *   SHA256SUMS.sshsig    SSHSIG, namespace packscope-diagnosis (ssh-keygen -Y verify)
 *   VERIFY.txt           the stock-tool commands and what each signature proves (canonical text)
 *   claim.json policy.json evaluation.json report.html
 *   ticket.psticket      the supplier's claim ticket, when the pull was made with one
 *   keys/install.pub.pem keys/install.pub keys/allowed_signers
 *   device/…             the raw signed black box as pulled (segments, signatures, certificate)
 *   data/records.csv data/events.csv
 *   photos/NN-name
 *
 * Trust (ARCHITECTURE.md 4b): the verdict a supplier acts on is recomputed from what the board
 * signed and what the verifier brings (policy, roots, ticket key, pinned installation keys). The
 * package's policy, evaluation, manifest and report are what the customer saw: each is compared
 * with its recomputed form, never shown as it is.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { PackscopeError, isPackscopeError } from '../errors.js';
import { bytesEqual, toHex, utf8Decode, utf8Encode } from '../util/bytes.js';
import { canonicalJson } from '../codec/canonical-json.js';
import { type Claim, validateClaim } from '../warranty/claim.js';
import { csvMatches, recordsToCsv } from './csv.js';
import type { DecodedEvidence, EvidenceCheck, EvidenceDecoder } from './device-evidence.js';
import { Evaluator, type LogFacts } from '../warranty/engine.js';
import type { Evaluation } from '../warranty/evaluation.js';
import { ed25519FromOpenSsh, ed25519OpenSsh, ed25519PublicKeyFromPem, ed25519PublicKeyPem, sshFingerprint } from '../codec/ed25519-keys.js';
import { MANIFEST_FILE, MANIFEST_SCHEMA_ID, type Manifest, parseManifest, SIGNATURE_FILES } from './manifest.js';
import { parsePolicy, policyHash, type WarrantyPolicy } from '../warranty/policy.js';
import { DEFAULT_POLICY } from '../warranty/default-policy.js';
import { renderReportHtml } from './report.js';
import { encodeText } from '../util/text.js';
import { parseTicketFile, verifyTicket, type TicketFile } from './ticket.js';
import { policyDifferences } from '../warranty/policy-diff.js';
import { formatSha256Sums, parseSha256Sums } from '../codec/sha256sums.js';
import { SSHSIG_NAMESPACE, sshsigSign, sshsigVerify } from '../codec/sshsig.js';
import { DEFAULT_ZIP_LIMITS, openZip, type ZipLimits } from '../codec/zip.js';

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
  ticket: 'ticket.psticket',
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
  /** The supplier's claim ticket the log was pulled with (its file bytes, canonical form). */
  ticket?: Uint8Array | null;
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
    'What these three steps prove, and what they do not',
    '--------------------------------------------------',
    `The installation key (fingerprint ${fingerprint}) was made on the`,
    "customer's computer and travels inside this package. Steps 1-3 prove only that nothing",
    'changed after someone holding that key signed the file list. Anyone can make such a key, so',
    'they do not prove who made the package, nor that the data came from the battery. The key',
    'means something only if you know it already: compare the fingerprint with your own records',
    '(an earlier package from the same customer, or the one the customer read to you from',
    'PackScope), or give it to `packscope package verify --install-key`.',
    '',
    'What proves the data',
    '--------------------',
    "The records in device/ are signed by the battery's own device key, whose certificate is",
    'signed by your manufacturing CA. The battery also signed a checkpoint over a nonce, in which',
    'it states the oldest and newest segment it holds, the hash that binds every segment in',
    'between, its clock and its boot count. With a claim ticket you issued, that nonce is yours,',
    'so the pull was made after you issued the ticket. The device certificate, records and',
    "checkpoint use PackScope's binary formats (documented in firmware/PROTOCOL.md); checking",
    'them, and deciding the claim with your own warranty policy, needs PackScope:',
    '',
    '  packscope package verify THIS-FILE.psdiag --root YOUR-ROOT.pem --policy YOUR-POLICY.json \\',
    '      [--ticket-key YOUR-TICKET-KEY.pub.pem] [--install-key CUSTOMER-KEY.pub]',
    '',
    "The policy, evaluation, report and manifest in this package are what the customer's",
    'PackScope showed; `packscope package verify` recomputes each one and reports any',
    'difference. Do not act on report.html from the package: write your own with --report.',
    '',
  ].join('\n');
}

function safePhotoName(i: number, name: string): string {
  const base = name.split(/[\\/]/).pop() ?? 'photo';
  const clean =
    base
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^\.+/, '')
      .slice(0, 80) || 'photo';
  return `${PHOTO_DIR}${String(i + 1).padStart(2, '0')}-${clean}`;
}

/** What the verdict knows about the claim ticket: its issue time counts as the claim date. */
export interface TicketFacts {
  issuedAtMs: number;
}

/**
 * Evaluates decoded evidence: the one function both creation and verification use. The claim date
 * for the warranty age is the ticket's issue time, else the board's attested clock, else createdAt.
 */
export function evaluateEvidence(
  evidence: DecodedEvidence,
  policy: WarrantyPolicy,
  claim: Claim,
  createdAtIso: string,
  ticket: TicketFacts | null = null,
): Evaluation {
  const ev = new Evaluator(policy, { nominalCapacityAh: evidence.device.nominalCapacityAh });
  for (const r of evidence.records) ev.push(r);
  const reportedAt = Date.parse(createdAtIso);
  const x = evidence.extent;
  const facts: LogFacts = {
    source: evidence.source,
    signature: evidence.signature,
    gaps: evidence.gaps,
    deviceSerial: evidence.source === 'device' ? evidence.device.serial : null,
    reportedAt,
    extent: x ? { historyFromMs: x.historyFromMs, boardTimeMs: x.boardTimeMs, unreadableSegments: x.unreadable } : null,
    claimedAtMs: ticket?.issuedAtMs ?? x?.boardTimeMs ?? reportedAt,
    freshness: ticket ? 'ticket' : 'unproven',
    settings: evidence.settings ?? null,
  };
  return ev.finish(claim, facts);
}

function csvFor(evidence: DecodedEvidence) {
  return recordsToCsv(evidence.records, evidence.device.cellCount, evidence.device.temperatureLabels);
}

interface ReportParts {
  evidence: DecodedEvidence;
  evaluation: Evaluation;
  claim: Claim;
  createdAt: string;
  toolVersion: string;
  fingerprint: string;
  photos: string[];
}

/** report.html: rendered from the evaluation and the records (the verifier renders its own from its recomputation). */
export function reportFor(p: ReportParts): Uint8Array {
  return encodeText(
    renderReportHtml({
      evaluation: p.evaluation,
      claim: p.claim,
      device: {
        serial: p.evidence.device.serial,
        model: p.evidence.device.model,
        firmwareVersion: p.evidence.device.firmwareVersion,
        source: p.evidence.source,
      },
      createdAt: p.createdAt,
      toolVersion: p.toolVersion,
      installKeyFingerprint: p.fingerprint,
      records: p.evidence.records,
      photos: p.photos,
    }),
  );
}

interface ManifestParts {
  toolVersion: string;
  createdAt: string;
  evidence: DecodedEvidence;
  fingerprint: string;
  policy: WarrantyPolicy;
  claim: Claim;
  evaluation: Evaluation;
  /** Every payload file (not the manifest, not SHA256SUMS and its signatures). */
  files: ReadonlyMap<string, Uint8Array>;
  /** SHA-256 (hex) of a payload file by name; default: hash it here. */
  digest?: (name: string) => string;
}

/** The manifest as it follows from the package's contents: creation writes it, verification recomputes and compares it. */
export function buildManifest(p: ManifestParts): Manifest {
  const { evidence, evaluation, files } = p;
  const payload = [...files.keys()].filter((n) => n !== FILES.manifest && !(SIGNATURE_FILES as readonly string[]).includes(n)).sort();
  return {
    schema: MANIFEST_SCHEMA_ID,
    tool: { name: 'packscope', version: p.toolVersion },
    createdAt: p.createdAt,
    device: {
      serial: evidence.device.serial,
      model: evidence.device.model,
      firmwareVersion: evidence.device.firmwareVersion,
      hardwareRevision: evidence.device.hardwareRevision,
      publicKeyFingerprint: evidence.device.publicKeyFingerprint,
      source: evidence.source,
    },
    installKey: { algorithm: 'ed25519', fingerprint: p.fingerprint, identity: INSTALL_IDENTITY },
    policy: { id: p.policy.id, sha256: policyHash(p.policy) },
    claim: { serial: p.claim.serial, remedy: p.claim.remedy },
    verdict: { verdict: evaluation.verdict, summary: evaluation.summary, excludedBy: evaluation.excludedBy },
    log: { records: evaluation.log.records, segments: evidence.segments, from: evaluation.log.from, to: evaluation.log.to },
    files: payload.map((name) => ({ name, size: files.get(name)!.length, sha256: p.digest ? p.digest(name) : toHex(sha256(files.get(name)!)) })),
  };
}

/** Names a package may hold: the fixed files, device files, and numbered photos. */
export function allowedName(name: string): boolean {
  if ((Object.values(FILES) as string[]).includes(name)) return true;
  if (name.startsWith(DEVICE_DIR)) return /^device\/[a-z-]+\.(json|psdc|bin)$/.test(name);
  return /^photos\/\d{2}-[A-Za-z0-9_-][A-Za-z0-9._-]{0,79}$/.test(name);
}

/** Builds every file of a package. Returns the files and the evaluation. */
export async function assemblePackage(input: AssembleInput): Promise<{ files: Map<string, Uint8Array>; evaluation: Evaluation; manifest: Manifest }> {
  const claim = validateClaim(input.claim);
  const { evidence, policy, signer } = input;
  const createdAt = new Date(Math.floor(input.createdAt.getTime() / 1000) * 1000).toISOString();
  let ticket: TicketFile | null = null;
  if (input.ticket) {
    ticket = parseTicketFile(input.ticket);
    if (!evidence.extent || evidence.extent.nonce !== ticket.ticket.nonce) {
      throw new PackscopeError(
        'REFUSED',
        `the log was not pulled with claim ticket ${ticket.ticket.claimId}: its checkpoint carries another nonce; pull it again with --ticket`,
      );
    }
    if (ticket.ticket.serial !== evidence.device.serial) {
      throw new PackscopeError(
        'REFUSED',
        `claim ticket ${ticket.ticket.claimId} is for serial ${ticket.ticket.serial}, the log is from ${evidence.device.serial}`,
      );
    }
  }
  const evaluation = evaluateEvidence(evidence, policy, claim, createdAt, ticket ? { issuedAtMs: Date.parse(ticket.ticket.issuedAt) } : null);
  const files = new Map<string, Uint8Array>();
  if (input.ticket) files.set(FILES.ticket, input.ticket);
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
  files.set(FILES.report, reportFor({ evidence, evaluation, claim, createdAt, toolVersion: input.toolVersion, fingerprint, photos }));
  const manifest = buildManifest({ toolVersion: input.toolVersion, createdAt, evidence, fingerprint, policy, claim, evaluation, files });
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
  /**
   * The verdict that decides: recomputed from the device data with the verifier's policy (its own
   * file, its store's copy, or PackScope's default), the verified ticket and the attested extent.
   */
  evaluation: Evaluation | null;
  /** What the customer saw: recomputed with the package's own policy and compared with evaluation.json. */
  customerEvaluation: Evaluation | null;
  policy: {
    /** The policy that decided, and where it came from. */
    decidedBy: { id: string; sha256: string; source: 'verifier' | 'default' } | null;
    /** The policy inside the package (what the customer saw). */
    package: { id: string; sha256: string } | null;
    /** How the package's policy differs from the deciding one (empty when identical). */
    differences: string[];
  };
  installKey: { fingerprint: string; pinned: boolean | null } | null;
  freshness: { proven: boolean; detail: string };
  /** The attested extent in plain words (null without one). */
  extent: string | null;
  /** Things a supplier should know that do not fail verification. */
  caveats: string[];
  /** The report the verifier renders from its own recomputation (UTF-8 HTML), when the evidence decoded. */
  report: Uint8Array | null;
}

export interface VerifyOptions {
  decoder: EvidenceDecoder;
  /** The supplier's manufacturing root; null skips the chain check (and fails it). */
  rootPublicKeyPem: string | null;
  /** The supplier's warranty policy; absent: a stored copy of the package's policy, else PackScope's default. */
  policy?: WarrantyPolicy | null;
  /** The verifier's policy store: its copy of a policy by full SHA-256. */
  policyBySha256?: (sha256: string) => WarrantyPolicy | null;
  /** The supplier's claim-ticket public key (raw Ed25519); when given, a valid ticket is required. */
  ticketKey?: Uint8Array | null;
  /** The supplier's own copy of the ticket (file bytes); default: the package's ticket.psticket. */
  ticket?: Uint8Array | null;
  /** Installation keys the supplier knows (raw Ed25519); empty or absent: none pinned. */
  installKeys?: readonly Uint8Array[];
  /** The verifier's PackScope version: report.html from the same version must match byte for byte. */
  toolVersion?: string;
  limits?: ZipLimits;
  /** SHA-256 implementation (hosts pass node:crypto's, several times faster on large logs). */
  sha256?: (data: Uint8Array) => Uint8Array;
}

function fail(checks: EvidenceCheck[], id: string, detail: string): void {
  checks.push({ id, ok: false, detail });
}

/** Clock difference tolerated between the board, the customer's computer and the supplier's (ms). */
const CLOCK_TOLERANCE_MS = 10 * 60_000;
const DAY_MS = 86_400_000;

/**
 * Verifies a package completely. Never throws for a bad package: every problem becomes a failed
 * check (a malformed or unsafe ZIP is the 'archive' check).
 */
export async function verifyPackage(zipBytes: Uint8Array, opts: VerifyOptions): Promise<PackageVerification> {
  const checks: EvidenceCheck[] = [];
  const caveats: string[] = [];
  let manifest: Manifest | null = null;
  let claim: Claim | null = null;
  let decision: Evaluation | null = null;
  let customerEvaluation: Evaluation | null = null;
  let report: Uint8Array | null = null;
  let extentText: string | null = null;
  const policyInfo: PackageVerification['policy'] = { decidedBy: null, package: null, differences: [] };
  let installInfo: PackageVerification['installKey'] = null;
  let freshness = { proven: false, detail: 'freshness not proven: no claim ticket was checked' };
  const result = (): PackageVerification => {
    const failed = checks.filter((c) => !c.ok);
    const ok = failed.length === 0 && decision !== null;
    const line = ok
      ? `VERIFIED: ${decision!.summary}${freshness.proven ? '' : ' (freshness not proven)'}`
      : failed.length
        ? `FAILED: ${failed.length} check(s) failed; first: ${failed[0]!.id}: ${failed[0]!.detail}`
        : 'FAILED: the package could not be evaluated';
    return {
      ok,
      line,
      checks,
      manifest,
      claim,
      evaluation: decision,
      customerEvaluation,
      policy: policyInfo,
      installKey: installInfo,
      freshness,
      extent: extentText,
      caveats,
      report,
    };
  };

  // 1. The archive is safe and complete, and holds only the names a package has.
  const files = new Map<string, Uint8Array>();
  const hashFn = opts.sha256 ?? sha256;
  const digests = new Map<string, string>();
  /** Each file is hashed once, whoever asks (SHA256SUMS, the manifest). */
  const digestOf = (name: string): string => {
    let d = digests.get(name);
    if (d === undefined) digests.set(name, (d = toHex(hashFn(files.get(name)!))));
    return d;
  };
  try {
    const zip = openZip(zipBytes, opts.limits ?? DEFAULT_ZIP_LIMITS);
    for (const e of zip.entries) files.set(e.name, zip.read(e));
    checks.push({ id: 'archive', ok: true, detail: `${files.size} files, no unsafe entries` });
  } catch (e) {
    fail(checks, 'archive', isPackscopeError(e) ? e.message : String(e));
    return result();
  }
  const foreign = [...files.keys()].filter((n) => !allowedName(n));
  if (foreign.length) fail(checks, 'file-set', `files a package does not hold: ${foreign.slice(0, 10).join(', ')}${foreign.length > 10 ? ' …' : ''}`);
  const need = (name: string): Uint8Array | null => {
    const f = files.get(name);
    if (!f) fail(checks, 'file-set', `${name} is missing`);
    return f ?? null;
  };
  const sums = need(FILES.sums);
  const manifestBytes = need(FILES.manifest);
  if (!sums || !manifestBytes) return result();

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
    const bad = listed.filter((e) => files.has(e.name) && digestOf(e.name) !== e.sha256).map((e) => e.name);
    if (extra.length) fail(checks, 'file-set', `not listed in SHA256SUMS: ${extra.join(', ')}`);
    if (absent.length) fail(checks, 'file-set', `listed in SHA256SUMS but missing: ${absent.join(', ')}`);
    for (const s of SIGNATURE_FILES) if (s !== FILES.sums && !files.has(s)) fail(checks, 'file-set', `${s} is missing`);
    if (bad.length) fail(checks, 'hashes', `SHA-256 differs for ${bad.join(', ')}`);
    else if (!absent.length) checks.push({ id: 'hashes', ok: true, detail: `${listed.length} files match SHA256SUMS` });
  }

  // 3. Both installation-key signatures over SHA256SUMS, by the key the package names. They prove
  // integrity after signing; origin only when the supplier already knows the key.
  let installKey: Uint8Array | null = null;
  try {
    installKey = ed25519PublicKeyFromPem(utf8Decode(files.get(FILES.pubPem) ?? new Uint8Array()));
    const ssh = ed25519FromOpenSsh(utf8Decode(files.get(FILES.pubSsh) ?? new Uint8Array()).split('\n')[0]!);
    const allowed = utf8Decode(files.get(FILES.allowedSigners) ?? new Uint8Array());
    const canonicalSsh = ed25519OpenSsh(installKey, INSTALL_IDENTITY) + '\n';
    const canonicalAllowed = `${INSTALL_IDENTITY} namespaces="${SSHSIG_NAMESPACE}" ${ed25519OpenSsh(installKey)}\n`;
    if (!bytesEqual(ssh, installKey)) fail(checks, 'install-key', `${FILES.pubSsh} and ${FILES.pubPem} hold different keys`);
    else if (allowed !== canonicalAllowed || utf8Decode(files.get(FILES.pubSsh)!) !== canonicalSsh) {
      fail(checks, 'install-key', `${FILES.allowedSigners} or ${FILES.pubSsh} is not the canonical form for the installation key`);
    } else checks.push({ id: 'install-key', ok: true, detail: `${sshFingerprint(installKey)} (signs integrity, not origin)` });
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
    const fingerprint = sshFingerprint(installKey);
    const pins = opts.installKeys ?? [];
    if (pins.length) {
      const known = pins.some((k) => bytesEqual(k, installKey!));
      installInfo = { fingerprint, pinned: known };
      if (known) checks.push({ id: 'install-key-known', ok: true, detail: `${fingerprint} is one of the installation keys you know` });
      else fail(checks, 'install-key-known', `${fingerprint} is not one of the ${pins.length} installation key(s) you know: the package may come from anyone`);
    } else {
      installInfo = { fingerprint, pinned: null };
      caveats.push(`installation key ${fingerprint} is not pinned: its signature proves the package did not change after signing, not who made it`);
    }
    const vt = files.get(FILES.verify);
    if (!vt || !bytesEqual(vt, utf8Encode(verifyText(fingerprint)))) fail(checks, 'verify-text', `${FILES.verify} is not the canonical text PackScope writes`);
    else checks.push({ id: 'verify-text', ok: true, detail: 'canonical text' });
  }

  // 4. Claim, the package's policy, and the manifest's schema.
  let packagePolicy: WarrantyPolicy | null = null;
  try {
    manifest = parseManifest(manifestBytes);
  } catch (e) {
    fail(checks, 'manifest', (e as Error).message);
  }
  try {
    claim = validateClaim(JSON.parse(utf8Decode(need(FILES.claim) ?? utf8Encode('null'))));
    if (!bytesEqual(files.get(FILES.claim)!, utf8Encode(canonicalJson(claim)))) fail(checks, 'claim-policy', `${FILES.claim} is not in canonical form`);
  } catch (e) {
    fail(checks, 'claim-policy', `claim.json: ${(e as Error).message}`);
  }
  try {
    packagePolicy = parsePolicy(need(FILES.policy) ?? new Uint8Array());
    policyInfo.package = { id: packagePolicy.id, sha256: policyHash(packagePolicy) };
  } catch (e) {
    fail(checks, 'claim-policy', `policy.json: ${(e as Error).message}`);
  }

  // 5. The policy that decides: the supplier's, never the package's unless it is byte-identical.
  let deciding: WarrantyPolicy = DEFAULT_POLICY;
  let source: 'verifier' | 'default' = 'default';
  if (opts.policy) {
    deciding = opts.policy;
    source = 'verifier';
  } else if (packagePolicy && opts.policyBySha256) {
    const stored = opts.policyBySha256(policyHash(packagePolicy));
    if (stored) {
      deciding = stored;
      source = 'verifier';
    }
  }
  policyInfo.decidedBy = { id: deciding.id, sha256: policyHash(deciding), source };
  if (source === 'default') caveats.push(`decided by PackScope's default policy ${deciding.id}: give --policy YOUR-POLICY.json to decide with yours`);
  if (packagePolicy) {
    policyInfo.differences = policyDifferences(packagePolicy, deciding);
    if (policyInfo.differences.length) {
      caveats.push(
        `the package's policy ${packagePolicy.id} (what the customer saw) differs from the deciding policy ${deciding.id} in ${policyInfo.differences.length} place(s)`,
      );
    }
  }

  // 6. Device evidence, decoded afresh from the raw files.
  const deviceFiles = new Map<string, Uint8Array>();
  for (const [name, data] of files) if (name.startsWith(DEVICE_DIR)) deviceFiles.set(name.slice(DEVICE_DIR.length), data);
  let evidence: DecodedEvidence | null = null;
  try {
    evidence = await opts.decoder.decode(deviceFiles, { rootPublicKeyPem: opts.rootPublicKeyPem });
    checks.push(...evidence.checks);
  } catch (e) {
    fail(checks, 'device-evidence', isPackscopeError(e) ? e.message : `device data does not decode: ${(e as Error).message}`);
  }
  if (evidence && opts.rootPublicKeyPem && evidence.source === 'desktop') {
    caveats.push(
      'desktop recording: no device signatures, so it is not device evidence; it can support a covered verdict only if your policy sets requireSignedData to false',
    );
  }
  const x = evidence?.extent ?? null;
  if (x) {
    extentText =
      x.oldestCounter === null
        ? `the board held no closed segment; board clock ${new Date(x.boardTimeMs).toISOString()}`
        : `the board holds history from ${x.historyFromMs === null ? 'an unknown time' : new Date(x.historyFromMs).toISOString()} ` +
          `(segments ${x.oldestCounter}–${x.newestCounter}, open ${x.openCounter}); board clock ${new Date(x.boardTimeMs).toISOString()}, boot ${x.bootCount}`;
  }

  // 7. Freshness: the supplier's claim ticket is the checkpoint's nonce.
  const packageTicketBytes = files.get(FILES.ticket) ?? null;
  const ticketBytes = opts.ticket ?? packageTicketBytes;
  let customerTicket: TicketFacts | null = null;
  if (packageTicketBytes) {
    try {
      customerTicket = { issuedAtMs: Date.parse(parseTicketFile(packageTicketBytes).ticket.issuedAt) };
    } catch (e) {
      fail(checks, 'ticket', `${FILES.ticket}: ${(e as Error).message}`);
    }
  }
  let decisionTicket: TicketFacts | null = null;
  if (opts.ticketKey) {
    const problems: string[] = [];
    let t: TicketFile | null = null;
    if (!ticketBytes) problems.push('the package holds no claim ticket and none was given: the pull may be older than the claim');
    else {
      const v = verifyTicket(ticketBytes, opts.ticketKey);
      problems.push(...v.problems);
      try {
        t = parseTicketFile(ticketBytes);
      } catch {
        t = null;
      }
    }
    if (t && evidence) {
      if (t.ticket.serial !== evidence.device.serial)
        problems.push(`the ticket is for serial ${t.ticket.serial}, the device data is from ${evidence.device.serial}`);
      if (!x) problems.push('the device data has no attested checkpoint to carry the ticket nonce');
      else {
        if (x.nonce !== t.ticket.nonce)
          problems.push(`the checkpoint was signed over nonce ${x.nonce}, not ticket ${t.ticket.claimId}'s: the log was not pulled for this claim`);
        const issued = Date.parse(t.ticket.issuedAt);
        const expires = Date.parse(t.ticket.expiresAt);
        if (x.boardTimeMs < issued - DAY_MS)
          problems.push(`the board's clock at the pull (${new Date(x.boardTimeMs).toISOString()}) is before the ticket was issued`);
        if (x.boardTimeMs > expires + DAY_MS)
          problems.push(`the pull (board clock ${new Date(x.boardTimeMs).toISOString()}) was made after the ticket expired at ${t.ticket.expiresAt}`);
      }
      if (packageTicketBytes && opts.ticket && !bytesEqual(packageTicketBytes, opts.ticket))
        problems.push(`${FILES.ticket} in the package is not the ticket you gave`);
    }
    if (problems.length) fail(checks, 'ticket', problems.join('; '));
    else if (t) {
      checks.push({
        id: 'ticket',
        ok: true,
        detail: `claim ${t.ticket.claimId} for ${t.ticket.serial}, issued ${t.ticket.issuedAt}; the checkpoint carries its nonce`,
      });
      freshness = { proven: true, detail: `pulled for claim ticket ${t.ticket.claimId}, issued ${t.ticket.issuedAt}` };
      decisionTicket = { issuedAtMs: Date.parse(t.ticket.issuedAt) };
    }
  } else if (ticketBytes) {
    freshness = { proven: false, detail: 'freshness not proven: the package carries a claim ticket but no --ticket-key was given to check it' };
  }
  if (!freshness.proven) caveats.push(freshness.detail);

  // 8. Dates: createdAt cannot precede what the log shows.
  if (manifest && evidence) {
    const created = Date.parse(manifest.createdAt);
    const problems: string[] = [];
    const last = evidence.records.length ? evidence.records[evidence.records.length - 1]!.t : null;
    if (last !== null && created < last - CLOCK_TOLERANCE_MS)
      problems.push(`createdAt ${manifest.createdAt} is earlier than the newest record (${new Date(last).toISOString()})`);
    if (x && created < x.boardTimeMs - CLOCK_TOLERANCE_MS)
      problems.push(`createdAt ${manifest.createdAt} is earlier than the board's clock at the pull (${new Date(x.boardTimeMs).toISOString()})`);
    if (decisionTicket && created < decisionTicket.issuedAtMs - CLOCK_TOLERANCE_MS)
      problems.push(`createdAt ${manifest.createdAt} is earlier than the ticket's issue time`);
    if (problems.length) fail(checks, 'dates', problems.join('; '));
    else {
      checks.push({ id: 'dates', ok: true, detail: `createdAt ${manifest.createdAt} follows the newest record` });
      if (x && created - x.boardTimeMs > 2 * DAY_MS) {
        caveats.push(
          `the package was made ${Math.floor((created - x.boardTimeMs) / DAY_MS)} day(s) after the pull (board clock ${new Date(x.boardTimeMs).toISOString()})`,
        );
      }
    }
  }

  // 9. CSVs, the customer's evaluation, the manifest and the report recomputed and compared.
  if (evidence) {
    const rec = files.get(FILES.recordsCsv);
    const evs = files.get(FILES.eventsCsv);
    const match =
      rec && evs ? csvMatches(evidence.records, evidence.device.cellCount, evidence.device.temperatureLabels, rec, evs) : { records: !!rec, events: !!evs };
    const badCsv = [
      [FILES.recordsCsv, rec && match.records],
      [FILES.eventsCsv, evs && match.events],
    ].filter(([, ok]) => !ok);
    if (badCsv.length) fail(checks, 'csv', `${badCsv.map((x) => x[0]).join(', ')} differ from a fresh decode of the device data`);
    else checks.push({ id: 'csv', ok: true, detail: `${evidence.records.length} records match a fresh decode` });
    if (claim && packagePolicy && manifest) {
      customerEvaluation = evaluateEvidence(evidence, packagePolicy, claim, manifest.createdAt, customerTicket);
      const inPkg = files.get(FILES.evaluation);
      if (!inPkg || !bytesEqual(inPkg, encodeText(canonicalJson(customerEvaluation)))) {
        fail(checks, 'evaluation', "evaluation.json differs from the evaluation recomputed from the device data with the package's policy");
      } else checks.push({ id: 'evaluation', ok: true, detail: `what the customer saw, recomputed: ${customerEvaluation.verdict}` });
      if (installKey) {
        const fingerprint = sshFingerprint(installKey);
        const photos = [...files.keys()].filter((n) => n.startsWith(PHOTO_DIR)).sort();
        const payload = new Map([...files].filter(([n]) => n !== FILES.manifest && !(SIGNATURE_FILES as readonly string[]).includes(n)));
        const expected = buildManifest({
          toolVersion: manifest.tool.version,
          createdAt: manifest.createdAt,
          evidence,
          fingerprint,
          policy: packagePolicy,
          claim,
          evaluation: customerEvaluation,
          files: payload,
          digest: digestOf,
        });
        const diff = manifestDifferences(manifest, expected);
        if (diff.length || !bytesEqual(manifestBytes, utf8Encode(canonicalJson(expected)))) {
          fail(
            checks,
            'manifest',
            diff.length ? `fields differ from what the package's contents give: ${diff.join(', ')}` : 'manifest.json is not in canonical form',
          );
        } else checks.push({ id: 'manifest', ok: true, detail: `${MANIFEST_SCHEMA_ID}: every field matches the recomputation` });
        const rendered = reportFor({
          evidence,
          evaluation: customerEvaluation,
          claim,
          createdAt: manifest.createdAt,
          toolVersion: manifest.tool.version,
          fingerprint,
          photos,
        });
        const inReport = files.get(FILES.report);
        if (opts.toolVersion !== undefined && compareVersions(manifest.tool.version, opts.toolVersion) > 0) {
          fail(
            checks,
            'manifest',
            `tool: made by PackScope ${manifest.tool.version}, newer than this verifier (${opts.toolVersion}); a package cannot come from the future: update PackScope or treat it as forged`,
          );
        } else if (opts.toolVersion === undefined || manifest.tool.version === opts.toolVersion) {
          if (!inReport || !bytesEqual(inReport, rendered)) fail(checks, 'report', 'report.html is not the report PackScope renders from this package');
          else checks.push({ id: 'report', ok: true, detail: 'report.html matches its recomputed rendering' });
        } else {
          caveats.push(`report.html was made by PackScope ${manifest.tool.version} and not compared; do not open it, use the verifier's own report`);
        }
      }
    }
    // The verdict that decides, with the deciding policy and only verified facts.
    if (claim) {
      const same =
        customerEvaluation !== null &&
        packagePolicy !== null &&
        policyHash(packagePolicy) === policyHash(deciding) &&
        (customerTicket?.issuedAtMs ?? null) === (decisionTicket?.issuedAtMs ?? null);
      const decided =
        same && customerEvaluation
          ? customerEvaluation
          : evaluateEvidence(evidence, deciding, claim, manifest?.createdAt ?? new Date(0).toISOString(), decisionTicket);
      decision = decided;
      if (installKey) {
        report = reportFor({
          evidence,
          evaluation: decided,
          claim,
          createdAt: manifest?.createdAt ?? '',
          toolVersion: opts.toolVersion ?? manifest?.tool.version ?? '',
          fingerprint: sshFingerprint(installKey),
          photos: [...files.keys()].filter((n) => n.startsWith(PHOTO_DIR)).sort(),
        });
      }
    }
  }
  if (!opts.rootPublicKeyPem) fail(checks, 'device-certificate', 'no root key given: the device certificate chain was not checked');
  return result();
}

/** Orders dotted numeric versions ("0.10.1" > "0.9"); non-numeric parts compare as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.+-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/** Top-level manifest fields whose canonical JSON differs. */
function manifestDifferences(a: Manifest, b: Manifest): string[] {
  const out: string[] = [];
  for (const k of Object.keys(b) as (keyof Manifest)[]) {
    if (k === 'files' || k === 'device' || k === 'verdict' || k === 'log' || k === 'policy' || k === 'claim' || k === 'installKey') {
      const av = a[k] as Record<string, unknown>;
      const bv = b[k] as Record<string, unknown>;
      if (k === 'files') {
        if (canonicalJson(av) !== canonicalJson(bv)) out.push('files');
        continue;
      }
      for (const f of new Set([...Object.keys(av), ...Object.keys(bv)]))
        if (canonicalJson(av[f] ?? null) !== canonicalJson(bv[f] ?? null)) out.push(`${k}.${f}`);
    } else if (canonicalJson(a[k]) !== canonicalJson(b[k])) out.push(k);
  }
  return out;
}
