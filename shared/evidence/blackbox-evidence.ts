/**
 * Device evidence in a diagnosis package, decoded with the black-box code in shared/blackbox:
 *
 *   device/identity.json     what the board said about itself when the log was pulled (unsigned)
 *   device/certificate.psdc  the device certificate (signed by the manufacturing CA)
 *   device/segments.bin      the closed segments, byte for byte as pulled (each signed by the device)
 *   device/checkpoint.json   the open segment's checkpoint: counter, records, tool nonce, signature
 *   device/open-segment.bin  the open segment's bytes the checkpoint signs
 *
 * The same decode runs when a package is made and when it is verified, so the CSVs and the
 * evaluation can be recomputed from the raw bytes and compared.
 */
import { z } from 'zod';
import { DecodeError, isPackscopeError } from '../errors.js';
import type { LogRecord } from '../types/domain.js';
import { bytesEqual, fromHex, toHex, utf8Decode, utf8Encode } from '../util/bytes.js';
import { decodeCertificate, parsePublicKeyPem, spkiFromPoint, verifyCertificate, type DeviceCertificate } from '../blackbox/certificate.js';
import { decodeSegments } from '../blackbox/decoder.js';
import { segmentRecords } from '../blackbox/segment.js';
import {
  ATTESTATION_NONE,
  ChainVerifier,
  checkpointSegment,
  verifyCheckpoint,
  type Checkpoint,
  type SignatureVerifier,
  type VerifyIssue,
} from '../blackbox/verify.js';
import type { ParsedSegment } from '../blackbox/segment.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { canonicalJson } from '../codec/canonical-json.js';
import type { AttestedExtent, DecodedEvidence, EvidenceCheck, EvidenceDecoder } from './device-evidence.js';
import type { LogGap } from '../warranty/evaluation.js';
import { formatPath } from '../util/json-path.js';
import { verifySettingsEvidence, type SettingsEvidence } from '../settings/evidence.js';

export const DEVICE_FILES = {
  identity: 'identity.json',
  certificate: 'certificate.psdc',
  segments: 'segments.bin',
  checkpoint: 'checkpoint.json',
  openSegment: 'open-segment.bin',
  /** The board's signed settings snapshot and change records (shared/settings/evidence.ts container). */
  settings: 'settings.bin',
} as const;

export const PulledIdentitySchema = z.strictObject({
  model: z.string().max(100),
  serial: z.string().max(100),
  boardId: z.string().max(100),
  hardwareRevision: z.string().max(100),
  firmwareVersion: z.string().max(100),
  bootloaderVersion: z.string().max(100),
  cellCount: z.number().int().min(0).max(255),
  chemistry: z.string().max(20),
  /** Rated capacity the board reports, Ah: display only (not signed; verdicts use the certificate's rating or the supplier's policy). */
  nominalCapacityAh: z.number().min(0).max(100_000).nullable(),
  /** When the log was pulled (host clock). */
  pulledAt: z.iso.datetime(),
});
export type PulledIdentity = z.infer<typeof PulledIdentitySchema>;

const CheckpointJson = z.strictObject({
  counter: z.number().int().min(0).max(0xffffffff),
  recordCount: z.number().int().min(0).max(0xffff),
  nonce: z.string().regex(/^([0-9a-f]{2}){0,255}$/),
  signature: z.string().regex(/^[0-9a-f]{128}$/),
  segmentSize: z
    .number()
    .int()
    .min(512)
    .max(1 << 20),
  /** Checkpoint format 2: the board's signed extent (counters null for "none"). */
  attestation: z
    .strictObject({
      oldestCounter: z.number().int().min(0).max(0xfffffffe).nullable(),
      oldestHash: z.string().regex(/^[0-9a-f]{64}$/),
      newestCounter: z.number().int().min(0).max(0xfffffffe).nullable(),
      newestHash: z.string().regex(/^[0-9a-f]{64}$/),
      boardTimeMs: z
        .number()
        .int()
        .min(0)
        .max(2 ** 53 - 1),
      bootCount: z.number().int().min(0).max(0xffffffff),
    })
    .optional(),
});

export interface DeviceEvidenceParts {
  identity: PulledIdentity;
  /** Raw device certificate; null for recordings without a device key. */
  certificate: Uint8Array | null;
  /** Closed segments, concatenated as pulled. */
  segments: Uint8Array;
  checkpoint: Checkpoint | null;
  /** The settings evidence container pulled with the log (absent: the board keeps none). */
  settings?: Uint8Array | null;
}

/** The device/ files of a package from the parts of a pulled log. */
export function deviceFiles(parts: DeviceEvidenceParts): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  files.set(DEVICE_FILES.identity, utf8Encode(canonicalJson(PulledIdentitySchema.parse(parts.identity))));
  if (parts.certificate) files.set(DEVICE_FILES.certificate, parts.certificate);
  files.set(DEVICE_FILES.segments, parts.segments);
  if (parts.checkpoint) {
    const cp = parts.checkpoint;
    files.set(
      DEVICE_FILES.checkpoint,
      utf8Encode(
        canonicalJson({
          counter: cp.counter,
          recordCount: cp.recordCount,
          nonce: toHex(cp.nonce),
          signature: toHex(cp.signature),
          segmentSize: cp.segmentSize,
          ...(cp.attestation
            ? {
                attestation: {
                  oldestCounter: cp.attestation.oldestCounter === ATTESTATION_NONE ? null : cp.attestation.oldestCounter,
                  oldestHash: toHex(cp.attestation.oldestHash),
                  newestCounter: cp.attestation.newestCounter === ATTESTATION_NONE ? null : cp.attestation.newestCounter,
                  newestHash: toHex(cp.attestation.newestHash),
                  boardTimeMs: cp.attestation.boardTimeMs,
                  bootCount: cp.attestation.bootCount,
                },
              }
            : {}),
        }),
      ),
    );
    files.set(DEVICE_FILES.openSegment, cp.prefix);
  }
  if (parts.settings) files.set(DEVICE_FILES.settings, parts.settings);
  return files;
}

function parseJson<T>(bytes: Uint8Array, schema: z.ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(utf8Decode(bytes));
  } catch (e) {
    throw new DecodeError(`${what} is not JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new DecodeError(`${what}: ${r.error.issues.map((i) => `${formatPath(i.path) || '(document)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

const SIGNATURE_ISSUES = new Set(['hash', 'signature', 'serial', 'checkpoint', 'certificate', 'open']);
const CHAIN_ISSUES = new Set(['chain', 'order']);
const UNREADABLE_LIST_LIMIT = 1000;

/** True when a closed segment carries a signature (desktop recordings leave the field all zeros). */
function signed(seg: ParsedSegment): boolean {
  return seg.trailer !== null && seg.trailer.signature.some((b) => b !== 0);
}

/**
 * Decodes device/ files; `verify` may be a faster host implementation of P-256 verification.
 *
 * Device evidence must carry the device certificate and a checkpoint in which the board attests its
 * extent; every segment from the attested oldest to the attested newest must be in the package.
 * Rated capacity, chemistry and cell count come only from the certificate (identity.json is what the
 * customer's machine wrote: display only).
 */
export function decodeDeviceEvidence(
  files: ReadonlyMap<string, Uint8Array>,
  trust: { rootPublicKeyPem: string | null },
  verify?: SignatureVerifier,
  hash?: (data: Uint8Array) => Uint8Array,
): DecodedEvidence {
  const known = new Set<string>(Object.values(DEVICE_FILES));
  const unknown = [...files.keys()].filter((n) => !known.has(n));
  if (unknown.length) throw new DecodeError(`unexpected device files: ${unknown.join(', ')}`);
  const idBytes = files.get(DEVICE_FILES.identity);
  if (!idBytes) throw new DecodeError(`device/${DEVICE_FILES.identity} is missing`);
  const identity = parseJson(idBytes, PulledIdentitySchema, `device/${DEVICE_FILES.identity}`);
  const segBytes = files.get(DEVICE_FILES.segments);
  if (!segBytes) throw new DecodeError(`device/${DEVICE_FILES.segments} is missing`);
  const checks: EvidenceCheck[] = [];

  const certBytes = files.get(DEVICE_FILES.certificate) ?? null;
  let cert: DeviceCertificate | null = null;
  if (certBytes) {
    cert = decodeCertificate(certBytes);
    if (trust.rootPublicKeyPem !== null) {
      try {
        verifyCertificate(cert, parsePublicKeyPem(trust.rootPublicKeyPem).spki);
        checks.push({ id: 'device-certificate', ok: true, detail: `${cert.model} ${cert.serial} certified by the given root` });
      } catch (e) {
        checks.push({ id: 'device-certificate', ok: false, detail: isPackscopeError(e) ? e.message : String(e) });
      }
    }
    if (cert.serial !== identity.serial || cert.model !== identity.model) {
      checks.push({
        id: 'device-identity',
        ok: false,
        detail: `identity.json names ${identity.model} ${identity.serial}, the certificate ${cert.model} ${cert.serial}`,
      });
    }
  }

  const records: LogRecord[] = [];
  const gaps: LogGap[] = [];
  const issues: VerifyIssue[] = [];
  let segments = 0;
  let signedSegments = 0;
  let damagedBytes = 0;
  let segmentSize = 0;
  let tempLabels: string[] | null = null;
  let cells: number | null = null;
  const segmentTimes = new Map<number, number>();
  const chain = cert
    ? new ChainVerifier({
        publicKey: cert.devicePublicKey,
        serial: cert.serial,
        deferSignatures: true,
        ...(verify ? { verify } : {}),
        ...(hash ? { hash } : {}),
      })
    : null;
  const lastIndex = () => (records.length ? records[records.length - 1]!.index : null);
  for (const item of decodeSegments(segBytes)) {
    if (item.kind === 'damage') {
      damagedBytes += item.length;
      gaps.push({ afterIndex: lastIndex(), reason: `damaged data at byte ${item.offset} (${item.length} bytes): ${item.error.message}` });
      if (chain) chain.addDamage(item.offset, item.length, item.error);
      continue;
    }
    const seg = item.segment;
    segments++;
    segmentSize = seg.header.segmentSize;
    if (signed(seg)) signedSegments++;
    if (!segmentTimes.has(seg.header.counter)) segmentTimes.set(seg.header.counter, seg.header.rtcMs);
    if (chain) {
      for (const i of chain.addSegment(seg, item.offset)) {
        issues.push(i);
        if (i.kind === 'gap') gaps.push({ afterIndex: lastIndex(), reason: i.message });
      }
    }
    if (tempLabels === null) {
      tempLabels = seg.header.schema.tempLabels;
      cells = seg.header.schema.cells;
    }
    for (const r of segmentRecords(seg, records.length)) records.push(r);
  }

  let extent: AttestedExtent | null = null;
  const cpBytes = files.get(DEVICE_FILES.checkpoint);
  let checkpointOk = false;
  if (cpBytes) {
    const j = parseJson(cpBytes, CheckpointJson, `device/${DEVICE_FILES.checkpoint}`);
    const prefix = files.get(DEVICE_FILES.openSegment);
    if (!prefix) throw new DecodeError(`device/${DEVICE_FILES.openSegment} is missing`);
    const a = j.attestation;
    const cp: Checkpoint = {
      counter: j.counter,
      recordCount: j.recordCount,
      nonce: fromHex(j.nonce),
      signature: fromHex(j.signature),
      prefix,
      segmentSize: j.segmentSize,
      attestation: a
        ? {
            oldestCounter: a.oldestCounter ?? ATTESTATION_NONE,
            oldestHash: fromHex(a.oldestHash),
            newestCounter: a.newestCounter ?? ATTESTATION_NONE,
            newestHash: fromHex(a.newestHash),
            boardTimeMs: a.boardTimeMs,
            bootCount: a.bootCount,
          }
        : null,
    };
    if (chain && cert) {
      const cpIssues = verifyCheckpoint(chain, cp, cert.devicePublicKey, undefined, verify);
      issues.push(...cpIssues);
      checkpointOk = cpIssues.length === 0;
    }
    if (a) extent = attestedExtent(cp, chain, segmentTimes, damagedBytes, segmentSize || j.segmentSize, checks);
    try {
      const seg = checkpointSegment(cp);
      segments++;
      if (tempLabels === null) {
        tempLabels = seg.header.schema.tempLabels;
        cells = seg.header.schema.cells;
      }
      for (const r of segmentRecords(seg, records.length, cp.recordCount)) records.push(r);
    } catch (e) {
      gaps.push({ afterIndex: lastIndex(), reason: `open segment does not decode: ${(e as Error).message}` });
    }
  }
  if (chain) {
    // Per-segment signatures are redundant where the attested chain head binds an unbroken chain:
    // check them only when something is missing, broken or unattested.
    const s = chain.summary();
    const bound =
      checkpointOk &&
      extent !== null &&
      extent.unreadableCount === 0 &&
      s.missingSegments === 0 &&
      !s.issues.some((i) => i.kind === 'damage' || CHAIN_ISSUES.has(i.kind) || i.kind === 'hash');
    if (bound) chain.settleDeferred();
    else issues.push(...chain.verifyDeferred());
    for (const i of chain.summary().issues) if (i.kind === 'damage' && !issues.includes(i)) issues.push(i);
  }

  let signature: DecodedEvidence['signature'];
  if (!cert) {
    signature = 'unsigned';
    if (signedSegments > 0 || cpBytes) {
      // Segments signed by a device key, or a device checkpoint, without the certificate that names the key.
      checks.push({
        id: 'device-certificate',
        ok: false,
        detail: `the device certificate is missing although ${signedSegments} segment(s)${cpBytes ? ' and a checkpoint' : ''} carry device signatures: device evidence cannot be checked without it`,
      });
    } else {
      checks.push({ id: 'segment-signatures', ok: true, detail: 'desktop recording: no device signatures, evaluated as unsigned data' });
    }
  } else {
    if (!cpBytes) checks.push({ id: 'extent', ok: false, detail: "no signed checkpoint: nothing proves how much of the board's history the package holds" });
    else if (!extent)
      checks.push({
        id: 'extent',
        ok: false,
        detail: "the checkpoint does not attest the board's extent (first checkpoint format): pull the log again with this PackScope",
      });
    const bad = issues.filter((i) => SIGNATURE_ISSUES.has(i.kind));
    signature = bad.length ? 'invalid' : 'valid';
    checks.push(
      bad.length
        ? { id: 'segment-signatures', ok: false, detail: `${bad.length} problem(s); first: ${bad[0]!.message}` }
        : {
            id: 'segment-signatures',
            ok: true,
            detail: `${segments} segment(s) bound to the device key${cpBytes ? ' through the signed checkpoint' : ''}`,
          },
    );
    const broken = issues.filter((i) => CHAIN_ISSUES.has(i.kind));
    checks.push(
      broken.length
        ? { id: 'segment-chain', ok: false, detail: `${broken.length} break(s); first: ${broken[0]!.message}` }
        : {
            id: 'segment-chain',
            ok: true,
            detail: gaps.length ? `hash chain intact where present; ${gaps.length} gap(s) reported in the evaluation` : 'hash chain continuous',
          },
    );
  }

  const settings = decodeSettingsFile(files.get(DEVICE_FILES.settings) ?? null, cert, checks);

  const rating =
    cert && cert.version >= 2 && cert.ratedCapacityAh !== null
      ? { chemistry: cert.chemistry ?? '', cellCount: cert.cellCount ?? 0, ratedCapacityAh: cert.ratedCapacityAh }
      : null;
  return {
    device: {
      serial: cert?.serial ?? identity.serial,
      model: cert?.model ?? identity.model,
      firmwareVersion: identity.firmwareVersion || null,
      hardwareRevision: identity.hardwareRevision || null,
      publicKeyFingerprint: cert ? toHex(sha256(spkiFromPoint(cert.devicePublicKey))) : null,
      nominalCapacityAh: rating && rating.ratedCapacityAh > 0 ? rating.ratedCapacityAh : null,
      cellCount: cells ?? (identity.cellCount || null),
      temperatureLabels: tempLabels,
    },
    extent,
    source: cert ? 'device' : 'desktop',
    signature,
    gaps,
    segments,
    records,
    checks,
    ...(settings ? { settings } : {}),
  };
}

/**
 * device/settings.bin: decoded and verified against the device key of the certificate. Every
 * signature and chain link must hold for the package to verify, as for the segments.
 */
function decodeSettingsFile(bytes: Uint8Array | null, cert: DeviceCertificate | null, checks: EvidenceCheck[]): SettingsEvidence | null {
  if (!bytes) return null;
  if (!cert) {
    checks.push({ id: 'settings-signatures', ok: false, detail: 'signed settings records without the device certificate that names their key' });
    return null;
  }
  const ev = verifySettingsEvidence(bytes, cert.devicePublicKey);
  checks.push(
    ev.verified
      ? {
          id: 'settings-signatures',
          ok: true,
          detail: `settings snapshot ${ev.snapshotDigest.slice(0, 16)}… and ${ev.changes.length} change record(s) of ${ev.journalCount} signed by the device key`,
        }
      : { id: 'settings-signatures', ok: false, detail: `${ev.problems.length} problem(s); first: ${ev.problems[0]}` },
  );
  return ev;
}

/**
 * Compares the package with what the board attested: every counter from the attested oldest to the
 * attested newest must be present with the attested end hashes. Missing counters are listed; when
 * damaged bytes in segments.bin could account for them they are unreadable (the policy decides what
 * that means), otherwise the package left them out and the extent check fails.
 */
function attestedExtent(
  cp: Checkpoint,
  chain: ChainVerifier | null,
  times: ReadonlyMap<number, number>,
  damagedBytes: number,
  segmentSize: number,
  checks: EvidenceCheck[],
): AttestedExtent {
  const a = cp.attestation!;
  const none = a.oldestCounter === ATTESTATION_NONE || a.newestCounter === ATTESTATION_NONE;
  const unreadable: number[] = [];
  let unreadableCount = 0;
  const problems: string[] = [];
  const hashes = chain?.hashes ?? new Map<number, Uint8Array>();
  if (!none) {
    if (a.newestCounter < a.oldestCounter) problems.push(`the attestation names oldest ${a.oldestCounter} after newest ${a.newestCounter}`);
    else {
      for (let c = a.oldestCounter; c <= a.newestCounter; c++) {
        if (hashes.has(c)) continue;
        unreadableCount++;
        if (unreadable.length < UNREADABLE_LIST_LIMIT) unreadable.push(c);
      }
      const oldest = hashes.get(a.oldestCounter);
      const newest = hashes.get(a.newestCounter);
      if (oldest && !bytesEqual(oldest, a.oldestHash)) problems.push(`segment ${a.oldestCounter} is not the oldest segment the board attested (hash differs)`);
      if (newest && !bytesEqual(newest, a.newestHash)) problems.push(`segment ${a.newestCounter} is not the newest segment the board attested (hash differs)`);
    }
  }
  const explainable = segmentSize > 0 ? Math.ceil(damagedBytes / segmentSize) + (damagedBytes > 0 ? 1 : 0) : 0;
  if (unreadableCount > explainable) {
    problems.push(`the board attested segments ${a.oldestCounter}–${a.newestCounter}; the package lacks ${unreadableCount}: ${ranges(unreadable)}`);
  }
  const historyFromMs = none ? null : (times.get(a.oldestCounter) ?? null);
  const span = none
    ? 'no closed segment'
    : `segments ${a.oldestCounter}–${a.newestCounter}, history from ${historyFromMs === null ? 'unknown' : new Date(historyFromMs).toISOString()}`;
  checks.push(
    problems.length
      ? { id: 'extent', ok: false, detail: problems.join('; ') }
      : {
          id: 'extent',
          ok: true,
          detail:
            `the board attests ${span}; board clock ${new Date(a.boardTimeMs).toISOString()}, boot ${a.bootCount}` +
            (unreadableCount ? `; ${unreadableCount} attested segment(s) unreadable: ${ranges(unreadable)}` : '; every attested segment present'),
        },
  );
  return {
    oldestCounter: none ? null : a.oldestCounter,
    newestCounter: none ? null : a.newestCounter,
    openCounter: cp.counter,
    boardTimeMs: a.boardTimeMs,
    bootCount: a.bootCount,
    historyFromMs,
    unreadable,
    unreadableCount,
    nonce: toHex(cp.nonce),
  };
}

/** "3–7, 12, 40–41" for a sorted list of counters. */
export function ranges(list: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < list.length; ) {
    let j = i;
    while (j + 1 < list.length && list[j + 1] === list[j]! + 1) j++;
    out.push(i === j ? `${list[i]}` : `${list[i]}–${list[j]}`);
    i = j + 1;
  }
  return out.length > 20 ? `${out.slice(0, 20).join(', ')} …` : out.join(', ');
}

export const blackboxEvidenceDecoder: EvidenceDecoder = {
  decode: (files, trust) => decodeDeviceEvidence(files, trust),
};
