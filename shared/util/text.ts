import { utf8Encode } from './bytes.js';

/**
 * UTF-8 encoding for large generated text (CSVs, reports): ASCII, which these almost always are,
 * is copied byte per character; anything else falls back to the general encoder.
 */
export function encodeText(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return utf8Encode(s);
    out[i] = c;
  }
  return out;
}
