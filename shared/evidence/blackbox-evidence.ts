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
import { fromHex, toHex, utf8Decode, utf8Encode } from '../util/bytes.js';
import { decodeCertificate, parsePublicKeyPem, spkiFromPoint, verifyCertificate, type DeviceCertificate } from '../blackbox/certificate.js';
import { decodeSegments } from '../blackbox/decoder.js';
import { segmentRecords } from '../blackbox/segment.js';
import { ChainVerifier, checkpointSegment, verifyCheckpoint, type Checkpoint, type SignatureVerifier, type VerifyIssue } from '../blackbox/verify.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { canonicalJson } from './canonical-json.js';
import type { DecodedEvidence, EvidenceCheck, EvidenceDecoder } from './device-evidence.js';
import type { LogGap } from './engine.js';
import { formatPath } from './policy.js';

export const DEVICE_FILES = {
  identity: 'identity.json',
  certificate: 'certificate.psdc',
  segments: 'segments.bin',
  checkpoint: 'checkpoint.json',
  openSegment: 'open-segment.bin',
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
  /** Rated capacity the board reports, Ah (not covered by a device signature: a policy's ratedCapacityAh overrides it). */
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
  segmentSize: z.number().int().min(512).max(1 << 20),
});

export interface DeviceEvidenceParts {
  identity: PulledIdentity;
  /** Raw device certificate; null for recordings without a device key. */
  certificate: Uint8Array | null;
  /** Closed segments, concatenated as pulled. */
  segments: Uint8Array;
  checkpoint: Checkpoint | null;
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
      utf8Encode(canonicalJson({ counter: cp.counter, recordCount: cp.recordCount, nonce: toHex(cp.nonce), signature: toHex(cp.signature), segmentSize: cp.segmentSize })),
    );
    files.set(DEVICE_FILES.openSegment, cp.prefix);
  }
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

/** Decodes device/ files; `verify` may be a faster host implementation of P-256 verification. */
export function decodeDeviceEvidence(files: ReadonlyMap<string, Uint8Array>, trust: { rootPublicKeyPem: string | null }, verify?: SignatureVerifier): DecodedEvidence {
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
      checks.push({ id: 'device-identity', ok: false, detail: `identity.json names ${identity.model} ${identity.serial}, the certificate ${cert.model} ${cert.serial}` });
    }
  }

  const records: LogRecord[] = [];
  const gaps: LogGap[] = [];
  const issues: VerifyIssue[] = [];
  let segments = 0;
  let tempLabels: string[] | null = null;
  let cells: number | null = null;
  const chain = cert ? new ChainVerifier({ publicKey: cert.devicePublicKey, serial: cert.serial, ...(verify ? { verify } : {}) }) : null;
  const lastIndex = () => (records.length ? records[records.length - 1]!.index : null);
  for (const item of decodeSegments(segBytes)) {
    if (item.kind === 'damage') {
      gaps.push({ afterIndex: lastIndex(), reason: `damaged data at byte ${item.offset} (${item.length} bytes): ${item.error.message}` });
      if (chain) chain.addDamage(item.offset, item.length, item.error);
      continue;
    }
    const seg = item.segment;
    segments++;
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
  const cpBytes = files.get(DEVICE_FILES.checkpoint);
  if (cpBytes) {
    const j = parseJson(cpBytes, CheckpointJson, `device/${DEVICE_FILES.checkpoint}`);
    const prefix = files.get(DEVICE_FILES.openSegment);
    if (!prefix) throw new DecodeError(`device/${DEVICE_FILES.openSegment} is missing`);
    const cp: Checkpoint = { counter: j.counter, recordCount: j.recordCount, nonce: fromHex(j.nonce), signature: fromHex(j.signature), prefix, segmentSize: j.segmentSize };
    if (chain && cert) issues.push(...verifyCheckpoint(chain, cp, cert.devicePublicKey, undefined, verify));
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
    for (const i of chain.summary().issues) if (i.kind === 'damage' && !issues.includes(i)) issues.push(i);
  }

  let signature: DecodedEvidence['signature'];
  if (!cert) {
    signature = 'unsigned';
    checks.push({ id: 'segment-signatures', ok: true, detail: 'desktop recording: no device signatures to check' });
  } else {
    const bad = issues.filter((i) => SIGNATURE_ISSUES.has(i.kind));
    signature = bad.length ? 'invalid' : 'valid';
    checks.push(
      bad.length
        ? { id: 'segment-signatures', ok: false, detail: `${bad.length} problem(s); first: ${bad[0]!.message}` }
        : { id: 'segment-signatures', ok: true, detail: `${segments} segment(s) signed by the device key${cpBytes ? ', open segment checkpoint verified' : ''}` },
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

  return {
    device: {
      serial: cert?.serial ?? identity.serial,
      model: cert?.model ?? identity.model,
      firmwareVersion: identity.firmwareVersion || null,
      hardwareRevision: identity.hardwareRevision || null,
      publicKeyFingerprint: cert ? toHex(sha256(spkiFromPoint(cert.devicePublicKey))) : null,
      nominalCapacityAh: identity.nominalCapacityAh,
      cellCount: cells ?? (identity.cellCount || null),
      temperatureLabels: tempLabels,
    },
    source: cert ? 'device' : 'desktop',
    signature,
    gaps,
    segments,
    records,
    checks,
  };
}

export const blackboxEvidenceDecoder: EvidenceDecoder = {
  decode: (files, trust) => decodeDeviceEvidence(files, trust),
};
