import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { decodeDeviceEvidence, type DeviceEvidenceParts } from '../../../shared/evidence/blackbox-evidence.js';
import type { DecodedEvidence } from '../../../shared/evidence/device-evidence.js';
import { FILES, PHOTO_DIR } from '../../../shared/evidence/package.js';
import { MAX_PHOTO_BYTES, photoKind } from '../../../shared/evidence/photos.js';
import { parseSha256Sums } from '../../../shared/codec/sha256sums.js';
import { openZipSource, type ZipSourceArchive } from '../../../shared/codec/zip.js';
import type { Params, Res } from '../../../shared/api/contract.js';
import { parsePolicy, type WarrantyPolicy } from '../../../shared/warranty/policy.js';
import { MAX_TICKET_FILE_BYTES, parseTicketFile, type TicketFile } from '../../../shared/evidence/ticket.js';
import { type InstallKeyStore, parseEd25519Keys } from '../evidence/install-keys.js';
import type { PolicyStore } from '../evidence/policy-store.js';
import { hostSignatureVerifier } from '../evidence/fast-verify.js';
import { createPackageFile } from '../evidence/package-file.js';
import { evidenceFromPslog } from '../evidence/sources.js';
import type { InstallationKeyStore } from '../evidence/keystore.js';
import { deviceFiles } from '../../../shared/evidence/blackbox-evidence.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { evaluateEvidence } from '../../../shared/evidence/package.js';
import type { Claim } from '../../../shared/warranty/claim.js';
import { HOST_ZIP_CODECS, readPhotos, sourceSha256, verifyPackageFile } from '../evidence/package-file.js';
import { fileSource } from '../evidence/file-io.js';
import { MAX_SMALL_FILE, PACKAGE_ZIP_LIMITS } from '../../../shared/evidence/package-verify.js';
import { recordsToSeries, SeriesFold } from './series.js';
import { canonicalJson } from '../../../shared/codec/canonical-json.js';
import { claimFieldsAsVerified, rootAgainstCertificate } from '../evidence/claim-fields.js';
import { safeStem, uniquePath } from '../desktop/unique-path.js';

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

/** What the verifier keeps between verifications: its policy store and its known installation keys. */
export interface VerifierStores {
  policies: PolicyStore;
  installKeys: InstallKeyStore;
}

/**
 * The verification's texts in the app's words: they are written for the command line, and the
 * Verify screen names files and choices, not options.
 */
const APP_WORDS: [RegExp, string][] = [
  [/give --policy YOUR-POLICY\.json to decide with yours/g, 'choose your policy file to decide with yours'],
  [/no --ticket-key was given to check it/g, 'no ticket key was chosen to check it'],
  [/--ticket-key/g, 'the ticket key'],
  [/--policy\b/g, 'your policy file'],
  [/--install-key|--allowed-signers/g, 'your known installation keys'],
  [/--ticket\b/g, 'the claim ticket'],
  [/--report/g, 'your own report'],
  [/packscope package extract/g, 'unpacking the package (it is a ZIP file)'],
];

export function inAppWords(text: string): string {
  return APP_WORDS.reduce((t, [re, words]) => t.replace(re, words), text);
}

/**
 * Verifies a diagnosis package the way `packscope package verify` does (every hash, both
 * signatures, manifest, certificate chain to the supplier root, attested extent, segment
 * signatures and chain, CSVs, the customer's evaluation recomputed) and decides with what the
 * verifier brings: the chosen policy from its store (none chosen: the store's copy of the
 * package's policy, else PackScope's default), the claim-ticket key and ticket, and its known
 * installation keys. Adds the decoded records as chart series for the Verify screen.
 */
export async function verifyPackageForScreen(req: Params<'package.verify'>, stores: VerifierStores): Promise<Res<'package.verify'>> {
  const { path, rootKeyPath } = req;
  const root = new TextDecoder().decode(await readHostFile(rootKeyPath, 'root key', 64 * 1024));
  if (!root.includes('-----BEGIN PUBLIC KEY-----'))
    throw new PackscopeError('USAGE', `${rootKeyPath} is not a PEM public key (the supplier's manufacturing root)`);
  let policy: WarrantyPolicy | null = null;
  if (req.policySha256) {
    policy = stores.policies.get(req.policySha256);
    if (!policy)
      throw new PackscopeError('NOT_FOUND', `your policy store holds no policy with SHA-256 ${req.policySha256.toLowerCase()}; add its policy file again`);
  }
  let ticketKey: Uint8Array | null = null;
  if (req.ticketKeyPath) {
    const text = new TextDecoder().decode(await readHostFile(req.ticketKeyPath, 'ticket key', 64 * 1024));
    const keys = parseEd25519Keys(text, `ticket key ${basename(req.ticketKeyPath)}`);
    if (keys.length > 1)
      throw new PackscopeError('USAGE', `${req.ticketKeyPath} holds ${keys.length} keys; choose the file with your claim-ticket public key only`);
    ticketKey = keys[0]!.publicKey;
  }
  const ticket = req.ticketPath ? await readHostFile(req.ticketPath, 'claim ticket', MAX_TICKET_FILE_BYTES) : null;
  const installKeys = stores.installKeys.publicKeys();
  // One range-read source for everything below: a file changed on disk meanwhile is an error,
  // never a mix of two versions; nothing holds the package or its log whole.
  const src = fileSource(path, 'package');
  const sha256 = sourceSha256(src);
  let archive: ZipSourceArchive | null = null;
  let fold: SeriesFold | null = null;
  try {
    archive = openZipSource(src, PACKAGE_ZIP_LIMITS, HOST_ZIP_CODECS);
    fold = new SeriesFold(announcedRecords(archive));
  } catch {
    archive = null; // the archive check says why
  }
  const v = await verifyPackageFile(
    src,
    { rootPem: root, policy, policyBySha256: (sha) => stores.policies.get(sha), ticketKey, ticket, installKeys },
    { onRecords: (rs) => fold?.push(rs) },
  );
  const archiveOk = archive !== null && v.checks.some((c) => c.id === 'archive' && c.ok);
  const decoded = !v.checks.some((c) => c.id === 'device-evidence' && !c.ok);
  // The checks already say why unusable device data gives no chart.
  const series: Res<'package.verify'>['series'] = archiveOk && decoded && fold ? fold.finish() : null;
  const photos: Res<'package.verify'>['photos'] = archiveOk
    ? archive!.entries.filter((e) => e.name.startsWith(PHOTO_DIR)).map((e) => ({ name: e.name, bytes: e.size }))
    : [];
  // The screen states the deciding policy, the installation key, the freshness and the policy
  // differences in their own lines; the caveats that only repeat them are left out.
  const restated = (c: string) =>
    c === v.freshness.detail ||
    (v.policy.decidedBy?.source === 'default' && c.startsWith(`decided by PackScope's default policy`)) ||
    (v.installKey !== null && v.installKey.pinned === null && c.startsWith(`installation key ${v.installKey.fingerprint} is not pinned`)) ||
    (v.policy.differences.length > 0 && c.startsWith(`the package's policy ${v.policy.package?.id} (what the customer saw) differs`));
  return {
    path,
    ok: v.ok,
    line: inAppWords(v.line),
    checks: v.checks.map((c) => ({ id: c.id, ok: c.ok, detail: inAppWords(c.detail) })),
    manifest: v.manifest,
    claim: v.claim,
    evaluation: v.evaluation,
    customerEvaluation: v.customerEvaluation ? { verdict: v.customerEvaluation.verdict, summary: v.customerEvaluation.summary } : null,
    policy: v.policy,
    installKey: v.installKey,
    freshness: { proven: v.freshness.proven, detail: inAppWords(v.freshness.detail) },
    extent: v.extent,
    caveats: v.caveats.filter((c) => !restated(c)).map(inAppWords),
    health: v.health,
    series,
    photos,
    sha256,
    root: rootAgainstCertificate(v.checks),
    claimFields: v.claim && archive ? claimFieldsAsVerified(archive, v.claim, v.checks) : [],
  };
}

/** The record count the package's manifest announces (unverified: it only sizes the chart's columns). */
function announcedRecords(archive: ZipSourceArchive): number {
  const e = archive.entries.find((x) => x.name === FILES.manifest);
  if (!e || e.size > MAX_SMALL_FILE) return 0;
  try {
    const n = (JSON.parse(new TextDecoder().decode(archive.read(e))) as { log?: { records?: unknown } }).log?.records;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : 0;
  } catch {
    return 0;
  }
}

/**
 * One photo of a package, for the Verify screen. `sha256` is the package the screen verified: a
 * file changed on disk since then is refused, and the photo must match its SHA256SUMS line, so
 * what is shown is what the signatures covered.
 */
export async function packagePhoto(path: string, name: string, sha256: string): Promise<Res<'package.photo'>> {
  const src = fileSource(path, 'package');
  if (sourceSha256(src) !== sha256) throw new PackscopeError('REFUSED', `${path} has changed since it was verified; verify it again`);
  const archive = openZipSource(src, PACKAGE_ZIP_LIMITS, HOST_ZIP_CODECS);
  const find = (n: string) => archive.entries.find((e) => e.name === n);
  const entry = find(name);
  const sums = find('SHA256SUMS');
  if (!entry || !sums) throw new PackscopeError('NOT_FOUND', `${basename(path)} holds no ${name}`);
  if (entry.size > MAX_PHOTO_BYTES) throw new PackscopeError('REFUSED', `${name} is larger than ${MAX_PHOTO_BYTES} bytes`);
  const data = archive.read(entry);
  const listed = parseSha256Sums(archive.read(sums)).find((l) => l.name === name);
  if (!listed || listed.sha256 !== createHash('sha256').update(data).digest('hex'))
    throw new PackscopeError('VERIFY_FAILED', `${name} does not match SHA256SUMS`);
  const kind = photoKind(data);
  if (!kind) throw new PackscopeError('VERIFY_FAILED', `${name} is not a JPEG, PNG, WebP or HEIC image`);
  return { name, kind, base64: Buffer.from(data).toString('base64') };
}

/** The policies in the verifier's store, without their bodies. */
export function listPolicies(store: PolicyStore): Res<'policies.list'> {
  return store.list().map(({ sha256, id, version, title }) => ({ sha256, id, version, title }));
}

/**
 * Adds a policy file to the store. A file that is not a valid policy, or that reuses a stored
 * id and version for other content, is refused with the store's plain reason.
 */
export async function addPolicyFile(store: PolicyStore, path: string): Promise<Res<'policies.add'>> {
  const policy = parsePolicy(await readHostFile(path, 'policy file', 1 << 20));
  const { sha256, id, version, title, added } = store.add(policy);
  return { sha256, id, version, title, added };
}

export function listInstallKeys(store: InstallKeyStore): Res<'installKeys.list'> {
  return store.list().map(({ fingerprint, label }) => ({ fingerprint, label }));
}

export function addInstallKeys(store: InstallKeyStore, req: Params<'installKeys.add'>): Res<'installKeys.add'> {
  const added = 'path' in req ? store.addFile(req.path, req.label) : store.addText(req.key, req.label, 'the pasted key');
  return added.map(({ fingerprint, label }) => ({ fingerprint, label }));
}

/** A photo the customer wants to attach: checked (image by content, size) before the claim is built. */
export function inspectPhoto(path: string): Res<'photo.inspect'> {
  const { name, data, kind } = readPhotos([path])[0]!;
  return { path, name, bytes: data.length, kind };
}

/** The claim screen's texts come from code written for the command line too; here they name screens, not options. */
const CLAIM_WORDS: [RegExp, string][] = [
  [/is a partial download; finish it with 'packscope log pull --resume' first/g, 'is a partial download; finish it on the Logs screen (Resume) first'],
  [/; pull it again with --ticket/g, '; download it again on the Logs screen with the ticket'],
];

function inClaimWords(e: unknown): unknown {
  if (!(e instanceof PackscopeError)) return e;
  const message = CLAIM_WORDS.reduce((t, [re, words]) => t.replace(re, words), e.message);
  return message === e.message ? e : new PackscopeError(e.code, message, e.details);
}

/** The customer's copy of the supplier's claim ticket: its bytes as issued and what they say. */
interface AttachedTicket {
  bytes: Uint8Array;
  file: TicketFile;
}

async function readClaimTicket(path: string): Promise<AttachedTicket> {
  const bytes = await readHostFile(path, 'the ticket file', MAX_TICKET_FILE_BYTES).catch((e: unknown) => {
    if (e instanceof PackscopeError && e.code === 'REFUSED')
      throw new PackscopeError('DECODE', `${basename(path)} is not a claim ticket from your supplier (a ticket file is a few hundred bytes).`);
    throw e;
  });
  try {
    return { bytes, file: parseTicketFile(bytes) };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    throw new PackscopeError(
      'DECODE',
      `${basename(path)} is not a claim ticket from your supplier: ${e.message.replace(/^not (a valid )?(a )?claim ticket:\s*/, '')}`,
    );
  }
}

/**
 * The ticket against the log, as package creation will judge it (shared/evidence/package.ts
 * assemblePackage): the log's checkpoint must be sealed over the ticket's nonce and come from the
 * pack the ticket names. The problem is said in the Claim screen's words; null when it fits.
 */
function ticketProblem(t: TicketFile, evidence: DecodedEvidence): { problem: string; pullAgain: boolean } | null {
  const { claimId, serial } = t.ticket;
  if (evidence.source !== 'device') {
    return {
      problem: `This log is a recording made by PackScope, not the pack's own black box, so it cannot carry claim ticket ${claimId}. Download the pack's log on the Logs screen with the ticket.`,
      pullAgain: true,
    };
  }
  if (serial !== evidence.device.serial) {
    return {
      problem: `Claim ticket ${claimId} is for pack ${serial}, but this log is from pack ${evidence.device.serial}. Choose the log of pack ${serial}, or the ticket your supplier issued for pack ${evidence.device.serial}.`,
      pullAgain: false,
    };
  }
  if (!evidence.extent || evidence.extent.nonce !== t.ticket.nonce) {
    return {
      problem: `This log was not downloaded with claim ticket ${claimId}, so it cannot show your supplier that it was read after the claim was opened. Download the log again with the ticket, then use the new log.`,
      pullAgain: true,
    };
  }
  return null;
}

/** The evidence of a pulled log, decoded as package creation decodes it. */
async function decodedLog(logPath: string): Promise<{ parts: DeviceEvidenceParts; evidence: DecodedEvidence }> {
  const parts = await evidenceFromPslog(logPath).catch((e: unknown) => {
    throw inClaimWords(e);
  });
  const files = deviceFiles(parts);
  return { parts, evidence: decodeDeviceEvidence(files, { rootPublicKeyPem: null }, hostSignatureVerifier(files)) };
}

/**
 * The claim's evaluation from a pulled .pslog and the default policy, before anything is signed.
 * With a claim ticket the log is sealed over, the ticket's issue time is the claim date, as in
 * the package: the preview is what createClaimPackage signs.
 */
export async function evaluateClaim(logPath: string, claim: Claim, ticketPath?: string): Promise<Res<'claim.evaluate'>> {
  const ticket = ticketPath ? await readClaimTicket(ticketPath) : null;
  const previewId = await claimInputsId(logPath, claim, ticket);
  const { evidence } = await decodedLog(logPath);
  const misfit = ticket ? ticketProblem(ticket.file, evidence) : null;
  const facts = ticket && !misfit ? { issuedAtMs: Date.parse(ticket.file.ticket.issuedAt) } : null;
  const evaluation = evaluateEvidence(evidence, DEFAULT_POLICY, claim, new Date().toISOString(), facts);
  return {
    device: { model: evidence.device.model, serial: evidence.device.serial, source: evidence.source },
    evaluation,
    series: recordsToSeries(evidence.records),
    ticket: ticket
      ? {
          claimId: ticket.file.ticket.claimId,
          serial: ticket.file.ticket.serial,
          issuedAt: ticket.file.ticket.issuedAt,
          expiresAt: ticket.file.ticket.expiresAt,
          expired: Date.parse(ticket.file.ticket.expiresAt) <= Date.now(),
          matchesLog: misfit === null,
          problem: misfit?.problem ?? null,
          pullAgain: misfit?.pullAgain ?? false,
        }
      : null,
    previewId,
  };
}

/**
 * Names what a preview showed: the log's bytes, the claim as signed and the ticket's bytes. The
 * package is signed only if they are all still the same, so the customer signs what they saw.
 */
async function claimInputsId(logPath: string, claim: Claim, ticket: AttachedTicket | null): Promise<string> {
  const h = createHash('sha256');
  h.update(
    createHash('sha256')
      .update(await readHostFile(logPath, 'log', 4 * 2 ** 30))
      .digest('hex'),
  );
  h.update('\0' + canonicalJson(claim) + '\0');
  h.update(ticket ? createHash('sha256').update(ticket.bytes).digest('hex') : '-');
  return h.digest('hex');
}

/** Where a package goes when the customer did not choose: a fresh name in the data folder. */
export function defaultPackagePath(dataDir: string, serial: string, now = new Date()): string {
  return uniquePath(dataDir, `claim-${safeStem(serial)}-${now.toISOString().slice(0, 10)}`, '.psdiag');
}

/**
 * Assembles, signs (installation key) and writes the .psdiag; written to a temp name, then renamed.
 * A claim ticket goes in as the customer received it; one the log is not sealed over is refused
 * in the same words the preview used.
 */
export async function createClaimPackage(req: Params<'package.create'>, keyStore: InstallationKeyStore, dataDir: string): Promise<Res<'package.create'>> {
  const { logPath, claim, photos: photoPaths, ticketPath, previewId } = req;
  // Photos and the ticket first: a bad one is reported before the log is read.
  const photos = readPhotos(photoPaths);
  const ticket = ticketPath ? await readClaimTicket(ticketPath) : null;
  if (previewId !== undefined && previewId !== (await claimInputsId(logPath, claim, ticket)))
    throw new PackscopeError('REFUSED', 'The claim, its log or its ticket changed since the preview. Preview the evaluation again, then create the package.');
  const out = req.out ?? defaultPackagePath(dataDir, claim.serial);
  const { parts, evidence } = await decodedLog(logPath);
  if (ticket) {
    const misfit = ticketProblem(ticket.file, evidence);
    if (misfit) throw new PackscopeError('REFUSED', misfit.problem);
  }
  const created = await createPackageFile({ parts, claim, policy: DEFAULT_POLICY, photos, out, keyStore, ticket: ticket?.bytes ?? null }).catch(
    (e: unknown) => {
      throw inClaimWords(e);
    },
  );
  return {
    path: created.path,
    bytes: created.bytes,
    sha256: created.sha256,
    verdict: created.evaluation.verdict,
    summary: created.evaluation.summary,
    claimId: ticket?.file.ticket.claimId ?? null,
  };
}
