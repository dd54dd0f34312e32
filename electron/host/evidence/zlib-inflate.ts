/**
 * zlib's raw inflate as a synchronous, streaming InflateStep (shared/codec/zip.ts): a package's
 * reader pulls its entries chunk by chunk, synchronously, and every compressed byte of a package
 * passes here. Node offers zlib only as a whole-buffer sync call (which closes its stream after
 * one call) or as an asynchronous stream, so this drives the zlib handle the way Node's own
 * inflateRawSync does, step after step on one stream. Where the runtime's zlib does not have that
 * shape, fflate (portable, about a third of the speed) does the work.
 */
import { constants, createInflateRaw } from 'node:zlib';
import { fflateInflater, type InflateStep } from '../../../shared/codec/zip.js';

/** The zlib handle step inflateRawSync runs: output space left and input left come back in writeState. */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
}
interface ZlibStream {
  _handle?: ZlibHandle | null;
  _writeState?: Uint32Array;
  destroyed: boolean;
  on(event: 'error', listener: (e: Error) => void): unknown;
  close(): void;
}

/** Output buffer per step of the handle. */
const OUT = 256 * 1024;

export function zlibInflater(): InflateStep {
  const z = createInflateRaw() as unknown as ZlibStream;
  const handle = z._handle;
  const state = z._writeState;
  if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array)) {
    z.close();
    return fflateInflater();
  }
  // zlib reports corrupt data by destroying the stream (and emitting 'error' later): it is caught
  // here and thrown synchronously from the step instead.
  let failure: Error | null = null;
  z.on('error', (e) => (failure ??= e));
  const failed = (): Error | null => {
    if (failure || !z.destroyed) return failure;
    // Node keeps zlib's own message on the stream under a private symbol.
    const own = Object.getOwnPropertySymbols(z).find((s) => s.description === 'kError');
    const e = own ? (z as unknown as Record<symbol, unknown>)[own] : null;
    return (failure = e instanceof Error ? e : new Error('invalid deflate data'));
  };
  let ended = false;
  // Output goes into one buffer at increasing offsets (chunks handed out are disjoint views of it)
  // and a new one is taken when it is full, as Node's own sync inflate does.
  let buf = new Uint8Array(OUT);
  let off = 0;
  return (data, last) => {
    const out: Uint8Array[] = [];
    if (ended) return out;
    const flush = last ? constants.Z_FINISH : constants.Z_NO_FLUSH;
    let inOff = 0;
    let inLen = data.length;
    for (;;) {
      const room = OUT - off;
      handle.writeSync(flush, data, inOff, inLen, buf, off, room);
      const err = failed();
      if (err) throw err;
      const outLeft = state[0]!;
      const inLeft = state[1]!;
      const have = room - outLeft;
      if (have > 0) out.push(buf.subarray(off, off + have));
      off += have;
      inOff += inLen - inLeft;
      inLen = inLeft;
      if (outLeft !== 0) break;
      // The buffer is full: zlib may have more for this input.
      buf = new Uint8Array(OUT);
      off = 0;
    }
    if (last) {
      ended = true;
      z.close();
    }
    return out;
  };
}
