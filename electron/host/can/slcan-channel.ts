import { PackscopeError } from '../../../shared/errors.js';
import { checkFrame, type CanFrame } from '../../../shared/can/frame.js';
import {
  SLCAN_STATUS_FLAGS,
  SlcanLineSplitter,
  bitrateCode,
  decodeReply,
  encodeCommand,
  type SlcanCommand,
  type SlcanReply,
  type SlcanStatusFlag,
} from '../../../shared/can/slcan.js';
import { flagNames } from '../../../shared/types/domain.js';
import type { ByteTransport, CloseReason } from '../../../shared/types/transport.js';
import { concatByteList } from '../../../shared/util/bytes.js';
import { deadline } from '../util/deadline.js';
import { Emitter } from '../../../shared/util/emitter.js';

/**
 * A CAN channel on an SLCAN adapter (CANable and other Lawicel-protocol adapters) over a serial
 * ByteTransport. Commands are answered in order, so replies are matched to a FIFO of expectations
 * while received frames interleave freely. Frames are sent with a window of unacknowledged
 * transmit commands (not one round trip per frame, which is what limits naive SLCAN flashing to
 * ~1 KB/s); the adapter's own FIFO and USB flow control do the rest.
 */
export interface CanChannelStats {
  framesIn: number;
  framesOut: number;
  /** Commands the adapter refused (BELL). */
  refused: number;
  /** Lines from the adapter that did not decode. */
  decodeErrors: number;
  /** Receive overruns and bus errors seen in `F` status replies. */
  overruns: number;
  busErrors: number;
}

export interface ReceivedFrame {
  frame: CanFrame;
  /** Host receive time, ms since the epoch. */
  t: number;
  /** Adapter timestamp (ms, 0..59999) when timestamps are on. */
  adapterTimestamp?: number;
}

export interface OpenOptions {
  bitrate: number;
  listenOnly?: boolean;
  timestamps?: boolean;
  /** Per-command reply timeout, ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Expectation {
  kind: 'ok' | 'tx' | 'status' | 'version' | 'serial';
  resolve: (r: SlcanReply) => void;
  reject: (e: Error) => void;
  cancelTimer: (() => void) | null;
  what: string;
}

export interface AdapterInfo {
  hardwareVersion: string | null;
  softwareVersion: string | null;
  serial: string | null;
}

/**
 * Transmit commands written but not yet acknowledged. Larger than the adapter's FIFO on purpose:
 * a full adapter stops reading its USB endpoint (flow control), so nothing is lost, and the bus
 * never idles while an acknowledgement is on its way back.
 */
const TX_WINDOW = 160;

/** Frames kept for the first onFrame listener (see onReply); a second of a busy 500 kbit/s bus is far more. */
const EARLY_FRAMES = 256;

export class SlcanChannel {
  readonly stats: CanChannelStats = { framesIn: 0, framesOut: 0, refused: 0, decodeErrors: 0, overruns: 0, busErrors: 0 };
  private expectations: Expectation[] = [];
  private frameEvents = new Emitter<ReceivedFrame>();
  private errorEvents = new Emitter<PackscopeError>();
  private closeEvents = new Emitter<string>();
  private unsubs: Array<() => void> = [];
  private splitter: SlcanLineSplitter<SlcanReply>;
  private txInFlight = 0;
  private txWaiters: Array<() => void> = [];
  private closedWhy: string | null = null;
  private early: ReceivedFrame[] = [];
  private outBuf: Uint8Array[] = [];
  private flushScheduled = false;
  private timeoutMs = 500;
  bitrate = 0;
  info: AdapterInfo = { hardwareVersion: null, softwareVersion: null, serial: null };

  constructor(readonly transport: ByteTransport) {
    this.splitter = new SlcanLineSplitter(
      decodeReply,
      (r) => this.onReply(r),
      () => {
        this.stats.decodeErrors++;
      },
      () => this.onReply({ kind: 'error' }),
    );
  }

  get isOpen(): boolean {
    return this.closedWhy === null && this.transport.isOpen && this.bitrate > 0;
  }

  /** Synchronises with the adapter, identifies it, sets the bitrate and opens the channel. */
  async open(o: OpenOptions): Promise<void> {
    const code = (() => {
      try {
        return bitrateCode(o.bitrate);
      } catch (e) {
        throw new PackscopeError('USAGE', (e as Error).message);
      }
    })();
    this.timeoutMs = o.timeoutMs ?? 500;
    if (!this.transport.isOpen) await this.transport.open();
    this.closedWhy = null;
    this.unsubs.push(this.transport.onData((d) => this.splitter.push(d)));
    this.unsubs.push(this.transport.onClose((r: CloseReason) => this.onTransportClose(r.kind === 'closed' ? 'closed' : r.message)));
    // Flush whatever half-typed command the adapter holds, then discard its answers.
    await this.transport.write(Uint8Array.of(0x0d, 0x0d, 0x0d));
    await sleep(50, o.signal);
    this.failAll(null);
    const expectAnswer = (cmd: SlcanCommand, kind: Expectation['kind'], what: string) => this.command(cmd, kind, what);
    try {
      await expectAnswer({ kind: 'close' }, 'ok', 'close');
    } catch (e) {
      if ((e as PackscopeError).code === 'TIMEOUT') {
        throw new PackscopeError('TIMEOUT', `no SLCAN adapter answered on ${this.transport.info.path} (is it a CANable / Lawicel-protocol adapter?)`);
      }
      // BELL for C on a closed channel is fine (some firmwares do that).
    }
    const v = await expectAnswer({ kind: 'version' }, 'version', 'version').catch(() => null);
    if (v?.kind === 'version') {
      this.info.hardwareVersion = v.hardware.toString(16).padStart(2, '0');
      this.info.softwareVersion = v.software.toString(16).padStart(2, '0');
    }
    const n = await expectAnswer({ kind: 'serial' }, 'serial', 'serial number').catch(() => null);
    if (n?.kind === 'serial') this.info.serial = n.serial;
    await this.commandOk({ kind: 'bitrate', code }, `set bitrate ${o.bitrate}`);
    if (o.timestamps !== undefined) await this.commandOk({ kind: 'timestamps', on: o.timestamps }, 'set timestamps').catch(() => undefined);
    await this.commandOk({ kind: o.listenOnly ? 'listen' : 'open' }, 'open the CAN channel');
    this.bitrate = o.bitrate;
  }

  private async commandOk(cmd: SlcanCommand, what: string): Promise<void> {
    await this.command(cmd, 'ok', what);
  }

  private command(cmd: SlcanCommand, kind: Expectation['kind'], what: string): Promise<SlcanReply> {
    if (this.closedWhy !== null) return Promise.reject(new PackscopeError('DISCONNECTED', `adapter link closed: ${this.closedWhy}`));
    return new Promise<SlcanReply>((resolve, reject) => {
      const exp: Expectation = { kind, resolve, reject, cancelTimer: null, what };
      exp.cancelTimer = deadline(this.timeoutMs, () => {
        const i = this.expectations.indexOf(exp);
        if (i >= 0) this.expectations.splice(i, 1);
        reject(new PackscopeError('TIMEOUT', `SLCAN adapter did not answer '${what}' within ${this.timeoutMs} ms`));
      });
      this.expectations.push(exp);
      this.transport.write(encodeCommand(cmd)).catch((e: unknown) => {
        this.settle(exp);
        reject(e instanceof PackscopeError ? e : new PackscopeError('DISCONNECTED', String(e)));
      });
    });
  }

  private settle(exp: Expectation): void {
    exp.cancelTimer?.();
    const i = this.expectations.indexOf(exp);
    if (i >= 0) this.expectations.splice(i, 1);
  }

  private onReply(r: SlcanReply): void {
    if (r.kind === 'frame') {
      this.stats.framesIn++;
      const rf: ReceivedFrame =
        r.timestamp === undefined ? { frame: r.frame, t: Date.now() } : { frame: r.frame, t: Date.now(), adapterTimestamp: r.timestamp };
      // A busy bus delivers frames in the same read as the answer to 'O': they arrive before the
      // caller, resumed after open(), can subscribe. Keep them for the first listener.
      if (this.frameEvents.listenerCount === 0) {
        if (this.early.length < EARLY_FRAMES) this.early.push(rf);
        return;
      }
      this.frameEvents.emit(rf);
      return;
    }
    const exp = this.expectations[0];
    if (!exp) return; // a late answer to a command that timed out
    this.settle(exp);
    if (exp.kind === 'tx') this.releaseTx();
    if (r.kind === 'error') {
      this.stats.refused++;
      const e = new PackscopeError(
        'DEVICE',
        `SLCAN adapter refused '${exp.what}'${exp.kind === 'tx' ? ' (transmit FIFO full, channel closed or bus off)' : ''}`,
      );
      if (exp.kind === 'tx') this.errorEvents.emit(e);
      exp.reject(e);
      return;
    }
    const ok = (exp.kind === 'ok' && r.kind === 'ok') || (exp.kind === 'tx' && (r.kind === 'txOk' || r.kind === 'ok')) || exp.kind === r.kind;
    if (ok) exp.resolve(r);
    else exp.reject(new PackscopeError('PROTOCOL', `SLCAN adapter answered '${r.kind}' to '${exp.what}'`));
  }

  private releaseTx(): void {
    this.txInFlight--;
    const w = this.txWaiters.shift();
    w?.();
  }

  /**
   * Sends a frame. Resolves once the adapter has room for it in the window (not when it is on the
   * bus); a refusal reaches onError listeners and the stats.
   */
  async send(frame: CanFrame): Promise<void> {
    checkFrame(frame);
    if (!this.isOpen) throw new PackscopeError('DISCONNECTED', this.closedWhy ? `adapter link closed: ${this.closedWhy}` : 'the CAN channel is not open');
    while (this.txInFlight >= TX_WINDOW) await new Promise<void>((r) => this.txWaiters.push(r));
    this.txInFlight++;
    this.stats.framesOut++;
    const what = `transmit ${frame.id.toString(16)}`;
    const exp: Expectation = { kind: 'tx', resolve: () => undefined, reject: () => undefined, cancelTimer: null, what };
    this.expectations.push(exp);
    this.queueWrite(encodeCommand({ kind: 'transmit', frame }));
  }

  /**
   * Frames sent in one turn of the event loop leave in one write (one syscall, one USB transfer),
   * as a burst of consecutive frames should; serialport keeps writes in order.
   */
  private queueWrite(bytes: Uint8Array): void {
    this.outBuf.push(bytes);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const parts = this.outBuf;
      this.outBuf = [];
      const all = concatByteList(parts);
      if (this.closedWhy !== null) return;
      this.transport.write(all).catch((e: unknown) => this.onTransportClose((e as Error).message));
    });
  }

  /** Reads (and so clears) the adapter's status flags; counts overruns and bus errors. */
  async status(): Promise<SlcanStatusFlag[]> {
    const r = await this.command({ kind: 'status' }, 'status', 'status flags');
    const flags = r.kind === 'status' ? r.flags : 0;
    const names = flagNames(SLCAN_STATUS_FLAGS, flags);
    if (names.includes('data_overrun') || names.includes('rx_fifo_full')) this.stats.overruns++;
    if (names.includes('bus_error') || names.includes('error_passive')) this.stats.busErrors++;
    return names;
  }

  onFrame(listener: (f: ReceivedFrame) => void): () => void {
    const off = this.frameEvents.on(listener);
    const early = this.early;
    this.early = [];
    for (const f of early) listener(f);
    return off;
  }

  onError(listener: (e: PackscopeError) => void): () => void {
    return this.errorEvents.on(listener);
  }

  onClose(listener: (why: string) => void): () => void {
    return this.closeEvents.on(listener);
  }

  private failAll(e: Error | null): void {
    const exps = this.expectations;
    this.expectations = [];
    for (const x of exps) {
      x.cancelTimer?.();
      if (e) x.reject(e);
    }
    this.txInFlight = 0;
    const w = this.txWaiters;
    this.txWaiters = [];
    for (const f of w) f();
  }

  private onTransportClose(why: string): void {
    if (this.closedWhy !== null) return;
    this.closedWhy = why;
    this.failAll(new PackscopeError('DISCONNECTED', `adapter link closed: ${why}`));
    this.closeEvents.emit(why);
  }

  /** Closes the CAN channel (`C`) and releases the transport listeners; the transport stays open. */
  async close(): Promise<void> {
    if (this.closedWhy === null && this.transport.isOpen && this.bitrate > 0) {
      await this.commandOk({ kind: 'close' }, 'close').catch(() => undefined);
    }
    this.bitrate = 0;
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.failAll(null);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new PackscopeError('CANCELLED', 'cancelled'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new PackscopeError('CANCELLED', 'cancelled'));
      },
      { once: true },
    );
  });
}
