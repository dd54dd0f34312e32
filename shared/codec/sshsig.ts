/**
 * SSHSIG (OpenSSH PROTOCOL.sshsig): the signature format `ssh-keygen -Y sign/verify` uses. Lets a
 * supplier check a package signature with nothing but OpenSSH. Ed25519 keys, SHA-512 message
 * hash, namespace `packscope-diagnosis`.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { DecodeError } from '../errors.js';
import { bytesEqual, concatBytes, utf8Encode } from '../util/bytes.js';
import { base64Decode, base64Encode } from '../util/base64.js';
import { ed25519FromSshBlob, sshEd25519Blob } from './ed25519-keys.js';
import { SshReader, sshString, sshU32 } from './sshwire.js';

export const SSHSIG_NAMESPACE = 'packscope-diagnosis';
const MAGIC = utf8Encode('SSHSIG');
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';

/** The bytes the Ed25519 key actually signs. */
export function sshsigSignedData(namespace: string, message: Uint8Array, hashAlgorithm: 'sha512' = 'sha512'): Uint8Array {
  return concatBytes(MAGIC, sshString(utf8Encode(namespace)), sshString(new Uint8Array(0)), sshString(utf8Encode(hashAlgorithm)), sshString(sha512(message)));
}

/** Builds the armored signature given a signer (the private key may live in a keychain). */
export async function sshsigSign(
  message: Uint8Array,
  publicKey: Uint8Array,
  sign: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>,
  namespace = SSHSIG_NAMESPACE,
): Promise<string> {
  const sig = await sign(sshsigSignedData(namespace, message));
  const blob = concatBytes(
    MAGIC,
    sshU32(1),
    sshString(sshEd25519Blob(publicKey)),
    sshString(utf8Encode(namespace)),
    sshString(new Uint8Array(0)),
    sshString(utf8Encode('sha512')),
    sshString(concatBytes(sshString(utf8Encode('ssh-ed25519')), sshString(sig))),
  );
  const b64 = base64Encode(blob)
    .match(/.{1,70}/g)!
    .join('\n');
  return `${BEGIN}\n${b64}\n${END}\n`;
}

export interface ParsedSshsig {
  publicKey: Uint8Array;
  namespace: string;
  hashAlgorithm: string;
  signature: Uint8Array;
}

export function parseSshsig(armored: string): ParsedSshsig {
  const t = armored.trim();
  if (!t.startsWith(BEGIN) || !t.endsWith(END)) throw new DecodeError('not an armored SSH signature');
  const blob = base64Decode(t.slice(BEGIN.length, t.length - END.length));
  const r = new SshReader(blob);
  if (!bytesEqual(r.raw(6), MAGIC)) throw new DecodeError('SSH signature magic missing');
  const version = r.u32();
  if (version !== 1) throw new DecodeError(`SSH signature version ${version} is not supported`);
  const publicKey = ed25519FromSshBlob(r.bytes());
  const namespace = r.text();
  r.bytes(); // reserved
  const hashAlgorithm = r.text();
  const sigBlob = new SshReader(r.bytes());
  r.end();
  const sigType = sigBlob.text();
  if (sigType !== 'ssh-ed25519') throw new DecodeError(`SSH signature type ${sigType} is not ssh-ed25519`);
  const signature = sigBlob.bytes();
  sigBlob.end();
  if (signature.length !== 64) throw new DecodeError('ssh-ed25519 signature is not 64 bytes');
  return { publicKey, namespace, hashAlgorithm, signature };
}

/**
 * Verifies an armored SSHSIG over `message`. Returns a reason string on failure, null on success.
 * `expectedKey` pins the signer (as allowed_signers does for ssh-keygen).
 */
export function sshsigVerify(armored: string, message: Uint8Array, expectedKey: Uint8Array, namespace = SSHSIG_NAMESPACE): string | null {
  let p: ParsedSshsig;
  try {
    p = parseSshsig(armored);
  } catch (e) {
    return (e as Error).message;
  }
  if (!bytesEqual(p.publicKey, expectedKey)) return 'signed by a different key';
  if (p.namespace !== namespace) return `namespace is "${p.namespace}", expected "${namespace}"`;
  if (p.hashAlgorithm !== 'sha512') return `hash algorithm ${p.hashAlgorithm} is not accepted`;
  const ok = ed25519.verify(p.signature, sshsigSignedData(namespace, message), p.publicKey, { zip215: false });
  return ok ? null : 'signature does not verify';
}
