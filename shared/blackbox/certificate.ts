import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError, PackscopeError } from '../errors.js';
import { pemDecode, pemEncode } from '../util/base64.js';
import { bytesEqual, concatBytes, fromHex, toHex, utf8Decode, utf8Encode } from '../util/bytes.js';

/**
 * The device certificate: a compact binary statement by the manufacturing CA that a device key
 * belongs to a board (serial, model, board id). Layout (little-endian):
 *
 *   magic "PSDC" · version u8 (1 or 2) · reserved u8 · issuedMs u64 ·
 *   serial (u8 length + UTF-8) · model (u8 length + UTF-8) · boardId (u8 length + UTF-8) ·
 *   version 2 only: chemistry (u8 length + UTF-8) · cellCount u8 · ratedCapacityMah u32 ·
 *   devicePublicKey[65] (uncompressed SEC1 P-256 point) ·
 *   issuerKeyId[8] (first 8 bytes of SHA-256 of the CA's DER SubjectPublicKeyInfo) ·
 *   signature[64] (ECDSA P-256 with SHA-256, raw r‖s, by the CA over every preceding byte)
 *
 * The manufacturing root is distributed as a PEM "PUBLIC KEY" (DER SPKI), e.g. `manufacturing-root.pem`.
 *
 * Version 2 carries the pack's rating (chemistry, series cells, rated capacity) because C-rates,
 * cell limits and capacity fade are verdict inputs: they must come from a statement the supplier's
 * own CA signed at the factory, never from a file the customer's machine wrote.
 */
export interface DeviceCertificate {
  version: number;
  issuedMs: number;
  serial: string;
  model: string;
  boardId: string;
  /** The pack's rating as certified by the manufacturing CA (version 2); null in version 1. */
  chemistry: string | null;
  cellCount: number | null;
  ratedCapacityAh: number | null;
  /** Uncompressed SEC1 point, 65 bytes. */
  devicePublicKey: Uint8Array;
  issuerKeyId: Uint8Array;
  signature: Uint8Array;
  /** The signed bytes (everything before the signature). */
  tbs: Uint8Array;
  raw: Uint8Array;
}

const MAGIC = utf8Encode('PSDC');
export const SPKI_P256_PREFIX = fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200');

export function spkiFromPoint(point: Uint8Array): Uint8Array {
  return concatBytes(SPKI_P256_PREFIX, point);
}

export function pointFromSpki(der: Uint8Array): Uint8Array {
  if (der.length !== SPKI_P256_PREFIX.length + 65 || !bytesEqual(der.subarray(0, SPKI_P256_PREFIX.length), SPKI_P256_PREFIX)) {
    throw new DecodeError('not a P-256 SubjectPublicKeyInfo');
  }
  return der.slice(SPKI_P256_PREFIX.length);
}

export function publicKeyPem(spki: Uint8Array): string {
  return pemEncode('PUBLIC KEY', spki);
}

/** Parses a PEM "PUBLIC KEY" holding a P-256 key; returns its uncompressed point. */
export function parsePublicKeyPem(pem: string): { spki: Uint8Array; point: Uint8Array } {
  const spki = pemDecode(pem, 'PUBLIC KEY');
  return { spki, point: pointFromSpki(spki) };
}

export function keyId(spki: Uint8Array): Uint8Array {
  return sha256(spki).slice(0, 8);
}

export interface CertificateInput {
  issuedMs: number;
  serial: string;
  model: string;
  boardId: string;
  /** The pack's rating; when given (all three) the certificate is version 2. */
  rating?: { chemistry: string; cellCount: number; ratedCapacityAh: number };
  devicePublicKey: Uint8Array;
  issuerSpki: Uint8Array;
}

function lenStr(s: string): Uint8Array {
  const b = utf8Encode(s);
  if (b.length > 255) throw new RangeError('certificate string longer than 255 bytes');
  return concatBytes(Uint8Array.of(b.length), b);
}

/** The to-be-signed part of a certificate. */
export function certificateTbs(c: CertificateInput): Uint8Array {
  const head = new Uint8Array(14);
  head.set(MAGIC);
  head[4] = c.rating ? 2 : 1;
  const lo = c.issuedMs % 4294967296;
  const hi = Math.floor(c.issuedMs / 4294967296);
  new DataView(head.buffer).setUint32(6, lo, true);
  new DataView(head.buffer).setUint32(10, hi, true);
  if (c.devicePublicKey.length !== 65) throw new RangeError('device public key must be an uncompressed P-256 point');
  const rating: Uint8Array[] = [];
  if (c.rating) {
    const { chemistry, cellCount, ratedCapacityAh } = c.rating;
    const mah = Math.round(ratedCapacityAh * 1000);
    if (!Number.isInteger(cellCount) || cellCount < 0 || cellCount > 255) throw new RangeError('cell count must be 0–255');
    if (!(mah >= 0 && mah <= 0xffffffff)) throw new RangeError('rated capacity out of range');
    const tail = new Uint8Array(5);
    tail[0] = cellCount;
    new DataView(tail.buffer).setUint32(1, mah, true);
    rating.push(lenStr(chemistry), tail);
  }
  return concatBytes(head, lenStr(c.serial), lenStr(c.model), lenStr(c.boardId), ...rating, c.devicePublicKey, keyId(c.issuerSpki));
}

export function assembleCertificate(tbs: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== 64) throw new RangeError('signature must be 64 bytes (r‖s)');
  return concatBytes(tbs, signature);
}

export function decodeCertificate(raw: Uint8Array): DeviceCertificate {
  let o = 0;
  const need = (n: number) => {
    if (o + n > raw.length) throw new DecodeError('device certificate truncated');
  };
  need(14);
  if (!bytesEqual(raw.subarray(0, 4), MAGIC)) throw new DecodeError('not a device certificate (magic)');
  const version = raw[4]!;
  if (version !== 1 && version !== 2) throw new DecodeError(`unsupported device certificate version ${version}`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const issuedMs = dv.getUint32(6, true) + dv.getUint32(10, true) * 4294967296;
  o = 14;
  const str = () => {
    need(1);
    const n = raw[o++]!;
    need(n);
    const s = utf8Decode(raw.subarray(o, o + n));
    o += n;
    return s;
  };
  const serial = str();
  const model = str();
  const boardId = str();
  let chemistry: string | null = null;
  let cellCount: number | null = null;
  let ratedCapacityAh: number | null = null;
  if (version === 2) {
    chemistry = str();
    need(5);
    cellCount = raw[o]!;
    ratedCapacityAh = dv.getUint32(o + 1, true) / 1000;
    o += 5;
  }
  need(65 + 8 + 64);
  const devicePublicKey = raw.slice(o, o + 65);
  o += 65;
  if (devicePublicKey[0] !== 4) throw new DecodeError('device public key is not an uncompressed point');
  const issuerKeyId = raw.slice(o, o + 8);
  o += 8;
  const tbs = raw.slice(0, o);
  const signature = raw.slice(o, o + 64);
  o += 64;
  if (o !== raw.length) throw new DecodeError('trailing bytes after the device certificate');
  return { version, issuedMs, serial, model, boardId, chemistry, cellCount, ratedCapacityAh, devicePublicKey, issuerKeyId, signature, tbs, raw: raw.slice() };
}

/**
 * Checks that a certificate was issued by the given manufacturing root. Throws a VERIFY_FAILED
 * PackscopeError that says what is wrong.
 */
export function verifyCertificate(cert: DeviceCertificate, rootSpki: Uint8Array): void {
  const root = pointFromSpki(rootSpki);
  if (!bytesEqual(cert.issuerKeyId, keyId(rootSpki))) {
    throw new PackscopeError(
      'VERIFY_FAILED',
      `device certificate was issued by key ${toHex(cert.issuerKeyId)}, not by the given root (${toHex(keyId(rootSpki))})`,
    );
  }
  let ok = false;
  try {
    ok = p256.verify(cert.signature, cert.tbs, root, { lowS: false });
  } catch {
    ok = false;
  }
  if (!ok) throw new PackscopeError('VERIFY_FAILED', 'device certificate signature does not verify against the given root');
  try {
    p256.Point.fromBytes(cert.devicePublicKey);
  } catch {
    throw new PackscopeError('VERIFY_FAILED', 'device public key in the certificate is not a valid P-256 point');
  }
}
