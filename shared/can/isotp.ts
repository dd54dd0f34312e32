import { DecodeError, PackscopeError } from '../errors.js';
import type { AbortLike, Clock } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';

/**
 * ISO-TP (ISO 15765-2) on classical CAN with normal addressing: single, first, consecutive and
 * flow-control frames; block size and STmin in both directions; N_Bs / N_Cr timeouts; padding;
 * messages up to 4095 bytes, and longer ones with the 32-bit first-frame length of ISO 15765-2:2016
 * (FF_DL escape) when the receiver accepts them (its `maxLength`). The codec is pure; `IsoTpEndpoint` is the sender and receiver state
 * machine, driven by frames handed to it and a Clock (shared/util/clock.ts), so the host, the simulated ECU and the
 * unit tests (on a virtual clock) all run the same code.
 */
/** Largest message with a 12-bit first-frame length (ISO 15765-2:2004). */
export const ISOTP_MAX_LENGTH = 4095;
/** Largest message this implementation sends or accepts with the 32-bit escape (1 MiB: ECU RAM sizes). */
export const ISOTP_MAX_ESCAPED_LENGTH = 1 << 20;

export type FlowStatus = 'continue' | 'wait' | 'overflow';

export type IsoTpPdu =
  | { type: 'single'; data: Uint8Array }
  | { type: 'first'; length: number; data: Uint8Array }
  | { type: 'consecutive'; sn: number; data: Uint8Array }
  | { type: 'flow'; status: FlowStatus; blockSize: number; stMin: number };

/** STmin byte → microseconds: 0x00–0x7F ms, 0xF1–0xF9 100–900 µs; reserved values mean 127 ms (ISO 15765-2 9.6.5.4). */
export function decodeStMin(raw: number): number {
  if (raw >= 0 && raw <= 0x7f) return raw * 1000;
  if (raw >= 0xf1 && raw <= 0xf9) return (raw - 0xf0) * 100;
  return 127_000;
}

/** Microseconds → the smallest STmin byte that is at least that long. */
export function encodeStMin(micros: number): number {
  if (!(micros > 0)) return 0;
  if (micros <= 900) return 0xf0 + Math.ceil(micros / 100);
  return Math.min(0x7f, Math.ceil(micros / 1000));
}

const FLOW_CODES: Record<FlowStatus, number> = { continue: 0, wait: 1, overflow: 2 };

/** Encodes one PDU into a CAN payload, padded to 8 bytes with `padding` unless it is null. */
export function encodePdu(pdu: IsoTpPdu, padding: number | null = 0xcc): Uint8Array {
  let body: number[];
  switch (pdu.type) {
    case 'single':
      if (pdu.data.length < 1 || pdu.data.length > 7) throw new DecodeError(`ISO-TP single frame carries 1..7 bytes, not ${pdu.data.length}`);
      body = [pdu.data.length, ...pdu.data];
      break;
    case 'first':
      if (!Number.isInteger(pdu.length) || pdu.length < 8 || pdu.length > 0xffffffff)
        throw new DecodeError(`ISO-TP first frame length ${pdu.length} out of range`);
      if (pdu.length <= ISOTP_MAX_LENGTH) {
        if (pdu.data.length !== 6) throw new DecodeError('ISO-TP first frame carries exactly 6 bytes');
        body = [0x10 | (pdu.length >> 8), pdu.length & 0xff, ...pdu.data];
      } else {
        // FF_DL escape: 12-bit length 0, then the length in 32 bits; 2 data bytes remain.
        if (pdu.data.length !== 2) throw new DecodeError('ISO-TP first frame with a 32-bit length carries exactly 2 bytes');
        body = [0x10, 0x00, (pdu.length >>> 24) & 0xff, (pdu.length >>> 16) & 0xff, (pdu.length >>> 8) & 0xff, pdu.length & 0xff, ...pdu.data];
      }
      break;
    case 'consecutive':
      if (pdu.data.length < 1 || pdu.data.length > 7) throw new DecodeError(`ISO-TP consecutive frame carries 1..7 bytes, not ${pdu.data.length}`);
      body = [0x20 | (pdu.sn & 0x0f), ...pdu.data];
      break;
    case 'flow':
      body = [0x30 | FLOW_CODES[pdu.status], pdu.blockSize & 0xff, pdu.stMin & 0xff];
      break;
  }
  const out = new Uint8Array(padding === null ? body.length : 8);
  if (padding !== null) out.fill(padding);
  out.set(body);
  return out;
}

/** Decodes a CAN payload as an ISO-TP PDU (consecutive frames keep their padding; the receiver trims). */
export function decodePdu(data: Uint8Array): IsoTpPdu {
  if (data.length === 0) throw new DecodeError('ISO-TP: empty CAN frame');
  if (data.length > 8) throw new DecodeError(`ISO-TP: CAN payload of ${data.length} bytes (classical CAN has 8 at most)`);
  const pci = data[0]! >> 4;
  switch (pci) {
    case 0: {
      const len = data[0]! & 0x0f;
      if (len === 0) throw new DecodeError('ISO-TP single frame with length 0 (CAN FD escape is not supported on classical CAN)');
      if (len > 7 || len > data.length - 1) throw new DecodeError(`ISO-TP single frame length ${len} exceeds its ${data.length - 1} data bytes`);
      return { type: 'single', data: data.slice(1, 1 + len) };
    }
    case 1: {
      if (data.length < 8) throw new DecodeError(`ISO-TP first frame must fill the CAN frame (got ${data.length} bytes)`);
      const length = ((data[0]! & 0x0f) << 8) | data[1]!;
      if (length === 0) {
        const long = ((data[2]! << 24) >>> 0) + (data[3]! << 16) + (data[4]! << 8) + data[5]!;
        if (long <= ISOTP_MAX_LENGTH) throw new DecodeError(`ISO-TP first frame uses the 32-bit length for ${long} bytes (only for more than 4095)`);
        return { type: 'first', length: long, data: data.slice(6, 8) };
      }
      if (length < 8) throw new DecodeError(`ISO-TP first frame announces ${length} bytes (a single frame would do)`);
      return { type: 'first', length, data: data.slice(2, 8) };
    }
    case 2:
      if (data.length < 2) throw new DecodeError('ISO-TP consecutive frame without data');
      return { type: 'consecutive', sn: data[0]! & 0x0f, data: data.slice(1) };
    case 3: {
      const fs = data[0]! & 0x0f;
      if (fs > 2) throw new DecodeError(`ISO-TP flow control with reserved flow status ${fs}`);
      if (data.length < 3) throw new DecodeError('ISO-TP flow control frame shorter than 3 bytes');
      const status: FlowStatus = fs === 0 ? 'continue' : fs === 1 ? 'wait' : 'overflow';
      return { type: 'flow', status, blockSize: data[1]!, stMin: data[2]! };
    }
    default:
      throw new DecodeError(`ISO-TP: unknown frame type 0x${pci.toString(16)}`);
  }
}

/** Why a transfer failed, with the ISO 15765-2 result name so logs match the standard's terms. */
export type IsoTpFailure = 'N_WRONG_SN' | 'N_TIMEOUT_Bs' | 'N_TIMEOUT_Cr' | 'N_BUFFER_OVFLW' | 'N_WFT_OVRN' | 'N_UNEXP_PDU' | 'N_INVALID_FS' | 'N_ABORTED';

export class IsoTpError extends PackscopeError {
  constructor(
    readonly failure: IsoTpFailure,
    message: string,
  ) {
    super(failure.startsWith('N_TIMEOUT') ? 'TIMEOUT' : failure === 'N_ABORTED' ? 'CANCELLED' : 'PROTOCOL', `ISO-TP ${failure}: ${message}`);
    this.name = 'IsoTpError';
  }
}

export interface IsoTpOptions {
  /** Padding byte for frames shorter than 8 bytes, or null to send minimal DLCs. */
  padding?: number | null;
  /** Block size we ask the peer to use when we receive (0 = no further flow control). */
  blockSize?: number;
  /** STmin byte we ask the peer to use when we receive. */
  stMin?: number;
  /** Sender: time to wait for a flow control frame (N_Bs). */
  nBsMs?: number;
  /** Receiver: time to wait for the next consecutive frame (N_Cr). */
  nCrMs?: number;
  /** Sender: flow-control WAIT frames accepted in a row before giving up (N_WFTmax). */
  maxWaitFrames?: number;
  /** Largest message we accept as receiver. */
  maxLength?: number;
}

interface RxState {
  buf: Uint8Array;
  filled: number;
  nextSn: number;
  blockLeft: number;
  cancelTimer: () => void;
}

interface TxWait {
  resolve: (fc: { blockSize: number; stMin: number }) => void;
  reject: (e: Error) => void;
  /** A WAIT flow control: N_Bs starts again and the wait stays armed for the next one. */
  waited: () => void;
}

/**
 * One ISO-TP connection (a transmit id and a receive id). `handleFrame` is fed every CAN payload
 * addressed to us; `send` transmits a message and resolves once its last frame was handed to
 * `sendFrame`. Received messages and receive errors go to the listeners.
 */
export class IsoTpEndpoint {
  readonly padding: number | null;
  readonly opts: Required<Omit<IsoTpOptions, 'padding'>>;
  private rx: RxState | null = null;
  private txWait: TxWait | null = null;
  private txBusy = false;
  private messageEvents = new Emitter<Uint8Array>();
  private errorEvents = new Emitter<IsoTpError>();

  constructor(
    private sendFrame: (data: Uint8Array) => Promise<void> | void,
    private clock: Clock,
    options: IsoTpOptions = {},
  ) {
    this.padding = options.padding === undefined ? 0xcc : options.padding;
    this.opts = {
      blockSize: options.blockSize ?? 0,
      stMin: options.stMin ?? 0,
      nBsMs: options.nBsMs ?? 1000,
      nCrMs: options.nCrMs ?? 1000,
      maxWaitFrames: options.maxWaitFrames ?? 10,
      maxLength: options.maxLength ?? ISOTP_MAX_LENGTH,
    };
  }

  onMessage(listener: (msg: Uint8Array) => void): () => void {
    return this.messageEvents.on(listener);
  }

  onError(listener: (e: IsoTpError) => void): () => void {
    return this.errorEvents.on(listener);
  }

  /** Feeds one received CAN payload. Undecodable frames are ignored, as ISO 15765-2 requires. */
  handleFrame(data: Uint8Array): void {
    let pdu: IsoTpPdu;
    try {
      pdu = decodePdu(data);
    } catch {
      return;
    }
    switch (pdu.type) {
      case 'flow':
        this.onFlow(pdu);
        return;
      case 'single':
        if (this.rx) this.failRx(new IsoTpError('N_UNEXP_PDU', 'single frame arrived during a segmented reception; the old message is dropped'));
        this.deliver(pdu.data);
        return;
      case 'first':
        this.onFirst(pdu.length, pdu.data);
        return;
      case 'consecutive':
        this.onConsecutive(pdu.sn, pdu.data);
        return;
    }
  }

  private deliver(msg: Uint8Array): void {
    this.messageEvents.emit(msg);
  }

  private failRx(e: IsoTpError): void {
    if (this.rx) {
      this.rx.cancelTimer();
      this.rx = null;
    }
    this.errorEvents.emit(e);
  }

  private armCr(): () => void {
    return this.clock.after(this.opts.nCrMs, () => this.failRx(new IsoTpError('N_TIMEOUT_Cr', `no consecutive frame within ${this.opts.nCrMs} ms (N_Cr)`)));
  }

  private sendFlow(status: FlowStatus): void {
    const frame = encodePdu({ type: 'flow', status, blockSize: this.opts.blockSize, stMin: this.opts.stMin }, this.padding);
    void Promise.resolve(this.sendFrame(frame)).catch(() => undefined);
  }

  private onFirst(length: number, data: Uint8Array): void {
    if (this.rx) this.failRx(new IsoTpError('N_UNEXP_PDU', 'first frame arrived during a segmented reception; the old message is dropped'));
    if (length > this.opts.maxLength) {
      this.sendFlow('overflow');
      this.errorEvents.emit(new IsoTpError('N_BUFFER_OVFLW', `peer announced ${length} bytes, more than the ${this.opts.maxLength} accepted`));
      return;
    }
    const buf = new Uint8Array(length);
    buf.set(data);
    this.rx = { buf, filled: data.length, nextSn: 1, blockLeft: this.opts.blockSize, cancelTimer: this.armCr() };
    this.sendFlow('continue');
  }

  private onConsecutive(sn: number, data: Uint8Array): void {
    const rx = this.rx;
    if (!rx) return; // not receiving: ignore (ISO 15765-2)
    rx.cancelTimer();
    if (sn !== rx.nextSn) {
      this.failRx(new IsoTpError('N_WRONG_SN', `wrong sequence number: expected ${rx.nextSn}, got ${sn} after ${rx.filled} of ${rx.buf.length} bytes`));
      return;
    }
    const take = Math.min(7, rx.buf.length - rx.filled, data.length);
    rx.buf.set(data.subarray(0, take), rx.filled);
    rx.filled += take;
    rx.nextSn = (rx.nextSn + 1) & 0x0f;
    if (rx.filled >= rx.buf.length) {
      this.rx = null;
      this.deliver(rx.buf);
      return;
    }
    rx.cancelTimer = this.armCr();
    if (this.opts.blockSize > 0 && --rx.blockLeft === 0) {
      rx.blockLeft = this.opts.blockSize;
      this.sendFlow('continue');
    }
  }

  private onFlow(pdu: { status: FlowStatus; blockSize: number; stMin: number }): void {
    const w = this.txWait;
    if (!w) return; // unexpected flow control: ignore
    if (pdu.status === 'overflow') {
      this.txWait = null;
      w.reject(new IsoTpError('N_BUFFER_OVFLW', 'the receiver reported a buffer overflow (message too long for it)'));
      return;
    }
    if (pdu.status === 'wait') {
      // Stays armed: the clear-to-send may follow in the same read from the adapter, before any
      // continuation of the sender could arm a new wait, and would otherwise be ignored.
      w.waited();
      return;
    }
    this.txWait = null;
    w.resolve({ blockSize: pdu.blockSize, stMin: pdu.stMin });
  }

  /**
   * Waits for a flow control (CTS), honouring WAIT frames up to N_WFTmax; each wait restarts N_Bs.
   * One armed wait handles the WAITs and the CTS synchronously, as they arrive.
   */
  private awaitFlow(signal?: AbortLike): Promise<{ blockSize: number; stMin: number }> {
    return new Promise<{ blockSize: number; stMin: number }>((resolve, reject) => {
      let waits = 0;
      const timeout = () => me.reject(new IsoTpError('N_TIMEOUT_Bs', `no flow control from the receiver within ${this.opts.nBsMs} ms (N_Bs)`));
      let cancel = this.clock.after(this.opts.nBsMs, timeout);
      const finish = () => {
        cancel();
        signal?.removeEventListener('abort', onAbort);
        if (this.txWait === me) this.txWait = null;
      };
      const me: TxWait = {
        resolve: (v) => {
          finish();
          resolve(v);
        },
        reject: (e) => {
          finish();
          reject(e);
        },
        waited: () => {
          if (++waits > this.opts.maxWaitFrames) {
            me.reject(new IsoTpError('N_WFT_OVRN', `receiver sent more than ${this.opts.maxWaitFrames} WAIT flow controls in a row`));
            return;
          }
          cancel();
          cancel = this.clock.after(this.opts.nBsMs, timeout);
        },
      };
      const onAbort = () => me.reject(new IsoTpError('N_ABORTED', 'transfer cancelled'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.txWait = me;
    });
  }

  private sleep(micros: number): Promise<void> {
    return new Promise((resolve) => this.clock.after(micros / 1000, resolve));
  }

  /**
   * Sends one message: 1..4095 bytes, or up to 1 MiB with the 32-bit first-frame length (only for
   * a peer known to accept it, e.g. one that announced a larger UDS block length). Only one send
   * runs at a time per endpoint.
   */
  async send(msg: Uint8Array, signal?: AbortLike): Promise<void> {
    if (msg.length < 1 || msg.length > ISOTP_MAX_ESCAPED_LENGTH) {
      throw new PackscopeError('USAGE', `ISO-TP messages are 1..${ISOTP_MAX_ESCAPED_LENGTH} bytes here, not ${msg.length}`);
    }
    if (this.txBusy) throw new PackscopeError('INTERNAL', 'ISO-TP: a send is already in progress on this endpoint');
    this.txBusy = true;
    try {
      if (msg.length <= 7) {
        await this.sendFrame(encodePdu({ type: 'single', data: msg }, this.padding));
        return;
      }
      // Arm the flow-control wait before the first frame leaves, so a fast receiver's FC is not missed.
      const flow = this.awaitFlow(signal);
      flow.catch(() => undefined);
      const firstBytes = msg.length > ISOTP_MAX_LENGTH ? 2 : 6;
      await this.sendFrame(encodePdu({ type: 'first', length: msg.length, data: msg.subarray(0, firstBytes) }, this.padding));
      let fc = await flow;
      let offset = firstBytes;
      let sn = 1;
      let sentInBlock = 0;
      while (offset < msg.length) {
        if (signal?.aborted) throw new IsoTpError('N_ABORTED', 'transfer cancelled');
        const chunk = msg.subarray(offset, Math.min(offset + 7, msg.length));
        offset += chunk.length;
        const last = offset >= msg.length;
        const needFlow = !last && fc.blockSize > 0 && sentInBlock + 1 === fc.blockSize;
        const nextFlow = needFlow ? this.awaitFlow(signal) : null;
        nextFlow?.catch(() => undefined);
        await this.sendFrame(encodePdu({ type: 'consecutive', sn, data: chunk }, this.padding));
        sn = (sn + 1) & 0x0f;
        sentInBlock++;
        if (nextFlow) {
          fc = await nextFlow;
          sentInBlock = 0;
        } else if (!last) {
          const gap = decodeStMin(fc.stMin);
          if (gap > 0) await this.sleep(gap);
        }
      }
    } finally {
      // A send that failed while a flow control was awaited must not leave its wait armed.
      this.txWait?.reject(new IsoTpError('N_ABORTED', 'send ended'));
      this.txBusy = false;
    }
  }
}
