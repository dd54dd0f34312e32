import { randomInt } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { BulkReceiver, BulkSender, contextStart, damagedChunkOffset, minRtoMs, packChunk } from '../../../shared/protocol/bulk.js';
import { CMD, ERROR_NAMES, MSG } from '../../../shared/protocol/constants.js';
import {
  BULK_ABORT,
  BULK_ACK,
  BULK_CLOSE,
  BULK_CLOSED,
  BULK_DATA,
  BULK_FLAG,
  BULK_NAK,
  BULK_OPEN,
  REGION_HASH,
  REGION_ID,
  REGION_INFO,
  REGION_LIST,
  REGION_RANGE,
  encodeBulkData,
  type RegionInfo,
} from '../../../shared/protocol/messages.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { bytesEqual } from '../../../shared/util/bytes.js';
import type { NativeLink } from './native-link.js';
import { ProgressMeter } from '../util/progress.js';
import { ChunkController } from './chunk-controller.js';

/**
 * Host side of the windowed bulk transfer (PROTOCOL.md §6): reads stream chunks from a board
 * region with cumulative + selective acks; writes stream chunks into one, paced to the line. On
 * a board that grants BULK_FLAG.NAK the receiving end names a chunk whose frame arrived damaged
 * (BULK_NAK) and the sender sends it again at once instead of at its retransmission timeout.
 * Both report progress (bytes, rate, ETA), stop on an AbortSignal (closing the transfer on the
 * board), and resume only from what the board proves it holds (a region hash), never from an
 * offset remembered by the host alone.
 */
export type RegionRef = number | string;

export interface BulkCommonOptions {
  /** Chunk payload size (default 4096). */
  chunkSize?: number;
  /** Chunks in flight (default: the chunk-size controller's, about 32 KiB of payload, 8…64 chunks; at most 128). */
  window?: number;
  /**
   * Ask for per-chunk deflate where it helps, against the transfer's preceding bytes where the
   * board grants it (BULK_FLAG.CONTEXT; a board without it compresses chunks alone or not at all).
   */
  compress?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  /**
   * No progress and no frame from the board for this long fails the transfer with TIMEOUT
   * (default 10 s). A board that keeps answering is alive, and is given `movelessTimeoutMs`.
   */
  stallTimeoutMs?: number;
  /** The board answers, but no data moves for this long: TIMEOUT (default 60 s, at least 6 × stallTimeoutMs). */
  movelessTimeoutMs?: number;
  /**
   * Follow the line's frame error rate with the chunk size (default true): smaller chunks while
   * frames are damaged, back up to `chunkSize` after clean runs. False keeps `chunkSize` throughout.
   */
  adaptive?: boolean;
  /**
   * The controller of an earlier transfer on the same line, so this one starts from what it learnt
   * (chunkSize, window and adaptive are then its own).
   */
  controller?: ChunkController;
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
  /** The chunk sizes the transfer ran with, in order. */
  chunkSizes: number[];
  /** Bytes of chunk data that crossed the line for the chunks kept (compressed size; first copies only). */
  packedBytes: number;
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
  /** The chunk sizes the transfer ran with, in order. */
  chunkSizes: number[];
}

// Random start, for the same reason as the link's sequence numbers (PROTOCOL.md §3.3): a BULK_CLOSE
// of "transfer 2" from this process must never match the cached answer to an earlier process's.
let nextTransferId = randomInt(1, 0xfffe);
function transferId(): number {
  nextTransferId = (nextTransferId % 0xfffe) + 1;
  return nextTransferId;
}

/**
 * Retries of the small idempotent requests around a transfer (region list, info, hash): on a line
 * that damages 1 % of bytes a 150-byte answer arrives whole only about one time in five.
 */
const READ_RETRIES = 20;

export async function listRegions(link: NativeLink, signal?: AbortSignal): Promise<RegionInfo[]> {
  return REGION_LIST.decode(await link.request(CMD.REGION_LIST, new Uint8Array(0), { signal, retries: READ_RETRIES })).regions;
}

export async function regionInfo(link: NativeLink, region: RegionRef, signal?: AbortSignal): Promise<RegionInfo> {
  if (typeof region === 'string') {
    const found = (await listRegions(link, signal)).find((r) => r.name === region);
    if (!found) throw new PackscopeError('NOT_FOUND', `the board has no region '${region}'`);
    return found;
  }
  return REGION_INFO.decode(await link.request(CMD.REGION_INFO, REGION_ID.encode({ region }), { signal, retries: READ_RETRIES }));
}

/** SHA-256 of a region range, computed by the board. */
export async function regionHash(link: NativeLink, region: RegionRef, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
  const id = typeof region === 'number' ? region : (await regionInfo(link, region, signal)).id;
  // Hashing a large range takes the board a while: allow for it in the timeout.
  const r = REGION_HASH.decode(
    await link.request(CMD.REGION_HASH, REGION_RANGE.encode({ region: id, offset, length }), {
      signal,
      timeoutMs: 500 + length / 20000,
      retries: READ_RETRIES,
    }),
  );
  if (r.offset !== offset || r.length !== length) throw new PackscopeError('PROTOCOL', 'REGION_HASH answered for another range');
  return r.sha256;
}

export async function regionErase(link: NativeLink, region: RegionRef, offset: number, length: number, signal?: AbortSignal): Promise<void> {
  const id = typeof region === 'number' ? region : (await regionInfo(link, region, signal)).id;
  await link.request(CMD.REGION_ERASE, REGION_RANGE.encode({ region: id, offset, length }), { signal, timeoutMs: 2000 + length / 100 });
}

/**
 * Requests a board may take a while to answer (opening a write may erase ahead, closing one waits
 * for the last chunks to be written): 40 s in all, but asked again every 500 ms, not every 2 s.
 * Asking again costs nothing (the board answers a repeat from its replay cache, or not at all
 * while the first is still running, PROTOCOL.md §3.3), while on a line that loses a quarter of
 * small frames five lost 2-second attempts in a row were the 10 s of silence that ends a transfer.
 */
const SLOW_ANSWER = { timeoutMs: 500, retries: 80 };

/** How often a transfer checks that the board is still there. */
const STALL_TICK_MS = 250;

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
  const movelessMs = options.movelessTimeoutMs ?? Math.max(60_000, 6 * stallMs);
  let lastTick = clock.now();
  let lastHeard = clock.now();
  unsubs.push(
    clock.every(STALL_TICK_MS, () => {
      const now = clock.now();
      // Any whole frame from the board shows it alive and answering (acks of a write it is still
      // committing, duplicates of a read, answers): silence is what fails a transfer. Damaged
      // frames do not count: a transfer whose frames all die is ended, and the pull reopens it.
      lastHeard = Math.max(lastHeard, link.lastFrameAt);
      // A tick far behind its time means this process was not running (a loaded machine): the
      // board cannot be blamed for a silence nobody listened to, so that time does not count.
      const missed = now - lastTick - STALL_TICK_MS;
      lastTick = now;
      if (missed > STALL_TICK_MS) {
        lastProgress = Math.min(now, lastProgress + missed);
        lastHeard = Math.min(now, lastHeard + missed);
      }
      if (now - Math.max(lastProgress, lastHeard) > stallMs) {
        fail(new PackscopeError('TIMEOUT', `transfer stalled: no answer from the board for ${stallMs / 1000} s`));
      } else if (now - lastProgress > movelessMs) {
        fail(new PackscopeError('TIMEOUT', `transfer stalled: the board answers, but no data moved for ${Math.round(movelessMs / 1000)} s`));
      }
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
  if (remaining === 0)
    return {
      region: info,
      offset,
      length,
      startedAt: start,
      data: out,
      retransmissions: 0,
      seconds: (clock.now() - t0) / 1000,
      chunkSizes: [],
      packedBytes: 0,
    };

  let pos = start;
  const ctl = chunkController(options);
  let duplicates = 0;
  let packedBytes = 0;
  while (pos < offset + length) {
    const span = await readSpan(
      link,
      info.id,
      pos,
      offset + length - pos,
      ctl,
      options,
      (chunkOffset, data) => {
        if (out) out.set(data, chunkOffset - offset);
        else return options.onData!(chunkOffset, data);
      },
      (committed) => options.onProgress?.(meter.update(committed - offset, 'read')),
    );
    duplicates += span.duplicates;
    packedBytes += span.packedBytes;
    pos = span.committed;
  }
  const seconds = (clock.now() - t0) / 1000;
  options.onProgress?.({ ...meter.update(length, 'read'), rate: remaining / Math.max(seconds, 1e-6), etaSeconds: 0 });
  return { region: info, offset, length, startedAt: start, data: out, retransmissions: duplicates, seconds, chunkSizes: ctl.history, packedBytes };
}

/**
 * The chunk-size controller of a transfer: the caller's, or one that starts at the caller's chunk
 * size (default 4096), which is also the largest it grows to; a caller giving a window fixes it.
 */
function chunkController(options: BulkCommonOptions): ChunkController {
  if (options.controller) return options.controller;
  const initial = options.chunkSize ?? 4096;
  return new ChunkController({ initial, max: initial, adaptive: options.adaptive ?? true, ...(options.window ? { window: options.window } : {}) });
}

/**
 * One BULK_READ transfer of [start, start+length) with the controller's chunk size. Resolves when
 * complete, or early (complete = false) when the controller wants another chunk size: the caller
 * goes on from the committed offset with it.
 */
async function readSpan(
  link: NativeLink,
  region: number,
  start: number,
  length: number,
  ctl: ChunkController,
  options: BulkReadOptions,
  deliver: (offset: number, data: Uint8Array) => void | Promise<void>,
  onCommitted: (committed: number) => void,
): Promise<{ committed: number; complete: boolean; duplicates: number; packedBytes: number }> {
  const id = transferId();
  const clock = link.clock;
  const g = guard(link, id, options);
  let rx = new BulkReceiver(start, length, ctl.chunkSize);
  let granted = false;
  let finish!: (complete: boolean) => void;
  const finished = new Promise<boolean>((r) => (finish = r));
  let delivering = Promise.resolve();
  let lastAckSent = 0;
  let errorsSeen = link.stats.crcErrors + link.stats.decodeErrors;
  let resizing = false;
  let packedBytes = 0;
  /** Feeds the controller the damaged frames the link counted; ends the span when it wants another size. */
  const steer = () => {
    const errors = link.stats.crcErrors + link.stats.decodeErrors;
    const left = start + length - rx.committed;
    ctl.framesDamaged(errors - errorsSeen, left);
    errorsSeen = errors;
    if (resizing || !granted) return;
    const next = ctl.proposal(left);
    if (next !== null) {
      resizing = true;
      ctl.adopt(next);
      finish(false);
    }
  };
  let window = ctl.window;
  const sendAck = () => {
    lastAckSent = clock.now();
    link.sendEvent(CMD.EV_BULK_ACK, BULK_ACK.encode({ transferId: id, ...rx.ack(window) }));
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
    lastDataAt = clock.now();
    ctl.frameOk(d.data.length, want);
    let fresh = false;
    try {
      fresh = rx.acceptPacked(d.offset, d.data, d.flags);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
    if (fresh) {
      g.progressed();
      packedBytes += d.data.length;
      for (;;) {
        let next;
        try {
          next = rx.takeNext();
        } catch (e) {
          // The frame arrived whole: the board compressed the chunk wrongly, and sending it again would not help.
          if (!(e instanceof DecodeError)) throw e;
          g.fail(new PackscopeError('PROTOCOL', `the board sent a chunk at ${rx.committed} that does not decompress: ${e.message}`));
          return;
        }
        if (!next) break;
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
    steer();
  };
  const unsubData = link.onEvent(CMD.EV_BULK_DATA, onData);
  // A frame of this transfer arrived damaged: name the chunk it carried (BULK_NAK), so the board
  // sends it again now; at the end of a transfer nothing sent after it would tell the board. A
  // damaged event whose header no longer reads, or names no chunk still missing, most likely
  // carried the first chunk missing (chunks come in order): that one is named.
  let nak = false;
  let lastDataAt = clock.now();
  let lastNakAt = -Infinity;
  const sendNak = (at: number | null) => {
    if (at === null) return;
    lastNakAt = clock.now();
    link.sendEvent(CMD.EV_BULK_NAK, BULK_NAK.encode({ transferId: id, offset: at }));
  };
  const unsubDamage = link.onDamagedFrame((head) => {
    if (!granted || !nak) return;
    const at = head ? damagedChunkOffset(head, id) : null;
    if (at !== null && rx.lacks(at)) sendNak(at);
    else if (!head || head.type === MSG.EVENT) sendNak(rx.firstLacking());
  });
  const stopTimer = clock.every(100, () => {
    if (!granted) return;
    // Nothing whole for a while and a chunk still missing: its frame or its NAK was lost. Name it
    // again rather than wait for the board's timeout (which, before any round trip was measured,
    // allows for a loaded host: hundreds of ms). The board ignores a NAK of a chunk it just sent.
    const now = clock.now();
    if (nak && now - lastDataAt >= 100 && now - lastNakAt >= 100) sendNak(rx.firstLacking());
    // If acks are lost and the board's timer has not yet fired, a periodic ack nudges it on.
    if (now - lastAckSent > 300) sendAck();
    // Damaged frames and nothing whole: the controller hears of them here.
    steer();
  });
  try {
    const open = BULK_OPEN.decode(
      await Promise.race([
        link.request(
          CMD.BULK_READ_OPEN,
          BULK_OPEN.encode({
            transferId: id,
            region,
            flags: (options.compress ? BULK_FLAG.COMPRESS | BULK_FLAG.CONTEXT : 0) | BULK_FLAG.NAK,
            offset: start,
            length,
            chunkSize: ctl.chunkSize,
            window: ctl.window,
          }),
          { signal: options.signal, retries: 20 },
        ),
        g.failed,
      ]),
    );
    if (open.offset !== start || open.length !== length || open.transferId !== id)
      throw new PackscopeError('PROTOCOL', 'the board granted a different transfer than asked');
    rx = new BulkReceiver(start, length, open.chunkSize, (open.flags & BULK_FLAG.CONTEXT) !== 0);
    window = open.window;
    nak = (open.flags & BULK_FLAG.NAK) !== 0;
    if (open.chunkSize !== ctl.chunkSize) ctl.adopt(open.chunkSize);
    granted = true;
    errorsSeen = link.stats.crcErrors + link.stats.decodeErrors;
    for (const p of early.splice(0)) onData(p);
    const complete = await Promise.race([finished, g.failed]);
    if (complete) await Promise.race([delivering, g.failed]);
    stopTimer();
    unsubData();
    unsubDamage();
    await link.request(CMD.BULK_CLOSE, BULK_CLOSE.encode({ transferId: id }), { signal: options.signal, retries: 20 });
    await delivering;
    return { committed: rx.committed, complete: rx.complete, duplicates: rx.duplicates, packedBytes };
  } catch (e) {
    if (!link.isClosed) await closeQuietly(link, id);
    throw e;
  } finally {
    stopTimer();
    unsubData();
    unsubDamage();
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
  if (skip === data.length)
    return { region: info, committed: offset + skip, startedAt: offset + skip, retransmissions: 0, seconds: (clock.now() - t0) / 1000, chunkSizes: [] };
  const start = offset + skip;
  let pos = start;
  const ctl = chunkController(options);
  let retransmissions = 0;
  while (pos < offset + data.length) {
    const span = await writeSpan(link, info.id, pos, data.subarray(pos - offset), ctl, options, (acked) =>
      options.onProgress?.(meter.update(acked - offset, 'write')),
    );
    retransmissions += span.retransmissions;
    pos = span.committed;
  }
  const seconds = (clock.now() - t0) / 1000;
  options.onProgress?.({ ...meter.update(data.length, 'write'), rate: (data.length - skip) / Math.max(seconds, 1e-6), etaSeconds: 0 });
  return { region: info, committed: pos, startedAt: start, retransmissions, seconds, chunkSizes: ctl.history };
}

/**
 * One BULK_WRITE transfer of `body` at `start` with the controller's chunk size. Resolves
 * complete, or early (complete = false) when the controller wants another chunk size, so the
 * caller goes on from the committed offset with it. The board's CRC errors are not visible here:
 * a chunk acknowledged on its first transmission counts as a frame that arrived, each
 * retransmission as one that did not.
 */
async function writeSpan(
  link: NativeLink,
  region: number,
  start: number,
  body: Uint8Array,
  ctl: ChunkController,
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
  let ackedChunks = 0;
  let retransSeen = 0;
  let resizing = false;
  const compress = options.compress ?? false;
  let context = false;
  const pump = () => {
    if (!sender || link.isClosed) return;
    const now = clock.now();
    for (const i of sender.due(now)) {
      const { offset: off, length } = sender.chunkRange(i);
      const dictionary = context ? body.subarray(contextStart(start, off) - start, off - start) : undefined;
      const packed = packChunk(body.subarray(off - start, off - start + length), compress, dictionary);
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
    if (sender.onAck(a.cumulative, a.sack, clock.now(), a.more)) {
      g.progressed();
      onAcked(start + sender.ackedBytes);
    }
    if (sender.done) finish(true);
    else {
      steer();
      pump();
    }
  });
  // The board saw a chunk's frame arrive damaged: it goes out again now (the NAK was granted).
  const unsubNak = link.onEvent(CMD.EV_BULK_NAK, (payload) => {
    let n;
    try {
      n = BULK_NAK.decode(payload);
    } catch {
      return;
    }
    if (n.transferId === id && sender?.onNak(n.offset, clock.now())) pump();
  });
  /** Feeds the controller what the acknowledgements tell; ends the span when it wants another size. */
  const steer = () => {
    if (!sender || resizing) return;
    const acked = Math.ceil(sender.ackedBytes / sender.chunkSize);
    for (; ackedChunks < acked; ackedChunks++) ctl.frameOk(sender.chunkSize);
    const left = body.length - sender.ackedBytes;
    ctl.framesDamaged(sender.retransmissions - retransSeen, left);
    retransSeen = sender.retransmissions;
    const next = ctl.proposal(left);
    if (next !== null) {
      resizing = true;
      ctl.adopt(next);
      finish(false);
    }
  };
  // Retransmissions by timeout, while no acknowledgement arrives, are heard of here.
  const stopStarve = clock.every(100, steer);
  try {
    const open = BULK_OPEN.decode(
      await Promise.race([
        link.request(
          CMD.BULK_WRITE_OPEN,
          BULK_OPEN.encode({
            transferId: id,
            region,
            flags: (compress ? BULK_FLAG.COMPRESS | BULK_FLAG.CONTEXT : 0) | BULK_FLAG.NAK,
            offset: start,
            length: body.length,
            chunkSize: ctl.chunkSize,
            window: ctl.window,
          }),
          { signal: options.signal, ...SLOW_ANSWER },
        ),
        g.failed,
      ]),
    );
    if (open.offset !== start || open.length !== body.length) throw new PackscopeError('PROTOCOL', 'the board granted a different transfer than asked');
    context = compress && (open.flags & BULK_FLAG.CONTEXT) !== 0;
    const byteRate = link.lineBytesPerSecond;
    // A window's line time, or the transfer's when it has fewer chunks: the timeout before any round trip is measured.
    const inFlight = Math.min(open.window, Math.ceil(body.length / open.chunkSize));
    const windowMs = Number.isFinite(byteRate) ? ((inFlight + 1) * (open.chunkSize + 32) * 1000) / byteRate : 0;
    if (open.chunkSize !== ctl.chunkSize) ctl.adopt(open.chunkSize);
    sender = new BulkSender({
      start,
      length: body.length,
      chunkSize: open.chunkSize,
      window: open.window,
      initialRtoMs: 2 * windowMs + 500,
      // As on the board (PROTOCOL.md §6.4): the floor follows the chunk's line time, or 200 ms with NAKs.
      ...(Number.isFinite(byteRate) ? { minRtoMs: minRtoMs(open.chunkSize, (open.flags & BULK_FLAG.NAK) !== 0, byteRate) } : {}),
    });
    pump();
    const complete = await Promise.race([finished, g.failed]);
    timer?.();
    timer = null;
    const closed = BULK_CLOSED.decode(await link.request(CMD.BULK_CLOSE, BULK_CLOSE.encode({ transferId: id }), { signal: options.signal, ...SLOW_ANSWER }));
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
    unsubNak();
    g.dispose();
  }
}
