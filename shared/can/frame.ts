import { DecodeError } from '../errors.js';

/**
 * One classical CAN 2.0 frame (no CAN FD): 11-bit standard or 29-bit extended identifier, up to
 * 8 data bytes, or a remote frame that carries only a DLC.
 */
export interface CanFrame {
  id: number;
  extended: boolean;
  /** Remote transmission request: no data on the wire, `dlc` says how many bytes are asked for. */
  remote: boolean;
  /** Data bytes (empty for remote frames). */
  data: Uint8Array;
  /** Data length code; equals data.length for data frames. */
  dlc: number;
}

export const MAX_STANDARD_ID = 0x7ff;
export const MAX_EXTENDED_ID = 0x1fffffff;

export function dataFrame(id: number, data: Uint8Array | number[], extended = id > MAX_STANDARD_ID): CanFrame {
  const bytes = data instanceof Uint8Array ? data : Uint8Array.from(data);
  return checkFrame({ id, extended, remote: false, data: bytes, dlc: bytes.length });
}

export function remoteFrame(id: number, dlc: number, extended = id > MAX_STANDARD_ID): CanFrame {
  return checkFrame({ id, extended, remote: true, data: new Uint8Array(0), dlc });
}

/** Validates a frame's fields; a DecodeError names the first field that is out of range. */
export function checkFrame(f: CanFrame): CanFrame {
  const max = f.extended ? MAX_EXTENDED_ID : MAX_STANDARD_ID;
  if (!Number.isInteger(f.id) || f.id < 0 || f.id > max) {
    throw new DecodeError(`CAN id 0x${f.id.toString(16)} out of range for a ${f.extended ? '29' : '11'}-bit identifier`);
  }
  if (!Number.isInteger(f.dlc) || f.dlc < 0 || f.dlc > 8) throw new DecodeError(`CAN DLC ${f.dlc} out of range 0..8`);
  if (f.remote ? f.data.length !== 0 : f.data.length !== f.dlc) {
    throw new DecodeError(`CAN frame data length ${f.data.length} does not match DLC ${f.dlc}`);
  }
  return f;
}

/** candump-style id text: 3 hex digits for standard ids, 8 for extended ones. */
export function formatCanId(f: Pick<CanFrame, 'id' | 'extended'>): string {
  return f.id
    .toString(16)
    .toUpperCase()
    .padStart(f.extended ? 8 : 3, '0');
}

/** One candump line (`7E8   [8]  02 50 02 00 32 01 F4 CC`), the format bench engineers grep. */
export function formatCandump(f: CanFrame): string {
  const id = formatCanId(f);
  if (f.remote) return `${id}   [${f.dlc}]  remote request`;
  const bytes = Array.from(f.data, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
  return `${id}   [${f.dlc}]  ${bytes}`.trimEnd();
}
