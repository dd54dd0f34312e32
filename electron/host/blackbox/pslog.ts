import { createHash, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { decodeCertificate, spkiFromPoint, verifyCertificate, type DeviceCertificate } from '../../../shared/blackbox/certificate.js';
import { SegmentStreamDecoder } from '../../../shared/blackbox/decoder.js';
import { HASH_FROM_END, createRecordView, recordReader, type RecordView } from '../../../shared/blackbox/format.js';
import {
  checkLayout,
  decodeCheckpoint,
  decodeIndexEntry,
  decodeMeta,
  decodePreamble,
  encodeCheckpoint,
  encodeIndex,
  encodeMeta,
  encodePreamble,
  INDEX_ENTRY_SIZE,
  partialPreamble,
  PREAMBLE_SIZE,
  type IndexEntry,
  type PslogMeta,
  type Preamble,
} from '../../../shared/blackbox/pslog-format.js';
import { rd32 } from '../../../shared/util/le.js';
import { segmentRecordArray, type ParsedSegment } from '../../../shared/blackbox/segment.js';
import {
  ATTESTATION_NONE,
  ChainVerifier,
  checkpointSegment,
  nobleVerifier,
  verifyCheckpoint,
  type Attestation,
  type ChainSummary,
  type Checkpoint,
  type SignatureVerifier,
  type VerifyIssue,
} from '../../../shared/blackbox/verify.js';
import type { DeviceInfo, LogRecord } from '../../../shared/types/domain.js';
import { bytesEqual, fromHex, toHex } from '../../../shared/util/bytes.js';

/**
 * `.pslog` files on disk: PslogWriter writes a download incrementally (FILE.pslog.partial, renamed
 * when complete), PslogReader streams one back with bounded memory and verifies it. The container
 * format itself (layout, block encoders and decoders) is shared/blackbox/pslog-format.ts.
 */
export type { IndexEntry, PslogMeta, Preamble } from '../../../shared/blackbox/pslog-format.js';

const READ_BLOCK = 1 << 20;
/** Segments a verification checks between two calls of its `pace` (256 KiB: about a millisecond). */
const PACE_SEGMENTS = 64;

// ---------------------------------------------------------------------------------------------
// The attested extent

/**
 * What a log holds of the extent the board attested in its checkpoint (format 2): the attested
 * oldest and newest closed segments, and whether the file holds every segment from one to the other
 * with the attested hashes at both ends. A file may also hold segments older than the attested
 * oldest (pulled before the ring overwrote them during a long pull); those are not part of it.
 */
export interface AttestedExtent {
  /** Oldest closed segment the board held; null when it held none. */
  oldestCounter: number | null;
  /** Newest closed segment (the chain head); null when none. */
  newestCounter: number | null;
  /** The board's clock when it signed, ms since the epoch. */
  boardTimeMs: number;
  bootCount: number;
  /** Open time of the attested oldest segment when the file holds it: the board holds history from then. */
  historyFrom: number | null;
  /** Attested segments the file lacks, as counter ranges (the first MAX_EXTENT_RANGES). */
  missing: Array<{ from: number; to: number }>;
  /** Number of attested segments the file lacks. */
  missingCount: number;
  /** Every attested segment present, both ends with the attested SHA-256. */
  complete: boolean;
  /** Problems found, for the report (kind 'gap' for missing segments, 'hash' for a wrong end). */
  issues: VerifyIssue[];
}

const MAX_EXTENT_RANGES = 100;

function rangeText(from: number, to: number): string {
  return from === to ? `segment ${from}` : `segments ${from}–${to}`;
}

/**
 * Collects the closed segments a log holds (counter, SHA-256 from its trailer, open time) and
 * checks them against an attestation. Given the attestation up front, it keeps hashes and times of
 * its two ends only; without it (a pull learns it at the end) it keeps them for every segment.
 */
export class ExtentTracker {
  private runs: Array<[number, number]> = [];
  private ends = new Map<number, { sha256: Uint8Array | null; rtcMs: number }>();
  constructor(private readonly want: Attestation | null = null) {}

  add(counter: number, sha256: Uint8Array | null, rtcMs: number): void {
    const last = this.runs[this.runs.length - 1];
    if (last && counter === last[1] + 1) last[1] = counter;
    else if (!last || counter !== last[1]) this.runs.push([counter, counter]);
    if (!this.want || counter === this.want.oldestCounter || counter === this.want.newestCounter) {
      if (!this.ends.has(counter)) this.ends.set(counter, { sha256: sha256 ? sha256.slice() : null, rtcMs });
    }
  }

  /** Counters held, as sorted disjoint ranges. */
  held(): Array<[number, number]> {
    const sorted = this.runs.map((r) => [r[0], r[1]] as [number, number]).sort((a, b) => a[0] - b[0]);
    const out: Array<[number, number]> = [];
    for (const r of sorted) {
      const last = out[out.length - 1];
      if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
      else out.push(r);
    }
    return out;
  }

  check(a: Attestation): AttestedExtent {
    const none = a.newestCounter === ATTESTATION_NONE;
    const out: AttestedExtent = {
      oldestCounter: a.oldestCounter === ATTESTATION_NONE ? null : a.oldestCounter,
      newestCounter: none ? null : a.newestCounter,
      boardTimeMs: a.boardTimeMs,
      bootCount: a.bootCount,
      historyFrom: null,
      missing: [],
      missingCount: 0,
      complete: false,
      issues: [],
    };
    if (none) {
      if (a.oldestCounter !== ATTESTATION_NONE) {
        out.issues.push({
          kind: 'checkpoint',
          segment: a.oldestCounter,
          message: `the attestation names oldest segment ${a.oldestCounter} but no newest segment`,
        });
      } else out.complete = true;
      return out;
    }
    if (a.oldestCounter === ATTESTATION_NONE || a.oldestCounter > a.newestCounter) {
      out.issues.push({
        kind: 'checkpoint',
        segment: a.newestCounter,
        message: `the attestation names oldest segment ${a.oldestCounter === ATTESTATION_NONE ? 'none' : a.oldestCounter} and newest segment ${a.newestCounter}: not an extent`,
      });
      return out;
    }
    let next = a.oldestCounter;
    const gap = (from: number, to: number) => {
      out.missingCount += to - from + 1;
      if (out.missing.length < MAX_EXTENT_RANGES) out.missing.push({ from, to });
    };
    for (const [from, to] of this.held()) {
      if (to < next) continue;
      if (from > a.newestCounter) break;
      if (from > next) gap(next, from - 1);
      next = to + 1;
      if (next > a.newestCounter) break;
    }
    if (next <= a.newestCounter) gap(next, a.newestCounter);
    for (const m of out.missing) {
      out.issues.push({
        kind: 'gap',
        segment: m.from,
        message: `the board attests segments ${a.oldestCounter}–${a.newestCounter}, but the file lacks ${rangeText(m.from, m.to)}`,
      });
    }
    if (out.missingCount > 0 && out.missing.length < out.missingCount && out.missing.length === MAX_EXTENT_RANGES) {
      out.issues.push({ kind: 'gap', segment: null, message: `… ${out.missingCount} attested segments missing in all` });
    }
    const end = (counter: number, hash: Uint8Array, which: string) => {
      const e = this.ends.get(counter);
      if (!e) return true;
      if (e.sha256 && bytesEqual(e.sha256, hash)) return true;
      out.issues.push({
        kind: 'hash',
        segment: counter,
        message: `segment ${counter} in the file is not the segment the board attests as its ${which} (SHA-256 differs)`,
      });
      return false;
    };
    const oldestOk = end(a.oldestCounter, a.oldestHash, 'oldest');
    const newestOk = end(a.newestCounter, a.newestHash, 'newest');
    const oldest = this.ends.get(a.oldestCounter);
    if (oldest && oldestOk) out.historyFrom = oldest.rtcMs;
    out.complete = out.missingCount === 0 && oldestOk && newestOk;
    return out;
  }
}

/** node:crypto ECDSA verification: an order of magnitude faster than pure JS for long logs. */
/** SHA-256 by node:crypto. */
export const nodeSha256 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(data).digest());

export function nodeVerifier(): SignatureVerifier {
  const keys = new Map<string, KeyObject>();
  return (signature, _digest, publicKey, message) => {
    const id = toHex(publicKey);
    let key = keys.get(id);
    if (!key) {
      try {
        key = createPublicKey({ key: Buffer.from(spkiFromPoint(publicKey)), format: 'der', type: 'spki' });
      } catch {
        return false;
      }
      keys.set(id, key);
    }
    if (!message) return nobleVerifier(signature, _digest, publicKey);
    try {
      return nodeVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
    } catch {
      return false;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Writer

/**
 * Writes a .pslog incrementally: `create` starts FILE.partial with preamble and meta; `append`
 * adds verified segments; `finish` writes checkpoint and index, marks it complete, flushes and
 * renames it to FILE. `resume` reopens an existing partial after its segments were re-verified.
 */
export class PslogWriter {
  private index: IndexEntry[] = [];
  private records = 0;
  private closed = false;
  private constructor(
    private fh: FileHandle,
    readonly finalPath: string,
    readonly partialPath: string,
    private preamble: Preamble,
    private end: number,
  ) {}

  static partialPathOf(path: string): string {
    return `${path}.partial`;
  }

  static async create(path: string, meta: PslogMeta, segmentSize: number): Promise<PslogWriter> {
    const partial = PslogWriter.partialPathOf(path);
    const metaBytes = encodeMeta(meta);
    const preamble = partialPreamble(segmentSize, metaBytes.length);
    const fh = await openPartial(partial, 'w+', async (f) => {
      await f.write(encodePreamble(preamble), 0, PREAMBLE_SIZE, 0);
      await f.write(metaBytes, 0, metaBytes.length, PREAMBLE_SIZE);
      await f.sync();
    });
    return new PslogWriter(fh, path, partial, preamble, preamble.segmentsOffset);
  }

  /** Reopens a partial whose first `segments` (with these index entries) were re-verified; the rest is cut. */
  static async resume(path: string, preamble: Preamble, entries: IndexEntry[]): Promise<PslogWriter> {
    const partial = PslogWriter.partialPathOf(path);
    const end = preamble.segmentsOffset + entries.length * preamble.segmentSize;
    const fh = await openPartial(partial, 'r+', (f) => f.truncate(end));
    const w = new PslogWriter(fh, path, partial, preamble, end);
    w.index = entries.slice();
    const last = entries[entries.length - 1];
    w.records = last ? last.firstRecord + last.recordCount : 0;
    return w;
  }

  get segmentCount(): number {
    return this.index.length;
  }

  get recordCount(): number {
    return this.records;
  }

  async append(seg: ParsedSegment): Promise<void> {
    await this.appendMany([seg]);
  }

  /** Appends segments with one write (long logs: one system call per batch, not per 4 KiB). */
  async appendMany(segs: ParsedSegment[]): Promise<void> {
    const size = this.preamble.segmentSize;
    const buf = new Uint8Array(segs.length * size);
    segs.forEach((seg, i) => {
      if (seg.bytes.length !== size) throw new PackscopeError('PROTOCOL', 'segment size differs from the log');
      buf.set(seg.bytes, i * size);
    });
    let o = 0;
    try {
      while (o < buf.length) o += (await this.fh.write(buf, o, buf.length - o, this.end + o)).bytesWritten;
    } catch (e) {
      // The index only names segments written whole; a resume cuts the file back to them.
      throw ioError(this.partialPath, e);
    }
    this.end += buf.length;
    for (const seg of segs) {
      this.index.push({
        counter: seg.header.counter,
        recordCount: seg.recordCount,
        flags: seg.trailer?.flags ?? 0,
        firstRecord: this.records,
        rtcMs: seg.header.rtcMs,
      });
      this.records += seg.recordCount;
    }
  }

  /** Makes what is written so far durable (a crash keeps a resumable partial). */
  async sync(): Promise<void> {
    await this.fh.sync();
  }

  /** Completes the file and renames it into place; on a failure (disk full) the handle is closed and the partial kept. */
  async finish(checkpoint: Checkpoint | null): Promise<void> {
    try {
      await this.complete(checkpoint);
    } catch (e) {
      await this.close();
      throw e instanceof PackscopeError ? e : ioError(this.partialPath, e);
    }
    try {
      await rename(this.partialPath, this.finalPath);
    } catch (e) {
      throw ioError(this.finalPath, e);
    }
  }

  private async complete(checkpoint: Checkpoint | null): Promise<void> {
    let o = this.end;
    const p = { ...this.preamble, complete: true, segmentCount: this.index.length };
    if (checkpoint) {
      const b = encodeCheckpoint(checkpoint);
      await this.fh.write(b, 0, b.length, o);
      p.checkpointOffset = o;
      p.checkpointLength = b.length;
      o += b.length;
    }
    p.indexOffset = o;
    const idx = encodeIndex(this.index);
    await this.fh.write(idx, 0, idx.length, o);
    await this.fh.truncate(o + idx.length);
    await this.fh.sync();
    await this.fh.write(encodePreamble(p), 0, PREAMBLE_SIZE, 0);
    await this.fh.sync();
    this.closed = true;
    await this.fh.close();
  }

  /** Idempotent: pull and the recorder close after a failed finish too. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.fh.sync();
    } catch {
      // closing after a failure: best effort
    }
    await this.fh.close().catch(() => undefined);
  }
}

/** Opens a .partial and prepares it; if preparing fails (disk full) the file is closed again. */
async function openPartial(partial: string, flags: 'w+' | 'r+', prepare: (fh: FileHandle) => Promise<void>): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(partial, flags);
  } catch (e) {
    throw ioError(partial, e);
  }
  try {
    await prepare(fh);
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw ioError(partial, e);
  }
  return fh;
}

function ioError(path: string, e: unknown): PackscopeError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new PackscopeError('NOT_FOUND', `${path}: no such file or directory`);
  if (code === 'EACCES' || code === 'EPERM') return new PackscopeError('PERMISSION', `${path}: permission denied`);
  if (code === 'ENOSPC') return new PackscopeError('IO', `${path}: disk full; free some space and run again`);
  return new PackscopeError('IO', `${path}: ${(e as Error).message}`);
}

// ---------------------------------------------------------------------------------------------
// Reader

export interface SegmentItem {
  /** Position of the segment in the file (0-based). */
  position: number;
  offset: number;
  segment: ParsedSegment;
}

export type SegmentOrDamage = SegmentItem | { damage: { offset: number; length: number; error: DecodeError } };

export interface PslogVerifyReport extends ChainSummary {
  certificate: { ok: boolean; message: string; serial: string | null; model: string | null };
  checkpoint: { present: boolean; ok: boolean; counter: number | null; records: number };
  /** The extent the checkpoint attests and what the file holds of it; null without a format-2 checkpoint. */
  attestation: AttestedExtent | null;
  complete: boolean;
}

/**
 * Read access to a .pslog (complete or partial) with bounded memory: segments and records are
 * streamed from the file in 1 MiB blocks; the index is read entry by entry for seeking.
 */
export class PslogReader {
  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly preamble: Preamble,
    readonly meta: PslogMeta,
    readonly fileSize: number,
    readonly certificate: DeviceCertificate | null,
    readonly certificateError: string | null,
    readonly checkpoint: Checkpoint | null,
  ) {}

  static async open(path: string): Promise<PslogReader> {
    const fh = await open(path, 'r').catch((e) => {
      throw ioError(path, e);
    });
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new PackscopeError('NOT_FOUND', `${path} is a directory, not a .pslog file`);
      if (!st.isFile()) throw new PackscopeError('NOT_FOUND', `${path} is not a regular file, not a .pslog file`);
      const size = st.size;
      const head = new Uint8Array(PREAMBLE_SIZE);
      await fh.read(head, 0, PREAMBLE_SIZE, 0);
      const p = decodePreamble(head);
      checkLayout(p, size);
      const mb = new Uint8Array(p.metaLength);
      await fh.read(mb, 0, mb.length, p.metaOffset);
      const meta = decodeMeta(mb);
      let certificate: DeviceCertificate | null = null;
      let certificateError: string | null = null;
      try {
        certificate = decodeCertificate(fromHex(String(meta.certificate ?? '')));
      } catch (e) {
        certificateError = (e as Error).message;
      }
      let checkpoint: Checkpoint | null = null;
      if (p.complete) {
        if (p.checkpointOffset) {
          const cb = new Uint8Array(p.checkpointLength);
          await fh.read(cb, 0, cb.length, p.checkpointOffset);
          checkpoint = decodeCheckpoint(cb);
        }
      }
      return new PslogReader(fh, path, p, meta, size, certificate, certificateError, checkpoint);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get complete(): boolean {
    return this.preamble.complete;
  }

  get identity(): DeviceInfo | null {
    return this.meta.identity ?? null;
  }

  /** Segments stored (for a partial: whole segments present). */
  get segmentCount(): number {
    if (this.preamble.complete) return this.preamble.segmentCount;
    return Math.max(0, Math.floor((this.fileSize - this.preamble.segmentsOffset) / this.preamble.segmentSize));
  }

  async indexEntry(i: number): Promise<IndexEntry> {
    if (!this.complete) throw new PackscopeError('USAGE', 'a partial log has no index yet');
    if (i < 0 || i >= this.segmentCount) throw new PackscopeError('USAGE', `segment position ${i} out of range`);
    const b = new Uint8Array(INDEX_ENTRY_SIZE);
    await this.fh.read(b, 0, b.length, this.preamble.indexOffset + i * INDEX_ENTRY_SIZE);
    return decodeIndexEntry(b);
  }

  /** Total records in stored segments (from the index; partial logs count by scanning). */
  async recordCount(): Promise<number> {
    if (this.complete && this.segmentCount > 0) {
      const last = await this.indexEntry(this.segmentCount - 1);
      return last.firstRecord + last.recordCount + (this.checkpoint?.recordCount ?? 0);
    }
    let n = 0;
    for await (const it of this.segments()) if ('segment' in it) n += it.segment.recordCount;
    return n;
  }

  /**
   * The attested extent checked against the index (counters, open times) and the trailer hashes of
   * its two ends, without verifying segments (`log info`); null without a format-2 checkpoint.
   */
  async attestedExtent(): Promise<AttestedExtent | null> {
    const a = this.checkpoint?.attestation;
    if (!a || !this.complete) return null;
    const tracker = new ExtentTracker(a);
    const n = this.segmentCount;
    const size = this.preamble.segmentSize;
    const block = 4096;
    const buf = new Uint8Array(block * INDEX_ENTRY_SIZE);
    for (let i = 0; i < n; i += block) {
      const count = Math.min(block, n - i);
      await this.fh.read(buf, 0, count * INDEX_ENTRY_SIZE, this.preamble.indexOffset + i * INDEX_ENTRY_SIZE);
      for (let k = 0; k < count; k++) {
        const e = decodeIndexEntry(buf, k * INDEX_ENTRY_SIZE);
        let hash: Uint8Array | null = null;
        if (e.counter === a.oldestCounter || e.counter === a.newestCounter) {
          hash = new Uint8Array(32);
          await this.fh.read(hash, 0, 32, this.preamble.segmentsOffset + (i + k) * size + size - HASH_FROM_END);
        }
        tracker.add(e.counter, hash, e.rtcMs);
      }
    }
    return tracker.check(a);
  }

  /** Binary search over the index: position of the segment holding record `index`, or by time. */
  async seek(target: { record: number } | { time: number }): Promise<number> {
    let lo = 0;
    let hi = this.segmentCount - 1;
    if (hi < 0) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const e = await this.indexEntry(mid);
      const key = 'record' in target ? e.firstRecord <= target.record : e.rtcMs <= target.time;
      if (key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Streams stored segments from a position, with damage reported in place (never skipped silently). */
  async *segments(from = 0): AsyncGenerator<SegmentOrDamage> {
    const size = this.preamble.segmentSize;
    const start = this.preamble.segmentsOffset + from * size;
    const end = this.preamble.segmentsOffset + this.segmentCount * size;
    const decoder = new SegmentStreamDecoder();
    const buf = new Uint8Array(READ_BLOCK - (READ_BLOCK % size));
    let pos = start;
    const toItem = (it: ReturnType<SegmentStreamDecoder['push']>[number]): SegmentOrDamage =>
      it.kind === 'segment'
        ? { position: from + Math.floor(it.offset / size), offset: start + it.offset, segment: it.segment }
        : { damage: { offset: start + it.offset, length: it.length, error: it.error } };
    while (pos < end) {
      const n = Math.min(buf.length, end - pos);
      const { bytesRead } = await this.fh.read(buf, 0, n, pos);
      if (bytesRead <= 0) break;
      pos += bytesRead;
      for (const it of decoder.push(buf.subarray(0, bytesRead))) yield toItem(it);
    }
    for (const it of decoder.finish()) yield toItem(it);
  }

  /**
   * Streams records in batches (one array per stored segment, then the checkpointed open
   * segment): the fast path for decoding, export and charts.
   */
  async *recordBatches(options: { fromRecord?: number; includeCheckpoint?: boolean } = {}): AsyncGenerator<LogRecord[]> {
    let from = 0;
    let index = 0;
    if (options.fromRecord && this.complete && this.segmentCount > 0) {
      from = await this.seek({ record: options.fromRecord });
      index = (await this.indexEntry(from)).firstRecord;
    }
    const skipUntil = options.fromRecord ?? 0;
    const cut = (batch: LogRecord[]) => (batch.length && batch[0]!.index < skipUntil ? batch.filter((r) => r.index >= skipUntil) : batch);
    for await (const it of this.segments(from)) {
      if (!('segment' in it)) continue;
      const batch = cut(segmentRecordArray(it.segment, index));
      index += it.segment.recordCount;
      if (batch.length) yield batch;
    }
    if (this.checkpoint && options.includeCheckpoint !== false) {
      let seg: ParsedSegment | null = null;
      try {
        seg = checkpointSegment(this.checkpoint);
      } catch {
        seg = null;
      }
      if (seg) {
        const batch = cut(segmentRecordArray(seg, index, this.checkpoint.recordCount));
        if (batch.length) yield batch;
      }
    }
  }

  /**
   * Visits every record of the stored segments (then the checkpoint) through one reusable view:
   * no allocation per record, for aggregations over very long logs. Returns the record count.
   */
  async forEachRecord(visit: (v: RecordView, index: number, segment: number) => void): Promise<number> {
    let index = 0;
    let view: RecordView | null = null;
    const run = (seg: ParsedSegment, n: number) => {
      const schema = seg.header.schema;
      if (!view || view.cellVoltages.length !== schema.cells || view.temperatures.length !== schema.temps) view = createRecordView(schema);
      const reader = recordReader(schema);
      const { headerLen, recordSize, rtcMs, counter } = seg.header;
      for (let i = 0; i < n; i++) {
        reader.view(seg.bytes, headerLen + i * recordSize, rtcMs, view);
        visit(view, index++, counter);
      }
    };
    for await (const it of this.segments()) if ('segment' in it) run(it.segment, it.segment.recordCount);
    if (this.checkpoint) {
      try {
        run(checkpointSegment(this.checkpoint), this.checkpoint.recordCount);
      } catch {
        // a damaged checkpoint shows up in verify(); nothing to visit
      }
    }
    return index;
  }

  /** Streams every record: stored segments, then the checkpointed open segment. */
  async *records(options: { fromRecord?: number; includeCheckpoint?: boolean } = {}): AsyncGenerator<LogRecord> {
    for await (const batch of this.recordBatches(options)) yield* batch;
  }

  /**
   * Verifies the whole file: certificate chain to the given root (DER SPKI), every segment's hash
   * and signature, the chain and gaps, and the checkpoint. Nothing is repaired.
   */
  async verify(
    rootSpki: Uint8Array | null,
    options: {
      verifier?: SignatureVerifier;
      onProgress?: (done: number, total: number) => void;
      signal?: AbortSignal;
      /** Sees every stored segment and damaged stretch as it is checked (a listing needs no pass of its own). */
      onSegment?: (it: SegmentOrDamage) => void;
      /** Awaited every PACE_SEGMENTS segments: lets other work on the log (a chart's range reads) go first. */
      pace?: () => Promise<void>;
    } = {},
  ): Promise<PslogVerifyReport> {
    const cert = this.certificate;
    const certificate = { ok: false, message: '', serial: cert?.serial ?? null, model: cert?.model ?? null };
    const issues: VerifyIssue[] = [];
    if (!cert) certificate.message = `no usable device certificate: ${this.certificateError}`;
    else if (!rootSpki) certificate.message = 'not checked (no root given)';
    else {
      try {
        verifyCertificate(cert, rootSpki);
        certificate.ok = true;
        certificate.message = 'chains to the given manufacturing root';
      } catch (e) {
        certificate.message = (e as Error).message;
      }
    }
    const publicKey = cert?.devicePublicKey ?? new Uint8Array(65);
    // node:crypto's SHA-256 (native, several times the pure-JS one): hashing is most of a verification.
    const chain = new ChainVerifier({ publicKey, ...(cert ? { serial: cert.serial } : {}), verify: options.verifier ?? nodeVerifier(), hash: nodeSha256 });
    if (!certificate.ok && rootSpki) chain.addIssue({ kind: 'certificate', segment: null, message: `device certificate: ${certificate.message}` });
    if (!cert) chain.addIssue({ kind: 'certificate', segment: null, message: certificate.message });
    const total = this.segmentCount;
    let done = 0;
    let lastTime: number | null = null;
    const attested = this.checkpoint?.attestation ?? null;
    const extent = new ExtentTracker(attested);
    for await (const it of this.segments()) {
      if (options.signal?.aborted) throw new PackscopeError('CANCELLED', 'verification cancelled');
      options.onSegment?.(it);
      if ('segment' in it) {
        chain.addSegment(it.segment, it.offset);
        extent.add(it.segment.header.counter, it.segment.trailer?.sha256 ?? null, it.segment.header.rtcMs);
        if (it.segment.recordCount > 0) {
          const s = it.segment;
          const lastRec = s.header.headerLen + (s.recordCount - 1) * s.header.recordSize;
          const f = s.header.schema.fields.find((x) => x.name === 'dt')!;
          lastTime = s.header.rtcMs + rd32(s.bytes, lastRec + f.offset) * f.scale;
        }
        done++;
        if (done % 256 === 0) options.onProgress?.(done, total);
        if (options.pace && done % PACE_SEGMENTS === 0) await options.pace();
      } else chain.addDamage(it.damage.offset, it.damage.length, it.damage.error);
    }
    const checkpoint = { present: this.checkpoint !== null, ok: false, counter: this.checkpoint?.counter ?? null, records: this.checkpoint?.recordCount ?? 0 };
    if (this.checkpoint) {
      const expected = this.meta.nonce ? fromHex(this.meta.nonce) : undefined;
      const cpIssues = verifyCheckpoint(chain, this.checkpoint, publicKey, expected, options.verifier ?? nodeVerifier());
      checkpoint.ok = cpIssues.length === 0;
    }
    // The board's attested extent: every segment from its oldest to its newest must be here.
    const attestation = attested ? extent.check(attested) : null;
    if (attestation) for (const i of attestation.issues) chain.addIssue(i);
    if (!this.complete) chain.addIssue({ kind: 'truncated', segment: chain.expectedCounter, message: 'the log is a partial download (not complete)' });
    const summary = chain.summary();
    if (lastTime !== null) summary.lastTime = lastTime;
    void issues;
    return { ...summary, certificate, checkpoint, attestation, complete: this.complete };
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/** Opens a .pslog for reading (the API the Logs screen, evidence packages and the CLI use). */
export function openPslog(path: string): Promise<PslogReader> {
  return PslogReader.open(path);
}
