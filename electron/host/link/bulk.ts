import { randomInt } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { BulkReceiver, BulkSender, packChunk, unpackChunk } from '../../../shared/protocol/bulk.js';
import { CMD, ERROR_NAMES } from '../../../shared/protocol/constants.js';
import {
  BULK_ABORT,
  BULK_ACK,
  BULK_CLOSE,
  BULK_CLOSED,
  BULK_DATA,
  BULK_FLAG,
  BULK_OPEN,
  REGION_HASH,
  REGION_ID,
  REGION_INFO,
  REGION_LIST,
  REGION_RANGE,
  MAX_WINDOW,
  encodeBulkData,
  type RegionInfo,
} from '../../../shared/protocol/messages.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { bytesEqual } from '../../../shared/util/bytes.js';
import type { NativeLink } from './native-link.js';
import { ProgressMeter } from '../util/progress.js';

/**
 * Host side of the windowed bulk transfer (PROTOCOL.md §6): reads stream chunks from a board
 * region with cumulative + selective acks; writes stream chunks into one, paced to the line.
 * Both report progress (bytes, rate, ETA), stop on an AbortSignal (closing the transfer on the
 * board), and resume only from what the board proves it holds (a region hash), never from an
 * offset remembered by the host alone.
 */
export type RegionRef = number | string;

export interface BulkCommonOptions {
  /** Chunk payload size (default 4096). */
  chunkSize?: number;
  /** Chunks in flight (default 8, at most 32). */
  window?: number;
  /** Ask for per-chunk deflate where it helps. */
  compress?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  /** No progress for this long fails the transfer with TIMEOUT (default 10 s). */
  stallTimeoutMs?: number;
}

export interface BulkReadOptions extends BulkCommonOptions {
  region: RegionRef;
  offset?: number;
  /** Bytes to read (default: to the end of the region). */
  length?: number;
  /** Receives data in order as it arrives (else the result holds all of it). */
  onData?: (offset: number, data: Uint8Array) => void | Promise<void>;
  /**
   * Bytes already held from an earlier attempt, starting at `offset`. The board is asked for the
   * hash of that range; only if it matches does the read continue after it.
   */
  resumeFrom?: Uint8Array;
}

export interface BulkReadResult {
  region: RegionInfo;
  offset: number;
  length: number;
  /** Where the transfer really started (offset + the verified resume prefix). */
  startedAt: number;
  /** Everything read, including a verified resume prefix (absent when onData was given). */
  data: Uint8Array | null;
  retransmissions: number;
  seconds: number;
}

export interface BulkWriteOptions extends BulkCommonOptions {
  region: RegionRef;
  offset?: number;
  data: Uint8Array;
  /** Ask the board what it already holds (written mark + hash) and send only the rest. */
  resume?: boolean;
}

export interface BulkWriteResult {
  region: RegionInfo;
  committed: number;
  startedAt: number;
  retransmissions: number;
  seconds: number;
}

// Random start, for the same reason as the link's sequence numbers (PROTOCOL.md §3.3): a BULK_CLOSE
// of "transfer 2" from this process must never match the cached answer to an earlier process's.
let nextTransferId = randomInt(1, 0xfffe);
function transferId(): number {
  nextTransferId = (nextTransferId % 0xfffe) + 1;
  return nextTransferId;
}

export async function listRegions(link: NativeLink, signal?: AbortSignal): Promise<RegionInfo[]> {
  return REGION_LIST.decode(await link.request(CMD.REGION_LIST, new Uint8Array(0), { signal })).regions;
}

export async function regionInfo(link: NativeLink, region: RegionRef, signal?: AbortSignal): Promise<RegionInfo> {
  if (typeof region === 'string') {
    const found = (await listRegions(link, signal)).find((r) => r.name === region);
    if (!found) throw new PackscopeError('NOT_FOUND', `the board has no region '${region}'`);
    return found;
  }
  return REGION_INFO.decode(await link.request(CMD.REGION_INFO, REGION_ID.encode({ region }), { signal }));
}

/** SHA-256 of a region range, computed by the board. */
export async function regionHash(link: NativeLink, region: RegionRef, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
  const id = typeof region === 'number' ? region : (await regionInfo(link, region, signal)).id;
  // Hashing a large range takes the board a while: allow for it in the timeout.
  const r = REGION_HASH.decode(
    await link.request(CMD.REGION_HASH, REGION_RANGE.encode({ region: id, offset, length }), { signal, timeoutMs: 500 + length / 20000 }),
  );
  if (r.offset !== offset || r.length !== length) throw new PackscopeError('PROTOCOL', 'REGION_HASH answered for another range');
  return r.sha256;
}

export async function regionErase(link: NativeLink, region: RegionRef, offset: number, length: number, signal?: AbortSignal): Promise<void> {
  const id = typeof region === 'number' ? region : (await regionInfo(link, region, signal)).id;
  await link.request(CMD.REGION_ERASE, REGION_RANGE.encode({ region: id, offset, length }), { signal, timeoutMs: 2000 + length / 100 });
}

/** Runs a transfer loop until `finished` resolves; rejects on abort, disconnect, board abort or stall. */
function guard(link: NativeLink, id: number, options: BulkCommonOptions) {
  let fail!: (e: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const unsubs: Array<() => void> = [];
  const onAbort = () => fail(new PackscopeError('CANCELLED', 'transfer cancelled'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  unsubs.push(() => options.signal?.removeEventListener('abort', onAbort));
  unsubs.push(link.onDisconnect((why) => fail(new PackscopeError('DISCONNECTED', `device disconnected during transfer (${why})`))));
  unsubs.push(
    link.onEvent(CMD.EV_BULK_ABORT, (payload) => {
      try {
        const a = BULK_ABORT.decode(payload);
        if (a.transferId === id) fail(new PackscopeError('DEVICE', `board aborted the transfer: ${ERROR_NAMES[a.code] ?? a.code}: ${a.message}`));
      } catch {
        // damaged abort notices are ignored like any malformed event
      }
    }),
  );
  const clock = link.clock;
  let lastProgress = clock.now();
  const stallMs = options.stallTimeoutMs ?? 10_000;
  unsubs.push(
    clock.every(250, () => {
      if (clock.now() - lastProgress > stallMs) fail(new PackscopeError('TIMEOUT', `transfer stalled: no progress for ${stallMs / 1000} s`));
    }),
  );
  return {
    failed,
    fail,
    progressed() {
      lastProgress = clock.now();
    },
    dispose() {
      for (const u of unsubs) u();
    },
  };
}

async function closeQuietly(link: NativeLink, id: number): Promise<void> {
  try {
    await link.request(CMD.BULK_CLOSE, BULK_CLOSE.encode({ transferId: id }), { retries: 2 });
  } catch {
    // the board may be gone or the transfer already closed; nothing more to do
  }
}

export async function bulkRead(link: NativeLink, options: BulkReadOptions): Promise<BulkReadResult> {
  const clock = link.clock;
  const t0 = clock.now();
  const info = await regionInfo(link, options.region, options.signal);
  const offset = options.offset ?? 0;
  const length = options.length ?? info.size - Math.min(offset, info.size);
  if (offset + length > info.size) throw new PackscopeError('USAGE', `range ${offset}+${length} is outside region '${info.name}' (${info.size} bytes)`);
  let prefix: Uint8Array = new Uint8Array(0);
  if (options.resumeFrom && options.resumeFrom.length > 0 && options.resumeFrom.length <= length) {
    const boardHash = await regionHash(link, info.id, offset, options.resumeFrom.length, options.signal);
    if (bytesEqual(boardHash, sha256(options.resumeFrom))) prefix = options.resumeFrom;
  }
  const start = offset + prefix.length;
  const remaining = length - prefix.length;
  const out: Uint8Array | null = options.onData ? null : new Uint8Array(length);
  if (out) out.set(prefix);
  else if (prefix.length) await options.onData!(offset, prefix);
  const meter = new ProgressMeter(length, undefined, clock);
  options.onProgress?.(meter.update(prefix.length, 'read'));
  if (remaining === 0) return { region: info, offset, length, startedAt: start, data: out, retransmissions: 0, seconds: (clock.now() - t0) / 1000 };

  let pos = start;
  let chunkSize = options.chunkSize ?? 4096;
  let window = options.window ?? 8;
  let duplicates = 0;
  while (pos < offset + length) {
    const span = await readSpan(
      link,
      info.id,
      pos,
      offset + length - pos,
      chunkSize,
      window,
      options,
      (chunkOffset, data) => {
        if (out) out.set(data, chunkOffset - offset);
        else return options.onData!(chunkOffset, data);
      },
      (committed) => options.onProgress?.(meter.update(committed - offset, 'read')),
    );
    duplicates += span.duplicates;
    pos = span.committed;
    // A line too noisy for this chunk size: frames rarely arrive whole. Smaller chunks get through.
    if (!span.complete) {
      chunkSize = Math.max(MIN_CHUNK, chunkSize >> 2);
      window = Math.min(MAX_WINDOW, window * 2); // keep the bytes in flight about the same
    }
  }
  const seconds = (clock.now() - t0) / 1000;
  options.onProgress?.({ ...meter.update(length, 'read'), rate: remaining / Math.max(seconds, 1e-6), etaSeconds: 0 });
  return { region: info, offset, length, startedAt: start, data: out, retransmissions: duplicates, seconds };
}

const MIN_CHUNK = 64;

/**
 * One BULK_READ transfer of [start, start+length). Resolves when complete, or early (complete =
 * false) when no chunk gets through while damaged frames keep arriving, so the caller can retry
 * the rest with smaller chunks.
 */
async function readSpan(
  link: NativeLink,
  region: number,
  start: number,
  length: number,
  chunkSize: number,
  window: number,
  options: BulkReadOptions,
  deliver: (offset: number, data: Uint8Array) => void | Promise<void>,
  onCommitted: (committed: number) => void,
): Promise<{ committed: number; complete: boolean; duplicates: number }> {
  const id = transferId();
  const clock = link.clock;
  const g = guard(link, id, options);
  let rx = new BulkReceiver(start, length, chunkSize);
  let granted = false;
  let finish!: (complete: boolean) => void;
  const finished = new Promise<boolean>((r) => (finish = r));
  let delivering = Promise.resolve();
  let lastAckSent = 0;
  let lastFresh = clock.now();
  let errorsAtLastFresh = link.stats.crcErrors + link.stats.decodeErrors;
  const errorsAtStart = errorsAtLastFresh;
  let freshChunks = 0;
  const sendAck = () => {
    const a = rx.ack();
    lastAckSent = clock.now();
    link.sendEvent(CMD.EV_BULK_ACK, BULK_ACK.encode({ transferId: id, cumulative: a.cumulative, sack: a.sack }));
  };
  const early: Uint8Array[] = [];
  const onData = (payload: Uint8Array) => {
    if (!granted) {
      early.push(payload);
      return;
    }
    let d;
    try {
      d = BULK_DATA.decode(payload);
    } catch {
      return;
    }
    if (d.transferId !== id) return;
    const want = rx.expectedLength(d.offset);
    if (want === null) return;
    let fresh = false;
    try {
      fresh = rx.accept(d.offset, unpackChunk(d.data, d.flags, want));
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
    if (fresh) {
      g.progressed();
      lastFresh = clock.now();
      freshChunks++;
      errorsAtLastFresh = link.stats.crcErrors + link.stats.decodeErrors;
      for (let next = rx.takeNext(); next; next = rx.takeNext()) {
        const chunk = next;
        delivering = delivering.then(async () => {
          await deliver(chunk.offset, chunk.data);
          rx.commit(chunk.offset + chunk.data.length);
          onCommitted(rx.committed);
          if (rx.complete) finish(true);
        });
      }
    }
    sendAck();
  };
  const unsubData = link.onEvent(CMD.EV_BULK_DATA, onData);
  const lineMs = (n: number) => (Number.isFinite(link.lineBytesPerSecond) ? (n * 1000) / link.lineBytesPerSecond : 0);
  const starveMs = Math.max(1000, 3 * lineMs(chunkSize + 32) + 500);
  const stopTimer = clock.every(100, () => {
    if (!granted) return;
    const now = clock.now();
    // If acks are lost and the board's timer has not yet fired, a periodic ack nudges it on.
    if (now - lastAckSent > 300) sendAck();
    const errors = link.stats.crcErrors + link.stats.decodeErrors;
    if (chunkSize > MIN_CHUNK && now - lastFresh > starveMs && errors > errorsAtLastFresh) finish(false);
    // Or damaged frames clearly outnumber good chunks: smaller chunks waste less of the line.
    if (chunkSize > MIN_CHUNK && errors - errorsAtStart > 2 * freshChunks + 8) finish(false);
  });
  try {
    const open = BULK_OPEN.decode(
      await Promise.race([
        link.request(
          CMD.BULK_READ_OPEN,
          BULK_OPEN.encode({ transferId: id, region, flags: options.compress ? BULK_FLAG.COMPRESS : 0, offset: start, length, chunkSize, window }),
          { signal: options.signal, retries: 20 },
        ),
        g.failed,
      ]),
    );
    if (open.offset !== start || open.length !== length || open.transferId !== id)
      throw new PackscopeError('PROTOCOL', 'the board granted a different transfer than asked');
    rx = new BulkReceiver(start, length, open.chunkSize);
    granted = true;
    lastFresh = clock.now();
    for (const p of early.splice(0)) onData(p);
    const complete = await Promise.race([finished, g.failed]);
    if (complete) await Promise.race([delivering, g.failed]);
    stopTimer();
    unsubData();
    await link.request(CMD.BULK_CLOSE, BULK_CLOSE.encode({ transferId: id }), { signal: options.signal, retries: 20 });
    await delivering;
    return { committed: rx.committed, complete: rx.complete, duplicates: rx.duplicates };
  } catch (e) {
    if (!link.isClosed) await closeQuietly(link, id);
    throw e;
  } finally {
    stopTimer();
    unsubData();
    g.dispose();
  }
}

export async function bulkWrite(link: NativeLink, options: BulkWriteOptions): Promise<BulkWriteResult> {
  const clock = link.clock;
  const t0 = clock.now();
  const info = await regionInfo(link, options.region, options.signal);
  if (!(info.flags & 2)) throw new PackscopeError('REFUSED', `region '${info.name}' is read-only`);
  const offset = options.offset ?? 0;
  const data = options.data;
  if (offset + data.length > info.size)
    throw new PackscopeError('USAGE', `${data.length} bytes at ${offset} do not fit region '${info.name}' (${info.size} bytes)`);
  const chunkSize = options.chunkSize ?? 4096;
  let skip = 0;
  if (options.resume && info.written !== 0xffffffff && info.written > offset) {
    // Resume at a chunk boundary inside what the board says it holds, and only if its hash agrees.
    let candidate = Math.min(data.length, Math.floor((info.written - offset) / chunkSize) * chunkSize);
    if (candidate > 0) {
      const boardHash = await regionHash(link, info.id, offset, candidate, options.signal);
      if (!bytesEqual(boardHash, sha256(data.subarray(0, candidate)))) candidate = 0;
    }
    skip = candidate;
  }
  const meter = new ProgressMeter(data.length, undefined, clock);
  options.onProgress?.(meter.update(skip, 'write'));
  if (skip === data.length) return { region: info, committed: offset + skip, startedAt: offset + skip, retransmissions: 0, seconds: (clock.now() - t0) / 1000 };
  const start = offset + skip;
  let pos = start;
  let size = chunkSize;
  let window = options.window ?? 8;
  let retransmissions = 0;
  while (pos < offset + data.length) {
    const span = await writeSpan(link, info.id, pos, data.subarray(pos - offset), size, window, options, (acked) =>
      options.onProgress?.(meter.update(acked - offset, 'write')),
    );
    retransmissions += span.retransmissions;
    pos = span.committed;
    if (!span.complete) {
      size = Math.max(MIN_CHUNK, size >> 2);
      window = Math.min(MAX_WINDOW, window * 2);
    }
  }
  const seconds = (clock.now() - t0) / 1000;
  options.onProgress?.({ ...meter.update(data.length, 'write'), rate: (data.length - skip) / Math.max(seconds, 1e-6), etaSeconds: 0 });
  return { region: info, committed: pos, startedAt: start, retransmissions, seconds };
}

/**
 * One BULK_WRITE transfer of `body` at `start`. Resolves complete, or early (complete = false)
 * when acknowledgements stop advancing although chunks keep being resent, so the caller can go
 * on from the committed offset with smaller chunks.
 */
async function writeSpan(
  link: NativeLink,
  region: number,
  start: number,
  body: Uint8Array,
  chunkSize: number,
  window: number,
  options: BulkWriteOptions,
  onAcked: (ackedTo: number) => void,
): Promise<{ committed: number; complete: boolean; retransmissions: number }> {
  const id = transferId();
  const clock = link.clock;
  const g = guard(link, id, options);
  let sender: BulkSender | null = null;
  let timer = null as (() => void) | null; // the pump's next wake-up (cancel function)
  let finish!: (complete: boolean) => void;
  const finished = new Promise<boolean>((r) => (finish = r));
  let lineFreeAt = 0;
  let lastProgress = clock.now();
  let retransAtProgress = 0;
  const compress = options.compress ?? false;
  const pump = () => {
    if (!sender || link.isClosed) return;
    const now = clock.now();
    for (const i of sender.due(now)) {
      const { offset: off, length } = sender.chunkRange(i);
      const packed = packChunk(body.subarray(off - start, off - start + length), compress);
      const payload = encodeBulkData(id, off, packed.flags, packed.data);
      link.sendEvent(CMD.EV_BULK_DATA, payload);
      // Expected time the chunk has left the wire: the link paces at line rate.
      lineFreeAt = Math.max(lineFreeAt, now) + ((payload.length + 16) * 1000) / link.lineBytesPerSecond;
      sender.setSentAt(i, Number.isFinite(lineFreeAt) ? lineFreeAt : now);
    }
    timer?.();
    const d = sender.nextDeadline();
    timer = d === null ? null : clock.after(Math.max(1, d - clock.now() + 1), pump);
  };
  const unsubAck = link.onEvent(CMD.EV_BULK_ACK, (payload) => {
    let a;
    try {
      a = BULK_ACK.decode(payload);
    } catch {
      return;
    }
    if (a.transferId !== id || !sender) return;
    if (sender.onAck(a.cumulative, a.sack, clock.now())) {
      g.progressed();
      lastProgress = clock.now();
      retransAtProgress = sender.retransmissions;
      onAcked(start + sender.ackedBytes);
    }
    if (sender.done) finish(true);
    else pump();
  });
  const stopStarve = clock.every(100, () => {
    if (!sender || chunkSize <= MIN_CHUNK) return;
    // Several resends and nothing acknowledged for a while: frames of this size do not get through.
    if (clock.now() - lastProgress > 1500 && sender.retransmissions - retransAtProgress >= 3) finish(false);
    // Or most chunks need several tries: smaller ones waste less of the line.
    const ackedChunks = Math.ceil(sender.ackedBytes / chunkSize);
    if (sender.retransmissions > 2 * ackedChunks + 8) finish(false);
  });
  try {
    const open = BULK_OPEN.decode(
      await Promise.race([
        link.request(
          CMD.BULK_WRITE_OPEN,
          BULK_OPEN.encode({ transferId: id, region, flags: compress ? BULK_FLAG.COMPRESS : 0, offset: start, length: body.length, chunkSize, window }),
          { signal: options.signal, timeoutMs: 2000, retries: 20 },
        ),
        g.failed,
      ]),
    );
    if (open.offset !== start || open.length !== body.length) throw new PackscopeError('PROTOCOL', 'the board granted a different transfer than asked');
    const byteRate = link.lineBytesPerSecond;
    const windowMs = Number.isFinite(byteRate) ? ((open.window + 1) * (open.chunkSize + 32) * 1000) / byteRate : 0;
    sender = new BulkSender({ start, length: body.length, chunkSize: open.chunkSize, window: open.window, initialRtoMs: 2 * windowMs + 500 });
    lastProgress = clock.now();
    pump();
    const complete = await Promise.race([finished, g.failed]);
    timer?.();
    timer = null;
    const closed = BULK_CLOSED.decode(
      await link.request(CMD.BULK_CLOSE, BULK_CLOSE.encode({ transferId: id }), { signal: options.signal, timeoutMs: 2000, retries: 20 }),
    );
    if (complete && closed.committed !== start + body.length)
      throw new PackscopeError('PROTOCOL', `board committed up to ${closed.committed}, expected ${start + body.length}`);
    if (closed.committed < start || closed.committed > start + body.length)
      throw new PackscopeError('PROTOCOL', `board reports an impossible committed offset ${closed.committed}`);
    return { committed: closed.committed, complete, retransmissions: sender.retransmissions };
  } catch (e) {
    if (!link.isClosed) await closeQuietly(link, id);
    throw e;
  } finally {
    timer?.();
    stopStarve();
    unsubAck();
    g.dispose();
  }
}
