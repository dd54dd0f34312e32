import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError, PackscopeError } from '../errors.js';
import { pemBlocks, pemEncode } from '../util/base64.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { TAG, der, derChildren, derExpect, oidBytes, readDer, type DerNode } from './der.js';

/**
 * Signing keys in the file formats imgtool and OpenSSL use: PKCS#8 private keys ("PRIVATE KEY";
 * SEC1 "EC PRIVATE KEY" is read too) and SubjectPublicKeyInfo public keys ("PUBLIC KEY").
 * The key hash is SHA-256 over the DER SubjectPublicKeyInfo, which is what imgtool's
 * `getpubhash` prints and what the MCUboot KEYHASH TLV carries.
 */
export type KeyType = 'ed25519' | 'ecdsa-p256';

export interface PublicKey {
  type: KeyType;
  /** Raw key: 32 bytes for Ed25519, 65-byte uncompressed point for P-256. */
  raw: Uint8Array;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** SHA-256 of the SPKI (MCUboot KEYHASH). */
  keyHash: Uint8Array;
}

export interface PrivateKey {
  type: KeyType;
  /** 32-byte secret scalar / seed. */
  secret: Uint8Array;
  publicKey: PublicKey;
}

const OID_ED25519 = '1.3.101.112';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_P256 = '1.2.840.10045.3.1.7';

// ---------- public keys ----------

function oidOf(node: DerNode): string {
  return toHex(node.value);
}
const OID_HEX = {
  ed25519: toHex(oidBytes(OID_ED25519).subarray(2)),
  ecPublicKey: toHex(oidBytes(OID_EC_PUBLIC_KEY).subarray(2)),
  p256: toHex(oidBytes(OID_P256).subarray(2)),
};

export function publicKeyFromRaw(type: KeyType, raw: Uint8Array): PublicKey {
  let spki: Uint8Array;
  if (type === 'ed25519') {
    if (raw.length !== 32) throw new DecodeError('Ed25519 public key must be 32 bytes');
    spki = der(TAG.SEQUENCE, der(TAG.SEQUENCE, oidBytes(OID_ED25519)), der(TAG.BIT_STRING, Uint8Array.of(0), raw));
  } else {
    if (raw.length !== 65 || raw[0] !== 4) throw new DecodeError('P-256 public key must be an uncompressed point');
    try {
      p256.Point.fromBytes(raw).assertValidity();
    } catch {
      throw new DecodeError('P-256 public key is not a point on the curve');
    }
    spki = der(TAG.SEQUENCE, der(TAG.SEQUENCE, oidBytes(OID_EC_PUBLIC_KEY), oidBytes(OID_P256)), der(TAG.BIT_STRING, Uint8Array.of(0), raw));
  }
  return { type, raw, spki, keyHash: sha256(spki) };
}

/** Parses a DER SubjectPublicKeyInfo (Ed25519 or P-256). */
export function parseSpki(spki: Uint8Array): PublicKey {
  const top = readDer(spki);
  if (top.end !== spki.length) throw new DecodeError('SPKI: trailing bytes');
  const [alg, bits] = derChildren(derExpect(top, TAG.SEQUENCE, 'SubjectPublicKeyInfo'));
  const algParts = derChildren(derExpect(alg, TAG.SEQUENCE, 'AlgorithmIdentifier'));
  const oid = oidOf(derExpect(algParts[0], TAG.OID, 'algorithm OID'));
  const bitString = derExpect(bits, TAG.BIT_STRING, 'subjectPublicKey').value;
  if (bitString.length < 1 || bitString[0] !== 0) throw new DecodeError('SPKI: bad BIT STRING');
  const raw = bitString.slice(1);
  if (oid === OID_HEX.ed25519) return publicKeyFromRaw('ed25519', raw);
  if (oid === OID_HEX.ecPublicKey) {
    const curve = algParts[1] && algParts[1].tag === TAG.OID ? oidOf(algParts[1]) : '';
    if (curve !== OID_HEX.p256) throw new DecodeError('SPKI: only the P-256 curve is supported');
    return publicKeyFromRaw('ecdsa-p256', raw);
  }
  throw new DecodeError('SPKI: unsupported key algorithm (Ed25519 or ECDSA P-256 expected)');
}

// ---------- private keys ----------

export function privateKeyFromSecret(type: KeyType, secret: Uint8Array): PrivateKey {
  if (secret.length !== 32) throw new DecodeError('private key must be 32 bytes');
  try {
    const raw = type === 'ed25519' ? ed25519.getPublicKey(secret) : p256.getPublicKey(secret, false);
    return { type, secret: secret.slice(), publicKey: publicKeyFromRaw(type, raw) };
  } catch (e) {
    if (e instanceof PackscopeError) throw e;
    throw new DecodeError('private key is out of range for its curve');
  }
}

/** SEC1 ECPrivateKey body: SEQUENCE { 1, OCTET STRING d, [0] params?, [1] pub? }. */
function parseSec1(node: DerNode): PrivateKey {
  const parts = derChildren(derExpect(node, TAG.SEQUENCE, 'ECPrivateKey'));
  const d = derExpect(parts[1], TAG.OCTET_STRING, 'EC private scalar').value;
  if (d.length > 32) throw new DecodeError('EC private key is longer than 32 bytes');
  const secret = new Uint8Array(32);
  secret.set(d, 32 - d.length);
  const key = privateKeyFromSecret('ecdsa-p256', secret);
  for (const p of parts.slice(2)) {
    if (p.tag === 0xa1) {
      const bits = derExpect(derChildren(p)[0], TAG.BIT_STRING, 'EC public key').value;
      if (!bytesEqual(bits.subarray(1), key.publicKey.raw)) throw new DecodeError('EC key: public key does not match private key');
    }
  }
  return key;
}

export function parsePkcs8(bytes: Uint8Array): PrivateKey {
  const top = readDer(bytes);
  const parts = derChildren(derExpect(top, TAG.SEQUENCE, 'PrivateKeyInfo'));
  derExpect(parts[0], TAG.INTEGER, 'version');
  const algParts = derChildren(derExpect(parts[1], TAG.SEQUENCE, 'AlgorithmIdentifier'));
  const oid = oidOf(derExpect(algParts[0], TAG.OID, 'algorithm OID'));
  const inner = derExpect(parts[2], TAG.OCTET_STRING, 'privateKey').value;
  if (oid === OID_HEX.ed25519) {
    const seed = derExpect(readDer(inner), TAG.OCTET_STRING, 'Ed25519 seed').value;
    if (seed.length !== 32) throw new DecodeError('Ed25519 seed must be 32 bytes');
    return privateKeyFromSecret('ed25519', seed);
  }
  if (oid === OID_HEX.ecPublicKey) {
    const curve = algParts[1] && algParts[1].tag === TAG.OID ? oidOf(algParts[1]) : '';
    if (curve !== OID_HEX.p256) throw new DecodeError('PKCS#8: only the P-256 curve is supported');
    return parseSec1(readDer(inner));
  }
  throw new DecodeError('PKCS#8: unsupported key algorithm (Ed25519 or ECDSA P-256 expected)');
}

/** Private key from PEM text (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY"). */
export function parsePrivateKeyPem(text: string): PrivateKey {
  for (const b of pemBlocks(text)) {
    if (b.label === 'PRIVATE KEY') return parsePkcs8(b.der);
    if (b.label === 'EC PRIVATE KEY') return parseSec1(readDer(b.der));
    if (b.label === 'ENCRYPTED PRIVATE KEY') throw new DecodeError('encrypted private keys are not supported; export it without a passphrase');
  }
  throw new DecodeError('no private key in PEM text');
}

/** Public key from PEM text: a "PUBLIC KEY" block, or the public half of a private key file. */
export function parsePublicKeyPem(text: string): PublicKey {
  for (const b of pemBlocks(text)) {
    if (b.label === 'PUBLIC KEY') return parseSpki(b.der);
  }
  return parsePrivateKeyPem(text).publicKey;
}

export function encodePkcs8(key: PrivateKey): Uint8Array {
  if (key.type === 'ed25519') {
    return der(
      TAG.SEQUENCE,
      der(TAG.INTEGER, Uint8Array.of(0)),
      der(TAG.SEQUENCE, oidBytes(OID_ED25519)),
      der(TAG.OCTET_STRING, der(TAG.OCTET_STRING, key.secret)),
    );
  }
  const sec1 = der(
    TAG.SEQUENCE,
    der(TAG.INTEGER, Uint8Array.of(1)),
    der(TAG.OCTET_STRING, key.secret),
    der(0xa1, der(TAG.BIT_STRING, Uint8Array.of(0), key.publicKey.raw)),
  );
  return der(TAG.SEQUENCE, der(TAG.INTEGER, Uint8Array.of(0)), der(TAG.SEQUENCE, oidBytes(OID_EC_PUBLIC_KEY), oidBytes(OID_P256)), der(TAG.OCTET_STRING, sec1));
}

export function privateKeyToPem(key: PrivateKey): string {
  return pemEncode('PRIVATE KEY', encodePkcs8(key));
}

export function publicKeyToPem(key: PublicKey): string {
  return pemEncode('PUBLIC KEY', key.spki);
}

/** A new key from the platform's CSPRNG (crypto.getRandomValues, via noble). */
export function generateKey(type: KeyType): PrivateKey {
  const secret = type === 'ed25519' ? ed25519.utils.randomSecretKey() : p256.utils.randomSecretKey();
  return privateKeyFromSecret(type, secret);
}
