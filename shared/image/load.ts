import { DecodeError } from '../errors.js';
import { utf8Decode } from '../util/bytes.js';
import { hexToBinary, looksLikeIntelHex, parseIntelHex, type IntelHex } from './ihex.js';
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

/**
 * An application binary to sign: raw bytes, or Intel HEX flattened from its lowest address. With
 * the file's name, a name ending in .hex must hold Intel HEX (never signed as raw bytes by
 * mistake). An empty payload is refused: there is nothing to boot.
 */
export function decodePayloadFile(bytes: Uint8Array, name?: string): { payload: Uint8Array; format: 'bin' | 'ihex'; address: number | null } {
  const what = name ?? 'the input';
  if (looksLikeIntelHex(bytes) || (name !== undefined && /\.hex$/i.test(name) && bytes.length > 0)) {
    let hex: IntelHex;
    try {
      hex = parseIntelHex(utf8Decode(bytes));
    } catch (e) {
      if (name === undefined || !(e instanceof DecodeError)) throw e;
      const why = e.message.replace(/^Intel HEX:? /, '');
      if (looksLikeIntelHex(bytes)) throw new DecodeError(`${name} is not valid Intel HEX (${why})`);
      throw new DecodeError(`${name} is not Intel HEX (${why}); a raw binary needs a name that does not end in .hex`);
    }
    const flat = hexToBinary(hex);
    return { payload: flat.data, format: 'ihex', address: flat.address };
  }
  if (bytes.length === 0) throw new DecodeError(`empty image: ${what} has no bytes to sign`);
  return { payload: bytes, format: 'bin', address: null };
}
