/**
 * The supplier's Ed25519 private key (PKCS#8 PEM, as `packscope claim keygen` or `openssl genpkey
 * -algorithm ed25519` writes it): it signs claim tickets and claims-desk decisions. Loaded with a
 * clear error for every way the file can be wrong; the key stays a node:crypto KeyObject.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { DecodeError } from '../../../shared/errors.js';
import { utf8Decode } from '../../../shared/util/bytes.js';
import { readInput } from './files.js';

const MAX_KEY_FILE_BYTES = 64 * 1024;

/** Raw 32-byte Ed25519 public key of a node:crypto key object. */
export function rawEd25519PublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  const spki = new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
  return spki.slice(spki.length - 32);
}

/** `purpose` completes "… are signed with Ed25519"; `publicKeyHint` is said when a public key is given instead. */
export function loadSupplierPrivateKey(path: string, purpose: string, publicKeyHint = ''): KeyObject {
  const text = utf8Decode(readInput(path, 'supplier key', MAX_KEY_FILE_BYTES));
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text))
    throw new DecodeError(`${path} is encrypted; export the key without a passphrase for the signing host`);
  if (!/-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----/.test(text)) {
    throw new DecodeError(`${path} holds no PEM private key${/-----BEGIN PUBLIC KEY-----/.test(text) ? publicKeyHint : ''}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new DecodeError(`${path} is not a readable private key (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new DecodeError(`${path} is a ${key.asymmetricKeyType ?? 'unknown'} key; ${purpose} are signed with Ed25519`);
  return key;
}
