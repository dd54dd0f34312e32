/**
 * One package through the desk's verifier: a stateless step (bytes and the supplier's trust in,
 * plain data out) that runs in the ingesting process or in any worker, on any machine. It calls
 * the evidence verification service (verifyPackageBytes) with the root that issued the package's
 * device certificate, the supplier's policy, policy store, ticket key and known installation keys,
 * then lifts out what the claims database keeps: the verdict and every check, findings, claim
 * fields, the board's certified identity and batch, photo hashes and the decoded records in
 * columns (from data/records.csv, and only when verification proved it equal to a fresh decode).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCertificate, keyId, parsePublicKeyPem } from '../../../shared/blackbox/certificate.js';
import { readZipFiles } from '../../../shared/codec/zip.js';
import { DEVICE_DIR, FILES, PHOTO_DIR } from '../../../shared/evidence/package.js';
import { DEVICE_FILES } from '../../../shared/evidence/blackbox-evidence.js';
import { parseTicketFile } from '../../../shared/evidence/ticket.js';
import { bytesEqual, utf8Decode } from '../../../shared/util/bytes.js';
import type { Claim } from '../../../shared/warranty/claim.js';
import type { Finding, Verdict } from '../../../shared/warranty/evaluation.js';
import { parsePolicy } from '../../../shared/warranty/policy.js';
import { verifyPackageBytes } from '../evidence/package-file.js';
import { PolicyStore } from '../evidence/policy-store.js';
import type { DeskTrust } from './supplier.js';

/** The verified package's decoded records, left as a CSV file for the database to load in bulk. */
export interface RecordsFile {
  path: string;
  /** Column names of data/records.csv (shared/blackbox/export.ts). */
  columns: string[];
  rows: number;
}

export interface VerifiedPackage {
  sha256: string;
  bytes: number;
  ok: boolean;
  line: string;
  verdict: Verdict | null;
  summary: string | null;
  excludedBy: string[];
  checks: { id: string; ok: boolean; detail: string }[];
  findings: Finding[];
  claim: Claim | null;
  /** The claim id of a verified ticket (null without a ticket whose freshness was proven). */
  ticketClaimId: string | null;
  device: {
    serial: string | null;
    model: string | null;
    firmware: string | null;
    hardware: string | null;
    boardId: string | null;
    /** Production batch: the month the factory's CA certified the board (YYYY-MM), from signed data. */
    batch: string | null;
    source: string | null;
  };
  createdAt: string | null;
  log: { from: string | null; to: string | null; records: number; segments: number };
  installKey: { fingerprint: string; pinned: boolean | null } | null;
  freshness: { proven: boolean; detail: string };
  extent: string | null;
  caveats: string[];
  policy: { id: string | null; sha256: string | null; packageId: string | null; differences: number };
  customerVerdict: Verdict | null;
  photos: { name: string; sha256: string; bytes: number }[];
  report: Uint8Array | null;
  records: RecordsFile | null;
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The root whose key id the certificate names (else the first: verification then says the chain fails). */
export function rootFor(files: Map<string, Uint8Array>, roots: readonly string[]): string {
  const cert = files.get(DEVICE_DIR + DEVICE_FILES.certificate);
  if (cert && roots.length > 1) {
    try {
      const issuer = decodeCertificate(cert).issuerKeyId;
      const match = roots.find((pem) => bytesEqual(keyId(parsePublicKeyPem(pem).spki), issuer));
      if (match) return match;
    } catch {
      // An unreadable certificate: verification reports it.
    }
  }
  return roots[0]!;
}

function certified(files: Map<string, Uint8Array>): { boardId: string | null; batch: string | null } {
  const cert = files.get(DEVICE_DIR + DEVICE_FILES.certificate);
  if (!cert) return { boardId: null, batch: null };
  try {
    const c = decodeCertificate(cert);
    return { boardId: c.boardId, batch: new Date(c.issuedMs).toISOString().slice(0, 7) };
  } catch {
    return { boardId: null, batch: null };
  }
}

/** Writes a verified data/records.csv where the database loads it from (DuckDB parses it in C++). */
function recordsFile(csv: Uint8Array, dir: string, sha256: string): RecordsFile {
  const nl = csv.indexOf(10);
  const columns = utf8Decode(csv.subarray(0, nl < 0 ? csv.length : nl)).split(',');
  let rows = 0;
  for (let i = nl + 1; i < csv.length; i++) if (csv[i] === 10) rows++;
  const path = join(dir, `${sha256}.csv`);
  writeFileSync(path, csv);
  return { path, columns, rows };
}

/** Verifies one package's bytes with the supplier's trust; a verified package's records go to `recordsDir`. */
export async function verifyForDesk(zip: Uint8Array, trust: DeskTrust, recordsDir: string): Promise<VerifiedPackage> {
  const sha256 = sha256Hex(zip);
  let files: Map<string, Uint8Array> = new Map();
  try {
    files = readZipFiles(zip);
  } catch {
    // Not a readable ZIP: verification says why, with its own words.
  }
  const store = trust.policyStoreDir ? new PolicyStore(trust.policyStoreDir) : null;
  const v = await verifyPackageBytes(zip, {
    rootPem: rootFor(files, trust.roots),
    policy: trust.policyText === null ? null : parsePolicy(trust.policyText),
    ...(store ? { policyBySha256: (sha: string) => store.get(sha) } : {}),
    ticketKey: trust.ticketKey,
    installKeys: trust.installKeys,
  });
  const e = v.evaluation;
  let ticketClaimId: string | null = null;
  const ticket = files.get(FILES.ticket);
  if (v.ok && v.freshness.proven && ticket) {
    try {
      ticketClaimId = parseTicketFile(ticket).ticket.claimId;
    } catch {
      ticketClaimId = null;
    }
  }
  const m = v.manifest;
  const csv = files.get(FILES.recordsCsv);
  return {
    sha256,
    bytes: zip.length,
    ok: v.ok,
    line: v.line,
    verdict: v.ok && e ? e.verdict : null,
    summary: e?.summary ?? null,
    excludedBy: e?.excludedBy ?? [],
    checks: v.checks.map((c) => ({ id: c.id, ok: c.ok, detail: c.detail })),
    findings: e?.findings ?? [],
    claim: v.claim,
    ticketClaimId,
    device: {
      serial: m?.device.serial ?? v.claim?.serial ?? null,
      model: m?.device.model ?? v.claim?.model ?? null,
      firmware: m?.device.firmwareVersion ?? null,
      hardware: m?.device.hardwareRevision ?? null,
      source: m?.device.source ?? null,
      ...certified(files),
    },
    createdAt: m?.createdAt ?? null,
    log: { from: m?.log.from ?? null, to: m?.log.to ?? null, records: m?.log.records ?? 0, segments: m?.log.segments ?? 0 },
    installKey: v.installKey,
    freshness: v.freshness,
    extent: v.extent,
    caveats: v.caveats,
    policy: {
      id: v.policy.decidedBy?.id ?? null,
      sha256: v.policy.decidedBy?.sha256 ?? null,
      packageId: v.policy.package?.id ?? null,
      differences: v.policy.differences.length,
    },
    customerVerdict: v.customerEvaluation?.verdict ?? null,
    photos: [...files].filter(([n]) => n.startsWith(PHOTO_DIR)).map(([name, b]) => ({ name, sha256: sha256Hex(b), bytes: b.length })),
    report: v.report,
    // Only a verified package's CSV is known to equal the fresh decode of its signed segments.
    records: v.ok && csv ? recordsFile(csv, recordsDir, sha256) : null,
  };
}
