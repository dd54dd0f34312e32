import type { CanFrame } from './frame.js';

/**
 * How long a classical CAN frame occupies the bus, in bit times. The simulated bus paces frames with
 * the exact figure (bit stuffing computed over the real SOF..CRC bit sequence); the host and the
 * benchmark use the nominal figure for ceilings, which is the common convention: an 8-byte
 * standard data frame is 111 bits (108-bit frame + 3-bit interframe space) before stuffing.
 *
 * Fixed tail after the stuffed part: CRC delimiter, ACK slot, ACK delimiter, 7-bit EOF, 3-bit IFS.
 */
const TAIL_BITS = 1 + 1 + 1 + 7 + 3;

/** Frame bits (including the 3-bit interframe space), without stuff bits. */
export function nominalFrameBits(f: Pick<CanFrame, 'extended' | 'remote' | 'dlc'>): number {
  const dataBits = f.remote ? 0 : 8 * Math.min(8, f.dlc);
  // SOF + arbitration (11 id + RTR, or 11 + SRR + IDE + 18 + RTR) + control (IDE/r0 + DLC or r1 r0 + DLC)
  const head = f.extended ? 1 + 11 + 1 + 1 + 18 + 1 + 2 + 4 : 1 + 11 + 1 + 1 + 1 + 4;
  return head + dataBits + 15 + TAIL_BITS;
}

/** The worst case: one stuff bit per 4 bits of the stuffable region after the first. */
export function worstCaseFrameBits(f: Pick<CanFrame, 'extended' | 'remote' | 'dlc'>): number {
  const stuffable = nominalFrameBits(f) - TAIL_BITS;
  return nominalFrameBits(f) + Math.floor((stuffable - 1) / 4);
}

/** CAN CRC-15 (polynomial 0x4599) over a bit sequence. */
function crc15(bits: number[]): number {
  let crc = 0;
  for (const b of bits) {
    const next = b ^ ((crc >> 14) & 1);
    crc = (crc << 1) & 0x7fff;
    if (next) crc ^= 0x4599;
  }
  return crc;
}

function pushBits(out: number[], value: number, width: number): void {
  for (let i = width - 1; i >= 0; i--) out.push(Math.floor(value / 2 ** i) % 2);
}

/** The unstuffed bit sequence SOF..CRC exactly as the controller sends it. */
export function frameBitSequence(f: CanFrame): number[] {
  const bits: number[] = [0]; // SOF (dominant)
  if (f.extended) {
    pushBits(bits, f.id >>> 18, 11); // base id
    bits.push(1, 1); // SRR, IDE (recessive)
    pushBits(bits, f.id & 0x3ffff, 18);
    bits.push(f.remote ? 1 : 0, 0, 0); // RTR, r1, r0
  } else {
    pushBits(bits, f.id, 11);
    bits.push(f.remote ? 1 : 0, 0, 0); // RTR, IDE, r0
  }
  pushBits(bits, f.dlc, 4);
  if (!f.remote) for (const b of f.data) pushBits(bits, b, 8);
  pushBits(bits, crc15(bits), 15);
  return bits;
}

/** Stuff bits the controller inserts: one after every five equal consecutive bits (stuff bits count). */
export function stuffBitCount(bits: number[]): number {
  let count = 0;
  let run = 0;
  let last = -1;
  for (const b of bits) {
    if (b === last) run++;
    else {
      run = 1;
      last = b;
    }
    if (run === 5) {
      count++;
      // The stuff bit has the opposite level and starts a new run of one.
      last = 1 - b;
      run = 1;
    }
  }
  return count;
}

/** Exact bus time of this frame in bits, stuffing included, interframe space included. */
export function exactFrameBits(f: CanFrame): number {
  return nominalFrameBits(f) + stuffBitCount(frameBitSequence(f));
}

/**
 * The ISO-TP payload ceiling at a bitrate, in bytes/s: consecutive frames carry 7 payload bytes in an
 * 8-byte standard frame (nominal 111 bits). The benchmark's ratio is measured against this.
 */
export function isoTpCeiling(bitrate: number): number {
  return (7 * bitrate) / nominalFrameBits({ extended: false, remote: false, dlc: 8 });
}
