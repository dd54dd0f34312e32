/**
 * Base64 and PEM for platform-free code (shared/ has neither Buffer nor atob in its types): the
 * one codec behind every key file (manufacturing root, firmware keys, installation and ticket
 * keys), the OpenSSH key forms and the SSHSIG armor. Decoding is strict so a tampered armor is an
 * error, not silently different bytes.
 */
import { DecodeError } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function base64Encode(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    s += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    s += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + '=';
  }
  return s;
}

/** Strict decode: whitespace is ignored, anything else outside the alphabet or bad padding throws. */
export function base64Decode(text: string): Uint8Array {
  const s = text.replace(/[\r\n\t ]/g, '');
  if (s.length % 4 !== 0) throw new DecodeError('base64 text length is not a multiple of 4');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      const isPad = c === 61 && i + 4 === s.length && j >= 4 - pad;
      const v = isPad ? 0 : c < 128 ? LOOKUP[c]! : -1;
      if (v < 0) throw new DecodeError(`invalid base64 character at offset ${i + j}`);
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  // Non-canonical encodings (stray bits in the last character) would let two texts mean one key.
  if (base64Encode(out) !== s) throw new DecodeError('non-canonical base64 encoding');
  return out;
}

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** PEM text: the base64 body in 64-character lines between BEGIN and END lines. */
export function pemEncode(label: string, der: Uint8Array): string {
  const lines = base64Encode(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The label and base64 body of each PEM block, in order. */
function* pemBodies(text: string): Generator<[label: string, body: string]> {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) yield [m[1]!, m[2]!];
}

/** Every PEM block in the text, in order (at least one, or a DecodeError). */
export function pemBlocks(text: string): PemBlock[] {
  const blocks = [...pemBodies(text)].map(([label, body]) => ({ label, der: base64Decode(body) }));
  if (blocks.length === 0) throw new DecodeError('no PEM block found (expected -----BEGIN ...-----)');
  return blocks;
}

/** The DER body of the first PEM block with the given label. */
export function pemDecode(text: string, label: string): Uint8Array {
  for (const [l, body] of pemBodies(text)) if (l === label) return base64Decode(body);
  throw new DecodeError(`no PEM block "${label}" found`);
}
