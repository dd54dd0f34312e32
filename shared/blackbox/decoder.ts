import { DecodeError } from '../errors.js';
import { rd16, rd32 } from '../util/le.js';
import { HEADER_FIXED, MAX_SEGMENT_SIZE, SEGMENT_MAGIC, readHeader } from './format.js';
import { parseSegment, type ParsedSegment } from './segment.js';

/**
 * Streaming segment decoder with bounded memory: feed it bytes in any chunking, get back parsed
 * segments and typed errors. After damage it resynchronises on the next segment magic whose header
 * CRC checks, reporting exactly which byte range it skipped. It never holds more than one maximum
 * segment plus the current chunk, whatever the stream length.
 */
export type DecodedItem = { kind: 'segment'; offset: number; segment: ParsedSegment } | { kind: 'damage'; offset: number; length: number; error: DecodeError };

const MAGIC0 = SEGMENT_MAGIC & 0xff;

export class SegmentStreamDecoder {
  private buf = new Uint8Array(0);
  private start = 0; // consumed prefix of buf
  private base = 0; // stream offset of buf[0]
  private damageAt = -1;
  private damageError: DecodeError | null = null;

  /** Total bytes consumed so far (stream offset of the next undecoded byte). */
  get offset(): number {
    return this.base + this.start;
  }

  push(chunk: Uint8Array): DecodedItem[] {
    this.append(chunk);
    return this.drain(false);
  }

  /** End of stream: whatever is left is reported as damage (a truncated segment). */
  finish(): DecodedItem[] {
    const out = this.drain(true);
    const left = this.buf.length - this.start;
    if (left > 0) {
      this.noteDamage(this.start, new DecodeError('stream ends inside a segment (truncated)'));
      this.start = this.buf.length;
    }
    this.flushDamage(out);
    return out;
  }

  private append(chunk: Uint8Array): void {
    const keep = this.buf.length - this.start;
    if (keep === 0) {
      this.base += this.buf.length;
      this.buf = chunk.slice();
      this.start = 0;
      return;
    }
    const next = new Uint8Array(keep + chunk.length);
    next.set(this.buf.subarray(this.start));
    next.set(chunk, keep);
    this.base += this.start;
    this.buf = next;
    this.start = 0;
  }

  private noteDamage(pos: number, error: DecodeError): void {
    if (this.damageAt < 0) {
      this.damageAt = this.base + pos;
      this.damageError = error;
    }
  }

  private flushDamage(out: DecodedItem[]): void {
    if (this.damageAt >= 0) {
      out.push({ kind: 'damage', offset: this.damageAt, length: this.base + this.start - this.damageAt, error: this.damageError! });
      this.damageAt = -1;
      this.damageError = null;
    }
  }

  private drain(final: boolean): DecodedItem[] {
    const out: DecodedItem[] = [];
    const b = this.buf;
    for (;;) {
      const pos = this.start;
      const avail = b.length - pos;
      if (avail < 4) break;
      if (rd32(b, pos) !== SEGMENT_MAGIC) {
        // Resync: skip to the next byte that could start a magic.
        this.noteDamage(pos, new DecodeError('bytes outside any segment (damaged or not a segment)'));
        let p = pos + 1;
        while (p < b.length && b[p] !== MAGIC0) p++;
        this.start = p;
        continue;
      }
      if (avail < HEADER_FIXED) {
        if (final) break;
        return out;
      }
      const headerLen = rd16(b, pos + 6);
      const size = rd32(b, pos + 8);
      if (size > MAX_SEGMENT_SIZE || size < headerLen || headerLen < HEADER_FIXED) {
        this.noteDamage(pos, new DecodeError('segment header with impossible sizes'));
        this.start = pos + 1;
        continue;
      }
      if (avail < headerLen) {
        if (final) break;
        return out;
      }
      try {
        readHeader(b.subarray(pos, pos + headerLen));
      } catch (e) {
        this.noteDamage(pos, e instanceof DecodeError ? e : new DecodeError(String(e)));
        this.start = pos + 1;
        continue;
      }
      if (avail < size) {
        if (final) break;
        return out;
      }
      try {
        // A view, not a copy: buffers are never written after they are filled (append and compact
        // allocate new ones), so the segment's bytes stay valid for as long as it is held.
        const segment = parseSegment(b.subarray(pos, pos + size));
        this.flushDamage(out);
        out.push({ kind: 'segment', offset: this.base + pos, segment });
        this.start = pos + size;
      } catch (e) {
        this.noteDamage(pos, e instanceof DecodeError ? e : new DecodeError(String(e)));
        this.start = pos + 1;
      }
    }
    if (!final) this.compact();
    return out;
  }

  private compact(): void {
    if (this.start > 65536 && this.start > this.buf.length / 2) {
      this.base += this.start;
      this.buf = this.buf.slice(this.start);
      this.start = 0;
    }
  }
}

/** Decodes a whole buffer (tests, small logs). */
export function decodeSegments(bytes: Uint8Array): DecodedItem[] {
  const d = new SegmentStreamDecoder();
  return [...d.push(bytes), ...d.finish()];
}
