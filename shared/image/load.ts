import { utf8Decode } from '../util/bytes.js';
import { hexToBinary, looksLikeIntelHex, parseIntelHex } from './ihex.js';
import { parseImage, type McubootImage } from './mcuboot.js';

/**
 * An image file as a user hands it over: a raw .bin (possibly padded to a slot) or Intel HEX
 * (imgtool writes .hex when the output name ends in .hex). For HEX the image starts at the lowest
 * address present.
 */
export function decodeImageFile(bytes: Uint8Array): { image: McubootImage; format: 'bin' | 'ihex'; address: number | null } {
  if (looksLikeIntelHex(bytes)) {
    const flat = hexToBinary(parseIntelHex(utf8Decode(bytes)));
    return { image: parseImage(flat.data), format: 'ihex', address: flat.address };
  }
  return { image: parseImage(bytes), format: 'bin', address: null };
}

/** An application binary to sign: raw bytes, or Intel HEX flattened from its lowest address. */
export function decodePayloadFile(bytes: Uint8Array): { payload: Uint8Array; format: 'bin' | 'ihex'; address: number | null } {
  if (looksLikeIntelHex(bytes)) {
    const flat = hexToBinary(parseIntelHex(utf8Decode(bytes)));
    return { payload: flat.data, format: 'ihex', address: flat.address };
  }
  return { payload: bytes, format: 'bin', address: null };
}
