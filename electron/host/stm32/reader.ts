import { PackscopeError } from '../../../shared/errors.js';
import type { ByteTransport } from '../../../shared/types/transport.js';
import { deadline } from '../util/deadline.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';

/**
 * Exact-length reads with a deadline over a ByteTransport's push-style data events: what a
 * byte-oriented, stop-and-wait protocol like AN3155 needs. A closed port or an aborted signal ends
 * a pending read with a typed error at once instead of waiting for the timeout.
 */
export class ByteReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private pending: { n: number; resolve: (b: Uint8Array) => void; reject: (e: Error) => void; cancelTimer: () => void } | null = null;
  private closed: PackscopeError | null = null;
  private offData: () => void;
  private offClose: () => void;

  constructor(
    private transport: ByteTransport,
    /** Time base of the read deadlines (default: the real clock). */
    private clock: Clock = realClock,
  ) {
    this.offData = transport.onData((chunk) => {
      this.chunks.push(chunk.slice());
      this.buffered += chunk.length;
      this.serve();
    });
    this.offClose = transport.onClose((reason) => {
      this.closed = new PackscopeError(
        'DISCONNECTED',
        reason.kind === 'closed' ? `${transport.info.path} was closed` : `${transport.info.path} went away: ${reason.message}`,
      );
      this.fail(this.closed);
    });
  }

  get available(): number {
    return this.buffered;
  }

  /** Reads exactly n bytes, or fails with TIMEOUT after `timeoutMs`. */
  read(n: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.pending) return Promise.reject(new PackscopeError('INTERNAL', 'concurrent reads on one port'));
    if (this.closed) return Promise.reject(this.closed);
    if (signal?.aborted) return Promise.reject(new PackscopeError('CANCELLED', 'cancelled'));
    if (this.buffered >= n) return Promise.resolve(this.take(n));
    return new Promise((resolve, reject) => {
      const onAbort = () => this.fail(new PackscopeError('CANCELLED', 'cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cancelTimer = deadline(
        timeoutMs,
        () => this.fail(new PackscopeError('TIMEOUT', `no answer within ${timeoutMs} ms (got ${this.buffered} of ${n} bytes)`)),
        this.clock,
      );
      this.pending = {
        n,
        resolve: (b) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(b);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        cancelTimer,
      };
    });
  }

  /** Discards whatever has arrived (stale bytes after a failed exchange). */
  flush(): number {
    const n = this.buffered;
    this.chunks = [];
    this.buffered = 0;
    return n;
  }

  dispose(): void {
    this.offData();
    this.offClose();
    this.fail(new PackscopeError('CANCELLED', 'reader disposed'));
  }

  private fail(e: PackscopeError): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    p.cancelTimer();
    p.reject(e);
  }

  private serve(): void {
    const p = this.pending;
    if (!p || this.buffered < p.n) return;
    this.pending = null;
    p.cancelTimer();
    p.resolve(this.take(p.n));
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const first = this.chunks[0]!;
      const k = Math.min(first.length, n - filled);
      out.set(first.subarray(0, k), filled);
      filled += k;
      if (k === first.length) this.chunks.shift();
      else this.chunks[0] = first.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}
