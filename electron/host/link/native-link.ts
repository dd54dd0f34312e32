import { randomInt } from 'node:crypto';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { MSG, commandName } from '../../../shared/protocol/constants.js';
import { FrameDecoder, encodeFrame, type DamagedHead, type Frame } from '../../../shared/protocol/frame.js';
import { ERROR } from '../../../shared/protocol/messages.js';
import { emptyLinkStats, type LinkStats } from '../../../shared/types/domain.js';
import type { ByteTransport, CloseReason } from '../../../shared/types/transport.js';
import { DeviceError } from './errors.js';
import { deadline } from '../util/deadline.js';
import { Emitter } from '../../../shared/util/emitter.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';

/**
 * The host end of the native protocol on one transport: frames, sequence numbers, requests with
 * timeouts and retries (the board answers a repeated sequence number from its replay cache, so a
 * retry never executes a command twice), unsolicited events, and counters for every failure.
 *
 * A damaged frame while a request waits is most likely its answer: the request goes out again at
 * once rather than after the full timeout, which is what keeps `info` quick on a noisy line.
 */
export interface RequestOptions {
  /** Per-attempt timeout, ms (default: the link's, plus the frame's own line time). */
  timeoutMs?: number;
  /** Attempts after the first (default: the link's). */
  retries?: number;
  signal?: AbortSignal;
}

export interface NativeLinkOptions {
  /** Per-attempt timeout, ms (default 250). */
  timeoutMs?: number;
  /** Retries per request (default 5). */
  retries?: number;
  /** Line rate in bytes/s when known (serial: baud/10), to size timeouts and pace bulk sends. */
  lineBytesPerSecond?: number;
  /** Time base of timeouts, retransmissions and bulk transfers on this link (default: the real clock). */
  clock?: Clock;
}

interface Pending {
  seq: number;
  cmd: number;
  wire: Uint8Array;
  resolve(payload: Uint8Array): void;
  reject(e: unknown): void;
  /** Cancels the answer's deadline (armed per attempt). */
  cancelTimer: (() => void) | null;
  attemptsLeft: number;
  total: number;
  timeoutMs: number;
  lastSent: number;
}

export class NativeLink {
  readonly stats: LinkStats = emptyLinkStats();
  readonly lineBytesPerSecond: number;
  readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private decoder: FrameDecoder;
  // A random start (PROTOCOL.md §3.3): the board's replay cache must not mistake this link's
  // first requests for retries of an earlier host process's requests with the same seq.
  private seq = randomInt(0, 0xffff);
  private pending = new Map<number, Pending>();
  private eventEmitters = new Map<number, Emitter<Uint8Array>>();
  private frameEvents = new Emitter<Frame>();
  private damageEvents = new Emitter<DamagedHead | null>();
  private disconnectEvents = new Emitter<string>();
  private unsubs: Array<() => void> = [];
  private closedReason: string | null = null;
  /** clock.now() of the last good frame from the board. */
  lastFrameAt = 0;
  private primed = false;

  constructor(
    readonly transport: ByteTransport,
    options: NativeLinkOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 250;
    this.retries = options.retries ?? 5;
    this.lineBytesPerSecond = options.lineBytesPerSecond ?? Infinity;
    this.clock = options.clock ?? realClock;
    this.decoder = new FrameDecoder(
      (f) => this.handleFrame(f),
      (_e, head) => this.onDamage(head),
    );
    this.unsubs.push(
      transport.onData((chunk) => {
        this.stats.bytesIn += chunk.length;
        this.decoder.push(chunk);
      }),
      transport.onClose((reason) => this.onClose(reason)),
    );
  }

  get isClosed(): boolean {
    return this.closedReason !== null;
  }

  private onClose(reason: CloseReason): void {
    const why = reason.kind === 'closed' ? 'port closed' : reason.message;
    this.shutdown(why, reason.kind !== 'closed');
  }

  private shutdown(why: string, disconnected: boolean): void {
    if (this.closedReason !== null) return;
    this.closedReason = why;
    for (const p of this.pending.values()) {
      p.cancelTimer?.();
      p.reject(new PackscopeError('DISCONNECTED', `device disconnected (${why})`));
    }
    this.pending.clear();
    if (disconnected) this.disconnectEvents.emit(why);
  }

  private handleFrame(f: Frame): void {
    this.stats.framesIn++;
    this.stats.crcErrors = this.decoder.stats.crcErrors;
    this.stats.decodeErrors = this.decoder.stats.decodeErrors;
    this.lastFrameAt = this.clock.now();
    this.frameEvents.emit(f);
    if (f.type === MSG.EVENT) {
      this.eventEmitters.get(f.cmd)?.emit(f.payload);
      return;
    }
    const p = this.pending.get(f.seq);
    if (!p || p.cmd !== f.cmd) return; // a late duplicate of an answered request
    this.pending.delete(f.seq);
    p.cancelTimer?.();
    if (f.type === MSG.RESPONSE) p.resolve(f.payload);
    else if (f.type === MSG.ERROR) {
      try {
        const e = ERROR.decode(f.payload);
        p.reject(new DeviceError(e.code, e.message, f.cmd));
      } catch (e) {
        p.reject(e instanceof DecodeError ? new PackscopeError('PROTOCOL', `malformed error answer to ${commandName(f.cmd)}`) : e);
      }
    } else p.reject(new PackscopeError('PROTOCOL', `unexpected message type ${f.type} answering ${commandName(f.cmd)}`));
  }

  private onDamage(head: DamagedHead | null): void {
    this.stats.crcErrors = this.decoder.stats.crcErrors;
    this.stats.decodeErrors = this.decoder.stats.decodeErrors;
    const now = this.clock.now();
    for (const p of this.pending.values()) {
      // Fast retry: only once the answer could have arrived, and not more than every 20 ms.
      if (now - p.lastSent > 20 && p.attemptsLeft > 0) this.resend(p);
    }
    this.damageEvents.emit(head);
  }

  private lineMs(bytes: number): number {
    return Number.isFinite(this.lineBytesPerSecond) ? (bytes * 1000) / this.lineBytesPerSecond : 0;
  }

  private write(wire: Uint8Array): void {
    this.stats.bytesOut += wire.length;
    this.stats.framesOut++;
    this.transport.write(wire).catch(() => {
      // A failed write means the port is gone; the close event reports it.
    });
  }

  private arm(p: Pending): void {
    p.cancelTimer?.();
    p.cancelTimer = deadline(
      p.timeoutMs,
      () => {
        p.cancelTimer = null;
        this.stats.timeouts++;
        if (p.attemptsLeft > 0) this.resend(p);
        else {
          this.pending.delete(p.seq);
          p.reject(new PackscopeError('TIMEOUT', `no answer to ${commandName(p.cmd)} after ${p.total} attempts`));
        }
      },
      this.clock,
    );
  }

  private resend(p: Pending): void {
    if (this.isClosed) return;
    p.attemptsLeft--;
    this.stats.retries++;
    p.lastSent = this.clock.now();
    this.write(p.wire);
    this.arm(p);
  }

  /** Sends a request; resolves with the response payload, rejects with DeviceError, TIMEOUT, DISCONNECTED or CANCELLED. */
  request(cmd: number, payload: Uint8Array = new Uint8Array(0), options: RequestOptions = {}): Promise<Uint8Array> {
    if (this.closedReason !== null) return Promise.reject(new PackscopeError('DISCONNECTED', `device disconnected (${this.closedReason})`));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new PackscopeError('CANCELLED', 'cancelled'));
    this.seq = (this.seq % 0xffff) + 1; // 1..65535; 0 marks events
    const seq = this.seq;
    const wire = encodeFrame({ type: MSG.REQUEST, seq, cmd, payload });
    const retries = options.retries ?? this.retries;
    return new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = () => {
        const p = this.pending.get(seq);
        p?.cancelTimer?.();
        this.pending.delete(seq);
        reject(new PackscopeError('CANCELLED', 'cancelled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const p: Pending = {
        seq,
        cmd,
        wire,
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        cancelTimer: null,
        attemptsLeft: retries,
        total: retries + 1,
        timeoutMs: (options.timeoutMs ?? this.timeoutMs) + this.lineMs(wire.length + 300),
        lastSent: this.clock.now(),
      };
      this.pending.set(seq, p);
      // A leading delimiter flushes whatever partial frame the board's decoder may hold.
      if (!this.primed) {
        this.primed = true;
        this.stats.bytesOut++;
        this.transport.write(new Uint8Array([0])).catch(() => undefined);
      }
      this.write(wire);
      this.arm(p);
    });
  }

  /** Sends an EVENT (no answer): bulk data and acknowledgements. */
  sendEvent(cmd: number, payload: Uint8Array): void {
    if (this.closedReason !== null) return;
    this.write(encodeFrame({ type: MSG.EVENT, seq: 0, cmd, payload }));
  }

  onEvent(cmd: number, listener: (payload: Uint8Array) => void): () => void {
    let events = this.eventEmitters.get(cmd);
    if (!events) this.eventEmitters.set(cmd, (events = new Emitter()));
    return events.on(listener);
  }

  /** Every good frame (stale detection, diagnostics). */
  onFrame(listener: (f: Frame) => void): () => void {
    return this.frameEvents.on(listener);
  }

  /**
   * Every damaged frame, with what its header still says (null: nothing readable). An unverified
   * hint: a bulk read asks the board again at once for the chunk such a frame seems to have carried.
   */
  onDamagedFrame(listener: (head: DamagedHead | null) => void): () => void {
    return this.damageEvents.on(listener);
  }

  onDisconnect(listener: (reason: string) => void): () => void {
    return this.disconnectEvents.on(listener);
  }

  /** Detaches from the transport (does not close it); pending requests fail as CANCELLED. */
  dispose(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
    if (this.closedReason === null) {
      this.closedReason = 'link disposed';
      for (const p of this.pending.values()) {
        p.cancelTimer?.();
        p.reject(new PackscopeError('CANCELLED', 'link closed'));
      }
      this.pending.clear();
    }
  }
}
