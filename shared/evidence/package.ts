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
 *   health.json          pack health from the records and the board's signed lifetime counters
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
import { sha256 } from '@noble/hashes/sha2.js';
import { PackscopeError } from '../errors.js';
import { concatByteList, toHex, utf8Encode } from '../util/bytes.js';
import { canonicalJson } from '../codec/canonical-json.js';
import { type Claim, validateClaim } from '../warranty/claim.js';
import { CsvFold } from './csv.js';
import type { DecodedEvidence, EvidenceDecoder, EvidenceRecordSink, EvidenceSummary, SegmentPass } from './device-evidence.js';
import { DEVICE_FILES } from './blackbox-evidence.js';
import { Evaluator, type LogFacts } from '../warranty/engine.js';
import type { Evaluation } from '../warranty/evaluation.js';
import { ed25519OpenSsh, ed25519PublicKeyPem, sshFingerprint } from '../codec/ed25519-keys.js';
import { MANIFEST_FILE, MANIFEST_SCHEMA_ID, type Manifest, SIGNATURE_FILES } from './manifest.js';
import { policyHash, type WarrantyPolicy } from '../warranty/policy.js';
import { renderReportHtml, ReportCharts, WholeLogCharts } from './report.js';
import { encodeText } from '../util/text.js';
import { parseTicketFile, type TicketFile } from './ticket.js';
import { SSHSIG_NAMESPACE, sshsigSign } from '../codec/sshsig.js';
import { HealthFold, type PackageHealth } from './health-section.js';

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
  /** The health section (shared/evidence/health-section.ts). */
  health: 'health.json',
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

/** Incremental SHA-256 (noble's by default; hosts pass node:crypto's, several times faster). */
export interface Hasher {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}
export type HashFactory = () => Hasher;
export const nobleHashFactory: HashFactory = () => sha256.create();

/**
 * The facts a verdict rests on besides the records. The claim date for the warranty age is the
 * ticket's issue time, else the board's attested clock, else createdAt.
 */
export function evidenceFacts(evidence: EvidenceSummary | DecodedEvidence, createdAtIso: string, ticket: TicketFacts | null = null): LogFacts {
  const reportedAt = Date.parse(createdAtIso);
  const x = evidence.extent;
  return {
    source: evidence.source,
    signature: evidence.signature,
    gaps: evidence.gaps,
    gapCount: evidence.gapCount,
    deviceSerial: evidence.source === 'device' ? evidence.device.serial : null,
    reportedAt,
    extent: x ? { historyFromMs: x.historyFromMs, boardTimeMs: x.boardTimeMs, unreadableSegments: x.unreadable } : null,
    claimedAtMs: ticket?.issuedAtMs ?? x?.boardTimeMs ?? reportedAt,
    freshness: ticket ? 'ticket' : 'unproven',
    settings: evidence.settings ?? null,
    lifetime: evidence.lifetime?.view.verified ? evidence.lifetime.counters : null,
  };
}

/** Evaluates decoded evidence held in memory: the same fold creation and verification run over a stream. */
export function evaluateEvidence(
  evidence: DecodedEvidence,
  policy: WarrantyPolicy,
  claim: Claim,
  createdAtIso: string,
  ticket: TicketFacts | null = null,
): Evaluation {
  const ev = new Evaluator(policy, { nominalCapacityAh: evidence.device.nominalCapacityAh, chemistry: evidence.device.chemistry ?? null });
  for (const r of evidence.records) ev.push(r);
  return ev.finish(claim, evidenceFacts(evidence, createdAtIso, ticket));
}

interface ReportParts {
  evidence: Pick<EvidenceSummary, 'device' | 'source'>;
  evaluation: Evaluation;
  claim: Claim;
  createdAt: string;
  toolVersion: string;
  fingerprint: string;
  photos: string[];
  /** The evaluation's charts, filled from every record. */
  charts: ReportCharts;
  /** The health section (null: a package made before it existed, whose report has none). */
  health: PackageHealth | null;
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
      charts: p.charts,
      photos: p.photos,
      health: p.health,
    }),
  );
}

interface ManifestParts {
  toolVersion: string;
  createdAt: string;
  evidence: Pick<EvidenceSummary, 'device' | 'source' | 'segments'>;
  fingerprint: string;
  policy: WarrantyPolicy;
  claim: Claim;
  evaluation: Evaluation;
  /** Size of every payload file (not the manifest, not SHA256SUMS and its signatures). */
  sizes: ReadonlyMap<string, number>;
  /** SHA-256 (hex) of a payload file by name. */
  digest: (name: string) => string;
}

/** The manifest as it follows from the package's contents: creation writes it, verification recomputes and compares it. */
export function buildManifest(p: ManifestParts): Manifest {
  const { evidence, evaluation, sizes } = p;
  const payload = [...sizes.keys()].filter((n) => n !== FILES.manifest && !(SIGNATURE_FILES as readonly string[]).includes(n)).sort();
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
    files: payload.map((name) => ({ name, size: sizes.get(name)!, sha256: p.digest(name) })),
  };
}

/** Names a package may hold: the fixed files, device files, and numbered photos. */
export function allowedName(name: string): boolean {
  if ((Object.values(FILES) as string[]).includes(name)) return true;
  if (name.startsWith(DEVICE_DIR)) return /^device\/[a-z-]+\.(json|psdc|bin)$/.test(name);
  return /^photos\/\d{2}-[A-Za-z0-9_-][A-Za-z0-9._-]{0,79}$/.test(name);
}

/** Where a package's files go as they are made: a ZIP written to disk, or a map in memory. */
export interface PackageWriter {
  /** Starts a file; its bytes follow in any number of writes, then end. */
  begin(name: string): { write(chunk: Uint8Array): void; end(): void };
}

export interface StreamAssembleInput extends Omit<AssembleInput, 'evidence' | 'deviceFiles'> {
  /** Device files other than segments.bin, names relative to device/. */
  deviceFiles: ReadonlyMap<string, Uint8Array>;
  /** device/segments.bin from the start, in chunks (read three times: copied, then two passes). */
  segments: SegmentPass;
  decoder: EvidenceDecoder;
  hash?: HashFactory;
}

/**
 * Builds every file of a package into `out`, streaming: segments.bin is copied, records.csv is
 * written and the evaluation and whole-log charts folded in one pass over the records, events.csv
 * and the findings' charts in a second. Nothing on the way grows with the log. Returns the evaluation and manifest.
 */
export async function writePackage(input: StreamAssembleInput, out: PackageWriter): Promise<{ evaluation: Evaluation; manifest: Manifest }> {
  const claim = validateClaim(input.claim);
  const { policy, signer } = input;
  const hashFactory = input.hash ?? nobleHashFactory;
  const createdAt = new Date(Math.floor(input.createdAt.getTime() / 1000) * 1000).toISOString();
  const ticket: TicketFile | null = input.ticket ? parseTicketFile(input.ticket) : null;
  const sizes = new Map<string, number>();
  const digests = new Map<string, string>();
  const begin = (name: string) => {
    const w = out.begin(name);
    const h = hashFactory();
    let size = 0;
    return {
      write(chunk: Uint8Array) {
        h.update(chunk);
        size += chunk.length;
        w.write(chunk);
      },
      end() {
        w.end();
        sizes.set(name, size);
        digests.set(name, toHex(h.digest()));
      },
    };
  };
  const put = (name: string, data: Uint8Array) => {
    const w = begin(name);
    w.write(data);
    w.end();
  };

  for (const [name, data] of input.deviceFiles) put(DEVICE_DIR + name, data);
  const seg = begin(DEVICE_DIR + DEVICE_FILES.segments);
  for (const chunk of input.segments()) seg.write(chunk);
  seg.end();

  // Pass 1: records.csv and the evaluation.
  const pass = (sink: EvidenceRecordSink, recordsOnly: boolean): EvidenceSummary => {
    const stream = input.decoder.open(input.deviceFiles, { rootPublicKeyPem: null }, sink, { hasSegments: true, recordsOnly });
    onOpen?.(stream.nominalCapacityAh, stream.chemistry ?? null);
    for (const chunk of input.segments()) stream.push(chunk);
    return stream.finish(input.segments);
  };
  let onOpen: ((capacity: number | null, chemistry: string | null) => void) | undefined = (capacity, chemistry) => {
    ev = new Evaluator(policy, { nominalCapacityAh: capacity, chemistry });
    healthFold = new HealthFold(chemistry, capacity);
  };
  let ev: Evaluator | null = null;
  let healthFold: HealthFold | null = null;
  const recW = begin(FILES.recordsCsv);
  const rows = new CsvFold((b) => recW.write(b), null);
  const whole = new WholeLogCharts();
  const summary = pass(
    {
      schema: (cells, labels) => rows.header(cells, labels),
      records: (rs, seg) => {
        rows.records(rs, seg);
        for (const r of rs) ev!.push(r);
        healthFold!.push(rs);
        whole.push(rs);
      },
    },
    false,
  );
  onOpen = undefined;
  rows.header(summary.device.cellCount, summary.device.temperatureLabels);
  rows.flush();
  recW.end();
  if (ticket) {
    if (!summary.extent || summary.extent.nonce !== ticket.ticket.nonce) {
      throw new PackscopeError(
        'REFUSED',
        `the log was not pulled with claim ticket ${ticket.ticket.claimId}: its checkpoint carries another nonce; pull it again with --ticket`,
      );
    }
    if (ticket.ticket.serial !== summary.device.serial) {
      throw new PackscopeError(
        'REFUSED',
        `claim ticket ${ticket.ticket.claimId} is for serial ${ticket.ticket.serial}, the log is from ${summary.device.serial}`,
      );
    }
  }
  const evaluation = ev!.finish(claim, evidenceFacts(summary, createdAt, ticket ? { issuedAtMs: Date.parse(ticket.ticket.issuedAt) } : null));
  const health = healthFold!.finish(summary.lifetime);

  // Pass 2: events.csv and the charts of the findings.
  const charts = new ReportCharts(evaluation, summary.recordCount, whole);
  const evW = begin(FILES.eventsCsv);
  const events = new CsvFold(null, (b) => evW.write(b));
  pass(
    {
      schema: (cells, labels) => events.header(cells, labels),
      records: (rs) => {
        events.records(rs);
        if (charts.needsRecords) charts.push(rs);
      },
    },
    true,
  );
  events.header(summary.device.cellCount, summary.device.temperatureLabels);
  events.flush();
  evW.end();

  if (input.ticket) put(FILES.ticket, input.ticket);
  put(FILES.claim, utf8Encode(canonicalJson(claim)));
  put(FILES.policy, utf8Encode(canonicalJson(policy)));
  put(FILES.evaluation, encodeText(canonicalJson(evaluation)));
  put(FILES.health, encodeText(canonicalJson(health)));
  const photos: string[] = [];
  input.photos.forEach((p, i) => {
    const name = safePhotoName(i, p.name);
    photos.push(name);
    put(name, p.data);
  });
  const fingerprint = sshFingerprint(signer.publicKey);
  put(FILES.pubPem, utf8Encode(ed25519PublicKeyPem(signer.publicKey)));
  put(FILES.pubSsh, utf8Encode(ed25519OpenSsh(signer.publicKey, INSTALL_IDENTITY) + '\n'));
  put(FILES.allowedSigners, utf8Encode(`${INSTALL_IDENTITY} namespaces="${SSHSIG_NAMESPACE}" ${ed25519OpenSsh(signer.publicKey)}\n`));
  put(FILES.verify, utf8Encode(verifyText(fingerprint)));
  put(FILES.report, reportFor({ evidence: summary, evaluation, claim, createdAt, toolVersion: input.toolVersion, fingerprint, photos, charts, health }));
  const manifest = buildManifest({
    toolVersion: input.toolVersion,
    createdAt,
    evidence: summary,
    fingerprint,
    policy,
    claim,
    evaluation,
    sizes,
    digest: (n) => digests.get(n)!,
  });
  put(FILES.manifest, utf8Encode(canonicalJson(manifest)));
  const sums = formatSums(digests);
  put(FILES.sums, sums);
  put(FILES.sig, await signer.sign(sums));
  put(FILES.sshsig, utf8Encode(await sshsigSign(sums, signer.publicKey, (d) => signer.sign(d))));
  return { evaluation, manifest };
}

/** SHA256SUMS from the digests already made (the same text formatSha256Sums writes from the bytes). */
function formatSums(digests: ReadonlyMap<string, string>): Uint8Array {
  let s = '';
  for (const name of [...digests.keys()].sort()) {
    if (/[\n\r\\]/.test(name)) throw new RangeError(`file name cannot appear in SHA256SUMS: ${JSON.stringify(name)}`);
    s += `${digests.get(name)}  ${name}\n`;
  }
  return utf8Encode(s);
}

/**
 * Evidence already decoded in memory as a decoder: its records are handed over when the stream
 * ends (segments pushed are not needed again). The layout is announced first, as a decode does.
 */
export function decodedEvidenceDecoder(evidence: DecodedEvidence): EvidenceDecoder {
  const summary: EvidenceSummary = { ...evidence, recordCount: evidence.records.length, lastRecordT: evidence.records.at(-1)?.t ?? null };
  return {
    open: (_files, _trust, sink) => ({
      nominalCapacityAh: evidence.device.nominalCapacityAh,
      chemistry: evidence.device.chemistry ?? null,
      push: () => {},
      finish: () => {
        const first = evidence.records[0];
        const { cellCount, temperatureLabels } = evidence.device;
        if (temperatureLabels !== null) sink.schema?.(cellCount, temperatureLabels);
        else if (first)
          sink.schema?.(
            cellCount ?? first.cellVoltages.length,
            first.temperatures.map((_, i) => `t${i + 1}`),
          );
        if (evidence.records.length) sink.records(evidence.records);
        return summary;
      },
    }),
  };
}

/** Builds every file of a package in memory from decoded evidence. Returns the files and the evaluation. */
export async function assemblePackage(input: AssembleInput): Promise<{ files: Map<string, Uint8Array>; evaluation: Evaluation; manifest: Manifest }> {
  const files = new Map<string, Uint8Array>();
  const writer: PackageWriter = {
    begin(name) {
      const parts: Uint8Array[] = [];
      return {
        write: (chunk) => void parts.push(chunk),
        end: () => void files.set(name, parts.length === 1 ? parts[0]! : concatByteList(parts)),
      };
    },
  };
  const { evidence, deviceFiles } = input;
  const segments = deviceFiles.get(DEVICE_FILES.segments) ?? new Uint8Array(0);
  const { evaluation, manifest } = await writePackage(
    {
      ...input,
      deviceFiles: new Map([...deviceFiles].filter(([n]) => n !== DEVICE_FILES.segments)),
      segments: () => [segments],
      decoder: decodedEvidenceDecoder(evidence),
    },
    writer,
  );
  return { files, evaluation, manifest };
}

export { verifyPackage, verifyPackageSource, type PackageVerification, type VerifyOptions } from './package-verify.js';

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
