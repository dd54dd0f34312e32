import { emptyExtractorStats, RxBuffer, type ExtractorStats } from './common.js';

/**
 * A streaming frame extractor: bytes in (any chunking), whole checked frames out. Line noise,
 * partial frames and bad checksums are skipped and counted, never thrown: a serial line delivers
 * whatever it likes, and one bad byte must not cost more than the frame it hit.
 */
export interface FrameExtractor<F> {
  push(chunk: Uint8Array): F[];
  /**
   * Gives up on a frame that has started but not finished (the reply was cut short and the line
   * went quiet): counts it as partial, skips its first byte and rescans what is left, since a
   * complete frame may hide behind a corrupted header. Drivers call this on a request timeout.
   */
  flush(): F[];
  /** Forgets buffered bytes without counting them (a new request after a deliberate stop). */
  reset(): void;
  readonly stats: ExtractorStats;
}

/** Outcome of looking at the buffer head: need more bytes, skip n bytes (why), or a frame of n bytes. */
export type Scan<F> = { kind: 'need' } | { kind: 'skip'; n: number; why: 'garbage' | 'malformed' | 'crc' } | { kind: 'frame'; n: number; frame: F };

/**
 * The loop every protocol shares; a protocol supplies `scan`, which looks at the buffer head only.
 * `scan` must return 'need' only when buffer[0] could start a frame, so flush() always progresses.
 */
export class ScanningExtractor<F> implements FrameExtractor<F> {
  readonly stats: ExtractorStats = emptyExtractorStats();
  private rx = new RxBuffer();

  constructor(private scan: (rx: RxBuffer) => Scan<F>) {}

  push(chunk: Uint8Array): F[] {
    if (chunk.length) this.rx.push(chunk);
    return this.drain();
  }

  flush(): F[] {
    const out: F[] = [];
    while (this.rx.length > 0) {
      this.stats.partial++;
      this.rx.drop(1);
      out.push(...this.drain());
    }
    return out;
  }

  reset(): void {
    this.rx.clear();
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.rx.length;
  }

  private drain(): F[] {
    const out: F[] = [];
    while (this.rx.length > 0) {
      const r = this.scan(this.rx);
      if (r.kind === 'need') break;
      if (r.kind === 'frame') {
        this.stats.frames++;
        out.push(r.frame);
        this.rx.drop(r.n);
        continue;
      }
      if (r.why === 'garbage') this.stats.garbageBytes += r.n;
      else if (r.why === 'crc') this.stats.crcErrors++;
      else this.stats.malformed++;
      this.rx.drop(Math.max(1, r.n));
    }
    return out;
  }
}

/** Index of the first occurrence of `b` in rx at or after `from`, or rx.length. */
export function indexOfByte(rx: RxBuffer, b: number, from = 0): number {
  for (let i = from; i < rx.length; i++) if (rx.at(i) === b) return i;
  return rx.length;
}
