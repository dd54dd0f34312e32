/**
 * Verifying a diagnosis package, streaming: the archive is read through range reads (a file handle
 * on the host), the small files (manifest, signatures, keys, claim, policy, evaluation, report,
 * the device's certificate and checkpoint) into memory, everything else in chunks. One pass over
 * device/segments.bin hashes it, decodes and checks the segments and feeds each record to the
 * evaluations (the package's policy and the deciding one), the whole-log charts and the CSV
 * comparison, which reads data/records.csv and data/events.csv alongside and hashes them as they
 * go; a second pass over the records draws the charts of the findings, when there are any. Peak
 * memory does not depend on the log's length.
 *
 * The checks, their order and their wording are those of the in-memory verifier this replaces:
 * every hash, both installation-key signatures, the canonical VERIFY.txt, the claim and policies,
 * the device certificate, segment signatures, chain and attested extent, the ticket, the dates, the
 * CSVs, the customer's evaluation, the manifest and the report, each recomputed and compared.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { DecodeError, isPackscopeError } from '../errors.js';
import type { LogRecord } from '../types/domain.js';
import { bytesEqual, toHex, utf8Decode, utf8Encode } from '../util/bytes.js';
import { canonicalJson } from '../codec/canonical-json.js';
import { type Claim, validateClaim } from '../warranty/claim.js';
import { CsvFold, StreamMatcher, type ChunkSource } from './csv.js';
import type { EvidenceCheck, EvidenceDecoder, EvidenceRecordSink, EvidenceStream, EvidenceSummary } from './device-evidence.js';
import { Evaluator } from '../warranty/engine.js';
import type { Evaluation } from '../warranty/evaluation.js';
import { ed25519FromOpenSsh, ed25519OpenSsh, ed25519PublicKeyFromPem, sshFingerprint } from '../codec/ed25519-keys.js';
import { MANIFEST_SCHEMA_ID, type Manifest, parseManifest, SIGNATURE_FILES } from './manifest.js';
import { parsePolicy, policyHash, type WarrantyPolicy } from '../warranty/policy.js';
import { DEFAULT_POLICY } from '../warranty/default-policy.js';
import { ReportCharts, WholeLogCharts } from './report.js';
import { encodeText } from '../util/text.js';
import { parseTicketFile, verifyTicket, type TicketFile } from './ticket.js';
import { policyDifferences } from '../warranty/policy-diff.js';
import { parseSha256Sums } from '../codec/sha256sums.js';
import { SSHSIG_NAMESPACE, sshsigVerify } from '../codec/sshsig.js';
import {
  bytesSource,
  type ByteSource,
  type Crc32,
  type InflateStep,
  DEFAULT_ZIP_LIMITS,
  openZipSource,
  type ZipEntry,
  type ZipLimits,
  type ZipSourceArchive,
} from '../codec/zip.js';
import { DEVICE_FILES } from './blackbox-evidence.js';
import { HealthFold, type PackageHealth } from './health-section.js';
import {
  allowedName,
  buildManifest,
  compareVersions,
  DEVICE_DIR,
  evidenceFacts,
  FILES,
  type HashFactory,
  INSTALL_IDENTITY,
  nobleHashFactory,
  PHOTO_DIR,
  reportFor,
  type TicketFacts,
  verifyText,
} from './package.js';

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
  /**
   * Pack health recomputed from the device data (the records, and the board's signed lifetime
   * counters with what verification found), when the evidence decoded: never the package's copy.
   */
  health: PackageHealth | null;
}

export interface VerifyOptions {
  /** The device-evidence decoder (blackboxEvidenceDecoder, or the host's with faster crypto). */
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
  /** Incremental SHA-256 (hosts pass node:crypto's, several times faster on large logs). */
  hash?: HashFactory;
  /** CRC-32 of every inflated byte (hosts pass zlib's). */
  crc32?: Crc32;
  /** Inflates every compressed byte (hosts pass zlib's). */
  inflater?: () => InflateStep;
  /** Sees every record of the fresh decode once, in order (a screen's chart is built on the way). */
  onRecords?: (records: readonly LogRecord[]) => void;
  /** Compares two byte runs of equal length: the CSVs against their fresh rendering (hosts pass memcmp). */
  bytesEqual?: (a: Uint8Array, b: Uint8Array) => boolean;
}

/** Archives a package verify opens: sizes up to what ZIP without ZIP64 can say, since nothing is held whole. */
export const PACKAGE_ZIP_LIMITS: ZipLimits = { ...DEFAULT_ZIP_LIMITS, maxEntryBytes: 0xfffffffe, maxTotalBytes: 2 ** 40 };

/** Largest file a package holds whole in memory (manifest, report, keys, device certificate and checkpoint). */
export const MAX_SMALL_FILE = 64 << 20;

/** Files streamed rather than read whole: the raw log, the CSVs and photos (and anything a package should not hold). */
function streamed(name: string): boolean {
  return (
    name === DEVICE_DIR + DEVICE_FILES.segments || name === FILES.recordsCsv || name === FILES.eventsCsv || name.startsWith(PHOTO_DIR) || !allowedName(name)
  );
}

/** An entry's chunks, from the start. */
function chunks(zip: ZipSourceArchive, e: ZipEntry): Iterable<Uint8Array> {
  return {
    *[Symbol.iterator]() {
      const r = zip.open(e);
      for (let c = r.next(); c !== null; c = r.next()) yield c;
    },
  };
}

function fail(checks: EvidenceCheck[], id: string, detail: string): void {
  checks.push({ id, ok: false, detail });
}

/** Clock difference tolerated between the board, the customer's computer and the supplier's (ms). */
const CLOCK_TOLERANCE_MS = 10 * 60_000;
const DAY_MS = 86_400_000;

/**
 * Verifies a package held in memory (the same verification as verifyPackageSource).
 */
export async function verifyPackage(zipBytes: Uint8Array, opts: VerifyOptions): Promise<PackageVerification> {
  return verifyPackageSource(bytesSource(zipBytes), { limits: DEFAULT_ZIP_LIMITS, ...opts });
}

/**
 * Verifies a package completely, reading it through range reads. Never throws for a bad package:
 * every problem becomes a failed check (a malformed or unsafe ZIP, or an entry that does not
 * inflate to its CRC, is the 'archive' check).
 */
export async function verifyPackageSource(src: ByteSource, opts: VerifyOptions): Promise<PackageVerification> {
  const checks: EvidenceCheck[] = [];
  const caveats: string[] = [];
  let manifest: Manifest | null = null;
  let claim: Claim | null = null;
  let decision: Evaluation | null = null;
  let customerEvaluation: Evaluation | null = null;
  let report: Uint8Array | null = null;
  let health: PackageHealth | null = null;
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
      health,
    };
  };
  const archiveFailure = (e: unknown): PackageVerification => {
    checks.length = 0;
    caveats.length = 0;
    manifest = claim = decision = customerEvaluation = null;
    report = null;
    health = null;
    extentText = null;
    policyInfo.decidedBy = policyInfo.package = null;
    policyInfo.differences = [];
    installInfo = null;
    freshness = { proven: false, detail: 'freshness not proven: no claim ticket was checked' };
    fail(checks, 'archive', isPackscopeError(e) ? e.message : String(e));
    return result();
  };

  // 1. The archive is safe and complete, and holds only the names a package has. Small files are
  // read whole; the rest is streamed below.
  const hashFactory = opts.hash ?? nobleHashFactory;
  const files = new Map<string, Uint8Array>();
  const sizes = new Map<string, number>();
  const digests = new Map<string, string>();
  /** Each file is hashed once, whoever asks (SHA256SUMS, the manifest). */
  const digestOf = (name: string): string => {
    let d = digests.get(name);
    if (d === undefined) {
      const h = hashFactory();
      h.update(files.get(name)!);
      digests.set(name, (d = toHex(h.digest())));
    }
    return d;
  };
  let zip: ZipSourceArchive;
  try {
    zip = openZipSource(src, opts.limits ?? PACKAGE_ZIP_LIMITS, {
      ...(opts.crc32 ? { crc32: opts.crc32 } : {}),
      ...(opts.inflater ? { inflater: opts.inflater } : {}),
    });
    for (const e of zip.entries) {
      sizes.set(e.name, e.size);
      if (streamed(e.name)) continue;
      if (e.size > MAX_SMALL_FILE) throw new DecodeError(`${e.name} is ${e.size} bytes, more than a package's ${e.name} can hold`);
      files.set(e.name, zip.read(e));
    }
  } catch (e) {
    return archiveFailure(e);
  }
  const entry = (name: string) => zip.entries.find((e) => e.name === name) ?? null;
  const has = (name: string) => sizes.has(name);

  // What the streamed pass needs to know first, read quietly here (the checks below report them).
  let quietPolicy: WarrantyPolicy | null = null;
  try {
    quietPolicy = parsePolicy(files.get(FILES.policy) ?? new Uint8Array());
  } catch {
    quietPolicy = null;
  }
  let deciding: WarrantyPolicy = DEFAULT_POLICY;
  let source: 'verifier' | 'default' = 'default';
  if (opts.policy) {
    deciding = opts.policy;
    source = 'verifier';
  } else if (quietPolicy && opts.policyBySha256) {
    const stored = opts.policyBySha256(policyHash(quietPolicy));
    if (stored) {
      deciding = stored;
      source = 'verifier';
    }
  }

  // The streamed pass: the log decoded once, feeding the evaluations and the CSV comparison, and
  // every streamed file hashed as it passes.
  const deviceFiles = new Map<string, Uint8Array>();
  for (const [name, data] of files) if (name.startsWith(DEVICE_DIR)) deviceFiles.set(name.slice(DEVICE_DIR.length), data);
  const segEntry = entry(DEVICE_DIR + DEVICE_FILES.segments);
  let evidence: EvidenceSummary | null = null;
  let decodeError: string | null = null;
  const decodeFailed = (e: unknown) => (isPackscopeError(e) ? e.message : `device data does not decode: ${(e as Error).message}`);
  let customerEv: Evaluator | null = null;
  let decidingEv: Evaluator | null = null;
  let healthFold: HealthFold | null = null;
  const whole = new WholeLogCharts();
  const csv = { records: has(FILES.recordsCsv), events: has(FILES.eventsCsv) };
  try {
    const hashed = (name: string): ChunkSource & { close(): void } => {
      const e = entry(name)!;
      const r = zip.open(e);
      const h = hashFactory();
      return {
        next: () => {
          const c = r.next();
          if (c) h.update(c);
          return c;
        },
        close: () => void digests.set(name, toHex(h.digest())),
      };
    };
    const both = csv.records && csv.events;
    const recSrc = both ? hashed(FILES.recordsCsv) : null;
    const evSrc = both ? hashed(FILES.eventsCsv) : null;
    const recMatch = recSrc ? new StreamMatcher(recSrc, undefined, opts.bytesEqual) : null;
    const evMatch = evSrc ? new StreamMatcher(evSrc, undefined, opts.bytesEqual) : null;
    const fold =
      recMatch && evMatch
        ? new CsvFold(
            (s) => recMatch.push(s),
            (s) => evMatch.push(s),
            true,
          )
        : null;
    const sink: EvidenceRecordSink = {
      schema: (cells, labels) => fold?.header(cells, labels),
      records: (rs, seg) => {
        fold?.records(rs, seg);
        opts.onRecords?.(rs);
        if (customerEv) for (const r of rs) customerEv.push(r);
        if (decidingEv && decidingEv !== customerEv) for (const r of rs) decidingEv.push(r);
        healthFold?.push(rs);
        whole.push(rs);
      },
    };
    let stream: EvidenceStream | null = null;
    try {
      stream = opts.decoder.open(deviceFiles, { rootPublicKeyPem: opts.rootPublicKeyPem }, sink, { hasSegments: segEntry !== null });
      const cap = { nominalCapacityAh: stream.nominalCapacityAh, chemistry: stream.chemistry ?? null };
      if (quietPolicy) customerEv = new Evaluator(quietPolicy, cap);
      decidingEv = quietPolicy && policyHash(quietPolicy) === policyHash(deciding) ? customerEv : new Evaluator(deciding, cap);
      healthFold = new HealthFold(cap.chemistry, cap.nominalCapacityAh);
    } catch (e) {
      decodeError = decodeFailed(e);
    }
    if (segEntry) {
      const seg = hashed(segEntry.name);
      for (let c = seg.next(); c !== null; c = seg.next()) {
        if (!stream) continue;
        try {
          stream.push(c);
        } catch (e) {
          decodeError = decodeFailed(e);
          stream = null;
        }
      }
      seg.close();
    }
    if (stream) {
      try {
        evidence = stream.finish(() => chunks(zip, segEntry!));
        fold?.header(evidence.device.cellCount, evidence.device.temperatureLabels);
        fold?.flush();
      } catch (e) {
        decodeError = decodeFailed(e);
      }
    }
    if (recMatch && evMatch) {
      csv.records = recMatch.finish() && evidence !== null;
      csv.events = evMatch.finish() && evidence !== null;
      recSrc!.close();
      evSrc!.close();
    }
    for (const e of zip.entries) {
      if (!streamed(e.name) || digests.has(e.name)) continue;
      const h = hashFactory();
      for (const c of chunks(zip, e)) h.update(c);
      digests.set(e.name, toHex(h.digest()));
    }
  } catch (e) {
    return archiveFailure(e);
  }
  checks.push({ id: 'archive', ok: true, detail: `${zip.entries.length} files, no unsafe entries` });
  const names = zip.entries.map((e) => e.name);
  const foreign = names.filter((n) => !allowedName(n));
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
    const expected = new Set(names.filter((n) => !(SIGNATURE_FILES as readonly string[]).includes(n)));
    const inSums = new Set(listed.map((e) => e.name));
    const extra = [...expected].filter((n) => !inSums.has(n));
    const absent = [...inSums].filter((n) => !has(n));
    const bad = listed.filter((e) => has(e.name) && digestOf(e.name) !== e.sha256).map((e) => e.name);
    if (extra.length) fail(checks, 'file-set', `not listed in SHA256SUMS: ${extra.join(', ')}`);
    if (absent.length) fail(checks, 'file-set', `listed in SHA256SUMS but missing: ${absent.join(', ')}`);
    for (const s of SIGNATURE_FILES) if (s !== FILES.sums && !has(s)) fail(checks, 'file-set', `${s} is missing`);
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

  // 6. Device evidence, decoded afresh from the raw files (in the streamed pass above).
  if (evidence) checks.push(...evidence.checks);
  else fail(checks, 'device-evidence', decodeError ?? 'device data does not decode');
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
    const last = evidence.lastRecordT;
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

  // 9. CSVs, the customer's evaluation, the health section, the manifest and the report recomputed and compared.
  if (evidence && healthFold) {
    health = healthFold.finish(evidence.lifetime);
    const inPkg = files.get(FILES.health);
    if (!inPkg) caveats.push(`the package carries no ${FILES.health} (made before PackScope added it): the pack health shown is the verifier's own`);
    else if (!bytesEqual(inPkg, encodeText(canonicalJson(health))))
      fail(checks, 'health', `${FILES.health} differs from the health recomputed from the device data`);
    else checks.push({ id: 'health', ok: true, detail: `${FILES.health} matches the health recomputed from the records and the signed lifetime counters` });
  }
  if (evidence) {
    const badCsv = [
      [FILES.recordsCsv, csv.records],
      [FILES.eventsCsv, csv.events],
    ].filter(([, ok]) => !ok);
    if (badCsv.length) fail(checks, 'csv', `${badCsv.map((x) => x[0]).join(', ')} differ from a fresh decode of the device data`);
    else checks.push({ id: 'csv', ok: true, detail: `${evidence.recordCount} records match a fresh decode` });
    const photos = names.filter((n) => n.startsWith(PHOTO_DIR)).sort();
    let customerReport: ReportCharts | null = null;
    if (claim && packagePolicy && manifest && customerEv) {
      customerEvaluation = customerEv.finish(claim, evidenceFacts(evidence, manifest.createdAt, customerTicket));
      const inPkg = files.get(FILES.evaluation);
      if (!inPkg || !bytesEqual(inPkg, encodeText(canonicalJson(customerEvaluation)))) {
        fail(checks, 'evaluation', "evaluation.json differs from the evaluation recomputed from the device data with the package's policy");
      } else checks.push({ id: 'evaluation', ok: true, detail: `what the customer saw, recomputed: ${customerEvaluation.verdict}` });
      if (installKey) customerReport = new ReportCharts(customerEvaluation, evidence.recordCount, whole);
    }
    // The verdict that decides, with the deciding policy and only verified facts.
    let decisionReport: ReportCharts | null = null;
    if (claim && decidingEv) {
      const same =
        customerEvaluation !== null &&
        packagePolicy !== null &&
        policyHash(packagePolicy) === policyHash(deciding) &&
        (customerTicket?.issuedAtMs ?? null) === (decisionTicket?.issuedAtMs ?? null);
      decision =
        same && customerEvaluation
          ? customerEvaluation
          : decidingEv.finish(claim, evidenceFacts(evidence, manifest?.createdAt ?? new Date(0).toISOString(), decisionTicket));
      if (installKey)
        decisionReport = decision === customerEvaluation && customerReport ? customerReport : new ReportCharts(decision, evidence.recordCount, whole);
    }
    // The second pass, only when a report draws findings: the records again, for their charts
    // (the whole-log charts were folded in the first).
    const charts = [customerReport, decisionReport].filter((c, i, all): c is ReportCharts => c !== null && c.needsRecords && all.indexOf(c) === i);
    if (charts.length && segEntry) {
      try {
        const again = opts.decoder.open(
          deviceFiles,
          { rootPublicKeyPem: null },
          {
            records: (rs) => {
              for (const c of charts) c.push(rs);
            },
          },
          { hasSegments: true, recordsOnly: true },
        );
        for (const c of chunks(zip, segEntry)) again.push(c);
        again.finish(() => []);
      } catch (e) {
        return archiveFailure(e);
      }
    }
    if (claim && packagePolicy && manifest && customerEvaluation && installKey && customerReport) {
      const fingerprint = sshFingerprint(installKey);
      const payload = new Map([...sizes].filter(([n]) => n !== FILES.manifest && !(SIGNATURE_FILES as readonly string[]).includes(n)));
      const expected = buildManifest({
        toolVersion: manifest.tool.version,
        createdAt: manifest.createdAt,
        evidence,
        fingerprint,
        policy: packagePolicy,
        claim,
        evaluation: customerEvaluation,
        sizes: payload,
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
        charts: customerReport,
        // A package made before the health section has none in its report either.
        health: files.has(FILES.health) ? health : null,
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
    if (decision && installKey && decisionReport) {
      report = reportFor({
        evidence,
        evaluation: decision,
        claim: claim!,
        createdAt: manifest?.createdAt ?? '',
        toolVersion: opts.toolVersion ?? manifest?.tool.version ?? '',
        fingerprint: sshFingerprint(installKey),
        photos,
        charts: decisionReport,
        health,
      });
    }
  }
  if (!opts.rootPublicKeyPem) fail(checks, 'device-certificate', 'no root key given: the device certificate chain was not checked');
  return result();
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
