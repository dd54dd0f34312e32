import { inflateSync, deflateSync } from 'fflate';
import { DecodeError } from '../errors.js';
import { rd16, rd32 } from '../util/le.js';
import { CMD, MSG } from './constants.js';
import type { DamagedHead } from './frame.js';
import { CHUNK_FLAG, CONTEXT_BYTES, MAX_WINDOW_WIDE, sackWords } from './messages.js';

/**
 * The windowed bulk-transfer engine (PROTOCOL.md §6), as two pure state machines shared by the
 * board and the host: a BulkSender (board for reads, host for writes) and a BulkReceiver (the other
 * end). Time is passed in, nothing here owns a timer, so both sides and the tests drive it alike.
 *
 * Loss detection is by send order (as TCP RACK does): a chunk still unacknowledged when a chunk
 * sent after it has been acknowledged is lost and goes out again at once; so is a chunk the
 * receiver names in a BULK_NAK (it saw the chunk's frame arrive damaged: the only news of a lost
 * chunk when nothing sent after it gets through, as at the end of a transfer); anything else goes
 * out again when its retransmission timeout (adapted from measured round trips) expires.
 */
export interface SenderOptions {
  start: number;
  length: number;
  chunkSize: number;
  window: number;
  /** First retransmission timeout, ms (before any round trip has been measured). */
  initialRtoMs: number;
  minRtoMs?: number;
}

export class BulkSender {
  readonly start: number;
  readonly end: number;
  readonly chunkSize: number;
  readonly window: number;
  readonly chunkCount: number;
  private acked: Uint8Array;
  private sendNo: Float64Array; // order of the last transmission of each chunk (0 = never sent)
  private sentAt: Float64Array;
  private retransmitted: Uint8Array;
  private naked: Uint8Array; // named damaged by the receiver: goes out again at once
  private base = 0; // first unacknowledged chunk
  private nextNew = 0; // first chunk never sent
  private sendCounter = 0;
  private highestAckedSendNo = 0;
  private srtt: number | null = null;
  private rttvar = 0;
  private rto: number;
  private readonly minRto: number;
  retransmissions = 0;

  constructor(o: SenderOptions) {
    if (o.chunkSize <= 0 || o.window <= 0 || o.window > MAX_WINDOW_WIDE) throw new RangeError('bad chunk size or window');
    this.start = o.start;
    this.end = o.start + o.length;
    this.chunkSize = o.chunkSize;
    this.window = o.window;
    this.chunkCount = Math.ceil(o.length / o.chunkSize);
    this.acked = new Uint8Array(this.chunkCount);
    this.sendNo = new Float64Array(this.chunkCount);
    this.sentAt = new Float64Array(this.chunkCount);
    this.retransmitted = new Uint8Array(this.chunkCount);
    this.naked = new Uint8Array(this.chunkCount);
    this.rto = o.initialRtoMs;
    this.minRto = o.minRtoMs ?? 200;
  }

  get done(): boolean {
    return this.base >= this.chunkCount;
  }
  /** Bytes acknowledged contiguously from the start. */
  get ackedBytes(): number {
    return Math.min(this.end, this.start + this.base * this.chunkSize) - this.start;
  }
  /** True while the window has room for a chunk never sent. */
  get canSendNew(): boolean {
    return this.nextNew < this.chunkCount && this.nextNew < this.base + this.window;
  }
  get currentRtoMs(): number {
    return this.rto;
  }

  chunkRange(index: number): { offset: number; length: number } {
    const offset = this.start + index * this.chunkSize;
    return { offset, length: Math.min(this.chunkSize, this.end - offset) };
  }

  /**
   * Chunks to transmit now, at most `max`: retransmissions first (lost or timed out), then new
   * chunks the window allows. The returned chunks count as sent at `now`.
   */
  due(now: number, max = Infinity): number[] {
    const out: number[] = [];
    for (let i = this.base; i < this.nextNew && out.length < max; i++) {
      if (this.acked[i]) continue;
      const lost = this.sendNo[i]! < this.highestAckedSendNo || this.naked[i] === 1;
      if (lost || now - this.sentAt[i]! >= this.rto) out.push(i);
    }
    if (out.length) this.retransmissions += out.length;
    while (out.length < max && this.nextNew < this.chunkCount && this.nextNew < this.base + this.window) out.push(this.nextNew++);
    for (const i of out) {
      this.naked[i] = 0;
      if (this.sendNo[i]! > 0) this.retransmitted[i] = 1;
      this.sendNo[i] = ++this.sendCounter;
      this.sentAt[i] = now;
    }
    return out;
  }

  /**
   * Moves a chunk's send time to when it actually leaves the wire (a sender that queues a whole
   * window ahead of a slow line would otherwise time out chunks still waiting in its own queue).
   */
  setSentAt(index: number, t: number): void {
    if (index >= 0 && index < this.chunkCount) this.sentAt[index] = t;
  }

  /** The next time something may need retransmitting (null when nothing is in flight). */
  nextDeadline(): number | null {
    let d: number | null = null;
    for (let i = this.base; i < this.nextNew; i++) {
      if (this.acked[i]) continue;
      const t = this.sentAt[i]! + this.rto;
      if (d === null || t < d) d = t;
    }
    return d;
  }

  /**
   * The receiver saw the chunk at `offset` arrive damaged (BULK_NAK): it goes out again with the
   * next due(). Ignored for a chunk acknowledged, never sent, or not yet off the wire (the NAK is
   * about an earlier transmission, and the copy on its way may well arrive). A NAK that arrives
   * after the copy left, but is about an earlier one, costs one needless frame; guarding against
   * it with a fraction of the round trip cost more: NAKs come back faster than acks (which wait
   * for the receiver's commit), one late ack inflates any smoothed round trip for long, and each
   * NAK ignored leaves a chunk that a bad line keeps damaging to the receiver's 200 ms reminder.
   * No round-trip sample: a receiver also repeats a NAK for a chunk still missing after a quiet
   * spell, so its timing says nothing of the line.
   * Returns true if the chunk is now due.
   */
  onNak(offset: number, now: number): boolean {
    const rel = offset - this.start;
    if (rel < 0 || rel % this.chunkSize !== 0) return false;
    const i = rel / this.chunkSize;
    if (i >= this.nextNew || this.acked[i] || this.naked[i]) return false;
    const since = now - this.sentAt[i]!;
    if (since < 0) return false;
    this.naked[i] = 1;
    return true;
  }

  /** Applies an acknowledgement (`more`: the SACK words after the first, windows above 32). Returns true if it advanced anything. */
  onAck(cumulative: number, sack: number, now: number, more: readonly number[] = []): boolean {
    let progressed = false;
    const cumChunk = cumulative >= this.end ? this.chunkCount : Math.floor((cumulative - this.start) / this.chunkSize);
    if (cumulative < this.start || cumChunk < 0) return false;
    const mark = (i: number) => {
      if (i < 0 || i >= this.chunkCount || this.acked[i] || i >= this.nextNew) return;
      this.acked[i] = 1;
      progressed = true;
      if (this.sendNo[i]! > this.highestAckedSendNo) this.highestAckedSendNo = this.sendNo[i]!;
      // Karn: only chunks sent once give a round-trip sample.
      if (!this.retransmitted[i]) this.sampleRtt(now - this.sentAt[i]!);
    };
    for (let i = this.base; i < Math.min(cumChunk, this.nextNew); i++) mark(i);
    for (let b = 0; b < 32; b++) if ((sack >>> b) & 1) mark(cumChunk + b);
    for (let k = 0; k < more.length; k++) for (let b = 0; b < 32; b++) if ((more[k]! >>> b) & 1) mark(cumChunk + 32 * (k + 1) + b);
    while (this.base < this.chunkCount && this.acked[this.base]) this.base++;
    return progressed;
  }

  private sampleRtt(r: number): void {
    if (this.srtt === null) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = Math.max(this.minRto, this.srtt + 4 * this.rttvar);
  }
}

/**
 * The floor of a transfer's retransmission timeout (PROTOCOL.md §6.4), for chunks of `chunkSize`
 * on a line of `byteRate` bytes/s. Without NAKs, small chunks on a noisy line need a low one: a
 * lost retransmission at the window's base blocks the window until its timeout, so the floor
 * follows the chunk's line time, not a fixed 200 ms. With NAKs the receiver names such a chunk
 * itself and the timer is the last resort: at least 200 ms, so the late acks of a loaded host do
 * not send chunks again that all arrived (measured on a log pull at 0.2 % corrupted bytes: about
 * four times fewer duplicates).
 */
export function minRtoMs(chunkSize: number, nak: boolean, byteRate: number): number {
  const floor = 20 + (4 * (chunkSize + 32) * 1000) / byteRate;
  return nak ? Math.max(200, floor) : floor;
}

/**
 * Receiving end: accepts chunks in any order, hands them on strictly in order, and reports a
 * cumulative offset (everything below is committed) with a selective-acknowledgement bitmap.
 */
export class BulkReceiver {
  readonly start: number;
  readonly end: number;
  readonly chunkSize: number;
  private pending = new Map<number, Uint8Array>();
  /** CONTEXT chunks as received: they inflate only once everything before them is here. */
  private packed = new Map<number, { data: Uint8Array; flags: number }>();
  private delivered: number; // next offset to hand on
  private committedTo: number; // offset below which the consumer has committed
  /** The last CONTEXT_BYTES handed on (the dictionary of the next CONTEXT chunk); only kept with context. */
  private tail: Uint8Array = new Uint8Array(0);
  private readonly context: boolean;
  duplicates = 0;

  /** `context`: the transfer was granted BULK_FLAG.CONTEXT, so CONTEXT chunks may arrive. */
  constructor(start: number, length: number, chunkSize: number, context = false) {
    this.start = start;
    this.end = start + length;
    this.chunkSize = chunkSize;
    this.delivered = start;
    this.committedTo = start;
    this.context = context;
  }

  get complete(): boolean {
    return this.committedTo >= this.end;
  }
  get committed(): number {
    return this.committedTo;
  }

  expectedLength(offset: number): number | null {
    if (offset < this.start || offset >= this.end || (offset - this.start) % this.chunkSize !== 0) return null;
    return Math.min(this.chunkSize, this.end - offset);
  }

  /** Stores a chunk; returns false for a duplicate. Throws DecodeError for a misplaced or mis-sized chunk. */
  accept(offset: number, data: Uint8Array): boolean {
    const want = this.expectedLength(offset);
    if (want === null) throw new DecodeError(`chunk at offset ${offset} is outside the transfer or misaligned`);
    if (data.length !== want) throw new DecodeError(`chunk at offset ${offset} has ${data.length} bytes, expected ${want}`);
    if (this.held(offset)) {
      this.duplicates++;
      return false;
    }
    this.pending.set(offset, data);
    return true;
  }

  /**
   * Stores a chunk as it came off the wire (BULK_DATA data and flags): plain and DEFLATE chunks are
   * unpacked now, CONTEXT chunks when everything before them has arrived (takeNext). Returns false
   * for a duplicate; throws DecodeError for a misplaced, mis-sized or undecodable chunk, or a
   * CONTEXT chunk on a transfer that was not granted them.
   */
  acceptPacked(offset: number, data: Uint8Array, flags: number): boolean {
    if (!(flags & CHUNK_FLAG.CONTEXT)) {
      const want = this.expectedLength(offset);
      if (want === null) throw new DecodeError(`chunk at offset ${offset} is outside the transfer or misaligned`);
      if (this.held(offset)) {
        this.duplicates++;
        return false;
      }
      return this.accept(offset, unpackChunk(data, flags, want));
    }
    if (!this.context) throw new DecodeError(`context-compressed chunk at offset ${offset} on a transfer without context`);
    if (this.expectedLength(offset) === null) throw new DecodeError(`chunk at offset ${offset} is outside the transfer or misaligned`);
    if (this.held(offset)) {
      this.duplicates++;
      return false;
    }
    this.packed.set(offset, { data, flags });
    return true;
  }

  /** True for the offset of a chunk of this transfer not yet received (one worth a BULK_NAK). */
  lacks(offset: number): boolean {
    return this.expectedLength(offset) !== null && !this.held(offset);
  }

  /** The offset of the first chunk not yet received, or null when every chunk is here. */
  firstLacking(): number | null {
    for (let off = this.delivered; off < this.end; off += this.chunkSize) if (!this.held(off)) return off;
    return null;
  }

  private held(offset: number): boolean {
    return offset < this.delivered || this.pending.has(offset) || this.packed.has(offset);
  }

  /**
   * Next in-order chunk ready to hand on, if any (removed from the buffer). A CONTEXT chunk that
   * does not inflate to its length against the bytes before it throws DecodeError (a sender fault:
   * its frame arrived whole).
   */
  takeNext(): { offset: number; data: Uint8Array } | null {
    const offset = this.delivered;
    let data = this.pending.get(offset);
    if (data) this.pending.delete(offset);
    else {
      const p = this.packed.get(offset);
      if (!p) return null;
      this.packed.delete(offset);
      data = unpackChunk(p.data, p.flags, this.expectedLength(offset)!, this.tail);
    }
    this.delivered += data.length;
    if (this.context) this.tail = contextAfter(this.tail, data);
    return { offset, data };
  }

  /** The consumer has durably stored everything below `offset`. */
  commit(offset: number): void {
    if (offset > this.committedTo) this.committedTo = Math.min(offset, this.delivered);
  }

  /** The acknowledgement to send; a transfer granted a window above 32 carries its further SACK words in `more`. */
  ack(window = 32): { cumulative: number; sack: number; more?: number[] } {
    const words = new Array<number>(sackWords(window)).fill(0);
    for (let b = 0; b < 32 * words.length; b++) {
      const off = this.committedTo + b * this.chunkSize;
      if (off >= this.end) break;
      if (this.held(off)) words[b >>> 5]! |= 1 << (b & 31);
    }
    const [sack, ...more] = words.map((w) => w >>> 0);
    return { cumulative: this.committedTo, sack: sack!, ...(more.length ? { more } : {}) };
  }
}

/**
 * The offset of the chunk of transfer `transferId` a damaged frame seems to have carried (its
 * header and bulk header still read as BULK_DATA of that transfer), or null. Unverified: good for
 * a BULK_NAK, whose worst case is one needless retransmission, and for nothing else.
 */
export function damagedChunkOffset(head: DamagedHead, transferId: number): number | null {
  if (head.type !== MSG.EVENT || head.cmd !== CMD.EV_BULK_DATA || head.seq !== 0 || head.payload.length < 6) return null;
  return rd16(head.payload, 0) === transferId ? rd32(head.payload, 2) : null;
}

/** The dictionary of the next CONTEXT chunk: the last CONTEXT_BYTES of `tail` followed by `data`. */
function contextAfter(tail: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length >= CONTEXT_BYTES) return data.slice(data.length - CONTEXT_BYTES);
  const keep = Math.min(tail.length, CONTEXT_BYTES - data.length);
  const out = new Uint8Array(keep + data.length);
  out.set(tail.subarray(tail.length - keep));
  out.set(data, keep);
  return out;
}

/** Where the dictionary of a CONTEXT chunk at `offset` starts, in a transfer starting at `start`. */
export function contextStart(start: number, offset: number): number {
  return Math.max(start, offset - CONTEXT_BYTES);
}

/**
 * Compresses a chunk if that makes it smaller; returns the bytes to send and the chunk flags.
 * `dictionary`: the transfer's bytes right before the chunk (up to CONTEXT_BYTES, from
 * contextStart) when the transfer was granted CONTEXT; small chunks of records compress several
 * times better against the records before them than alone.
 */
export function packChunk(data: Uint8Array, compress: boolean, dictionary?: Uint8Array): { data: Uint8Array; flags: number } {
  if (!compress) return { data, flags: 0 };
  if (dictionary && dictionary.length > 0 && data.length >= 16) {
    const z = deflateSync(data, { level: 1, dictionary });
    if (z.length < data.length - 2) return { data: z, flags: CHUNK_FLAG.DEFLATE | CHUNK_FLAG.CONTEXT };
  } else if (data.length >= 64) {
    const z = deflateSync(data, { level: 1 });
    if (z.length < data.length - 8) return { data: z, flags: CHUNK_FLAG.DEFLATE };
  }
  return { data, flags: 0 };
}

/** Undoes packChunk (a CONTEXT chunk needs its dictionary); a damaged or oversized compressed chunk is a DecodeError. */
export function unpackChunk(data: Uint8Array, flags: number, expectedLength: number, dictionary?: Uint8Array): Uint8Array {
  if (!(flags & CHUNK_FLAG.DEFLATE)) {
    if (flags & CHUNK_FLAG.CONTEXT) throw new DecodeError('a context chunk must be compressed');
    return data;
  }
  const context = (flags & CHUNK_FLAG.CONTEXT) !== 0;
  if (context && !dictionary) throw new DecodeError('context chunk without its dictionary');
  let out: Uint8Array;
  try {
    out = inflateSync(data, { out: new Uint8Array(expectedLength), ...(context && dictionary!.length ? { dictionary } : {}) });
  } catch (e) {
    throw new DecodeError(`compressed chunk does not inflate: ${(e as Error).message}`);
  }
  if (out.length !== expectedLength) throw new DecodeError(`compressed chunk inflates to ${out.length} bytes, expected ${expectedLength}`);
  return out;
}
