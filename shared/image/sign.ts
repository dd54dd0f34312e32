import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { DecodeError, PackscopeError } from '../errors.js';
import { concatBytes, toHex, utf8Encode } from '../util/bytes.js';
import { wr32 } from '../util/le.js';
import type { PrivateKey, PublicKey } from './firmware-keys.js';
import { IMAGE_HEADER_SIZE, TLV, TLV_INFO_MAGIC, TLV_PROT_INFO_MAGIC, encodeHeader, encodeTlvArea, padToSlot, type ImageVersion } from './mcuboot.js';

/**
 * Builds a signed MCUboot image the way `imgtool sign --pad-header` does: the same header, the
 * same TLV order (protected: SEC_CNT, then custom TLVs; unprotected: SHA256, KEYHASH or PUBKEY,
 * signature), ECDSA P-256 as DER over the SHA-256 digest, Ed25519 over the 32-byte digest.
 */
export interface SignOptions {
  /** Application binary (without header space). */
  payload: Uint8Array;
  version: ImageVersion;
  /** Omit for a hash-only image. */
  key?: PrivateKey;
  headerSize?: number;
  loadAddr?: number;
  flags?: number;
  securityCounter?: number;
  boardId?: string;
  /** Put the whole public key in the image (PUBKEY) instead of its hash (KEYHASH). */
  publicKeyFull?: boolean;
  /** Pad to this slot size and write a trailer (imgtool --pad). */
  padToSlot?: number;
  /** With padToSlot: mark image_ok in the trailer (imgtool --confirm). */
  confirm?: boolean;
  /** Write alignment of the trailer (imgtool --align / --max-align). */
  align?: number;
  /** Fill of the header space after the 32-byte header: 0xff (erased flash) as imgtool --pad-header writes it. */
  headerFill?: number;
}

export const BOARD_ID_MAX = 64;

export function validateBoardId(id: string): Uint8Array {
  const b = utf8Encode(id);
  if (b.length < 1 || b.length > BOARD_ID_MAX || !/^[\x21-\x7e]+$/.test(id)) {
    throw new PackscopeError('USAGE', `board id '${id}' must be 1..${BOARD_ID_MAX} printable ASCII characters without spaces`);
  }
  return b;
}

/** The signature TLV value for a digest. */
export function signDigest(key: PrivateKey, digest: Uint8Array): { type: number; value: Uint8Array } {
  if (key.type === 'ed25519') return { type: TLV.ED25519, value: ed25519.sign(digest, key.secret) };
  return { type: TLV.ECDSA_SIG, value: p256.sign(digest, key.secret, { prehash: false, format: 'der' }) };
}

/**
 * Results of recent signature checks. Verification is a pure function of (key, signature, digest)
 * and costs milliseconds in JavaScript, while a bootloader and a flasher check the same image
 * many times (status, precheck, boot); remembering the last few answers changes no outcome.
 */
const verified = new Map<string, boolean>();
const VERIFIED_MAX = 64;

/** Checks a signature TLV over a digest; false for any malformed input. */
export function verifyDigest(key: PublicKey, sigType: number, sig: Uint8Array, digest: Uint8Array): boolean {
  const memoKey = `${key.type}:${toHex(key.raw)}:${sigType}:${toHex(sig)}:${toHex(digest)}`;
  const known = verified.get(memoKey);
  if (known !== undefined) return known;
  const ok = verifyDigestUncached(key, sigType, sig, digest);
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(memoKey, ok);
  return ok;
}

function verifyDigestUncached(key: PublicKey, sigType: number, sig: Uint8Array, digest: Uint8Array): boolean {
  try {
    if (key.type === 'ed25519') return sigType === TLV.ED25519 && sig.length === 64 && ed25519.verify(sig, digest, key.raw);
    // lowS off: OpenSSL (and so imgtool) does not normalise S.
    return sigType === TLV.ECDSA_SIG && p256.verify(sig, digest, key.raw, { prehash: false, format: 'der', lowS: false });
  } catch {
    return false;
  }
}

export function signImage(o: SignOptions): Uint8Array {
  const headerSize = o.headerSize ?? 0x200;
  if (headerSize < IMAGE_HEADER_SIZE || headerSize > 0xffff) throw new PackscopeError('USAGE', `header size must be 32..65535 bytes`);
  if (o.payload.length > 0xffffffff) throw new DecodeError('payload too large');
  const prot: Array<{ type: number; value: Uint8Array }> = [];
  if (o.securityCounter !== undefined) {
    if (!Number.isInteger(o.securityCounter) || o.securityCounter < 0 || o.securityCounter > 0xffffffff) {
      throw new PackscopeError('USAGE', 'security counter must be an integer 0..4294967295');
    }
    const v = new Uint8Array(4);
    wr32(v, 0, o.securityCounter);
    prot.push({ type: TLV.SEC_CNT, value: v });
  }
  if (o.boardId !== undefined) prot.push({ type: TLV.PACKSCOPE_BOARD_ID, value: validateBoardId(o.boardId) });
  const protArea = prot.length ? encodeTlvArea(TLV_PROT_INFO_MAGIC, prot) : new Uint8Array(0);
  const header = new Uint8Array(headerSize).fill(o.headerFill ?? 0xff);
  header.set(
    encodeHeader({ loadAddr: o.loadAddr ?? 0, headerSize, protectedTlvSize: protArea.length, imageSize: o.payload.length, flags: o.flags ?? 0 }, o.version),
  );
  const hashed = concatBytes(header, o.payload, protArea);
  const digest = sha256(hashed);
  const tlvs: Array<{ type: number; value: Uint8Array }> = [{ type: TLV.SHA256, value: digest }];
  if (o.key) {
    tlvs.push(o.publicKeyFull ? { type: TLV.PUBKEY, value: o.key.publicKey.spki } : { type: TLV.KEYHASH, value: o.key.publicKey.keyHash });
    tlvs.push(signDigest(o.key, digest));
  }
  const image = concatBytes(hashed, encodeTlvArea(TLV_INFO_MAGIC, tlvs));
  return o.padToSlot ? padToSlot(image, o.padToSlot, !!o.confirm, o.align ?? 8) : image;
}
