import { createPrivateKey, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import {
  assembleCertificate,
  certificateTbs,
  decodeCertificate,
  keyId,
  parsePublicKeyPem,
  publicKeyPem,
  spkiFromPoint,
} from '../../../shared/blackbox/certificate.js';
import { fromHex, toHex, utf8Decode, utf8Encode } from '../../../shared/util/bytes.js';
import type { SimBoard } from '../board.js';
import { readJson, writeJson } from '../state.js';

/**
 * Keys of the black box. The device key is the board's (firmware/sim/native/device-key.ts); here it
 * is loaded into node:crypto because signing every closed segment of a 24-hour prefill with a pure
 * JS implementation would take most of a minute. The manufacturing CA stands in for the supplier's
 * production-line HSM: one per --state directory, its public key written as
 * `manufacturing-root.pem`, its private key kept apart in the state (never sent to the host).
 */
const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

export function nodeKeyFromSecret(secret: Uint8Array): KeyObject {
  const pub = p256.getPublicKey(secret, false);
  return createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: b64url(secret), x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33, 65)) },
    format: 'jwk',
  });
}

/** ECDSA P-256 / SHA-256 over message, raw r‖s with low S (what noble and most verifiers expect). */
export function signMessage(key: KeyObject, message: Uint8Array): Uint8Array {
  const sig = new Uint8Array(nodeSign('sha256', message, { key, dsaEncoding: 'ieee-p1363' }));
  const s = BigInt('0x' + toHex(sig.subarray(32)));
  if (s > N >> 1n) sig.set(fromHex((N - s).toString(16).padStart(64, '0')), 32);
  return sig;
}

export interface BlackBoxKeys {
  deviceKey: KeyObject;
  devicePublicKey: Uint8Array;
  certificate: Uint8Array;
  rootSpki: Uint8Array;
}

/**
 * The pack's rating as the factory certifies it (certificate version 2): the same chemistry, series
 * cell count and nominal capacity the board reports in IDENTITY, from the pack model's config. The
 * capacity is carried in mAh, so it is rounded to what the certificate can hold.
 */
export function boardRating(board: SimBoard): { chemistry: string; cellCount: number; ratedCapacityAh: number } {
  const cfg = board.pack.config;
  return { chemistry: cfg.chemistry, cellCount: cfg.cells, ratedCapacityAh: Math.round(cfg.capacityAh * 1000) / 1000 };
}

export function loadBlackBoxKeys(board: SimBoard): BlackBoxKeys {
  const stored = readJson<{ secretKey: string }>(board.storage, 'device-key.json');
  if (!stored || !/^[0-9a-f]{64}$/.test(stored.secretKey)) throw new Error('the board has no device key in its state');
  const deviceKey = nodeKeyFromSecret(fromHex(stored.secretKey));
  const devicePublicKey = board.deviceKey.publicKeyRaw;

  let ca = readJson<{ secretKey: string }>(board.storage, 'manufacturing-ca.json');
  if (!ca || !/^[0-9a-f]{64}$/.test(ca.secretKey)) {
    ca = { secretKey: toHex(p256.utils.randomSecretKey(new Uint8Array(randomBytes(48)))) };
    writeJson(board.storage, 'manufacturing-ca.json', { curve: 'P-256', ...ca });
  }
  const caSecret = fromHex(ca.secretKey);
  const rootSpki = spkiFromPoint(p256.getPublicKey(caSecret, false));
  const pem = publicKeyPem(rootSpki);
  const onDisk = board.storage.read('manufacturing-root.pem');
  if (!onDisk || utf8Decode(onDisk) !== pem) board.storage.write('manufacturing-root.pem', utf8Encode(pem));

  // The certificate is issued once ("at the factory") and kept; reissued by the same CA only if the
  // key, serial or issuing CA changed, or it predates the rating (version 1) or certifies another rating.
  const rating = boardRating(board);
  let certificate = board.storage.read('device-cert.bin');
  let valid = false;
  if (certificate) {
    try {
      const c = decodeCertificate(certificate);
      valid =
        toHex(c.devicePublicKey) === toHex(devicePublicKey) &&
        c.serial === board.identity.serial &&
        c.version === 2 &&
        c.chemistry === rating.chemistry &&
        c.cellCount === rating.cellCount &&
        c.ratedCapacityAh === rating.ratedCapacityAh &&
        toHex(c.issuerKeyId) === toHex(keyId(rootSpki));
    } catch {
      valid = false;
    }
  }
  if (!certificate || !valid) {
    const tbs = certificateTbs({
      issuedMs: Date.now(),
      serial: board.identity.serial,
      model: board.identity.model,
      boardId: board.identity.boardId,
      rating,
      devicePublicKey,
      issuerSpki: rootSpki,
    });
    certificate = assembleCertificate(tbs, signMessage(nodeKeyFromSecret(caSecret), tbs));
    board.storage.write('device-cert.bin', certificate);
  }
  parsePublicKeyPem(pem); // self-check of what was written
  return { deviceKey, devicePublicKey, certificate, rootSpki };
}
