import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { DecodeError } from '../errors.js';
import { bytesEqual, concatBytes, toHex, utf8Encode } from '../util/bytes.js';
import { SegmentStreamDecoder } from './decoder.js';
import { hashedRange, slotSynced } from './format.js';
import { parseSegment, segmentDigest, type ParsedSegment } from './segment.js';
import { decodeLifetime, verifyLifetime } from '../health/lifetime.js';

/**
 * Evidence verification of a black-box log: every closed segment's hash and device signature, the
 * hash chain between consecutive segments, gaps in the segment counter, and the checkpoint that
 * seals the open segment with a nonce chosen by the tool. Nothing is repaired: each problem is an
 * issue naming the segment (by counter, or by the counter expected at that place) and what is wrong.
 */
/**
 * Checks an ECDSA P-256 / SHA-256 signature. `digest` is SHA-256(message); implementations may use
 * either (noble verifies the digest, node:crypto re-hashes the message, which callers in this
 * module always pass).
 */
export type SignatureVerifier = (signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array, message?: Uint8Array) => boolean;

/** Platform-free verifier (noble). Hosts may pass a faster one (node:crypto) with the same meaning. */
export const nobleVerifier: SignatureVerifier = (signature, digest, publicKey) => {
  try {
    return p256.verify(signature, digest, publicKey, { prehash: false, lowS: false });
  } catch {
    return false;
  }
};

export type IssueKind = 'damage' | 'hash' | 'signature' | 'chain' | 'gap' | 'order' | 'serial' | 'open' | 'checkpoint' | 'certificate' | 'truncated';

export interface VerifyIssue {
  kind: IssueKind;
  /** Segment counter concerned (for damage: the counter expected at that place), null if unknown. */
  segment: number | null;
  message: string;
  /** Byte offset in the stream or file, where known. */
  offset?: number;
}

export interface ChainSummary {
  segments: number;
  records: number;
  firstCounter: number | null;
  lastCounter: number | null;
  firstTime: number | null;
  lastTime: number | null;
  /** Number of segments missing inside the range (sum over gaps). */
  missingSegments: number;
  issues: VerifyIssue[];
  /** Issues beyond the first MAX_ISSUES are counted, not kept. */
  issueCount: number;
  ok: boolean;
}

const MAX_ISSUES = 1000;

export interface ChainVerifierOptions {
  /** Device public key (uncompressed P-256 point) from the verified certificate. */
  publicKey: Uint8Array;
  /** Expected device serial (from the certificate); segments from another board are an issue. */
  serial?: string;
  verify?: SignatureVerifier;
  /** Hash of the segment before the first one this verifier sees (a resumed verification). */
  previous?: { counter: number; sha256: Uint8Array };
  /**
   * Hash every segment now but keep signature checks for later (`verifyDeferred`). A checkpoint
   * whose attested chain head binds a contiguous chain makes per-segment signatures redundant:
   * SHA-256 of the head commits to every segment behind it. This is what lets a package verify
   * at close to hashing speed.
   */
  deferSignatures?: boolean;
  /** SHA-256 implementation (hosts pass node:crypto's; the default is the platform-free one). */
  hash?: (data: Uint8Array) => Uint8Array;
}

interface DeferredSignature {
  counter: number;
  signature: Uint8Array;
  digest: Uint8Array;
  message: Uint8Array;
  offset: number | undefined;
}

export class ChainVerifier {
  private readonly verifyFn: SignatureVerifier;
  private issues: VerifyIssue[] = [];
  private issueCount = 0;
  segments = 0;
  records = 0;
  missingSegments = 0;
  firstCounter: number | null = null;
  lastCounter: number | null = null;
  lastHash: Uint8Array | null = null;
  firstTime: number | null = null;
  lastTime: number | null = null;
  /** Closed segments whose hash verified: counter → SHA-256 (for checking an attested extent). */
  readonly hashes = new Map<number, Uint8Array>();
  private deferred: DeferredSignature[] = [];

  constructor(private readonly options: ChainVerifierOptions) {
    this.verifyFn = options.verify ?? nobleVerifier;
    if (options.previous) {
      this.lastCounter = options.previous.counter;
      this.lastHash = options.previous.sha256;
    }
  }

  private issue(i: VerifyIssue): VerifyIssue {
    this.issueCount++;
    if (this.issues.length < MAX_ISSUES) this.issues.push(i);
    return i;
  }

  /** The counter expected next (for naming damaged places). */
  get expectedCounter(): number | null {
    return this.lastCounter === null ? null : this.lastCounter + 1;
  }

  /** Checks one closed segment; returns the issues it raised (empty when it verifies). */
  addSegment(seg: ParsedSegment, offset?: number): VerifyIssue[] {
    const out: VerifyIssue[] = [];
    const c = seg.header.counter;
    const at = offset === undefined ? {} : { offset };
    if (this.options.serial !== undefined && seg.header.serial !== this.options.serial.slice(0, 16)) {
      out.push(
        this.issue({ kind: 'serial', segment: c, message: `segment ${c} belongs to board "${seg.header.serial}", not "${this.options.serial}"`, ...at }),
      );
    }
    if (!seg.trailer) {
      out.push(this.issue({ kind: 'open', segment: c, message: `segment ${c} is not closed (no trailer, no signature)`, ...at }));
    } else {
      const message = hashedRange(seg.bytes);
      const digest = (this.options.hash ?? sha256)(message);
      if (!bytesEqual(digest, seg.trailer.sha256)) {
        out.push(this.issue({ kind: 'hash', segment: c, message: `segment ${c}: content does not match its SHA-256 (altered or damaged)`, ...at }));
      } else {
        if (!this.hashes.has(c)) this.hashes.set(c, digest);
        if (this.options.deferSignatures) this.deferred.push({ counter: c, signature: seg.trailer.signature, digest, message, offset });
        else if (!this.verifyFn(seg.trailer.signature, digest, this.options.publicKey, message)) {
          out.push(this.issue({ kind: 'signature', segment: c, message: `segment ${c}: device signature does not verify`, ...at }));
        }
      }
    }
    if (this.lastCounter !== null) {
      if (c <= this.lastCounter) {
        out.push(this.issue({ kind: 'order', segment: c, message: `segment ${c} follows segment ${this.lastCounter} (duplicate or out of order)`, ...at }));
      } else if (c > this.lastCounter + 1) {
        const missing = c - this.lastCounter - 1;
        this.missingSegments += missing;
        const range = missing === 1 ? `segment ${this.lastCounter + 1} is` : `segments ${this.lastCounter + 1}–${c - 1} are`;
        out.push(this.issue({ kind: 'gap', segment: this.lastCounter + 1, message: `gap: ${range} missing before segment ${c}`, ...at }));
      } else if (this.lastHash && !bytesEqual(seg.header.prevHash, this.lastHash)) {
        out.push(this.issue({ kind: 'chain', segment: c, message: `segment ${c}: previous-segment hash does not match segment ${this.lastCounter}`, ...at }));
      }
    }
    this.segments++;
    this.records += seg.recordCount;
    if (this.firstCounter === null) this.firstCounter = c;
    if (this.lastCounter === null || c > this.lastCounter) {
      this.lastCounter = c;
      this.lastHash = seg.trailer ? seg.trailer.sha256 : segmentDigest(seg.bytes);
    }
    if (seg.recordCount > 0) {
      const t0 = seg.header.rtcMs;
      if (this.firstTime === null) this.firstTime = t0;
      this.lastTime = t0; // refined by callers that decode records; header time is a lower bound
    }
    return out;
  }

  /** Reports a damaged stretch the decoder had to skip. */
  addDamage(offset: number, length: number, error: DecodeError): VerifyIssue {
    const expected = this.expectedCounter;
    const where = expected === null ? 'before the first segment' : `where segment ${expected} was expected`;
    return this.issue({ kind: 'damage', segment: expected, offset, message: `damaged data (${length} bytes at offset ${offset}, ${where}): ${error.message}` });
  }

  /** Segments whose signature check was deferred and not yet made. */
  get deferredCount(): number {
    return this.deferred.length;
  }

  /** Checks the deferred signatures (all, or those `which` selects); returns the issues raised. */
  verifyDeferred(which: (counter: number) => boolean = () => true): VerifyIssue[] {
    const out: VerifyIssue[] = [];
    const keep: DeferredSignature[] = [];
    for (const d of this.deferred) {
      if (!which(d.counter)) {
        keep.push(d);
        continue;
      }
      if (!this.verifyFn(d.signature, d.digest, this.options.publicKey, d.message)) {
        out.push(
          this.issue({
            kind: 'signature',
            segment: d.counter,
            message: `segment ${d.counter}: device signature does not verify`,
            ...(d.offset === undefined ? {} : { offset: d.offset }),
          }),
        );
      }
    }
    this.deferred = keep;
    return out;
  }

  /** Forgets the deferred checks: the caller proved the segments through an attested chain head. */
  settleDeferred(): number {
    const n = this.deferred.length;
    this.deferred = [];
    return n;
  }

  addIssue(i: VerifyIssue): VerifyIssue {
    return this.issue(i);
  }

  summary(): ChainSummary {
    return {
      segments: this.segments,
      records: this.records,
      firstCounter: this.firstCounter,
      lastCounter: this.lastCounter,
      firstTime: this.firstTime,
      lastTime: this.lastTime,
      missingSegments: this.missingSegments,
      issues: this.issues.slice(),
      issueCount: this.issueCount,
      ok: this.issueCount === 0,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoint of the open segment, and the board's attestation of its extent

/**
 * What the board states about the history it holds, signed with the checkpoint over the verifier's
 * nonce (PROTOCOL.md "Checkpoint"). The newest closed segment's hash is the head of the hash chain,
 * so with the oldest retained segment's counter and hash it binds every segment in between: a
 * package holding a chosen stretch of the log cannot match it.
 */
export interface Attestation {
  /** Oldest closed segment still in the ring; NONE (0xffffffff) when the ring holds none. */
  oldestCounter: number;
  /** SHA-256 of that segment (its trailer hash); zeros when none. */
  oldestHash: Uint8Array;
  /** Newest closed segment; NONE when none. */
  newestCounter: number;
  /** SHA-256 of the newest closed segment: the chain head. */
  newestHash: Uint8Array;
  /** The board's real-time clock when it signed, ms since the epoch. */
  boardTimeMs: number;
  bootCount: number;
}

export const ATTESTATION_NONE = 0xffffffff;

export interface Checkpoint {
  counter: number;
  recordCount: number;
  nonce: Uint8Array;
  /** ECDSA P-256 / SHA-256 over checkpointMessage(), raw r‖s. */
  signature: Uint8Array;
  /** The open segment's bytes: header and recordCount records. */
  prefix: Uint8Array;
  /** Segment size, to rebuild the open segment for decoding. */
  segmentSize: number;
  /** The board's signed statement of its extent; null for a checkpoint of the first format (no extent). */
  attestation?: Attestation | null;
  /**
   * The board's lifetime counters signed with this checkpoint (shared/health/lifetime.ts, PROTOCOL.md
   * 7.7), as carried; null or absent from a board that keeps none.
   */
  lifetime?: Uint8Array | null;
}

/**
 * The message a checkpoint signature covers.
 *   format 1 (no attestation): "PSCP" · counter u32 · recordCount u16 · nonceLen u8 · nonce · SHA-256(prefix)
 *   format 2: "PSC2" · counter u32 · recordCount u16 · nonceLen u8 · nonce · SHA-256(prefix) ·
 *             oldestCounter u32 · oldestHash[32] · newestCounter u32 · newestHash[32] · boardTimeMs u64 · bootCount u32
 */
export function checkpointMessage(counter: number, recordCount: number, nonce: Uint8Array, prefix: Uint8Array, attestation?: Attestation | null): Uint8Array {
  const head = new Uint8Array(11);
  head.set(utf8Encode(attestation ? 'PSC2' : 'PSCP'));
  new DataView(head.buffer).setUint32(4, counter, true);
  new DataView(head.buffer).setUint16(8, recordCount, true);
  head[10] = nonce.length;
  if (!attestation) return concatBytes(head, nonce, sha256(prefix));
  return concatBytes(head, nonce, sha256(prefix), encodeAttestation(attestation));
}

/** The attestation's 84 bytes as signed (and as carried in the protocol and in .pslog files). */
export function encodeAttestation(a: Attestation): Uint8Array {
  const b = new Uint8Array(ATTESTATION_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, a.oldestCounter, true);
  b.set(a.oldestHash.subarray(0, 32), 4);
  v.setUint32(36, a.newestCounter, true);
  b.set(a.newestHash.subarray(0, 32), 40);
  v.setUint32(72, a.boardTimeMs % 4294967296, true);
  v.setUint32(76, Math.floor(a.boardTimeMs / 4294967296), true);
  v.setUint32(80, a.bootCount, true);
  return b;
}

export const ATTESTATION_SIZE = 84;

export function decodeAttestation(b: Uint8Array): Attestation {
  if (b.length !== ATTESTATION_SIZE) throw new RangeError(`an attestation is ${ATTESTATION_SIZE} bytes, not ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    oldestCounter: v.getUint32(0, true),
    oldestHash: b.slice(4, 36),
    newestCounter: v.getUint32(36, true),
    newestHash: b.slice(40, 72),
    boardTimeMs: v.getUint32(72, true) + v.getUint32(76, true) * 4294967296,
    bootCount: v.getUint32(80, true),
  };
}

/** The open segment rebuilt from a checkpoint (erased space as FF), ready for parseSegment. */
export function checkpointSegment(cp: Checkpoint): ParsedSegment {
  const bytes = new Uint8Array(cp.segmentSize).fill(0xff);
  bytes.set(cp.prefix.subarray(0, cp.segmentSize));
  return parseSegment(bytes);
}

/**
 * Verifies a checkpoint: signature with the device key, the nonce the tool chose, the prefix's
 * structure, and that it chains to the verifier's last closed segment. Issues are added to `chain`.
 */
export function verifyCheckpoint(
  chain: ChainVerifier,
  cp: Checkpoint,
  publicKey: Uint8Array,
  expectedNonce?: Uint8Array,
  verifyFn: SignatureVerifier = nobleVerifier,
): VerifyIssue[] {
  const out: VerifyIssue[] = [];
  const c = cp.counter;
  const fail = (message: string) => out.push(chain.addIssue({ kind: 'checkpoint', segment: c, message }));
  if (expectedNonce && !bytesEqual(expectedNonce, cp.nonce)) fail(`checkpoint of segment ${c} carries nonce ${toHex(cp.nonce)}, not the one the tool sent`);
  const message = checkpointMessage(c, cp.recordCount, cp.nonce, cp.prefix, cp.attestation);
  if (!verifyFn(cp.signature, sha256(message), publicKey, message)) fail(`checkpoint of open segment ${c}: device signature does not verify`);
  let seg: ParsedSegment | null = null;
  try {
    seg = checkpointSegment(cp);
  } catch (e) {
    fail(`checkpoint of open segment ${c}: ${(e as Error).message}`);
  }
  if (seg) {
    const h = seg.header;
    if (h.counter !== c) fail(`checkpoint names segment ${c} but its bytes are segment ${h.counter}`);
    if (cp.prefix.length !== h.headerLen + cp.recordCount * h.recordSize) fail(`checkpoint of segment ${c}: length does not match ${cp.recordCount} records`);
    for (let i = 0; i < cp.recordCount; i++) {
      if (!slotSynced(seg.bytes, h.headerLen + i * h.recordSize)) {
        fail(`checkpoint of segment ${c}: record ${i} damaged`);
        break;
      }
    }
    if (chain.lastCounter !== null) {
      if (c !== chain.lastCounter + 1) fail(`checkpoint is for segment ${c} but the last closed segment is ${chain.lastCounter}`);
      else if (chain.lastHash && !bytesEqual(h.prevHash, chain.lastHash)) fail(`open segment ${c} does not chain to segment ${chain.lastCounter}`);
    }
    const a = cp.attestation;
    if (a) {
      if (a.newestCounter === ATTESTATION_NONE ? c !== 0 : a.newestCounter + 1 !== c) {
        fail(`checkpoint attests newest closed segment ${a.newestCounter === ATTESTATION_NONE ? 'none' : a.newestCounter} but the open segment is ${c}`);
      }
      if (a.newestCounter !== ATTESTATION_NONE && !bytesEqual(h.prevHash, a.newestHash)) fail(`open segment ${c} does not chain to the attested chain head`);
    }
  }
  // The lifetime counters signed with this checkpoint: the device's signature, the same checkpoint.
  if (cp.lifetime) {
    try {
      for (const p of verifyLifetime(decodeLifetime(cp.lifetime), publicKey, cp, verifyFn)) fail(p);
    } catch (e) {
      fail((e as Error).message);
    }
  }
  return out;
}

/** Decodes and verifies a byte stream of segments in one go (closed segments only; small logs, tests). */
export function verifySegmentBytes(bytes: Uint8Array, options: ChainVerifierOptions): ChainSummary {
  const chain = new ChainVerifier(options);
  const d = new SegmentStreamDecoder();
  for (const item of [...d.push(bytes), ...d.finish()]) {
    if (item.kind === 'segment') chain.addSegment(item.segment, item.offset);
    else chain.addDamage(item.offset, item.length, item.error);
  }
  return chain.summary();
}
