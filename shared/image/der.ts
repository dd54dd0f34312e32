import { DecodeError } from '../errors.js';

/**
 * The small subset of DER that key files need (SEQUENCE, INTEGER, OCTET/BIT STRING, OID,
 * context tags). Strict: every length is checked against the remaining input, so arbitrary bytes
 * give a DecodeError, never a RangeError or a read past the end.
 */
export interface DerNode {
  tag: number;
  /** Content bytes (a view into the input). */
  value: Uint8Array;
  /** Offset just past this node in the input. */
  end: number;
}

export function readDer(buf: Uint8Array, offset = 0): DerNode {
  if (offset + 2 > buf.length) throw new DecodeError('DER: truncated header');
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) throw new DecodeError('DER: unsupported length form');
    if (p + n > buf.length) throw new DecodeError('DER: truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > buf.length) throw new DecodeError('DER: length past end of input');
  return { tag, value: buf.subarray(p, p + len), end: p + len };
}

/** Children of a constructed node (SEQUENCE or context tag). */
export function derChildren(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  let p = 0;
  while (p < node.value.length) {
    const c = readDer(node.value, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

export function derExpect(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DecodeError(`DER: expected ${what}`);
  return node;
}

function encodeLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  if (n < 0x10000) return [0x82, n >> 8, n & 0xff];
  return [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
}

export function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const head = [tag, ...encodeLength(n)];
  const out = new Uint8Array(head.length + n);
  out.set(head, 0);
  let o = head.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const TAG = { INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, OID: 0x06, SEQUENCE: 0x30 } as const;

/** Encodes a dotted OID. */
export function oidBytes(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const a of arcs.slice(2)) {
    const stack: number[] = [a & 0x7f];
    let v = Math.floor(a / 128);
    while (v > 0) {
      stack.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...stack);
  }
  return der(TAG.OID, Uint8Array.from(out));
}
