import type { LineSettings } from '../../shared/types/transport.js';
import { Emitter } from '../../shared/util/emitter.js';
import { Random } from '../../shared/util/random.js';
import { realClock, type Cancel, type Clock } from '../../shared/util/clock.js';
import { NO_FAULTS, type FaultSpec } from './faults.js';

/**
 * The simulated board's serial line. Everything a personality (native board, JBD, Daly, JK, SLCAN
 * adapter, STM32 ROM bootloader) sends or receives passes through here, so every personality gets:
 *  - pacing at the line rate in both directions (bytes never move faster than baud / bits-per-char:
 *    10 bits for 8N1, 11 for 8E1), so throughput figures are honest;
 *  - fault injection (dropped, corrupted, delayed bytes, disconnects), seeded and repeatable.
 *
 * Below the line is a RawPipe: the pseudo-terminal relay (packscope sim --pty) or an in-process
 * host transport (demo device, unit tests).
 */
export interface RawPipe {
  write(data: Uint8Array): void;
  onData(listener: (data: Uint8Array) => void): () => void;
  /** The pipe ended (pty relay gone, host transport closed). */
  onEnd(listener: () => void): () => void;
  close(): void;
}

/** The device's view of its serial line. */
export interface DeviceLink {
  /** Queues bytes for the host; they leave at line rate. */
  send(data: Uint8Array): void;
  onReceive(listener: (data: Uint8Array) => void): () => void;
  /** Bytes queued towards the host but not yet on the wire. */
  readonly backlog: number;
  /** Resolves once everything queued so far has left. */
  drained(): Promise<void>;
  readonly settings: LineSettings;
  /** A personality may switch baud/parity (as a real UART would after a command). */
  setSettings(settings: LineSettings): void;
  /** The line went away: host closed, cable 'unplugged' by fault injection, or power cut. */
  onDisconnect(listener: (why: string) => void): () => void;
  /** Drops the line (simulates an unplugged cable). */
  disconnect(why: string): void;
  readonly stats: { bytesToHost: number; bytesFromHost: number; dropped: number; corrupted: number };
}

export interface LineOptions {
  settings: LineSettings;
  faults?: FaultSpec;
  seed?: number;
  /** Disable pacing (unpaced benchmarks over a pty). */
  unpaced?: boolean;
  /** Time base for pacing, latency and timed disconnects (default: the real clock; the board's). */
  clock?: Clock;
}

export function bitsPerChar(settings: LineSettings): number {
  return settings.parity === 'even' ? 11 : 10;
}

/** One direction of the line: a queue drained at line rate by a credit timer. */
class PacedQueue {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private head = 0; // offset into queue[0]
  private credit = 0;
  private last = 0;
  private timer: Cancel | null = null;
  private waiters: Array<() => void> = [];

  constructor(
    private clock: Clock,
    private bytesPerSecond: () => number,
    private unpaced: boolean,
    private deliver: (chunk: Uint8Array) => void,
  ) {}

  get backlog(): number {
    return this.queued;
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.queue.push(data);
    this.queued += data.length;
    if (!this.timer) {
      this.last = this.clock.now();
      this.credit = Math.min(this.credit, 16);
      this.schedule(0);
    }
  }

  drained(): Promise<void> {
    if (this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  clear(): void {
    this.queue = [];
    this.queued = 0;
    this.head = 0;
    this.timer?.();
    this.timer = null;
    this.flushWaiters();
  }

  private schedule(ms: number): void {
    this.timer = this.clock.after(ms, () => this.tick());
  }

  private flushWaiters(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private tick(): void {
    this.timer = null;
    const rate = this.bytesPerSecond();
    let allowed: number;
    if (this.unpaced) {
      allowed = this.queued;
    } else {
      const now = this.clock.now();
      // Credits accrue with all the time elapsed since the last tick, uncapped: a tick runs only
      // while bytes wait, so the line was busy all that time, and a late timer (a loaded machine
      // running this process late) must not slow the wire. Capping them here made a starved
      // simulated SLCAN adapter fall behind its own USB rate, overflow its receive buffer and drop
      // an ISO-TP flow control the host then waited for in vain. An idle line cannot burst: push()
      // restarts the count from now with at most 16 bytes of credit.
      this.credit += ((now - this.last) * rate) / 1000;
      this.last = now;
      allowed = Math.floor(this.credit);
    }
    if (allowed > 0) {
      const n = Math.min(allowed, this.queued);
      const out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const first = this.queue[0]!;
        const take = Math.min(first.length - this.head, n - filled);
        out.set(first.subarray(this.head, this.head + take), filled);
        filled += take;
        this.head += take;
        if (this.head === first.length) {
          this.queue.shift();
          this.head = 0;
        }
      }
      this.queued -= n;
      if (!this.unpaced) this.credit -= n;
      this.deliver(out);
    }
    if (this.queued > 0) {
      const need = this.unpaced ? 0 : Math.max(1, Math.ceil(((Math.min(this.queued, 64) - this.credit) * 1000) / rate));
      this.schedule(need);
    } else {
      this.flushWaiters();
    }
  }
}

/** Applies drop/corrupt faults to a chunk. */
function applyByteFaults(data: Uint8Array, faults: FaultSpec, rng: Random, stats: DeviceLink['stats']): Uint8Array {
  if (faults.drop === 0 && faults.corrupt === 0) return data;
  const out = new Uint8Array(data.length);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    if (faults.drop > 0 && rng.next() < faults.drop) {
      stats.dropped++;
      continue;
    }
    let b = data[i]!;
    if (faults.corrupt > 0 && rng.next() < faults.corrupt) {
      b ^= 1 << rng.int(8);
      stats.corrupted++;
    }
    out[n++] = b;
  }
  return out.subarray(0, n);
}

export function createDeviceLink(pipe: RawPipe, options: LineOptions): DeviceLink {
  let settings = { ...options.settings };
  const faults = options.faults ?? NO_FAULTS;
  const clock = options.clock ?? realClock;
  const rng = new Random(options.seed ?? 1);
  const stats = { bytesToHost: 0, bytesFromHost: 0, dropped: 0, corrupted: 0 };
  const received = new Emitter<Uint8Array>();
  const disconnects = new Emitter<string>();
  let connected = true;
  let firstHostByteAt: number | null = null;
  let disconnectTimer: Cancel | null = null;
  const rate = () => settings.baudRate / bitsPerChar(settings);

  const toHost = new PacedQueue(clock, rate, options.unpaced ?? false, (chunk) => {
    if (!connected) return;
    let out = applyByteFaults(chunk, faults, rng, stats);
    if (faults.disconnectAfterBytes !== null && stats.bytesToHost + out.length >= faults.disconnectAfterBytes) {
      out = out.subarray(0, Math.max(0, faults.disconnectAfterBytes - stats.bytesToHost));
      stats.bytesToHost += out.length;
      if (out.length) pipe.write(out);
      link.disconnect(`fault injection: disconnected after ${faults.disconnectAfterBytes} bytes`);
      return;
    }
    stats.bytesToHost += out.length;
    if (out.length === 0) return;
    if (faults.latencyMs > 0) clock.after(faults.latencyMs, () => connected && pipe.write(out));
    else pipe.write(out);
  });

  const fromHost = new PacedQueue(clock, rate, options.unpaced ?? false, (chunk) => {
    if (!connected) return;
    const out = applyByteFaults(chunk, faults, rng, stats);
    stats.bytesFromHost += out.length;
    if (out.length === 0) return;
    received.emit(out);
  });

  pipe.onData((data) => {
    if (!connected) return;
    if (firstHostByteAt === null) {
      firstHostByteAt = clock.now();
      if (faults.disconnectAfterSeconds !== null) {
        disconnectTimer = clock.after(faults.disconnectAfterSeconds * 1000, () =>
          link.disconnect(`fault injection: disconnected after ${faults.disconnectAfterSeconds} s`),
        );
      }
    }
    fromHost.push(data);
  });
  pipe.onEnd(() => {
    if (connected) {
      connected = false;
      toHost.clear();
      fromHost.clear();
      disconnectTimer?.();
      disconnects.emit('host side closed');
    }
  });

  const link: DeviceLink = {
    send(data) {
      if (connected) toHost.push(data);
    },
    onReceive(listener) {
      return received.on(listener);
    },
    get backlog() {
      return toHost.backlog;
    },
    drained: () => toHost.drained(),
    get settings() {
      return settings;
    },
    setSettings(s) {
      settings = { ...s };
    },
    onDisconnect(listener) {
      return disconnects.on(listener);
    },
    disconnect(why) {
      if (!connected) return;
      connected = false;
      toHost.clear();
      fromHost.clear();
      disconnectTimer?.();
      pipe.close();
      disconnects.emit(why);
    },
    stats,
  };
  return link;
}
