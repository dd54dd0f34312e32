import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { parseSpki, type KeyType, type PublicKey } from './firmware-keys.js';
import { TLV, boardIdOf, formatVersion, securityCounterOf, type ImageMeta, type McubootImage } from './mcuboot.js';
import { verifyDigest } from './sign.js';

/**
 * Checks an image the way a bootloader must before it runs it, and reports every aspect
 * separately so a user sees exactly why an image is refused:
 *  - hash: SHA-256 over header + body + protected TLVs against the SHA256 TLV;
 *  - signature: over the signed digest, against the trusted keys (KEYHASH/PUBKEY pick the key);
 *  - security counter against the board's minimum (anti-rollback);
 *  - board id against the target board.
 */
export interface TrustedKey {
  key: PublicKey;
  /** Where the key came from (file name, "board", "supplier test key"). */
  name: string;
}

export interface VerifyOptions {
  trustedKeys: TrustedKey[];
  /** Board the image must be for; omit to skip the check. */
  boardId?: string;
  /** Smallest acceptable security counter (the board's stored counter). */
  minSecurityCounter?: number;
}

export type HashStatus = 'ok' | 'mismatch' | 'missing';
export type SignatureStatus = 'valid' | 'unknown_key' | 'bad_signature' | 'missing';
export type CheckStatus = 'ok' | 'mismatch' | 'absent' | 'not_checked';
export type Reason = 'hash_mismatch' | 'hash_missing' | 'missing_signature' | 'unknown_key' | 'bad_signature' | 'wrong_board' | 'security_counter_too_low';

export interface VerifyResult {
  valid: boolean;
  /** The first failing check, in the order a bootloader checks them. */
  reason: Reason | null;
  /** Human sentences, one per failing check. */
  problems: string[];
  version: string;
  imageSize: number;
  hash: { status: HashStatus; computed: string; expected: string | null };
  signature: { status: SignatureStatus; keyType: KeyType | null; keyHash: string | null; trustedKey: string | null };
  securityCounter: { value: number | null; minimum: number; status: 'ok' | 'too_low' };
  boardId: { value: string | null; expected: string | null; status: CheckStatus };
}

const SIG_TYPES: Record<number, KeyType> = { [TLV.ED25519]: 'ed25519', [TLV.ECDSA_SIG]: 'ecdsa-p256' };

export function imageDigest(img: McubootImage): Uint8Array {
  return sha256(img.bytes.subarray(0, img.hashedEnd));
}

/** Signature status over the digest the image claims (its SHA256 TLV); usable before the body is present. */
export function checkSignature(img: Pick<McubootImage, 'tlvs'>, trusted: TrustedKey[]): VerifyResult['signature'] {
  const shaTlv = img.tlvs.find((t) => t.type === TLV.SHA256);
  const sigTlv = img.tlvs.find((t) => SIG_TYPES[t.type] !== undefined);
  const keyHashTlv = img.tlvs.find((t) => t.type === TLV.KEYHASH);
  const pubTlv = img.tlvs.find((t) => t.type === TLV.PUBKEY);
  let keyHash: Uint8Array | null = keyHashTlv ? keyHashTlv.value : null;
  if (!keyHash && pubTlv) {
    try {
      keyHash = parseSpki(pubTlv.value).keyHash;
    } catch {
      keyHash = sha256(pubTlv.value);
    }
  }
  const keyHashHex = keyHash ? toHex(keyHash) : null;
  if (!sigTlv || !shaTlv) return { status: 'missing', keyType: null, keyHash: keyHashHex, trustedKey: null };
  const keyType = SIG_TYPES[sigTlv.type]!;
  // The key named by the image (KEYHASH/PUBKEY) must be one of ours; without either, try all.
  const candidates = trusted.filter((t) => t.key.type === keyType && (!keyHash || bytesEqual(t.key.keyHash, keyHash)));
  if (candidates.length === 0) return { status: 'unknown_key', keyType, keyHash: keyHashHex, trustedKey: null };
  for (const c of candidates) {
    if (verifyDigest(c.key, sigTlv.type, sigTlv.value, shaTlv.value)) {
      return { status: 'valid', keyType, keyHash: toHex(c.key.keyHash), trustedKey: c.name };
    }
  }
  return { status: keyHash ? 'bad_signature' : 'unknown_key', keyType, keyHash: keyHashHex, trustedKey: null };
}

export function verifyImage(img: McubootImage, o: VerifyOptions): VerifyResult {
  const computed = imageDigest(img);
  const shaTlv = img.tlvs.find((t) => t.type === TLV.SHA256);
  const hashStatus: HashStatus = !shaTlv ? 'missing' : bytesEqual(shaTlv.value, computed) ? 'ok' : 'mismatch';
  const signature = checkSignature(img, o.trustedKeys);
  const counter = securityCounterOf(img);
  const minimum = o.minSecurityCounter ?? 0;
  const counterStatus = (counter ?? 0) >= minimum ? 'ok' : 'too_low';
  const board = boardIdOf(img);
  const boardStatus: CheckStatus = o.boardId === undefined ? 'not_checked' : board === null ? 'absent' : board === o.boardId ? 'ok' : 'mismatch';

  const problems: Array<[Reason, string]> = [];
  if (hashStatus === 'missing') problems.push(['hash_missing', 'the image has no SHA256 TLV']);
  if (hashStatus === 'mismatch') problems.push(['hash_mismatch', 'the image hash does not match its contents (the image was changed after signing)']);
  if (signature.status === 'missing') problems.push(['missing_signature', 'the image is not signed']);
  if (signature.status === 'unknown_key') {
    problems.push([
      'unknown_key',
      `the image is signed by an unknown key (${signature.keyType ?? '?'} key hash ${signature.keyHash?.slice(0, 16) ?? 'not given'}), not one of the ${o.trustedKeys.length} trusted key(s)`,
    ]);
  }
  if (signature.status === 'bad_signature') problems.push(['bad_signature', 'the signature does not verify with the key the image names']);
  if (boardStatus === 'mismatch' || boardStatus === 'absent') {
    problems.push([
      'wrong_board',
      board === null ? `the image carries no board id; this board is '${o.boardId}'` : `the image is for board '${board}', this board is '${o.boardId}'`,
    ]);
  }
  if (counterStatus === 'too_low') {
    problems.push([
      'security_counter_too_low',
      `the image's security counter ${counter ?? 'none (0)'} is lower than the board's ${minimum} (rollback refused)`,
    ]);
  }
  return {
    valid: problems.length === 0,
    reason: problems[0]?.[0] ?? null,
    problems: problems.map((p) => p[1]),
    version: formatVersion(img.version),
    imageSize: img.header.imageSize,
    hash: { status: hashStatus, computed: toHex(computed), expected: shaTlv ? toHex(shaTlv.value) : null },
    signature,
    securityCounter: { value: counter, minimum, status: counterStatus },
    boardId: { value: board, expected: o.boardId ?? null, status: boardStatus },
  };
}

/**
 * The checks that need no image body: signature over the claimed digest, board id, security
 * counter and size. A bootloader runs them on the header and TLVs before it erases anything.
 */
export function precheckImage(
  meta: ImageMeta,
  o: VerifyOptions & { maxSize?: number },
): { ok: boolean; reason: Reason | 'too_large' | null; problems: string[]; signature: VerifyResult['signature'] } {
  const signature = checkSignature(meta, o.trustedKeys);
  const problems: Array<[Reason | 'too_large', string]> = [];
  if (!meta.tlvs.some((t) => t.type === TLV.SHA256)) problems.push(['hash_missing', 'the image has no SHA256 TLV']);
  if (signature.status === 'missing') problems.push(['missing_signature', 'the image is not signed']);
  if (signature.status === 'unknown_key')
    problems.push(['unknown_key', `the image is signed by an unknown key (key hash ${signature.keyHash?.slice(0, 16) ?? 'not given'})`]);
  if (signature.status === 'bad_signature') problems.push(['bad_signature', 'the signature does not verify with the key the image names']);
  const board = boardIdOf(meta);
  if (o.boardId !== undefined && board !== o.boardId) {
    problems.push([
      'wrong_board',
      board === null ? `the image carries no board id; this board is '${o.boardId}'` : `the image is for board '${board}', this board is '${o.boardId}'`,
    ]);
  }
  const counter = securityCounterOf(meta) ?? 0;
  if (counter < (o.minSecurityCounter ?? 0)) {
    problems.push(['security_counter_too_low', `the image's security counter ${counter} is lower than the board's ${o.minSecurityCounter} (rollback refused)`]);
  }
  if (o.maxSize !== undefined && meta.totalSize > o.maxSize)
    problems.push(['too_large', `the image (${meta.totalSize} bytes) does not fit the ${o.maxSize}-byte slot`]);
  return { ok: problems.length === 0, reason: problems[0]?.[0] ?? null, problems: problems.map((p) => p[1]), signature };
}
