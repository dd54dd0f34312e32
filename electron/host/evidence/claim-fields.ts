/**
 * Which claim fields of a package the verifier may read as the customer signed them. When the
 * claim file is not covered by valid signatures and hashes, every field is flagged; a field the
 * signed parts of the package also record (the evaluation's and the manifest's copy of serial,
 * dates and remedy) is shown as altered, with the signed value, when the two disagree.
 */
import type { ZipArchive } from '../../../shared/codec/zip.js';
import type { Claim } from '../../../shared/warranty/claim.js';

interface Check {
  id: string;
  ok: boolean;
  detail: string;
}

export interface ClaimFieldState {
  field: string;
  state: 'verified' | 'unverified' | 'altered';
  signed: string | null;
}

const CLAIM_FILE = 'claim.json';

/** True when `name` is covered: both signatures verify and nothing says its bytes or its place in the set are wrong. */
function covered(checks: readonly Check[], name: string): boolean {
  const ok = (id: string) => checks.some((c) => c.id === id && c.ok) && !checks.some((c) => c.id === id && !c.ok);
  if (!ok('signature-raw') || !ok('signature-ssh')) return false;
  if (!checks.some((c) => c.id === 'hashes')) return false;
  return !checks.some((c) => !c.ok && (c.id === 'hashes' || c.id === 'file-set' || c.id === 'archive') && (c.id === 'archive' || c.detail.includes(name)));
}

/** The claim's fields as the signed evaluation and manifest record them (only those that are covered). */
function signedCopies(archive: ZipArchive, checks: readonly Check[]): Record<string, string> {
  const out: Record<string, string> = {};
  const read = (name: string): Record<string, unknown> | null => {
    const e = archive.entries.find((x) => x.name === name);
    if (!e || !covered(checks, name)) return null;
    try {
      const v = JSON.parse(new TextDecoder().decode(archive.read(e))) as { claim?: unknown };
      return v.claim && typeof v.claim === 'object' ? (v.claim as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };
  for (const source of [read('manifest.json'), read('evaluation.json')]) {
    if (!source) continue;
    for (const [k, v] of Object.entries(source)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** `archive`: the package, opened (vetted) through range reads. */
export function claimFieldsAsVerified(archive: ZipArchive, claim: Claim, checks: readonly Check[]): ClaimFieldState[] {
  const fields = Object.keys(claim) as (keyof Claim)[];
  const canonical = !checks.some((c) => c.id === 'claim-policy' && !c.ok && c.detail.includes(CLAIM_FILE));
  if (covered(checks, CLAIM_FILE) && canonical) return fields.map((field) => ({ field, state: 'verified', signed: null }));
  const signed = signedCopies(archive, checks);
  return fields.map((field) => {
    const s = signed[field];
    return s !== undefined && s !== claim[field] ? { field, state: 'altered', signed: s } : { field, state: 'unverified', signed: null };
  });
}

const ISSUER = /issued by key ([0-9a-f]+), not by the given root \(([0-9a-f]+)\)/;

/** The chosen root against the board's certificate, from the certificate check. */
export function rootAgainstCertificate(checks: readonly Check[]): { matches: boolean | null; issuerKeyId: string | null; chosenKeyId: string | null } {
  const c = checks.find((x) => x.id === 'device-certificate');
  if (!c) return { matches: null, issuerKeyId: null, chosenKeyId: null };
  const m = c.ok ? null : ISSUER.exec(c.detail);
  return m ? { matches: false, issuerKeyId: m[1]!, chosenKeyId: m[2]! } : { matches: true, issuerKeyId: null, chosenKeyId: null };
}
