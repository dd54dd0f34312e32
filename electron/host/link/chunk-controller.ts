import { CRC_SIZE, HEADER_SIZE } from '../../../shared/protocol/constants.js';
import { MAX_CHUNK, MAX_WINDOW, MAX_WINDOW_WIDE } from '../../../shared/protocol/messages.js';

/**
 * Chooses the chunk size of a bulk transfer from the frame error rate it observes (PROTOCOL.md
 * §6.5). A frame of n bytes on the wire arrives whole with probability e^(−λn), λ being the line's
 * hazard per byte; with selective acknowledgement every lost frame costs exactly its own
 * retransmission, so the payload carried per byte of line time is
 *     g(c) = c / wire(c) · e^(−λ·wire(c))
 * for chunks of c bytes. The controller estimates λ from the frames that arrived whole and the
 * damaged frames the link counted, and proposes the c that maximises g within the protocol's
 * limits: smaller chunks when frames die, larger ones again after clean runs.
 *
 * Changing the chunk size means ending the transfer and opening another at the committed offset
 * (a round trip and the chunks in flight), so a change is proposed only when the gain over the
 * bytes still to move pays for it, shrinking after a few damaged frames, growing only after a
 * long clean stretch. No chunk carries more than what is left of the transfer, so both the frames
 * the line damaged and the gain of a change are reckoned with min(chunk, remaining): the last
 * few hundred bytes of a read travel as one short chunk, and on a bad enough line even that one
 * is worth splitting. Pure: observations and decisions take no clock; the caller feeds them.
 */
export const MIN_CHUNK = 16;

/** Bytes a BULK_DATA frame of `chunk` payload bytes takes on the wire (header, bulk header, CRC, COBS, delimiter). */
export function wireBytes(chunk: number): number {
  const frame = HEADER_SIZE + 7 + chunk + CRC_SIZE;
  return frame + Math.floor(frame / 254) + 1 + 1;
}

/** Payload carried per byte of line time with chunks of `chunk` bytes at hazard `lambda` per byte. */
export function goodput(chunk: number, lambda: number): number {
  const n = wireBytes(chunk);
  return (chunk / n) * Math.exp(-lambda * n);
}

/**
 * The chunk size in [min, max] that carries the most payload at hazard `lambda`, exactly.
 * g is not unimodal: COBS adds a byte every 254, so it steps down a little at each multiple of
 * 254 bytes of frame, and a search over the whole range can stop on the wrong step. Within one
 * step the overhead is a constant K, g(c) = c/(c+K)·e^(−λ(c+K)) is smooth with its one maximum at
 * c* = (√(K² + 4K/λ) − K)/2, so the best of a step is at c* (rounded either way) or at an end of
 * the step; the answer is the best of those few candidates over every step.
 */
export function bestChunk(lambda: number, min = MIN_CHUNK, max = MAX_CHUNK): number {
  if (!(lambda > 0)) return max;
  const fixed = HEADER_SIZE + 7 + CRC_SIZE; // header, bulk header, CRC: wireBytes(c) = c + fixed + ⌊(c + fixed)/254⌋ + 2
  let best = min;
  let bestG = goodput(min, lambda);
  const consider = (c: number, lo: number, hi: number): void => {
    const x = Math.min(hi, Math.max(lo, c));
    const g = goodput(x, lambda);
    if (g > bestG) {
      best = x;
      bestG = g;
    }
  };
  for (let step = Math.floor((min + fixed) / 254); step <= Math.floor((max + fixed) / 254); step++) {
    const lo = Math.max(min, 254 * step - fixed);
    const hi = Math.min(max, 254 * step + 253 - fixed);
    if (lo > hi) continue;
    const k = fixed + step + 2;
    const peak = (Math.sqrt(k * k + (4 * k) / lambda) - k) / 2;
    for (const c of [lo, hi, Math.floor(peak), Math.ceil(peak)]) consider(c, lo, hi);
  }
  return best;
}

export interface ChunkControllerOptions {
  /** First chunk size (before anything is observed). */
  initial: number;
  min?: number;
  max?: number;
  /** False: keep the initial size (a caller that fixed the chunk size). */
  adaptive?: boolean;
  /** Wire bytes over which old observations fade (default 64 KiB). */
  horizon?: number;
  /**
   * Line bytes a change of chunk size costs (default: 2 KiB for the reopen round trip, plus the
   * chunks in flight, which may be sent again: up to 4 KiB, no more than what is left).
   */
  switchCost?: number;
  /** A fixed window (chunks in flight); by default about 32 KiB of payload. */
  window?: number;
}

export class ChunkController {
  readonly min: number;
  readonly max: number;
  readonly adaptive: boolean;
  private readonly horizon: number;
  private readonly switchCost: number | null;
  private readonly fixedWindow: number | null;
  private current: number;
  /** Bytes sent per chunk byte (below 1 with compression), smoothed. */
  private ratio = 1;
  // Exponentially faded counts: damaged frames and wire bytes exposed to the line.
  private errors = 0;
  private exposure = 0;
  // The prior, worth 4 KiB of exposure: the hazard at which the initial chunk size is the best one.
  private readonly priorExposure = 4096;
  private readonly priorErrors: number;
  /** Wire bytes of the frames last seen or in flight: what one frame of evidence weighs. */
  private frameHint = Infinity;
  // Since the current size was adopted.
  private framesSince = 0;
  private errorsSince = 0;
  private exposureSince = 0;
  /** Every size adopted, in order (the first is the initial one). */
  readonly history: number[] = [];

  constructor(o: ChunkControllerOptions) {
    this.min = Math.max(MIN_CHUNK, o.min ?? MIN_CHUNK);
    this.max = Math.min(MAX_CHUNK, Math.max(this.min, o.max ?? MAX_CHUNK));
    this.adaptive = o.adaptive ?? true;
    this.horizon = o.horizon ?? 64 * 1024;
    this.switchCost = o.switchCost ?? null;
    this.fixedWindow = o.window ? Math.max(1, Math.min(MAX_WINDOW_WIDE, o.window)) : null;
    this.current = this.clamp(o.initial);
    // λ at which `initial` maximises g: d/dn ln g = 0 gives λ = o / (n (n − o)), o the frame overhead.
    const n = wireBytes(this.current);
    const overhead = n - this.current;
    this.priorErrors = (overhead / (n * this.current)) * this.priorExposure;
    this.history.push(this.current);
  }

  get chunkSize(): number {
    return this.current;
  }

  /**
   * Chunks in flight for the current size: about 32 KiB of payload, at most 64 (a board without
   * the wide window of PROTOCOL.md §6.2 grants 32). Small chunks need many: 32 frames of a noisy
   * line's ~90 wire bytes are 30 ms of line at 921600 baud, less than a loaded host's ack delay,
   * and a log pull at 0.2 % damaged bytes ran about a tenth faster with 64. Not 128: with
   * 128 tiny chunks in flight on a line damaging 1.5 % of bytes a pull once stalled (before NAKs).
   */
  get window(): number {
    if (this.fixedWindow !== null) return this.fixedWindow;
    return Math.max(8, Math.min(2 * MAX_WINDOW, Math.ceil((32 * 1024) / this.current)));
  }

  /**
   * The current estimate of the line's hazard per wire byte. The prior weighs as much as one frame
   * in flight, up to 4 KiB: the few frames of a short rest of a transfer must be able to outweigh
   * it (against 4 KiB of clean belief, frames of 300 bytes that all die moved the estimate to
   * a third of a 1.5 % line's hazard in 150 tries, and the rest was never split).
   */
  get hazard(): number {
    const weight = Math.min(1, this.frameHint / this.priorExposure);
    return (this.errors + this.priorErrors * weight) / (this.exposure + this.priorExposure * weight);
  }

  /**
   * A frame arrived whole, carrying `sent` bytes for a chunk of `chunk` bytes (fewer when the
   * chunk was compressed: compressed chunks may be larger for the same frame size).
   */
  frameOk(sent: number, chunk = sent): void {
    this.frameHint = wireBytes(sent);
    this.observe(0, wireBytes(sent));
    if (chunk > 0) this.ratio = 0.9 * this.ratio + 0.1 * Math.min(1, sent / chunk);
  }

  /**
   * `count` damaged frames (CRC or decode errors counted by the link), while `remaining` payload
   * bytes of the transfer were still to come. Frames in flight carried chunks of the current size,
   * or the rest of the transfer when less is left (compressed as the recent ones were). A damaged
   * frame of n bytes was exposed up to its first hit: at hazard λ, on average
   * 1/λ − n/(e^(λn) − 1) bytes (n/2 on a good line, less on a bad one). Counting n/2 regardless
   * would put λ at no more than 2/n however many frames die: the estimate would never see how bad
   * a line is that hardly lets one frame in ten through.
   */
  framesDamaged(count: number, remaining = Infinity): void {
    if (count <= 0) return;
    const n = wireBytes(this.carried(this.current, remaining));
    this.frameHint = n;
    const x = this.hazard * n;
    const exposed = x > 1e-6 ? n / x - n / Math.expm1(x) : n / 2;
    this.observe(count, count * exposed);
  }

  /**
   * The chunk size to change to now, or null to keep the current one. `remaining`: payload bytes
   * still to transfer (a change near the end does not pay for itself, and no chunk carries more).
   */
  proposal(remaining: number): number | null {
    if (!this.adaptive || !(remaining > 0) || (this.errorsSince < 3 && this.framesSince < 64)) return null;
    const lambda = this.hazard;
    const r = this.ratio;
    // The best frame size is a property of the line; compression fits more chunk into it.
    const target = this.clamp(bestChunk(lambda, Math.ceil(this.min * r), Math.ceil(this.max * r)) / r);
    // Payload per byte of line time for the rest of the transfer in chunks of c.
    const rate = (c: number) => goodput(this.carried(c, remaining), lambda) / r;
    const now = rate(this.current);
    const then = rate(target);
    // Line bytes saved over the rest of the transfer against the cost of reopening it.
    const saved = remaining / now - remaining / then;
    if (saved <= (this.switchCost ?? 2048 + Math.min(remaining, 4096))) return null;
    const current = Math.min(this.current, remaining);
    if (target < current) {
      // Shrink on evidence: a few damaged frames since the last change.
      return this.errorsSince >= 3 && target * 1.3 <= current ? target : null;
    }
    // Grow only after a clean stretch long enough to be sure of it.
    return this.framesSince >= 64 && this.exposureSince >= 16 * 1024 && target >= this.current * 1.5 ? target : null;
  }

  /** The transfer now runs with `size` (what the board granted). */
  adopt(size: number): void {
    this.current = size;
    this.framesSince = 0;
    this.errorsSince = 0;
    this.exposureSince = 0;
    this.history.push(size);
  }

  private observe(errors: number, bytes: number): void {
    const fade = Math.exp(-bytes / this.horizon);
    this.errors = this.errors * fade + errors;
    this.exposure = this.exposure * fade + bytes;
    this.framesSince += errors + (errors === 0 ? 1 : 0);
    this.errorsSince += errors;
    this.exposureSince += bytes;
  }

  /** Bytes a frame carries for chunks of `chunk` with `remaining` left: the chunk, or what is left, as compressed. */
  private carried(chunk: number, remaining: number): number {
    return Math.max(1, Math.round(Math.min(chunk, remaining) * this.ratio));
  }

  private clamp(size: number): number {
    return Math.max(this.min, Math.min(this.max, Math.round(size)));
  }
}
