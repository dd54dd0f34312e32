import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { readSettingsEvidence } from '../settings/native-access.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeCertificate, verifyCertificate, type DeviceCertificate } from '../../../shared/blackbox/certificate.js';
import { SegmentStreamDecoder } from '../../../shared/blackbox/decoder.js';
import {
  BB_CERTIFICATE,
  BB_CHECKPOINT_REQ,
  BB_CHECKPOINT_RES,
  BB_CMD,
  BB_REGION,
  BB_STATUS,
  NONE32,
  splitCheckpointRegion,
  type BlackBoxStatus,
  type CheckpointResponse,
} from '../../../shared/blackbox/messages.js';
import { ATTESTATION_NONE, ChainVerifier, verifyCheckpoint, type Checkpoint, type VerifyIssue } from '../../../shared/blackbox/verify.js';
import { PackscopeError } from '../../../shared/errors.js';
import type { DeviceInfo, TransferProgress } from '../../../shared/types/domain.js';
import { bytesEqual, fromHex, toHex } from '../../../shared/util/bytes.js';
import { bulkRead, regionHash } from '../link/bulk.js';
import { ChunkController } from '../link/chunk-controller.js';
import type { NativeLink } from '../link/native-link.js';
import { ProgressMeter } from '../util/progress.js';
import { ExtentTracker, PslogReader, PslogWriter, nodeVerifier, type IndexEntry, type PslogMeta } from './pslog.js';

/**
 * Black-box log pull: reads the board's closed segments over the windowed bulk transfer, verifies
 * each one (hash, device signature, chain, gaps) as it arrives, appends it to FILE.pslog.partial,
 * then asks for a checkpoint of the open segment with a fresh nonce (or the nonce of a supplier's
 * claim ticket) and seals the file. The checkpoint attests the board's extent (oldest and newest
 * closed segment): segments the board closed while we read are pulled and the checkpoint taken
 * again, so the file holds every segment up to the attested newest. A resumed pull re-verifies the
 * partial, asks the board for the hash of the last segment it holds, and continues only if the
 * board still has exactly those bytes.
 */
export interface PullOptions {
  out: string;
  resume?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress & { segments: number }) => void;
  /** Manufacturing root (DER SPKI): when given, the device certificate must chain to it before anything is read. */
  rootSpki?: Uint8Array;
  identity?: DeviceInfo | null;
  source?: { port?: string; baud?: number };
  window?: number;
  chunkSize?: number;
  /**
   * Deflate chunks (default true): against the records before them where the board grants
   * context compression, alone where it only compresses, not at all where it does neither.
   */
  compress?: boolean;
  tool?: string;
  /**
   * Nonce for the checkpoint (8–64 bytes), e.g. from a supplier's claim ticket; a fresh random one
   * when absent. A resumed pull must be given the nonce its partial was started with.
   */
  nonce?: Uint8Array;
  /** Refuse (REFUSED) before reading anything unless the board's certificate names this serial (a claim ticket's). */
  expectSerial?: string;
}

/** The board's signed extent as the pull found it (PROTOCOL.md 7.4, checkpoint format 2). */
export interface PullAttestation {
  /** Oldest closed segment the board held; null when none. */
  oldest: number | null;
  /** Newest closed segment (chain head); null when none. */
  newest: number | null;
  /** The board's clock when it signed, ms since the epoch. */
  boardTime: number;
  bootCount: number;
  /** Open time of the attested oldest segment (in the file): the board holds history from then. */
  historyFrom: number | null;
  /** Attested segments the file lacks (0 after a clean pull). */
  missingSegments: number;
}

export interface PullResult {
  path: string;
  segments: number;
  records: number;
  firstCounter: number | null;
  lastCounter: number | null;
  firstTime: number | null;
  lastTime: number | null;
  /** Segments kept from a partial (not read again). */
  resumedSegments: number;
  /** Payload bytes read from the board in this run (segments + checkpoint). */
  bytesRead: number;
  seconds: number;
  /** Payload bytes per second of this run's transfers. */
  payloadRate: number;
  retransmissions: number;
  /** Bytes of segment data on the line per byte of segments read (below 1 when chunks travelled compressed). */
  wireRatio: number;
  /** Chunk sizes the segment reads ran with, in order (they follow the line's error rate). */
  chunkSizes: number[];
  checkpoint: { counter: number; records: number; verified: boolean } | null;
  /** Null when the board signs first-format checkpoints (no extent) or gave no checkpoint. */
  attestation: PullAttestation | null;
  /** Checkpoints taken (more than one when the board closed segments during the pull). */
  checkpoints: number;
  issues: VerifyIssue[];
  signaturesOk: boolean;
  certificate: { serial: string; model: string; chainedToRoot: boolean | null };
}

// Small requests get generous retries: on a line losing ~1.5 % of bytes, a 100-byte answer arrives
// whole only about a quarter of the time.
const RETRIES = 25;
/** Checkpoints taken at most to catch up with segments the board closes during the pull. */
const CHECKPOINT_ROUNDS = 4;
export const NONCE_MIN = 8;
export const NONCE_MAX = 64;

export async function blackBoxStatus(link: NativeLink, signal?: AbortSignal): Promise<BlackBoxStatus> {
  return BB_STATUS.decode(await link.request(BB_CMD.STATUS, new Uint8Array(0), { retries: RETRIES, ...(signal ? { signal } : {}) }));
}

/**
 * The device certificate, read from its region: the bulk engine moves it in small chunks that are
 * retransmitted one by one, so it arrives even where a single 230-byte answer rarely would.
 */
export async function deviceCertificate(link: NativeLink, signal?: AbortSignal): Promise<{ raw: Uint8Array; cert: DeviceCertificate }> {
  let raw: Uint8Array;
  try {
    raw = (await retryTimeouts(() => bulkRead(link, { region: BB_REGION.CERTIFICATE, chunkSize: 64, window: 8, ...(signal ? { signal } : {}) }))).data!;
  } catch (e) {
    if (!(e instanceof PackscopeError) || e.code !== 'NOT_FOUND') throw e;
    raw = BB_CERTIFICATE.decode(await link.request(BB_CMD.CERTIFICATE, new Uint8Array(0), { retries: RETRIES, ...(signal ? { signal } : {}) })).certificate;
  }
  return { raw, cert: decodeCertificate(raw) };
}

/** Retries an idempotent read whose request was lost (TIMEOUT) a few times before giving up. */
async function retryTimeouts<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof PackscopeError) || e.code !== 'TIMEOUT' || i + 1 >= attempts) throw e;
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

export async function pullLog(link: NativeLink, options: PullOptions): Promise<PullResult> {
  const t0 = performance.now();
  const signal = options.signal;
  if (options.nonce && (options.nonce.length < NONCE_MIN || options.nonce.length > NONCE_MAX)) {
    throw new PackscopeError('USAGE', `a checkpoint nonce is ${NONCE_MIN} to ${NONCE_MAX} bytes, not ${options.nonce.length}`);
  }
  const status = await blackBoxStatus(link, signal);
  const { raw: certRaw, cert } = await deviceCertificate(link, signal);
  if (options.identity && options.identity.serial && options.identity.serial !== cert.serial) {
    throw new PackscopeError('REFUSED', `the board reports serial ${options.identity.serial} but its certificate names ${cert.serial}`);
  }
  if (options.expectSerial !== undefined && options.expectSerial !== cert.serial) {
    throw new PackscopeError(
      'REFUSED',
      `the claim ticket is for serial ${options.expectSerial}, but this board's certificate names ${cert.serial}; nothing was read`,
    );
  }
  let chainedToRoot: boolean | null = null;
  if (options.rootSpki) {
    verifyCertificate(cert, options.rootSpki); // throws VERIFY_FAILED naming what is wrong
    chainedToRoot = true;
  }
  const size = status.segmentSize;
  const verifier = nodeVerifier();
  let chain = new ChainVerifier({ publicKey: cert.devicePublicKey, serial: cert.serial, verify: verifier });
  const partialPath = PslogWriter.partialPathOf(options.out);

  let writer: PslogWriter;
  let nonce: Uint8Array = options.nonce ? options.nonce.slice() : new Uint8Array(randomBytes(16));
  const extent = new ExtentTracker();
  let next = status.oldestCounter === NONE32 ? 0 : status.oldestCounter;
  let resumedSegments = 0;
  let firstTime: number | null = null;

  if (options.resume && (await exists(partialPath))) {
    const reader = await PslogReader.open(partialPath);
    const entries: IndexEntry[] = [];
    let lastBytes: Uint8Array | null = null;
    try {
      if (reader.complete) throw new PackscopeError('USAGE', `${partialPath} is marked complete; rename it or pull afresh`);
      if (reader.meta.certificate !== toHex(certRaw)) {
        throw new PackscopeError('REFUSED', `${partialPath} was pulled from another board (certificate differs); pull afresh without --resume`);
      }
      if (reader.meta.nonce) {
        const kept = fromHex(reader.meta.nonce);
        if (options.nonce && !bytesEqual(kept, options.nonce)) {
          throw new PackscopeError(
            'REFUSED',
            `${partialPath} was started with nonce ${reader.meta.nonce}, not the given ${toHex(options.nonce)}: its checkpoint must be sealed over the nonce it began with; resume with that nonce, or pull afresh without --resume`,
          );
        }
        nonce = kept;
      } else if (options.nonce) {
        throw new PackscopeError('REFUSED', `${partialPath} records no nonce, so it cannot be sealed over the given one; pull afresh without --resume`);
      }
      // Re-verify what the partial holds; keep the longest prefix that verifies cleanly.
      let records = 0;
      for await (const it of reader.segments()) {
        if (!('segment' in it)) break;
        const issues = chain.addSegment(it.segment, it.offset);
        if (issues.length) break;
        entries.push({
          counter: it.segment.header.counter,
          recordCount: it.segment.recordCount,
          flags: it.segment.trailer?.flags ?? 0,
          firstRecord: records,
          rtcMs: it.segment.header.rtcMs,
        });
        extent.add(it.segment.header.counter, it.segment.trailer?.sha256 ?? null, it.segment.header.rtcMs);
        records += it.segment.recordCount;
        lastBytes = it.segment.bytes;
        if (firstTime === null) firstTime = it.segment.header.rtcMs;
      }
    } finally {
      await reader.close();
    }
    if (lastBytes) {
      const last = entries[entries.length - 1]!;
      // Never trust the file alone: the board must still hold exactly the last segment we verified.
      const slot = last.counter % status.slotCount;
      const held = status.oldestCounter !== NONE32 && last.counter >= status.oldestCounter && last.counter <= status.newestCounter;
      if (held) {
        const boardHash = await regionHash(link, status.ringRegion, slot * size, size, signal);
        if (!bytesEqual(boardHash, sha256(lastBytes))) {
          throw new PackscopeError('REFUSED', `the board no longer holds segment ${last.counter} as downloaded; pull afresh without --resume`);
        }
      }
      next = last.counter + 1;
    }
    // Rebuild the chain state from the verified prefix only.
    chain = new ChainVerifier({
      publicKey: cert.devicePublicKey,
      serial: cert.serial,
      verify: verifier,
      ...(lastBytes ? { previous: { counter: entries[entries.length - 1]!.counter, sha256: sha256(lastBytes.subarray(0, size - 96)) } } : {}),
    });
    chain.segments = entries.length;
    chain.records = entries.reduce((n, e) => n + e.recordCount, 0);
    chain.firstCounter = entries[0]?.counter ?? null;
    chain.firstTime = firstTime;
    resumedSegments = entries.length;
    const head = await PslogReader.open(partialPath);
    const preamble = head.preamble;
    await head.close();
    writer = await PslogWriter.resume(options.out, preamble, entries);
  } else {
    // The board's signed settings over the same nonce, with every change record it holds: a change
    // shows in the log both as the params_changed record and as its signed old → new values.
    const settings = await readSettingsEvidence(link, nonce, signal);
    const meta: PslogMeta = {
      format: 'pslog',
      tool: options.tool ?? 'packscope',
      pulledAt: new Date().toISOString(),
      identity: options.identity ?? null,
      certificate: toHex(certRaw),
      board: { ...status },
      nonce: toHex(nonce),
      ...(options.source ? { source: options.source } : {}),
      ...(settings ? { settings: toHex(settings) } : {}),
    };
    writer = await PslogWriter.create(options.out, meta, size);
  }

  let bytesRead = 0;
  let retransmissions = 0;
  let segmentBytes = 0;
  let packedBytes = 0;
  // One controller for every read of the pull: what the first read learnt about the line holds for the rest.
  const initialChunk = options.chunkSize ?? 4096;
  const chunks = new ChunkController({ initial: initialChunk, max: initialChunk, ...(options.window ? { window: options.window } : {}) });
  let transferSeconds = 0;
  const totalGuess = status.newestCounter === NONE32 ? 0 : Math.max(0, status.newestCounter - next + 1) * size;
  const meter = new ProgressMeter(totalGuess + 8192);
  const progress = () => options.onProgress?.({ ...meter.update(bytesRead, 'pull'), segments: writer.segmentCount });

  /** Reads closed segments [from, to] from the ring, verifying and appending each. */
  const pullRange = async (from: number, to: number) => {
    let c = from;
    let failures = 0;
    while (c <= to) {
      const slot = c % status.slotCount;
      const count = Math.min(to - c + 1, status.slotCount - slot);
      const decoder = new SegmentStreamDecoder();
      let lastSync = writer.segmentCount;
      let appended = 0;
      const handle = async (items: ReturnType<SegmentStreamDecoder['push']>) => {
        for (const it of items) {
          if (it.kind === 'damage') {
            chain.addDamage(it.offset + slot * size, it.length, it.error);
            continue;
          }
          chain.addSegment(it.segment, it.offset + slot * size);
          extent.add(it.segment.header.counter, it.segment.trailer?.sha256 ?? null, it.segment.header.rtcMs);
          await writer.append(it.segment);
          appended++;
        }
        if (writer.segmentCount - lastSync >= 64) {
          await writer.sync();
          lastSync = writer.segmentCount;
        }
      };
      const base = bytesRead;
      try {
        const r = await bulkRead(link, {
          region: status.ringRegion,
          offset: slot * size,
          length: count * size,
          controller: chunks,
          compress: options.compress ?? true,
          ...(signal ? { signal } : {}),
          onData: async (_off, data) => handle(decoder.push(data)),
          onProgress: (p) => {
            bytesRead = base + p.done;
            progress();
          },
        });
        await handle(decoder.finish());
        retransmissions += r.retransmissions;
        transferSeconds += r.seconds;
        segmentBytes += r.length - (r.startedAt - r.offset);
        packedBytes += r.packedBytes;
        c += count;
        failures = 0;
      } catch (e) {
        // A request lost on a noisy line (TIMEOUT) ends one bulk read, not the pull: continue
        // after the last segment verified and written. Disconnects and cancels end the pull.
        if (!(e instanceof PackscopeError) || e.code !== 'TIMEOUT' || ++failures > 5) throw e;
        c += appended;
      }
      await writer.sync();
    }
  };

  try {
    let newest = status.newestCounter;
    // The board keeps recording while we read: catch up with segments it closed meanwhile.
    for (let round = 0; round < 8 && newest !== NONE32 && newest >= next; round++) {
      await pullRange(next, newest);
      next = newest + 1;
      newest = (await blackBoxStatus(link, signal)).newestCounter;
    }
    // Checkpoint of the open segment with our nonce. It attests the newest closed segment: when
    // the board closed segments since we last asked, pull them and take a fresh checkpoint, so the
    // file ends with every segment up to the attested newest and the open segment after it.
    let cpRes: CheckpointResponse | null = null;
    let checkpoints = 0;
    for (let round = 0; round < CHECKPOINT_ROUNDS; round++) {
      cpRes = BB_CHECKPOINT_RES.decode(
        await link.request(BB_CMD.CHECKPOINT, BB_CHECKPOINT_REQ.encode({ nonce }), { retries: RETRIES, ...(signal ? { signal } : {}) }),
      );
      checkpoints++;
      const attestedNewest = cpRes.newestCounter ?? cpRes.attestation?.newestCounter ?? null;
      const attested = attestedNewest !== null && attestedNewest !== ATTESTATION_NONE ? attestedNewest : null;
      // A first-format board attests nothing: the open segment's counter tells what closed before it.
      const newestClosed = attestedNewest !== null ? attested : cpRes.counter > 0 ? cpRes.counter - 1 : null;
      if (newestClosed === null || newestClosed < next) break;
      await pullRange(next, newestClosed);
      next = newestClosed + 1;
      // The last round keeps its checkpoint: the segments it attests are now all in the file.
    }
    let checkpoint: Checkpoint | null = null;
    let cpVerified = false;
    let attestation: PullAttestation | null = null;
    if (cpRes && cpRes.length > 0) {
      const res = cpRes;
      // A current board seals the prefix in the region (signature, attestation after it); the bulk
      // engine carries it in small retransmitted chunks, so it arrives on a noisy line too.
      // A board with lifetime counters signs them with the checkpoint and appends them to the
      // region (PROTOCOL.md 7.7): read the region to its end and find them after the seal.
      const inRegion = res.signature === null;
      const r = await retryTimeouts(() =>
        bulkRead(link, {
          region: status.checkpointRegion,
          offset: 0,
          ...(inRegion ? {} : { length: res.length }),
          controller: chunks,
          ...(signal ? { signal } : {}),
        }),
      );
      bytesRead += r.length;
      transferSeconds += r.seconds;
      const sealed = inRegion
        ? splitCheckpointRegion(r.data!, res.length)
        : { prefix: r.data!, signature: res.signature!, attestation: res.attestation, lifetime: null };
      checkpoint = {
        counter: res.counter,
        recordCount: res.recordCount,
        nonce,
        signature: sealed.signature,
        prefix: sealed.prefix,
        segmentSize: res.segmentSize,
        attestation: sealed.attestation,
        lifetime: sealed.lifetime,
      };
      // Signature over nonce, prefix and attestation; the open segment chains to the attested head.
      const cpIssues = verifyCheckpoint(chain, checkpoint, cert.devicePublicKey, nonce, verifier);
      // The extent: every segment from the attested oldest to the attested newest is in the file.
      let extentOk = true;
      if (checkpoint.attestation) {
        const e = extent.check(checkpoint.attestation);
        for (const i of e.issues) chain.addIssue(i);
        extentOk = e.issues.length === 0;
        attestation = {
          oldest: e.oldestCounter,
          newest: e.newestCounter,
          boardTime: e.boardTimeMs,
          bootCount: e.bootCount,
          historyFrom: e.historyFrom,
          missingSegments: e.missingCount,
        };
      }
      cpVerified = cpIssues.length === 0 && extentOk;
    }
    progress();
    await writer.finish(checkpoint);
    const s = chain.summary();
    const seconds = (performance.now() - t0) / 1000;
    return {
      path: options.out,
      segments: writer.segmentCount,
      records: writer.recordCount + (checkpoint?.recordCount ?? 0),
      firstCounter: s.firstCounter,
      lastCounter: s.lastCounter,
      firstTime: s.firstTime,
      lastTime: checkpoint ? (checkpointTime(checkpoint) ?? s.lastTime) : s.lastTime,
      resumedSegments,
      bytesRead,
      seconds,
      payloadRate: transferSeconds > 0 ? bytesRead / transferSeconds : 0,
      retransmissions,
      wireRatio: segmentBytes > 0 ? packedBytes / segmentBytes : 1,
      chunkSizes: chunks.history,
      checkpoint: checkpoint ? { counter: checkpoint.counter, records: checkpoint.recordCount, verified: cpVerified } : null,
      attestation,
      checkpoints,
      issues: s.issues,
      signaturesOk: s.issueCount === 0 && (checkpoint ? cpVerified : true),
      certificate: { serial: cert.serial, model: cert.model, chainedToRoot },
    };
  } catch (e) {
    await writer.close();
    if (e instanceof PackscopeError && (e.code === 'DISCONNECTED' || e.code === 'CANCELLED' || e.code === 'TIMEOUT')) {
      throw new PackscopeError(e.code, `${e.message}; ${writer.segmentCount} verified segments kept in ${partialPath} (run again with --resume)`);
    }
    throw e;
  }
}

function checkpointTime(cp: Checkpoint): number | null {
  // Last record time of the open segment: header RTC + the last record's dt (schema: dt is u32 ms at offset 2).
  if (cp.recordCount === 0 || cp.prefix.length < 92) return null;
  const v = new DataView(cp.prefix.buffer, cp.prefix.byteOffset, cp.prefix.byteLength);
  const headerLen = v.getUint16(6, true);
  const recordSize = v.getUint16(84, true);
  const rtc = v.getUint32(20, true) + v.getUint32(24, true) * 4294967296;
  const o = headerLen + (cp.recordCount - 1) * recordSize + 2;
  return o + 4 <= cp.prefix.length ? rtc + v.getUint32(o, true) : null;
}
