import { randomBytes } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, fromHex } from '../../../shared/util/bytes.js';
import type { Random } from '../../../shared/util/random.js';
import type { SimStorage } from '../board.js';
import { readJson, writeJson } from '../state.js';

/**
 * The board's device key: ECDSA P-256, as an ATECC608-class secure element holds it. Created on
 * first start from node:crypto randomness, as a secure element generates its key internally, and
 * kept in the board's non-volatile state; it never leaves the board, only its public key does.
 * Never drawn from the board's seeded generator: --seed chooses simulated values only, so two
 * boards with different --state directories (or two in-memory boards) never share a key even when
 * they share a seed. A test that needs the key asks the board for it (DEVICE_KEY, certificate).
 */
export interface DeviceKey {
  /** DER SubjectPublicKeyInfo. */
  readonly publicKeyDer: Uint8Array;
  /** Uncompressed SEC1 point (0x04 ‖ X ‖ Y). */
  readonly publicKeyRaw: Uint8Array;
  /** SHA-256 (hex) of the DER SPKI. */
  readonly fingerprint: string;
  /** ECDSA P-256 over SHA-256(message); raw r ‖ s (64 bytes). */
  sign(message: Uint8Array): Uint8Array;
  /** ECDSA P-256 over a digest the caller already computed (32 bytes); raw r ‖ s. */
  signDigest(digest: Uint8Array): Uint8Array;
}

/** DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, BIT STRING of 66 bytes). */
const SPKI_PREFIX = fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200');

export function spkiFromRaw(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(SPKI_PREFIX.length + raw.length);
  out.set(SPKI_PREFIX);
  out.set(raw, SPKI_PREFIX.length);
  return out;
}

/**
 * The key kept in `storage` (device-key.json), or a new one from node:crypto randomness. The second
 * argument is accepted for callers that still pass the board's seeded generator and is ignored.
 */
export function loadOrCreateDeviceKey(storage: SimStorage, _seeded?: Random): DeviceKey {
  const stored = readJson<{ secretKey: string }>(storage, 'device-key.json');
  let secret: Uint8Array;
  if (stored && /^[0-9a-f]{64}$/.test(stored.secretKey)) {
    secret = fromHex(stored.secretKey);
  } else {
    // Hash-to-scalar of 48 random bytes (FIPS 186-5 A.2.1 style) gives a uniformly distributed key.
    secret = p256.utils.randomSecretKey(new Uint8Array(randomBytes(48)));
    writeJson(storage, 'device-key.json', { curve: 'P-256', secretKey: toHex(secret) });
  }
  const publicKeyRaw = p256.getPublicKey(secret, false);
  const publicKeyDer = spkiFromRaw(publicKeyRaw);
  return {
    publicKeyDer,
    publicKeyRaw,
    fingerprint: toHex(sha256(publicKeyDer)),
    sign: (message) => p256.sign(message, secret),
    signDigest: (digest) => p256.sign(digest, secret, { prehash: false }),
  };
}
