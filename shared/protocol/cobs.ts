import { DecodeError } from '../errors.js';

/**
 * Consistent Overhead Byte Stuffing (Cheshire & Baker). The encoded form contains no 0x00, so a
 * single 0x00 delimits frames and a receiver resynchronises at the next delimiter after any damage.
 * Overhead is at most 1 byte per 254 bytes, which keeps bulk transfers near line rate.
 */
export function cobsMaxEncodedLength(n: number): number {
  return n + Math.ceil(n / 254) + 1;
}

/** Encodes `src` (without the trailing delimiter). */
export function cobsEncode(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(src.length));
  const n = cobsEncodeInto(src, out, 0);
  return out.subarray(0, n);
}

/** Encodes into `out` at `pos`; returns the end position. `out` must have cobsMaxEncodedLength room. */
export function cobsEncodeInto(src: Uint8Array, out: Uint8Array, pos: number): number {
  let codePos = pos++;
  let code = 1;
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0) {
      out[codePos] = code;
      codePos = pos++;
      code = 1;
    } else {
      out[pos++] = b;
      code++;
      if (code === 0xff) {
        out[codePos] = code;
        codePos = pos++;
        code = 1;
      }
    }
  }
  out[codePos] = code;
  return pos;
}

/** Decodes one COBS block (no delimiter inside). Throws DecodeError on malformed input. */
export function cobsDecode(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  let o = 0;
  let i = 0;
  while (i < src.length) {
    const code = src[i]!;
    if (code === 0) throw new DecodeError('COBS: zero byte inside a frame');
    i++;
    const end = i + code - 1;
    if (end > src.length) throw new DecodeError('COBS: block runs past the end of the frame');
    for (; i < end; i++) {
      const b = src[i]!;
      if (b === 0) throw new DecodeError('COBS: zero byte inside a frame');
      out[o++] = b;
    }
    if (code !== 0xff && i < src.length) out[o++] = 0;
  }
  return out.subarray(0, o);
}

/**
 * Decodes at most `max` leading bytes of a COBS block, tolerating damage after them: a damaged
 * frame's first bytes usually survive a corrupted or dropped byte further on (COBS damage stays
 * local). Stops at the first inconsistency; returns what decoded cleanly before it.
 */
export function cobsDecodePrefix(src: Uint8Array, max: number): Uint8Array {
  const out = new Uint8Array(Math.min(max, src.length));
  let o = 0;
  let i = 0;
  while (i < src.length && o < out.length) {
    const code = src[i++]!;
    if (code === 0) break;
    const end = Math.min(i + code - 1, src.length);
    for (; i < end && o < out.length; i++) {
      if (src[i] === 0) return out.subarray(0, o);
      out[o++] = src[i]!;
    }
    if (i < end) break; // out is full
    if (code !== 0xff && i < src.length && o < out.length) out[o++] = 0;
  }
  return out.subarray(0, o);
}
