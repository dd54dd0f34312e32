/**
 * SHA256SUMS in the GNU coreutils text format (`<64 hex>  <name>\n`), the form `sha256sum -c`
 * checks. Parsing is strict: one canonical spelling per file, so the signed bytes and the list
 * the verifier works from cannot disagree.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError } from '../errors.js';
import { toHex, utf8Decode, utf8Encode } from '../util/bytes.js';
import { unsafeNameReason } from './zip.js';

export interface Sha256Entry {
  name: string;
  sha256: string;
}

export function formatSha256Sums(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const names = [...files.keys()].sort();
  let s = '';
  for (const name of names) {
    if (/[\n\r\\]/.test(name)) throw new RangeError(`file name cannot appear in SHA256SUMS: ${JSON.stringify(name)}`);
    s += `${toHex(sha256(files.get(name)!))}  ${name}\n`;
  }
  return utf8Encode(s);
}

export function parseSha256Sums(bytes: Uint8Array): Sha256Entry[] {
  const text = utf8Decode(bytes);
  if (text.length === 0) throw new DecodeError('SHA256SUMS is empty');
  if (!text.endsWith('\n')) throw new DecodeError('SHA256SUMS does not end with a newline');
  const out: Sha256Entry[] = [];
  const seen = new Set<string>();
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) throw new DecodeError(`SHA256SUMS line ${i + 1} is not "<sha256>  <name>"`);
    const name = m[2]!;
    const why = unsafeNameReason(name);
    if (why) throw new DecodeError(`SHA256SUMS line ${i + 1}: ${why}`);
    if (seen.has(name)) throw new DecodeError(`SHA256SUMS lists ${name} twice`);
    if (out.length && out[out.length - 1]!.name >= name) throw new DecodeError('SHA256SUMS is not sorted by name');
    seen.add(name);
    out.push({ name, sha256: m[1]! });
  });
  return out;
}
