import { DecodeError } from '../errors.js';
import { checkFrame, type CanFrame } from './frame.js';

/**
 * SLCAN: the Lawicel CAN232/CANUSB ASCII protocol that CANable-class adapters speak over USB CDC.
 * Commands and replies are ASCII lines ending in CR (0x0D); an adapter rejects a command with BELL
 * (0x07) instead of CR. Both directions are typed here: the host encodes commands and decodes
 * replies, the simulated adapter does the reverse, so each side is tested against the other.
 */
export const CR = 0x0d;
export const BELL = 0x07;

/** `S0`..`S8` bitrates, in bit/s. */
export const SLCAN_BITRATES = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000] as const;

export function bitrateCode(bitrate: number): number {
  const i = SLCAN_BITRATES.indexOf(bitrate as (typeof SLCAN_BITRATES)[number]);
  if (i < 0) throw new DecodeError(`bitrate ${bitrate} is not an SLCAN standard rate (${SLCAN_BITRATES.join(', ')})`);
  return i;
}

/** Bits of the `F` status reply (Lawicel CAN232 manual). */
export const SLCAN_STATUS_FLAGS = [
  'rx_fifo_full',
  'tx_fifo_full',
  'error_warning',
  'data_overrun',
  'reserved',
  'error_passive',
  'arbitration_lost',
  'bus_error',
] as const;
export type SlcanStatusFlag = (typeof SLCAN_STATUS_FLAGS)[number];

export type SlcanCommand =
  | { kind: 'bitrate'; code: number }
  | { kind: 'btr'; btr0: number; btr1: number }
  | { kind: 'open' }
  | { kind: 'listen' }
  | { kind: 'close' }
  | { kind: 'transmit'; frame: CanFrame }
  | { kind: 'status' }
  | { kind: 'version' }
  | { kind: 'serial' }
  | { kind: 'timestamps'; on: boolean }
  | { kind: 'acceptanceCode'; value: number }
  | { kind: 'acceptanceMask'; value: number };

export type SlcanReply =
  /** Bare CR: the command was accepted. */
  | { kind: 'ok' }
  /** `z`/`Z`: a transmit command was accepted (standard / extended). */
  | { kind: 'txOk'; extended: boolean }
  /** BELL: the command was refused (bad syntax, channel closed, FIFO full). */
  | { kind: 'error' }
  | { kind: 'frame'; frame: CanFrame; /** ms, 0..59999, when the adapter's timestamps are on. */ timestamp?: number }
  | { kind: 'status'; flags: number }
  | { kind: 'version'; hardware: number; software: number }
  | { kind: 'serial'; serial: string };

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');

function encodeFrameText(f: CanFrame): string {
  checkFrame(f);
  const letter = f.remote ? (f.extended ? 'R' : 'r') : f.extended ? 'T' : 't';
  let s = letter + hex(f.id, f.extended ? 8 : 3) + f.dlc.toString();
  if (!f.remote) for (const b of f.data) s += hex(b, 2);
  return s;
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function withCr(s: string): Uint8Array {
  return ascii(s + '\r');
}

export function encodeCommand(c: SlcanCommand): Uint8Array {
  switch (c.kind) {
    case 'bitrate':
      if (!Number.isInteger(c.code) || c.code < 0 || c.code > 8) throw new DecodeError(`SLCAN bitrate code ${c.code} out of range 0..8`);
      return withCr(`S${c.code}`);
    case 'btr':
      return withCr(`s${hex(c.btr0 & 0xff, 2)}${hex(c.btr1 & 0xff, 2)}`);
    case 'open':
      return withCr('O');
    case 'listen':
      return withCr('L');
    case 'close':
      return withCr('C');
    case 'transmit':
      return withCr(encodeFrameText(c.frame));
    case 'status':
      return withCr('F');
    case 'version':
      return withCr('V');
    case 'serial':
      return withCr('N');
    case 'timestamps':
      return withCr(`Z${c.on ? 1 : 0}`);
    case 'acceptanceCode':
      return withCr(`M${hex(c.value >>> 0, 8)}`);
    case 'acceptanceMask':
      return withCr(`m${hex(c.value >>> 0, 8)}`);
  }
}

export function encodeReply(r: SlcanReply): Uint8Array {
  switch (r.kind) {
    case 'ok':
      return Uint8Array.of(CR);
    case 'txOk':
      return withCr(r.extended ? 'Z' : 'z');
    case 'error':
      return Uint8Array.of(BELL);
    case 'frame': {
      let s = encodeFrameText(r.frame);
      if (r.timestamp !== undefined) {
        if (!Number.isInteger(r.timestamp) || r.timestamp < 0 || r.timestamp > 0xffff) throw new DecodeError(`SLCAN timestamp ${r.timestamp} out of range`);
        s += hex(r.timestamp, 4);
      }
      return withCr(s);
    }
    case 'status':
      return withCr(`F${hex(r.flags & 0xff, 2)}`);
    case 'version':
      return withCr(`V${hex(r.hardware & 0xff, 2)}${hex(r.software & 0xff, 2)}`);
    case 'serial':
      if (!/^[0-9A-Za-z]{4}$/.test(r.serial)) throw new DecodeError(`SLCAN serial '${r.serial}' must be 4 alphanumerics`);
      return withCr(`N${r.serial}`);
  }
}

function parseHex(text: string, what: string): number {
  if (text.length === 0 || !/^[0-9A-Fa-f]+$/.test(text)) throw new DecodeError(`SLCAN ${what}: '${text}' is not hex`);
  return parseInt(text, 16);
}

/** Parses the body of a t/T/r/R line; `allowTimestamp` for adapter → host lines. */
function decodeFrameText(line: string, allowTimestamp: boolean): { frame: CanFrame; timestamp?: number } {
  const letter = line[0];
  const extended = letter === 'T' || letter === 'R';
  const remote = letter === 'r' || letter === 'R';
  const idLen = extended ? 8 : 3;
  if (line.length < 1 + idLen + 1) throw new DecodeError(`SLCAN frame '${line}' is too short`);
  const id = parseHex(line.slice(1, 1 + idLen), 'identifier');
  const dlcChar = line[1 + idLen]!;
  if (!/^[0-8]$/.test(dlcChar)) throw new DecodeError(`SLCAN frame '${line}': DLC '${dlcChar}' is not 0..8`);
  const dlc = Number(dlcChar);
  const bodyStart = 2 + idLen;
  const dataLen = remote ? 0 : 2 * dlc;
  const rest = line.length - bodyStart - dataLen;
  if (rest !== 0 && !(allowTimestamp && rest === 4)) {
    throw new DecodeError(`SLCAN frame '${line}': expected ${dataLen} data characters for DLC ${dlc}`);
  }
  const data = new Uint8Array(remote ? 0 : dlc);
  for (let i = 0; i < data.length; i++) data[i] = parseHex(line.slice(bodyStart + 2 * i, bodyStart + 2 * i + 2), 'data byte');
  const frame = checkFrame({ id, extended, remote, data, dlc });
  if (rest === 4) return { frame, timestamp: parseHex(line.slice(bodyStart + dataLen), 'timestamp') };
  return { frame };
}

/** Decodes one host → adapter command line (without its CR). */
export function decodeCommand(line: string): SlcanCommand {
  const c = line[0];
  const arg = line.slice(1);
  const noArg = (cmd: SlcanCommand): SlcanCommand => {
    if (arg.length) throw new DecodeError(`SLCAN command '${line}' takes no argument`);
    return cmd;
  };
  switch (c) {
    case 'S':
      if (!/^[0-8]$/.test(arg)) throw new DecodeError(`SLCAN bitrate command '${line}': expected S0..S8`);
      return { kind: 'bitrate', code: Number(arg) };
    case 's':
      if (arg.length !== 4) throw new DecodeError(`SLCAN BTR command '${line}': expected sxxyy`);
      return { kind: 'btr', btr0: parseHex(arg.slice(0, 2), 'BTR0'), btr1: parseHex(arg.slice(2), 'BTR1') };
    case 'O':
      return noArg({ kind: 'open' });
    case 'L':
      return noArg({ kind: 'listen' });
    case 'C':
      return noArg({ kind: 'close' });
    case 'F':
      return noArg({ kind: 'status' });
    case 'V':
      return noArg({ kind: 'version' });
    case 'N':
      return noArg({ kind: 'serial' });
    case 'Z':
      if (arg !== '0' && arg !== '1') throw new DecodeError(`SLCAN timestamp command '${line}': expected Z0 or Z1`);
      return { kind: 'timestamps', on: arg === '1' };
    case 'M':
    case 'm':
      if (arg.length !== 8) throw new DecodeError(`SLCAN acceptance command '${line}': expected 8 hex digits`);
      return { kind: c === 'M' ? 'acceptanceCode' : 'acceptanceMask', value: parseHex(arg, 'acceptance value') };
    case 't':
    case 'T':
    case 'r':
    case 'R':
      return { kind: 'transmit', frame: decodeFrameText(line, false).frame };
    default:
      throw new DecodeError(`SLCAN: unknown command '${line.slice(0, 16)}'`);
  }
}

/** Decodes one adapter → host line (without its CR). */
export function decodeReply(line: string): SlcanReply {
  if (line === '') return { kind: 'ok' };
  const c = line[0];
  const arg = line.slice(1);
  switch (c) {
    case 'z':
    case 'Z':
      if (arg.length) throw new DecodeError(`SLCAN reply '${line}' is not a transmit acknowledgement`);
      return { kind: 'txOk', extended: c === 'Z' };
    case 'F':
      if (arg.length !== 2) throw new DecodeError(`SLCAN status reply '${line}': expected Fxx`);
      return { kind: 'status', flags: parseHex(arg, 'status flags') };
    case 'V':
      if (arg.length !== 4) throw new DecodeError(`SLCAN version reply '${line}': expected Vhhss`);
      return { kind: 'version', hardware: parseHex(arg.slice(0, 2), 'hardware version'), software: parseHex(arg.slice(2), 'software version') };
    case 'N':
      if (!/^[0-9A-Za-z]{4}$/.test(arg)) throw new DecodeError(`SLCAN serial reply '${line}': expected N + 4 characters`);
      return { kind: 'serial', serial: arg };
    case 't':
    case 'T':
    case 'r':
    case 'R': {
      const { frame, timestamp } = decodeFrameText(line, true);
      return timestamp === undefined ? { kind: 'frame', frame } : { kind: 'frame', frame, timestamp };
    }
    default:
      throw new DecodeError(`SLCAN: unexpected reply '${line.slice(0, 32)}'`);
  }
}

/** The longest line either side ever sends (extended frame + 8 bytes + timestamp) with slack. */
export const MAX_LINE = 64;

/**
 * Splits a byte stream into lines at CR or BELL. Feeding arbitrary bytes never throws: a line that
 * does not decode reaches `onError` as a DecodeError and the stream carries on with the next line,
 * as a real adapter resynchronises at the next CR.
 */
export class SlcanLineSplitter<T> {
  private buf = '';
  private overlong = false;
  constructor(
    private decode: (line: string) => T,
    private onItem: (item: T) => void,
    private onError: (e: DecodeError) => void,
    /** What a bare BELL means in this direction (adapter → host: the 'error' reply). */
    private onBell: () => void,
  ) {}

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === CR || b === BELL) {
        const line = this.buf;
        const wasOverlong = this.overlong;
        this.buf = '';
        this.overlong = false;
        if (wasOverlong) {
          this.onError(new DecodeError(`SLCAN line longer than ${MAX_LINE} characters discarded`));
        } else if (b === BELL) {
          if (line.length) this.onError(new DecodeError(`SLCAN: '${line.slice(0, 32)}' cut short by BELL`));
          this.onBell();
        } else {
          let item: T;
          try {
            item = this.decode(line);
          } catch (e) {
            this.onError(e instanceof DecodeError ? e : new DecodeError(String(e)));
            continue;
          }
          this.onItem(item);
        }
        continue;
      }
      if (b === 0x0a) continue; // tolerate CRLF from some firmwares
      if (this.buf.length >= MAX_LINE) {
        this.overlong = true;
        continue;
      }
      this.buf += String.fromCharCode(b);
    }
  }
}
