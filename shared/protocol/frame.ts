import { DecodeError } from '../errors.js';
import { cobsDecode, cobsDecodePrefix, cobsEncodeInto, cobsMaxEncodedLength } from './cobs.js';
import { CRC_SIZE, HEADER_SIZE, MAX_PAYLOAD, PROTOCOL_VERSION, type MessageType } from './constants.js';
import { crc32 } from './crc32.js';
import { rd16 } from '../util/le.js';

/**
 * One native-protocol message. On the wire (PROTOCOL.md §2):
 *   COBS( version u8 | type u8 | seq u16 | cmd u16 | len u16 | payload[len] | crc32 u32 ) 0x00
 * All integers little-endian; the CRC covers header and payload.
 */
export interface Frame {
  version: number;
  type: MessageType;
  seq: number;
  cmd: number;
  payload: Uint8Array;
}

/** Encodes a frame including its trailing 0x00 delimiter. */
export function encodeFrame(f: Omit<Frame, 'version'> & { version?: number }): Uint8Array {
  if (f.payload.length > MAX_PAYLOAD) throw new RangeError(`payload too long (${f.payload.length} > ${MAX_PAYLOAD})`);
  const raw = new Uint8Array(HEADER_SIZE + f.payload.length + CRC_SIZE);
  const dv = new DataView(raw.buffer);
  raw[0] = f.version ?? PROTOCOL_VERSION;
  raw[1] = f.type;
  dv.setUint16(2, f.seq & 0xffff, true);
  dv.setUint16(4, f.cmd & 0xffff, true);
  dv.setUint16(6, f.payload.length, true);
  raw.set(f.payload, HEADER_SIZE);
  dv.setUint32(HEADER_SIZE + f.payload.length, crc32(raw.subarray(0, HEADER_SIZE + f.payload.length)), true);
  const out = new Uint8Array(cobsMaxEncodedLength(raw.length) + 1);
  const n = cobsEncodeInto(raw, out, 0);
  out[n] = 0;
  return out.subarray(0, n + 1);
}

export class CrcError extends DecodeError {
  constructor(message: string) {
    super(message);
    this.name = 'CrcError';
  }
}

/** Decodes the bytes between two delimiters. Throws CrcError or DecodeError. */
export function decodeFrame(encoded: Uint8Array): Frame {
  const raw = cobsDecode(encoded);
  if (raw.length < HEADER_SIZE + CRC_SIZE) throw new DecodeError(`frame too short (${raw.length} bytes)`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const len = dv.getUint16(6, true);
  if (raw.length !== HEADER_SIZE + len + CRC_SIZE) {
    // A length mismatch is nearly always a damaged frame; report it as a CRC failure only if the CRC also fails.
    const crcOk = raw.length >= HEADER_SIZE + CRC_SIZE && dv.getUint32(raw.length - 4, true) === crc32(raw.subarray(0, raw.length - 4));
    if (!crcOk) throw new CrcError('frame CRC mismatch');
    throw new DecodeError(`frame length field ${len} does not match frame size ${raw.length}`);
  }
  const want = dv.getUint32(HEADER_SIZE + len, true);
  if (want !== crc32(raw.subarray(0, HEADER_SIZE + len))) throw new CrcError('frame CRC mismatch');
  const type = raw[1]!;
  if (type > 3) throw new DecodeError(`unknown message type ${type}`);
  return {
    version: raw[0]!,
    type: type as MessageType,
    seq: dv.getUint16(2, true),
    cmd: dv.getUint16(4, true),
    payload: raw.slice(HEADER_SIZE, HEADER_SIZE + len),
  };
}

/**
 * What the first bytes of a damaged frame still say: its header and the start of its payload, as
 * far as they decode. Not verified by any CRC, so only a hint: a receiver may ask again for what
 * the frame seems to have carried (a bulk chunk, PROTOCOL.md §6.3 BULK_NAK), never act on its content.
 */
export interface DamagedHead {
  type: number;
  seq: number;
  cmd: number;
  /** Up to the first 16 payload bytes. */
  payload: Uint8Array;
}

/** The header of a damaged frame (its encoded bytes between delimiters), or null when even that did not survive. */
export function salvageHead(encoded: Uint8Array): DamagedHead | null {
  const raw = cobsDecodePrefix(encoded, HEADER_SIZE + 16);
  if (raw.length < HEADER_SIZE || raw[0] !== PROTOCOL_VERSION || raw[1]! > 3) return null;
  return { type: raw[1]!, seq: rd16(raw, 2), cmd: rd16(raw, 4), payload: raw.slice(HEADER_SIZE) };
}

export interface FrameDecoderStats {
  frames: number;
  crcErrors: number;
  decodeErrors: number;
  bytes: number;
}

/**
 * Streaming decoder: feed it any chunking of the byte stream; it emits whole frames and resyncs at
 * the next 0x00 after garbage, a dropped byte or a corrupted one. Errors are counted, never thrown.
 */
export class FrameDecoder {
  readonly stats: FrameDecoderStats = { frames: 0, crcErrors: 0, decodeErrors: 0, bytes: 0 };
  private buf: Uint8Array;
  private len = 0;
  private overflow = false;
  private readonly maxEncoded = cobsMaxEncodedLength(HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE);

  constructor(
    private readonly onFrame: (frame: Frame) => void,
    /** A dropped frame: why, and what its first bytes still say (null: nothing readable, or too long). */
    private readonly onError?: (error: DecodeError, head: DamagedHead | null) => void,
  ) {
    this.buf = new Uint8Array(8192);
  }

  push(chunk: Uint8Array): void {
    this.stats.bytes += chunk.length;
    let start = 0;
    for (;;) {
      const z = chunk.indexOf(0, start);
      const end = z < 0 ? chunk.length : z;
      this.append(chunk.subarray(start, end));
      if (z < 0) return;
      this.finishFrame();
      start = z + 1;
    }
  }

  /** Drops any partial frame (after a reconnect). */
  reset(): void {
    this.len = 0;
    this.overflow = false;
  }

  private append(part: Uint8Array): void {
    if (part.length === 0 || this.overflow) return;
    if (this.len + part.length > this.maxEncoded) {
      this.overflow = true;
      return;
    }
    if (this.len + part.length > this.buf.length) {
      const next = new Uint8Array(Math.min(this.maxEncoded, Math.max(this.buf.length * 2, this.len + part.length)));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(part, this.len);
    this.len += part.length;
  }

  private finishFrame(): void {
    const len = this.len;
    const overflow = this.overflow;
    this.len = 0;
    this.overflow = false;
    if (overflow) {
      this.fail(new DecodeError('frame longer than the protocol allows'), null);
      return;
    }
    if (len === 0) return; // back-to-back delimiters are idle fill
    let frame: Frame;
    try {
      frame = decodeFrame(this.buf.subarray(0, len));
    } catch (e) {
      this.fail(e instanceof DecodeError ? e : new DecodeError(String(e)), this.onError ? salvageHead(this.buf.subarray(0, len)) : null);
      return;
    }
    this.stats.frames++;
    this.onFrame(frame);
  }

  private fail(e: DecodeError, head: DamagedHead | null): void {
    if (e instanceof CrcError) this.stats.crcErrors++;
    else this.stats.decodeErrors++;
    this.onError?.(e, head);
  }
}
