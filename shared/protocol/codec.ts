import { DecodeError } from '../errors.js';
import { ByteReader, ByteWriter } from './bytes-io.js';

/** An encode/decode pair for one message payload. */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

export interface CodecOptions {
  /**
   * Turn any non-DecodeError thrown while reading (e.g. a RangeError from a malformed field) into a
   * DecodeError prefixed with the codec name, so callers only ever see a typed decode failure.
   */
  wrapErrors?: boolean;
}

/** Builds a codec from a writer and a reader over the same field layout. */
export function codec<T>(name: string, write: (w: ByteWriter, v: T) => void, read: (r: ByteReader) => T, options: CodecOptions = {}): Codec<T> {
  return {
    encode(v) {
      const w = new ByteWriter();
      write(w, v);
      return w.finish();
    },
    decode(bytes) {
      if (!options.wrapErrors) return read(new ByteReader(bytes, name));
      try {
        return read(new ByteReader(bytes, name));
      } catch (e) {
        if (e instanceof DecodeError) throw e;
        throw new DecodeError(`${name}: ${(e as Error).message}`);
      }
    },
  };
}
