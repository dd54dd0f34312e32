import { DecodeError } from '../errors.js';
import { bytesEqual, fromHex, toHex, utf8Decode } from '../util/bytes.js';
import { rd16, rd32, wr16, wr32 } from '../util/le.js';

/**
 * The MCUboot image layout (bootutil/image.h), little-endian:
 *
 *   header (32 bytes, padded to hdr_size) | body (img_size) |
 *   [protected TLV info 0x6908 + TLVs]  — covered by the SHA-256 and the signature
 *   unprotected TLV info 0x6907 + TLVs  — SHA256, KEYHASH/PUBKEY, signature
 *   [padding to slot size, trailer with boot magic] — only in images made with `imgtool --pad`
 *
 * This module only reads and writes bytes; signing is in sign.ts, checks in verify.ts.
 */
export const IMAGE_MAGIC = 0x96f3b83d;
export const TLV_INFO_MAGIC = 0x6907;
export const TLV_PROT_INFO_MAGIC = 0x6908;
export const IMAGE_HEADER_SIZE = 32;

export const TLV = {
  KEYHASH: 0x01,
  PUBKEY: 0x02,
  SHA256: 0x10,
  ECDSA_SIG: 0x22,
  ED25519: 0x24,
  SEC_CNT: 0x50,
  /**
   * PackScope's board id (UTF-8, 1..64 bytes), in the custom range 0xa0..0xfe that MCUboot leaves
   * to vendors. It is a protected TLV, so the hash and the signature cover it.
   */
  PACKSCOPE_BOARD_ID: 0xa0,
} as const;

export const TLV_NAMES: Record<number, string> = {
  0x01: 'KEYHASH',
  0x02: 'PUBKEY',
  0x10: 'SHA256',
  0x22: 'ECDSASIG',
  0x24: 'ED25519',
  0x50: 'SEC_CNT',
  0xa0: 'PACKSCOPE_BOARD_ID',
};

/** MCUboot's boot magic (the last 16 bytes of a slot whose trailer is written). */
export const BOOT_MAGIC = fromHex('77c295f360d2ef7f3552500f2cb67980');

export interface ImageVersion {
  major: number;
  minor: number;
  revision: number;
  build: number;
}

export interface ImageHeader {
  magic: number;
  loadAddr: number;
  headerSize: number;
  protectedTlvSize: number;
  imageSize: number;
  flags: number;
}

export interface Tlv {
  type: number;
  value: Uint8Array;
  /** Offset of the value within the image. */
  valueOffset: number;
}

export interface ImageTrailer {
  imageOk: number;
  copyDone: number;
  swapInfo: number;
  swapSize: number;
}

export interface McubootImage {
  header: ImageHeader;
  version: ImageVersion;
  /** The image bytes without slot padding: header, body and both TLV areas. */
  bytes: Uint8Array;
  body: Uint8Array;
  /** End of the hashed region: header + body + protected TLV area. */
  hashedEnd: number;
  protectedTlvs: Tlv[];
  tlvs: Tlv[];
  /** Offset of the unprotected TLV info header. */
  tlvAreaOffset: number;
  /** Size of the unprotected TLV area, info header included. */
  tlvAreaSize: number;
  /** Trailer decoded when the input was padded to a slot (`imgtool --pad`), else null. */
  trailer: ImageTrailer | null;
}

// ---------- versions ----------

export function formatVersion(v: ImageVersion): string {
  return `${v.major}.${v.minor}.${v.revision}+${v.build}`;
}

/** Parses "X.Y.Z[+B]" (also "X", "X.Y"), range-checked like imgtool. */
export function parseVersion(text: string): ImageVersion {
  const m = /^(\d+)(?:\.(\d+)(?:\.(\d+))?)?(?:\+(\d+))?$/.exec(text.trim());
  if (!m) throw new DecodeError(`version '${text}' is not of the form X.Y.Z[+B]`);
  const v = { major: Number(m[1]), minor: Number(m[2] ?? 0), revision: Number(m[3] ?? 0), build: Number(m[4] ?? 0) };
  if (v.major > 255 || v.minor > 255 || v.revision > 65535 || v.build > 0xffffffff) {
    throw new DecodeError(`version '${text}' out of range (255.255.65535+4294967295 at most)`);
  }
  return v;
}

// ---------- header ----------

export function decodeHeader(bytes: Uint8Array): { header: ImageHeader; version: ImageVersion } {
  if (bytes.length < IMAGE_HEADER_SIZE) throw new DecodeError(`image too short for an MCUboot header (${bytes.length} bytes)`);
  const magic = rd32(bytes, 0);
  if (magic !== IMAGE_MAGIC) throw new DecodeError(`not an MCUboot image: magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x96f3b83d`);
  const header: ImageHeader = {
    magic,
    loadAddr: rd32(bytes, 4),
    headerSize: rd16(bytes, 8),
    protectedTlvSize: rd16(bytes, 10),
    imageSize: rd32(bytes, 12),
    flags: rd32(bytes, 16),
  };
  const version: ImageVersion = { major: bytes[20]!, minor: bytes[21]!, revision: rd16(bytes, 22), build: rd32(bytes, 24) };
  if (header.headerSize < IMAGE_HEADER_SIZE) throw new DecodeError(`header size ${header.headerSize} is smaller than the 32-byte header`);
  return { header, version };
}

export function encodeHeader(header: Omit<ImageHeader, 'magic'>, version: ImageVersion): Uint8Array {
  const b = new Uint8Array(IMAGE_HEADER_SIZE);
  wr32(b, 0, IMAGE_MAGIC);
  wr32(b, 4, header.loadAddr);
  wr16(b, 8, header.headerSize);
  wr16(b, 10, header.protectedTlvSize);
  wr32(b, 12, header.imageSize);
  wr32(b, 16, header.flags);
  b[20] = version.major;
  b[21] = version.minor;
  wr16(b, 22, version.revision);
  wr32(b, 24, version.build);
  return b;
}

// ---------- TLV areas ----------

/** Decodes one TLV area (info header + entries) at `offset`, requiring the given magic. */
export function decodeTlvArea(bytes: Uint8Array, offset: number, magic: number): { tlvs: Tlv[]; size: number } {
  if (offset + 4 > bytes.length) throw new DecodeError(`TLV area at ${offset} is past the end of the image`);
  const m = rd16(bytes, offset);
  if (m !== magic) throw new DecodeError(`TLV info magic 0x${m.toString(16)} at ${offset}, expected 0x${magic.toString(16)}`);
  const total = rd16(bytes, offset + 2);
  const end = offset + total;
  if (total < 4 || end > bytes.length) throw new DecodeError(`TLV area size ${total} at ${offset} does not fit the image`);
  const tlvs: Tlv[] = [];
  let p = offset + 4;
  while (p < end) {
    if (p + 4 > end) throw new DecodeError(`truncated TLV entry at ${p}`);
    const type = rd16(bytes, p);
    const len = rd16(bytes, p + 2);
    if (p + 4 + len > end) throw new DecodeError(`TLV 0x${type.toString(16)} at ${p} runs past the TLV area`);
    tlvs.push({ type, value: bytes.subarray(p + 4, p + 4 + len), valueOffset: p + 4 });
    p += 4 + len;
  }
  return { tlvs, size: total };
}

export function encodeTlvArea(magic: number, tlvs: Array<{ type: number; value: Uint8Array }>): Uint8Array {
  let total = 4;
  for (const t of tlvs) total += 4 + t.value.length;
  if (total > 0xffff) throw new DecodeError('TLV area larger than 65535 bytes');
  const out = new Uint8Array(total);
  wr16(out, 0, magic);
  wr16(out, 2, total);
  let p = 4;
  for (const t of tlvs) {
    wr16(out, p, t.type);
    wr16(out, p + 2, t.value.length);
    out.set(t.value, p + 4);
    p += 4 + t.value.length;
  }
  return out;
}

// ---------- whole image ----------

/**
 * Parses an image. `bytes` may be exactly the image, or the image followed by slot padding and a
 * trailer (`imgtool sign --pad`); anything else after the TLVs is ignored.
 */
export function parseImage(bytes: Uint8Array, maxAlign = 8): McubootImage {
  const { header, version } = decodeHeader(bytes);
  const bodyEnd = header.headerSize + header.imageSize;
  if (bodyEnd > bytes.length) {
    throw new DecodeError(`image body ends at ${bodyEnd} but the input has only ${bytes.length} bytes`);
  }
  let protectedTlvs: Tlv[] = [];
  let p = bodyEnd;
  if (header.protectedTlvSize > 0) {
    const prot = decodeTlvArea(bytes, p, TLV_PROT_INFO_MAGIC);
    if (prot.size !== header.protectedTlvSize) {
      throw new DecodeError(`protected TLV area is ${prot.size} bytes but the header says ${header.protectedTlvSize}`);
    }
    protectedTlvs = prot.tlvs;
    p += prot.size;
  }
  const hashedEnd = p;
  const area = decodeTlvArea(bytes, p, TLV_INFO_MAGIC);
  const end = p + area.size;
  let trailer: ImageTrailer | null = null;
  const n = bytes.length;
  if (n >= end + 16 + 4 * maxAlign && bytesEqual(bytes.subarray(n - 16), BOOT_MAGIC)) {
    trailer = {
      imageOk: bytes[n - 16 - maxAlign]!,
      copyDone: bytes[n - 16 - 2 * maxAlign]!,
      swapInfo: bytes[n - 16 - 3 * maxAlign]!,
      swapSize: rd32(bytes, n - 16 - 4 * maxAlign),
    };
  }
  return {
    header,
    version,
    bytes: bytes.subarray(0, end),
    body: bytes.subarray(header.headerSize, bodyEnd),
    hashedEnd,
    protectedTlvs,
    tlvs: area.tlvs,
    tlvAreaOffset: p,
    tlvAreaSize: area.size,
    trailer,
  };
}

/** Security counter from the protected SEC_CNT TLV (only the protected one counts), or null. */
export function securityCounterOf(img: Pick<McubootImage, 'protectedTlvs'>): number | null {
  const t = img.protectedTlvs.find((x) => x.type === TLV.SEC_CNT);
  if (!t || t.value.length !== 4) return null;
  return rd32(t.value, 0);
}

/** Board id from PackScope's protected board-id TLV, or null. */
export function boardIdOf(img: Pick<McubootImage, 'protectedTlvs'>): string | null {
  const t = img.protectedTlvs.find((x) => x.type === TLV.PACKSCOPE_BOARD_ID);
  return t ? utf8Decode(t.value) : null;
}

/** A plain summary (imgtool dumpinfo's fields) for JSON output and tests. */
export function describeImage(img: McubootImage) {
  const tlv = (t: Tlv) => ({ type: t.type, typeName: TLV_NAMES[t.type] ?? 'UNKNOWN', len: t.value.length, data: toHex(t.value) });
  return {
    header: { ...img.header, version: formatVersion(img.version) },
    protectedTlvs: img.protectedTlvs.map(tlv),
    tlvs: img.tlvs.map(tlv),
    tlvAreaOffset: img.tlvAreaOffset,
    tlvAreaSize: img.tlvAreaSize,
    imageEnd: img.bytes.length,
    trailer: img.trailer,
  };
}

/** Appends slot padding and a trailer with boot magic (imgtool --pad [--confirm]). */
export function padToSlot(image: Uint8Array, slotSize: number, confirm: boolean, maxAlign = 8, erased = 0xff): Uint8Array {
  const trailerSize = 16 + 4 * maxAlign;
  if (image.length + trailerSize > slotSize) throw new DecodeError(`image (${image.length} bytes) and trailer do not fit a ${slotSize}-byte slot`);
  const out = new Uint8Array(slotSize).fill(erased);
  out.set(image, 0);
  out.set(BOOT_MAGIC, slotSize - 16);
  if (confirm) out[slotSize - 16 - maxAlign] = 1;
  return out;
}

/** What a bootloader needs to judge an image before its body arrives: header and TLV areas. */
export type ImageMeta = Pick<McubootImage, 'header' | 'version' | 'protectedTlvs' | 'tlvs'> & {
  /** Total image size (header, body, TLV areas). */
  totalSize: number;
  hashedEnd: number;
};

/** The bytes of an image's meta: the 32-byte header followed by both TLV areas (body left out). */
export function encodeImageMeta(img: McubootImage): Uint8Array {
  const bodyEnd = img.header.headerSize + img.header.imageSize;
  const out = new Uint8Array(IMAGE_HEADER_SIZE + (img.bytes.length - bodyEnd));
  out.set(img.bytes.subarray(0, IMAGE_HEADER_SIZE), 0);
  out.set(img.bytes.subarray(bodyEnd), IMAGE_HEADER_SIZE);
  return out;
}

export function parseImageMeta(meta: Uint8Array): ImageMeta {
  const { header, version } = decodeHeader(meta);
  let p = IMAGE_HEADER_SIZE;
  let protectedTlvs: Tlv[] = [];
  if (header.protectedTlvSize > 0) {
    const prot = decodeTlvArea(meta, p, TLV_PROT_INFO_MAGIC);
    if (prot.size !== header.protectedTlvSize) throw new DecodeError('protected TLV area size does not match the header');
    protectedTlvs = prot.tlvs;
    p += prot.size;
  }
  const area = decodeTlvArea(meta, p, TLV_INFO_MAGIC);
  if (p + area.size !== meta.length) throw new DecodeError('image meta has trailing bytes after the TLV area');
  const hashedEnd = header.headerSize + header.imageSize + header.protectedTlvSize;
  return { header, version, protectedTlvs, tlvs: area.tlvs, totalSize: hashedEnd + area.size, hashedEnd };
}
