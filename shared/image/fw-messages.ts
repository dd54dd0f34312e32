import { DecodeError } from '../errors.js';
import { utf8Decode, utf8Encode } from '../util/bytes.js';

/**
 * Native firmware commands (0x03xx; PROTOCOL.md "Firmware"). Small requests are fixed binary
 * layouts; the status and verdict documents are UTF-8 JSON validated by the receiver
 * (FwStatusSchema), because they are read rarely and grow new fields.
 */
export const FW_CMD = {
  STATUS: 0x0300,
  BEGIN: 0x0301,
  HASHES: 0x0302,
  FINISH: 0x0303,
  TEST: 0x0304,
  CONFIRM: 0x0305,
  REVERT: 0x0306,
  RESET: 0x0307,
  /** The release bundle the next install belongs to (sequence, metadata digest): signed into the board's update records. */
  RELEASE: 0x0308,
} as const;

/**
 * Every firmware request starts with a 4-byte request id chosen at random by the host. A retry
 * repeats it (so the board's replay cache, PROTOCOL.md §3.3, answers a retried request without
 * running it twice), while a new request never matches an answer cached for an earlier
 * connection that happened to use the same sequence number.
 */
export const REQUEST_ID_SIZE = 4;

export function withRequestId(body: Uint8Array, id: number): Uint8Array {
  const out = new Uint8Array(REQUEST_ID_SIZE + body.length);
  new DataView(out.buffer).setUint32(0, id >>> 0, true);
  out.set(body, REQUEST_ID_SIZE);
  return out;
}

/** The request body after its request id. */
export function requestBody(payload: Uint8Array): Uint8Array {
  if (payload.length < REQUEST_ID_SIZE) throw new DecodeError(`firmware request without its ${REQUEST_ID_SIZE}-byte request id`);
  return payload.subarray(REQUEST_ID_SIZE);
}

/** Most hashes one FW_HASHES answer carries (32 bytes each, under the 16 KiB payload limit). */
export const FW_MAX_HASHES = 256;

export function encodeHashesRequest(r: { offset: number; length: number; granule: number }): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint32(0, r.offset, true);
  v.setUint32(4, r.length, true);
  v.setUint32(8, r.granule, true);
  return b;
}

export function decodeHashesRequest(b: Uint8Array): { offset: number; length: number; granule: number } {
  if (b.length !== 12) throw new DecodeError(`FW_HASHES request must be 12 bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, 12);
  const r = { offset: v.getUint32(0, true), length: v.getUint32(4, true), granule: v.getUint32(8, true) };
  if (r.granule < 256 || Math.ceil(r.length / r.granule) > FW_MAX_HASHES) {
    throw new DecodeError(`FW_HASHES: granule ${r.granule} and length ${r.length} give more than ${FW_MAX_HASHES} hashes (granule ≥ 256)`);
  }
  return r;
}

export function decodeHashesResponse(b: Uint8Array, expected: number): Uint8Array[] {
  if (b.length !== expected * 32) throw new DecodeError(`FW_HASHES answer holds ${b.length} bytes, expected ${expected * 32}`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < expected; i++) out.push(b.slice(i * 32, i * 32 + 32));
  return out;
}

export function encodeJson(value: unknown): Uint8Array {
  return utf8Encode(JSON.stringify(value));
}

export function decodeJson(b: Uint8Array): unknown {
  try {
    return JSON.parse(utf8Decode(b));
  } catch {
    throw new DecodeError('firmware response is not valid UTF-8 JSON');
  }
}

/** Refusals travel as ERROR REFUSED with the message "<reason>: <sentence>". */
export function refusalMessage(reason: string, message: string): string {
  return `${reason}: ${message}`;
}

export function parseRefusal(message: string): { reason: string | null; message: string } {
  const m = /^([a-z_]+): (.*)$/s.exec(message);
  return m ? { reason: m[1]!, message: m[2]! } : { reason: null, message };
}
