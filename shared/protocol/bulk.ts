import { inflateSync, deflateSync } from 'fflate';
import { DecodeError } from '../errors.js';
import { CHUNK_FLAG, MAX_WINDOW } from './messages.js';

/**
 * The windowed bulk-transfer engine (PROTOCOL.md §6), as two pure state machines shared by the
 * board and the host: a BulkSender (board for reads, host for writes) and a BulkReceiver (the other
 * end). Time is passed in, nothing here owns a timer, so both sides and the tests drive it alike.
 *
 * Loss detection is by send order (as TCP RACK does): a chunk still unacknowledged when a chunk
 * sent after it has been acknowledged is lost and goes out again at once; anything else goes out
 * again when its retransmission timeout (adapted from measured round trips) expires.
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
    if (o.chunkSize <= 0 || o.window <= 0 || o.window > MAX_WINDOW) throw new RangeError('bad chunk size or window');
    this.start = o.start;
    this.end = o.start + o.length;
    this.chunkSize = o.chunkSize;
    this.window = o.window;
    this.chunkCount = Math.ceil(o.length / o.chunkSize);
    this.acked = new Uint8Array(this.chunkCount);
    this.sendNo = new Float64Array(this.chunkCount);
    this.sentAt = new Float64Array(this.chunkCount);
    this.retransmitted = new Uint8Array(this.chunkCount);
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
      const lost = this.sendNo[i]! < this.highestAckedSendNo;
      if (lost || now - this.sentAt[i]! >= this.rto) out.push(i);
    }
    if (out.length) this.retransmissions += out.length;
    while (out.length < max && this.nextNew < this.chunkCount && this.nextNew < this.base + this.window) out.push(this.nextNew++);
    for (const i of out) {
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

  /** Applies an acknowledgement. Returns true if it advanced anything. */
  onAck(cumulative: number, sack: number, now: number): boolean {
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
 * Receiving end: accepts chunks in any order, hands them on strictly in order, and reports a
 * cumulative offset (everything below is committed) with a selective-acknowledgement bitmap.
 */
export class BulkReceiver {
  readonly start: number;
  readonly end: number;
  readonly chunkSize: number;
  private pending = new Map<number, Uint8Array>();
  private delivered: number; // next offset to hand on
  private committedTo: number; // offset below which the consumer has committed
  duplicates = 0;

  constructor(start: number, length: number, chunkSize: number) {
    this.start = start;
    this.end = start + length;
    this.chunkSize = chunkSize;
    this.delivered = start;
    this.committedTo = start;
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
    if (offset < this.delivered || this.pending.has(offset)) {
      this.duplicates++;
      return false;
    }
    this.pending.set(offset, data);
    return true;
  }

  /** Next in-order chunk ready to hand on, if any (removed from the buffer). */
  takeNext(): { offset: number; data: Uint8Array } | null {
    const data = this.pending.get(this.delivered);
    if (!data) return null;
    this.pending.delete(this.delivered);
    const offset = this.delivered;
    this.delivered += data.length;
    return { offset, data };
  }

  /** The consumer has durably stored everything below `offset`. */
  commit(offset: number): void {
    if (offset > this.committedTo) this.committedTo = Math.min(offset, this.delivered);
  }

  ack(): { cumulative: number; sack: number } {
    let sack = 0;
    for (let b = 0; b < 32; b++) {
      const off = this.committedTo + b * this.chunkSize;
      if (off >= this.end) break;
      if (off < this.delivered || this.pending.has(off)) sack |= 1 << b;
    }
    return { cumulative: this.committedTo, sack: sack >>> 0 };
  }
}

/** Compresses a chunk if that makes it smaller; returns the bytes to send and the chunk flags. */
export function packChunk(data: Uint8Array, compress: boolean): { data: Uint8Array; flags: number } {
  if (compress && data.length >= 64) {
    const z = deflateSync(data, { level: 1 });
    if (z.length < data.length - 8) return { data: z, flags: CHUNK_FLAG.DEFLATE };
  }
  return { data, flags: 0 };
}

/** Undoes packChunk; a damaged or oversized compressed chunk is a DecodeError. */
export function unpackChunk(data: Uint8Array, flags: number, expectedLength: number): Uint8Array {
  if (!(flags & CHUNK_FLAG.DEFLATE)) return data;
  let out: Uint8Array;
  try {
    out = inflateSync(data, { out: new Uint8Array(expectedLength) });
  } catch (e) {
    throw new DecodeError(`compressed chunk does not inflate: ${(e as Error).message}`);
  }
  if (out.length !== expectedLength) throw new DecodeError(`compressed chunk inflates to ${out.length} bytes, expected ${expectedLength}`);
  return out;
}
