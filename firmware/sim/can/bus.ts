import { exactFrameBits } from '../../../shared/can/bittime.js';
import type { CanFrame } from '../../../shared/can/frame.js';
import { Emitter } from '../../../shared/util/emitter.js';

/**
 * A simulated CAN bus with real timing. Every frame occupies the bus for its exact bit time at the
 * bus bitrate (bit stuffing computed on the real bit sequence, interframe space included); frames
 * are serialised one after another, and when several nodes are waiting the lowest identifier wins
 * arbitration, as on a real bus. Node timers are coarse (~1 ms), so the bus keeps its own time
 * line: a frame that was waiting starts the instant the previous one ended, and a late timer
 * delivers several frames at once without losing bus time; throughput is exactly the bus's.
 */
export interface BusNode {
  readonly name: string;
  /** Bitrate the node's controller is set to; a node at another rate neither sends nor receives. */
  bitrate(): number | null;
  /** A frame another node sent has completed on the bus. */
  receive(frame: CanFrame, at: number): void;
  /** The node tried to send at a rate the bus is not running at (a real controller sees bit errors). */
  busError?(): void;
}

export interface BusPort {
  /** Queues a frame; resolves when it has been transmitted (acknowledged by the bus). */
  transmit(frame: CanFrame): Promise<void>;
  /** Frames waiting in this node's transmit queue (the current one included). */
  readonly pending: number;
  detach(): void;
}

interface Queued {
  frame: CanFrame;
  queuedAt: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface PortState {
  node: BusNode;
  queue: Queued[];
}

export interface BusStats {
  frames: number;
  bits: number;
  /** ms the bus was busy. */
  busyMs: number;
  errors: number;
}

/** Arbitration order: base id first, then a standard frame beats an extended one with the same base. */
function arbitrationKey(f: CanFrame): number {
  const base = f.extended ? f.id >>> 18 : f.id;
  return base * 2 ** 20 + (f.extended ? 2 ** 19 + (f.id & 0x3ffff) : 0) * 2 + (f.remote ? 1 : 0);
}

export class CanBus {
  private ports: PortState[] = [];
  private current: { port: PortState; item: Queued; end: number; bits: number } | null = null;
  private freeAt = 0;
  private timer: NodeJS.Timeout | null = null;
  readonly stats: BusStats = { frames: 0, bits: 0, busyMs: 0, errors: 0 };
  private monitors = new Emitter<{ frame: CanFrame; at: number; from: string }>();

  constructor(
    readonly bitrate: number,
    private clock: () => number = () => performance.now(),
  ) {}

  attach(node: BusNode): BusPort {
    const port: PortState = { node, queue: [] };
    this.ports.push(port);
    return {
      transmit: (frame) =>
        new Promise<void>((resolve, reject) => {
          if (node.bitrate() !== this.bitrate) {
            // Wrong bitrate: nobody acknowledges, the controller counts errors and gives up.
            this.stats.errors++;
            node.busError?.();
            reject(new Error(`no acknowledgement: node at ${node.bitrate() ?? 'no'} bit/s on a ${this.bitrate} bit/s bus`));
            return;
          }
          port.queue.push({ frame, queuedAt: this.clock(), resolve, reject });
          this.kick();
        }),
      get pending() {
        return port.queue.length;
      },
      detach: () => {
        this.ports = this.ports.filter((p) => p !== port);
        for (const q of port.queue) if (this.current?.item !== q) q.reject(new Error('node detached'));
        port.queue = this.current?.port === port ? [this.current.item] : [];
      },
    };
  }

  /** Sees every frame that completes on the bus (bus monitors, tests). */
  onFrame(listener: (frame: CanFrame, at: number, from: string) => void): () => void {
    return this.monitors.on((m) => listener(m.frame, m.at, m.from));
  }

  private kick(): void {
    if (this.timer === null) this.process();
  }

  /**
   * Arbitration among the frames that were already waiting when the bus went idle; if none was,
   * the bus stays idle until the earliest one arrives (late timers must not reorder the bus).
   */
  private pickNext(): PortState | null {
    let best: PortState | null = null;
    let earliest: PortState | null = null;
    for (const p of this.ports) {
      const head = p.queue[0];
      if (!head) continue;
      if (head.queuedAt <= this.freeAt) {
        if (!best || arbitrationKey(head.frame) < arbitrationKey(best.queue[0]!.frame)) best = p;
      } else if (!earliest || head.queuedAt < earliest.queue[0]!.queuedAt) earliest = p;
    }
    return best ?? earliest;
  }

  private process(): void {
    this.timer = null;
    const now = this.clock();
    for (;;) {
      if (this.current) {
        if (this.current.end > now) break;
        const { port, item, end, bits } = this.current;
        this.current = null;
        port.queue.shift();
        this.stats.frames++;
        this.stats.bits += bits;
        this.stats.busyMs += (bits * 1000) / this.bitrate;
        for (const p of this.ports) if (p !== port && p.node.bitrate() === this.bitrate) p.node.receive(item.frame, end);
        this.monitors.emit({ frame: item.frame, at: end, from: port.node.name });
        item.resolve();
        continue;
      }
      const next = this.pickNext();
      if (!next) break;
      const item = next.queue[0]!;
      const bits = exactFrameBits(item.frame);
      const start = Math.max(this.freeAt, Math.min(item.queuedAt, now));
      const end = start + (bits * 1000) / this.bitrate;
      this.freeAt = end;
      this.current = { port: next, item, end, bits };
    }
    if (this.current) {
      this.timer = setTimeout(() => this.process(), Math.max(0, this.current.end - now));
      this.timer.unref?.();
    }
  }

  /** Bus load since start, as a fraction of wall time elapsed since `sinceMs`. */
  load(sinceMs: number): number {
    const elapsed = this.clock() - sinceMs;
    return elapsed > 0 ? this.stats.busyMs / elapsed : 0;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
