/**
 * Photos a customer attaches to a claim (the label, a swollen cell, a burnt connector). They ride
 * in the package under photos/, covered by SHA256SUMS and its signature like every other file.
 * The limits keep a package mailable and a malicious one from exhausting memory.
 */
export const MAX_PHOTOS = 20;
export const MAX_PHOTO_BYTES = 25 * 1024 * 1024;

export const PHOTO_KINDS = ['jpeg', 'png', 'webp', 'heic'] as const;
export type PhotoKind = (typeof PHOTO_KINDS)[number];

export const PHOTO_MIME: Readonly<Record<PhotoKind, string>> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', heic: 'image/heic' };

/** Extensions a photo picker offers (the content decides, not the name). */
export const PHOTO_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.heic', '.heif'] as const;

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

/** Photos are images: JPEG, PNG, WebP or HEIC by content, not by name. */
export function photoKind(b: Uint8Array): PhotoKind | null {
  if (b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length > 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (b.length > 12 && ascii(b, 4, 8) === 'ftyp' && /^(heic|heix|mif1|msf1|avif)$/.test(ascii(b, 8, 12))) return 'heic';
  return null;
}
