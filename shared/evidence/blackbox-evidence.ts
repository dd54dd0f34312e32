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
import { SegmentStreamDecoder, type DecodedItem } from '../blackbox/decoder.js';
import { segmentRecordArray } from '../blackbox/segment.js';
import { hashedRange } from '../blackbox/format.js';
import {
  ATTESTATION_NONE,
  ChainVerifier,
  checkpointSegment,
  nobleVerifier,
  verifyCheckpoint,
  type Checkpoint,
  type SignatureVerifier,
  type VerifyIssue,
} from '../blackbox/verify.js';
import type { ParsedSegment } from '../blackbox/segment.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { canonicalJson } from '../codec/canonical-json.js';
import type {
  AttestedExtent,
  DecodedEvidence,
  EvidenceCheck,
  EvidenceDecoder,
  EvidenceRecordSink,
  EvidenceStream,
  EvidenceSummary,
  LifetimeEvidence,
  SegmentPass,
} from './device-evidence.js';
import type { LogGap } from '../warranty/evaluation.js';
import { formatPath } from '../util/json-path.js';
import type { ByteSource } from '../codec/zip.js';
import { verifySettingsEvidence, type FirmwareUpdateEntry, type SettingsEvidence } from '../settings/evidence.js';
import { decodeLifetime, verifyLifetime, type LifetimeStatement } from '../health/lifetime.js';
import { LifetimeConsistencyCheck, lifetimeView } from '../health/lifetime-check.js';

export const DEVICE_FILES = {
  identity: 'identity.json',
  certificate: 'certificate.psdc',
  segments: 'segments.bin',
  checkpoint: 'checkpoint.json',
  openSegment: 'open-segment.bin',
  /** The board's signed settings snapshot and change records (shared/settings/evidence.ts container). */
  settings: 'settings.bin',
  /** The board's lifetime counters, signed with the checkpoint (shared/health/lifetime.ts); absent from boards without them. */
  lifetime: 'lifetime.bin',
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

/** The same parts with the closed segments in memory or read in ranges (a .pslog on disk). */
export type StreamedEvidenceParts = Omit<DeviceEvidenceParts, 'segments'> & { segments: Uint8Array | ByteSource };

/** The device/ files of a package from the parts of a pulled log. */
export function deviceFiles(parts: StreamedEvidenceParts): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  files.set(DEVICE_FILES.identity, utf8Encode(canonicalJson(PulledIdentitySchema.parse(parts.identity))));
  if (parts.certificate) files.set(DEVICE_FILES.certificate, parts.certificate);
  const seg = parts.segments;
  files.set(DEVICE_FILES.segments, seg instanceof Uint8Array ? seg : seg.read(0, seg.size));
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
    if (cp.lifetime) files.set(DEVICE_FILES.lifetime, cp.lifetime);
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

/** Gaps listed (the rest are counted): the evaluation shows the first few, the count says how many. */
const GAP_LIST_LIMIT = 1000;

/**
 * Counters seen, as sorted disjoint intervals: a ring of segments read in order is one interval,
 * whatever its length, so knowing which attested counters are present costs no per-segment memory.
 */
class CounterSet {
  private readonly lo: number[] = [];
  private readonly hi: number[] = [];

  add(c: number): void {
    const n = this.lo.length;
    if (n && c >= this.lo[n - 1]! && c <= this.hi[n - 1]! + 1) {
      if (c > this.hi[n - 1]!) this.hi[n - 1] = c;
      return;
    }
    let i = 0;
    while (i < n && this.hi[i]! + 1 < c) i++;
    if (i < n && c >= this.lo[i]! - 1 && c <= this.hi[i]! + 1) {
      this.lo[i] = Math.min(this.lo[i]!, c);
      this.hi[i] = Math.max(this.hi[i]!, c);
      if (i + 1 < n && this.hi[i]! + 1 >= this.lo[i + 1]!) {
        this.hi[i] = Math.max(this.hi[i]!, this.hi[i + 1]!);
        this.lo.splice(i + 1, 1);
        this.hi.splice(i + 1, 1);
      }
      return;
    }
    this.lo.splice(i, 0, c);
    this.hi.splice(i, 0, c);
  }

  /** Counters in [from, to] not in the set: how many, and the first `limit` of them. */
  missing(from: number, to: number, limit: number): { count: number; list: number[] } {
    const list: number[] = [];
    let count = 0;
    let c = from;
    const gap = (a: number, b: number) => {
      if (b < a) return;
      count += b - a + 1;
      for (let k = a; k <= b && list.length < limit; k++) list.push(k);
    };
    for (let i = 0; i < this.lo.length && c <= to; i++) {
      if (this.hi[i]! < c) continue;
      gap(c, Math.min(to, this.lo[i]! - 1));
      c = this.hi[i]! + 1;
    }
    gap(c, to);
    return { count, list };
  }
}

/**
 * Decodes device/ evidence as a stream: the small files up front, then the closed segments
 * (device/segments.bin) in chunks of any size, records handed to a sink as they decode. State is
 * bounded whatever the length of the log: counters seen are kept as intervals, segment hashes only
 * for the attested oldest and newest, lists of gaps and issues are capped and counted, and
 * per-segment signature checks deferred behind an attested chain head are made, only when the
 * chain turns out not to be bound, in a second pass over the segments.
 *
 * Device evidence must carry the device certificate and a checkpoint in which the board attests its
 * extent; every segment from the attested oldest to the attested newest must be in the package.
 * Rated capacity, chemistry and cell count come only from the certificate (identity.json is what the
 * customer's machine wrote: display only).
 */
export class DeviceEvidenceStream implements EvidenceStream {
  private readonly identity: PulledIdentity;
  private readonly cert: DeviceCertificate | null;
  private readonly settingsBytes: Uint8Array | null;
  private readonly checks: EvidenceCheck[] = [];
  private readonly chain: ChainVerifier | null;
  private readonly cp: Checkpoint | null;
  readonly nominalCapacityAh: number | null;
  readonly chemistry: string | null;
  private readonly decoder = new SegmentStreamDecoder();
  private readonly present = new CounterSet();
  private readonly gaps: LogGap[] = [];
  private gapCount = 0;
  private sigIssues = 0;
  private sigFirst: VerifyIssue | null = null;
  private chainIssues = 0;
  private chainFirst: VerifyIssue | null = null;
  private deferredDropped = 0;
  private segments = 0;
  private signedSegments = 0;
  private damagedBytes = 0;
  private segmentSize = 0;
  private tempLabels: string[] | null = null;
  private cells: number | null = null;
  private oldestTime: number | null = null;
  private count = 0;
  private lastIndex: number | null = null;
  private lastT: number | null = null;
  private finished = false;
  /** The signed lifetime counters (device/lifetime.bin), decoded, and their check against the records. */
  private readonly lifetime: { statement: LifetimeStatement | null; problems: string[]; check: LifetimeConsistencyCheck | null } | null = null;

  constructor(
    files: ReadonlyMap<string, Uint8Array>,
    trust: { rootPublicKeyPem: string | null },
    private readonly sink: EvidenceRecordSink,
    private readonly opts: { verify?: SignatureVerifier; hash?: (data: Uint8Array) => Uint8Array; hasSegments?: boolean; recordsOnly?: boolean } = {},
  ) {
    const known = new Set<string>(Object.values(DEVICE_FILES));
    const unknown = [...files.keys()].filter((n) => !known.has(n));
    if (unknown.length) throw new DecodeError(`unexpected device files: ${unknown.join(', ')}`);
    const idBytes = files.get(DEVICE_FILES.identity);
    if (!idBytes) throw new DecodeError(`device/${DEVICE_FILES.identity} is missing`);
    this.identity = parseJson(idBytes, PulledIdentitySchema, `device/${DEVICE_FILES.identity}`);
    if (!(opts.hasSegments ?? files.has(DEVICE_FILES.segments))) throw new DecodeError(`device/${DEVICE_FILES.segments} is missing`);

    const certBytes = files.get(DEVICE_FILES.certificate) ?? null;
    let cert: DeviceCertificate | null = null;
    if (certBytes) {
      cert = decodeCertificate(certBytes);
      if (trust.rootPublicKeyPem !== null) {
        try {
          verifyCertificate(cert, parsePublicKeyPem(trust.rootPublicKeyPem).spki);
          this.checks.push({ id: 'device-certificate', ok: true, detail: `${cert.model} ${cert.serial} certified by the given root` });
        } catch (e) {
          this.checks.push({ id: 'device-certificate', ok: false, detail: isPackscopeError(e) ? e.message : String(e) });
        }
      }
      if (cert.serial !== this.identity.serial || cert.model !== this.identity.model) {
        this.checks.push({
          id: 'device-identity',
          ok: false,
          detail: `identity.json names ${this.identity.model} ${this.identity.serial}, the certificate ${cert.model} ${cert.serial}`,
        });
      }
    }
    this.cert = cert;
    this.settingsBytes = files.get(DEVICE_FILES.settings) ?? null;
    this.nominalCapacityAh = cert && cert.version >= 2 && cert.ratedCapacityAh !== null && cert.ratedCapacityAh > 0 ? cert.ratedCapacityAh : null;
    this.chemistry = cert && cert.version >= 2 && cert.chemistry ? cert.chemistry : null;
    this.chain =
      cert && !opts.recordsOnly
        ? new ChainVerifier({
            publicKey: cert.devicePublicKey,
            serial: cert.serial,
            deferSignatures: true,
            ...(opts.verify ? { verify: opts.verify } : {}),
            ...(opts.hash ? { hash: opts.hash } : {}),
          })
        : null;

    // The checkpoint is read before the segments: its attestation says which segment hashes and
    // times the extent check needs, so nothing else has to be kept per segment.
    const cpBytes = files.get(DEVICE_FILES.checkpoint);
    this.cp = null;
    if (cpBytes) {
      const j = parseJson(cpBytes, CheckpointJson, `device/${DEVICE_FILES.checkpoint}`);
      const prefix = files.get(DEVICE_FILES.openSegment);
      if (!prefix) throw new DecodeError(`device/${DEVICE_FILES.openSegment} is missing`);
      const a = j.attestation;
      this.cp = {
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
    }
    const lifeBytes = files.get(DEVICE_FILES.lifetime);
    if (lifeBytes) {
      try {
        const statement = decodeLifetime(lifeBytes);
        this.lifetime = { statement, problems: [], check: opts.recordsOnly ? null : new LifetimeConsistencyCheck(statement.counters) };
      } catch (e) {
        this.lifetime = { statement: null, problems: [(e as Error).message], check: null };
      }
    }
  }

  /** Records decoded so far. */
  get records(): number {
    return this.count;
  }

  /** The next bytes of device/segments.bin. */
  push(chunk: Uint8Array): void {
    for (const item of this.decoder.push(chunk)) this.item(item);
  }

  private gap(reason: string): void {
    this.gapCount++;
    if (this.gaps.length < GAP_LIST_LIMIT) this.gaps.push({ afterIndex: this.lastIndex, reason });
  }

  private issue(i: VerifyIssue): void {
    if (SIGNATURE_ISSUES.has(i.kind)) {
      this.sigIssues++;
      this.sigFirst ??= i;
    } else if (CHAIN_ISSUES.has(i.kind)) {
      this.chainIssues++;
      this.chainFirst ??= i;
    }
  }

  private schema(seg: ParsedSegment): void {
    if (this.tempLabels !== null) return;
    this.tempLabels = seg.header.schema.tempLabels;
    this.cells = seg.header.schema.cells;
    this.sink.schema?.(this.cells, this.tempLabels);
  }

  private emit(seg: ParsedSegment, limit?: number): void {
    const rs = segmentRecordArray(seg, this.count, limit);
    if (!rs.length) return;
    this.count += rs.length;
    const last = rs[rs.length - 1]!;
    this.lastIndex = last.index;
    this.lastT = last.t;
    const check = this.lifetime?.check;
    if (check) for (const r of rs) check.push(r);
    this.sink.records(rs, seg);
  }

  private item(item: DecodedItem): void {
    const chain = this.chain;
    if (item.kind === 'damage') {
      this.damagedBytes += item.length;
      this.gap(`damaged data at byte ${item.offset} (${item.length} bytes): ${item.error.message}`);
      if (chain) chain.addDamage(item.offset, item.length, item.error);
      return;
    }
    const seg = item.segment;
    const c = seg.header.counter;
    this.segments++;
    this.segmentSize = seg.header.segmentSize;
    if (signed(seg)) this.signedSegments++;
    const a = this.cp?.attestation;
    if (a && c === a.oldestCounter && this.oldestTime === null) this.oldestTime = seg.header.rtcMs;
    if (chain) {
      for (const i of chain.addSegment(seg, item.offset)) {
        this.issue(i);
        if (i.kind === 'gap') this.gap(i.message);
      }
      // Only presence matters for counters other than the attested ends; signatures deferred
      // behind the chain head are re-read in a second pass if the head turns out not to bind them.
      if (chain.hashes.has(c)) {
        this.present.add(c);
        if (!a || (c !== a.oldestCounter && c !== a.newestCounter)) chain.hashes.delete(c);
      }
      this.deferredDropped += chain.settleDeferred();
    }
    this.schema(seg);
    this.emit(seg);
  }

  /**
   * Ends the closed segments: checks the checkpoint and the attested extent, decodes the open
   * segment's records, and settles the deferred signature checks (`again` streams the closed
   * segments a second time when they must be checked one by one).
   */
  finish(again: SegmentPass): EvidenceSummary {
    if (this.finished) throw new Error('DeviceEvidenceStream.finish called twice');
    this.finished = true;
    for (const item of this.decoder.finish()) this.item(item);
    const { chain, cert, cp, checks } = this;
    let extent: AttestedExtent | null = null;
    let checkpointOk = false;
    if (cp) {
      if (chain && cert) {
        // The lifetime counters are checked on their own (lifetimeEvidence): a problem with them
        // does not unbind the segments the checkpoint seals.
        const cpIssues = verifyCheckpoint(chain, { ...cp, lifetime: null }, cert.devicePublicKey, undefined, this.opts.verify);
        for (const i of cpIssues) this.issue(i);
        checkpointOk = cpIssues.length === 0;
      }
      if (cp.attestation) extent = this.attestedExtent(cp, this.segmentSize || cp.segmentSize);
      try {
        const seg = checkpointSegment(cp);
        this.segments++;
        this.schema(seg);
        this.emit(seg, cp.recordCount);
      } catch (e) {
        this.gap(`open segment does not decode: ${(e as Error).message}`);
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
      if (!bound && this.deferredDropped > 0) this.checkSignatures(again);
    }

    let signature: DecodedEvidence['signature'];
    if (!cert) {
      signature = 'unsigned';
      if (this.signedSegments > 0 || cp) {
        // Segments signed by a device key, or a device checkpoint, without the certificate that names the key.
        checks.push({
          id: 'device-certificate',
          ok: false,
          detail: `the device certificate is missing although ${this.signedSegments} segment(s)${cp ? ' and a checkpoint' : ''} carry device signatures: device evidence cannot be checked without it`,
        });
      } else {
        checks.push({ id: 'segment-signatures', ok: true, detail: 'desktop recording: no device signatures, evaluated as unsigned data' });
      }
    } else {
      if (!cp) checks.push({ id: 'extent', ok: false, detail: "no signed checkpoint: nothing proves how much of the board's history the package holds" });
      else if (!extent)
        checks.push({
          id: 'extent',
          ok: false,
          detail: "the checkpoint does not attest the board's extent (first checkpoint format): pull the log again with this PackScope",
        });
      signature = this.sigIssues ? 'invalid' : 'valid';
      checks.push(
        this.sigIssues
          ? { id: 'segment-signatures', ok: false, detail: `${this.sigIssues} problem(s); first: ${this.sigFirst!.message}` }
          : {
              id: 'segment-signatures',
              ok: true,
              detail: `${this.segments} segment(s) bound to the device key${cp ? ' through the signed checkpoint' : ''}`,
            },
      );
      checks.push(
        this.chainIssues
          ? { id: 'segment-chain', ok: false, detail: `${this.chainIssues} break(s); first: ${this.chainFirst!.message}` }
          : {
              id: 'segment-chain',
              ok: true,
              detail: this.gapCount ? `hash chain intact where present; ${this.gapCount} gap(s) reported in the evaluation` : 'hash chain continuous',
            },
      );
    }

    const settings = this.opts.recordsOnly ? null : decodeSettingsFile(this.settingsBytes, cert, checks);
    const lifetime = this.opts.recordsOnly ? null : this.lifetimeEvidence(cert, cp, checks);
    const id = this.identity;
    return {
      ...(settings ? { settings } : {}),
      ...(lifetime ? { lifetime } : {}),
      device: {
        serial: cert?.serial ?? id.serial,
        model: cert?.model ?? id.model,
        firmwareVersion: id.firmwareVersion || null,
        hardwareRevision: id.hardwareRevision || null,
        publicKeyFingerprint: cert ? toHex(sha256(spkiFromPoint(cert.devicePublicKey))) : null,
        nominalCapacityAh: this.nominalCapacityAh,
        chemistry: this.chemistry,
        cellCount: this.cells ?? (id.cellCount || null),
        temperatureLabels: this.tempLabels,
      },
      extent,
      source: cert ? 'device' : 'desktop',
      signature,
      gaps: this.gaps,
      gapCount: this.gapCount,
      segments: this.segments,
      recordCount: this.count,
      lastRecordT: this.lastT,
      checks,
    };
  }

  /**
   * device/lifetime.bin: the device's signature, the checkpoint it belongs to, and the counters
   * against the records this package holds. Absent: the board keeps none (not zero).
   */
  private lifetimeEvidence(cert: DeviceCertificate | null, cp: Checkpoint | null, checks: EvidenceCheck[]): LifetimeEvidence | null {
    const life = this.lifetime;
    if (!life) {
      if (cert && cp) checks.push({ id: 'lifetime-counters', ok: true, detail: 'the board keeps no lifetime counters: absent, not zero' });
      return null;
    }
    const st = life.statement;
    const problems = [...life.problems];
    if (!cert) problems.push('lifetime counters without the device certificate that names their key');
    if (!cp) problems.push('lifetime counters without the checkpoint they were signed with');
    if (st && cert && cp) problems.push(...verifyLifetime(st, cert.devicePublicKey, cp, this.opts.verify ?? nobleVerifier));
    if (st && cert?.ratedCapacityAh && st.counters.ratedCapacityAh !== cert.ratedCapacityAh)
      problems.push(`the lifetime counters count cycles against ${st.counters.ratedCapacityAh} Ah, the certificate rates the pack ${cert.ratedCapacityAh} Ah`);
    const consistency = life.check?.result() ?? null;
    if (consistency) problems.push(...consistency.problems);
    checks.push(
      problems.length
        ? { id: 'lifetime-counters', ok: false, detail: `${problems.length} problem(s); first: ${problems[0]}` }
        : {
            id: 'lifetime-counters',
            ok: true,
            detail: `signed by the device with the checkpoint; every counter is at least what the ${consistency?.records ?? 0} record(s) since ${new Date(st!.counters.sinceMs).toISOString()} show`,
          },
    );
    if (!st) return null;
    return { counters: st.counters, view: lifetimeView(st.counters, problems, consistency) };
  }

  /**
   * The deferred per-segment signature checks, on a second pass: the segments whose hash verified,
   * in log order, as ChainVerifier.verifyDeferred would make them.
   */
  private checkSignatures(again: SegmentPass): void {
    const chain = this.chain!;
    const key = this.cert!.devicePublicKey;
    const verify = this.opts.verify ?? nobleVerifier;
    const hash = this.opts.hash ?? sha256;
    const d = new SegmentStreamDecoder();
    const check = (items: DecodedItem[]) => {
      for (const item of items) {
        if (item.kind !== 'segment' || !item.segment.trailer) continue;
        const seg = item.segment;
        const message = hashedRange(seg.bytes);
        const digest = hash(message);
        if (!bytesEqual(digest, seg.trailer!.sha256)) continue;
        if (!verify(seg.trailer!.signature, digest, key, message)) {
          const c = seg.header.counter;
          this.issue(chain.addIssue({ kind: 'signature', segment: c, message: `segment ${c}: device signature does not verify`, offset: item.offset }));
        }
      }
    };
    for (const chunk of again()) check(d.push(chunk));
    check(d.finish());
  }

  /**
   * Compares the package with what the board attested: every counter from the attested oldest to the
   * attested newest must be present with the attested end hashes. Missing counters are listed; when
   * damaged bytes in segments.bin could account for them they are unreadable (the policy decides what
   * that means), otherwise the package left them out and the extent check fails.
   */
  private attestedExtent(cp: Checkpoint, segmentSize: number): AttestedExtent {
    const a = cp.attestation!;
    const none = a.oldestCounter === ATTESTATION_NONE || a.newestCounter === ATTESTATION_NONE;
    let unreadable: number[] = [];
    let unreadableCount = 0;
    const problems: string[] = [];
    const hashes = this.chain?.hashes ?? new Map<number, Uint8Array>();
    if (!none) {
      if (a.newestCounter < a.oldestCounter) problems.push(`the attestation names oldest ${a.oldestCounter} after newest ${a.newestCounter}`);
      else {
        // Without a certificate no hash is verified, so every attested counter counts as missing.
        const m = this.present.missing(a.oldestCounter, a.newestCounter, UNREADABLE_LIST_LIMIT);
        unreadableCount = m.count;
        unreadable = m.list;
        const oldest = hashes.get(a.oldestCounter);
        const newest = hashes.get(a.newestCounter);
        if (oldest && !bytesEqual(oldest, a.oldestHash))
          problems.push(`segment ${a.oldestCounter} is not the oldest segment the board attested (hash differs)`);
        if (newest && !bytesEqual(newest, a.newestHash))
          problems.push(`segment ${a.newestCounter} is not the newest segment the board attested (hash differs)`);
      }
    }
    return attestedExtent(cp, a, none, unreadable, unreadableCount, problems, this.damagedBytes, segmentSize, none ? null : this.oldestTime, this.checks);
  }
}

/**
 * Decodes device/ files held in memory; `verify` may be a faster host implementation of P-256
 * verification. The same decode as DeviceEvidenceStream, with every record collected.
 */
export function decodeDeviceEvidence(
  files: ReadonlyMap<string, Uint8Array>,
  trust: { rootPublicKeyPem: string | null },
  verify?: SignatureVerifier,
  hash?: (data: Uint8Array) => Uint8Array,
): DecodedEvidence {
  const records: LogRecord[] = [];
  const stream = new DeviceEvidenceStream(
    files,
    trust,
    {
      records: (rs) => {
        for (const r of rs) records.push(r);
      },
    },
    { ...(verify ? { verify } : {}), ...(hash ? { hash } : {}) },
  );
  const segBytes = files.get(DEVICE_FILES.segments)!;
  stream.push(segBytes);
  return { ...stream.finish(() => [segBytes]), records };
}

/** The extent check's outcome as a check and as the extent a verdict uses. */
function attestedExtent(
  cp: Checkpoint,
  a: NonNullable<Checkpoint['attestation']>,
  none: boolean,
  unreadable: number[],
  unreadableCount: number,
  problems: string[],
  damagedBytes: number,
  segmentSize: number,
  historyFromMs: number | null,
  checks: EvidenceCheck[],
): AttestedExtent {
  const explainable = segmentSize > 0 ? Math.ceil(damagedBytes / segmentSize) + (damagedBytes > 0 ? 1 : 0) : 0;
  if (unreadableCount > explainable) {
    problems.push(`the board attested segments ${a.oldestCounter}–${a.newestCounter}; the package lacks ${unreadableCount}: ${ranges(unreadable)}`);
  }
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
  // The firmware history the board signed into the same journal: test boots, confirmations, reverts.
  if (ev.updates.length) checks.push({ id: 'firmware-history', ok: ev.verified, detail: firmwareHistory(ev.updates) });
  return ev;
}

const UPDATE_WORDS: Record<FirmwareUpdateEntry['outcome'], string> = { 'test-boot': 'test boot', confirmed: 'confirmed', reverted: 'reverted' };

/** "1.0.0 → 1.6.0 test boot (release 7) 2026-12-07T…; …", newest last, as the board signed them. */
export function firmwareHistory(updates: readonly FirmwareUpdateEntry[]): string {
  const line = (u: FirmwareUpdateEntry) =>
    `${u.oldVersion || '?'} → ${u.newVersion || '?'} ${UPDATE_WORDS[u.outcome]}${u.releaseSequence !== null ? ` (release ${u.releaseSequence})` : ' (no release bundle)'} at ${new Date(u.t).toISOString()}`;
  return `firmware history signed by the device: ${updates.map(line).join('; ')}`;
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
  open: (files, trust, sink, o) => new DeviceEvidenceStream(files, trust, sink, o),
};
