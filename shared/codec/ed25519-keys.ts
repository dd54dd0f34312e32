/**
 * Ed25519 public-key forms the stock tools read: PEM SubjectPublicKeyInfo (openssl pkeyutl
 * -pubin) and the OpenSSH one-line form (ssh-keygen allowed_signers).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError } from '../errors.js';
import { bytesEqual, concatBytes, utf8Encode } from '../util/bytes.js';
import { base64Decode, base64Encode, pemDecode, pemEncode } from '../util/base64.js';
import { sshString, SshReader } from './sshwire.js';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQ { SEQ { OID 1.3.101.112 } BIT STRING }. */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

export function ed25519SpkiDer(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  return concatBytes(ED25519_SPKI_PREFIX, publicKey);
}

export function ed25519PublicKeyPem(publicKey: Uint8Array): string {
  return pemEncode('PUBLIC KEY', ed25519SpkiDer(publicKey));
}

export function ed25519PublicKeyFromPem(text: string): Uint8Array {
  const der = pemDecode(text, 'PUBLIC KEY');
  if (der.length !== 44 || !bytesEqual(der.subarray(0, 12), ED25519_SPKI_PREFIX)) throw new DecodeError('not an Ed25519 public key');
  return der.slice(12);
}

/** The SSH wire blob: string "ssh-ed25519", string key. */
export function sshEd25519Blob(publicKey: Uint8Array): Uint8Array {
  return concatBytes(sshString(utf8Encode('ssh-ed25519')), sshString(publicKey));
}

export function ed25519FromSshBlob(blob: Uint8Array): Uint8Array {
  const r = new SshReader(blob);
  const type = r.text();
  if (type !== 'ssh-ed25519') throw new DecodeError(`SSH key type ${type} is not ssh-ed25519`);
  const key = r.bytes();
  r.end();
  if (key.length !== 32) throw new DecodeError('ssh-ed25519 key is not 32 bytes');
  return key;
}

export function ed25519OpenSsh(publicKey: Uint8Array, comment = ''): string {
  return `ssh-ed25519 ${base64Encode(sshEd25519Blob(publicKey))}${comment ? ' ' + comment : ''}`;
}

export function ed25519FromOpenSsh(line: string): Uint8Array {
  const m = /^ssh-ed25519 ([A-Za-z0-9+/=]+)(?: .*)?\s*$/.exec(line.trim());
  if (!m) throw new DecodeError('not an OpenSSH ssh-ed25519 public key line');
  return ed25519FromSshBlob(base64Decode(m[1]!));
}

/** OpenSSH-style fingerprint: "SHA256:" + unpadded base64 of SHA-256 over the wire blob. */
export function sshFingerprint(publicKey: Uint8Array): string {
  return 'SHA256:' + base64Encode(sha256(sshEd25519Blob(publicKey))).replace(/=+$/, '');
}
