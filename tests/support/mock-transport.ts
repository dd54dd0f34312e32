import type { HostPipe } from '../../firmware/sim/run.js';
import type { ByteTransport, CloseReason, TransportInfo } from '../../shared/types/transport.js';
import { Emitter } from '../../shared/util/emitter.js';
import { realClock, type Clock } from '../../shared/util/clock.js';

/**
 * The one fake ByteTransport of the tests, in the spirit of serialport's MockBinding: a scripted
 * peer sees every write and answers through the transport, written chunks can be recorded, and
 * the test can push bytes, unplug the cable, or count listeners. `pipeTransport` puts one on the
 * host end of the simulator's in-process pipe instead.
 *
 * Behaviour of a real transport kept here: data arrives only while open, close() reports
 * { kind: 'closed' } once, an unplug reports { kind: 'disconnected' }. A write while closed still
 * reaches the peer (the peer decides what a dead line does).
 */
export interface MockTransportOptions {
  /** info.path (default 'mock:'); info.kind is 'sim'. */
  path?: string;
  /** Open from the start (default true); false needs open() first, as a real port does. */
  open?: boolean;
  /** The other end: called with every write. */
  peer?: (written: Uint8Array, port: MockTransport) => void;
  /** Keep a copy of every write in `written` (default false, as MockBinding's `record`). */
  record?: boolean;
  /** When `reply` delivers (default: the real clock; a VirtualClock for tests on virtual time). */
  clock?: Clock;
}

export class MockTransport implements ByteTransport {
  readonly info: TransportInfo;
  /** Every chunk written, in order, when `record` is set. */
  readonly written: Uint8Array[] = [];
  private readonly record: boolean;
  private opened: boolean;
  private readonly data = new Emitter<Uint8Array>();
  private readonly closed = new Emitter<CloseReason>();
  private readonly peer: MockTransportOptions['peer'];
  private readonly clock: Clock;

  constructor(options: MockTransportOptions = {}) {
    this.info = { kind: 'sim', path: options.path ?? 'mock:' };
    this.clock = options.clock ?? realClock;
    this.opened = options.open ?? true;
    this.peer = options.peer;
    this.record = options.record ?? false;
  }

  get isOpen(): boolean {
    return this.opened;
  }

  async open(): Promise<void> {
    this.opened = true;
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    this.closed.emit({ kind: 'closed' });
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.record) this.written.push(data.slice());
    this.peer?.(data, this);
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.data.on(listener);
  }

  onClose(listener: (reason: CloseReason) => void): () => void {
    return this.closed.on(listener);
  }

  /** The peer sends bytes now (synchronously); dropped while the transport is closed. */
  emitData(chunk: Uint8Array): void {
    if (this.opened) this.data.emit(chunk);
  }

  /**
   * The peer answers later, as a line does: the chunks arrive together in one macrotask, after
   * `delayMs` (a timer) or on the next turn of the event loop ('immediate', the default), on the
   * transport's clock.
   */
  reply(chunks: Uint8Array | readonly Uint8Array[], delayMs: number | 'immediate' = 'immediate'): void {
    const list = chunks instanceof Uint8Array ? [chunks] : [...chunks];
    const deliver = () => list.forEach((c) => this.emitData(c));
    if (delayMs === 'immediate') this.clock.defer(deliver);
    else this.clock.after(delayMs, deliver);
  }

  /** The cable goes: close listeners get { kind: 'disconnected' } and the transport is closed. */
  unplug(message = 'unplugged'): void {
    if (!this.opened) return;
    this.opened = false;
    this.closed.emit({ kind: 'disconnected', message });
  }

  /** Data and close listeners still registered (a driver must leave none behind). */
  get listenerCount(): number {
    return this.data.listenerCount + this.closed.listenerCount;
  }
}

/**
 * A MockTransport on the host end of an in-process simulator pipe (no pty needed): writes go to
 * the simulated board, its bytes come back as data, and the pipe ending is an unplug.
 */
export function pipeTransport(pipe: HostPipe, options: Omit<MockTransportOptions, 'peer'> = {}): MockTransport {
  const t = new MockTransport({ ...options, peer: (d) => pipe.write(d) });
  pipe.onData((d) => t.emitData(d));
  pipe.onEnd(() => t.unplug('simulator went away'));
  return t;
}
