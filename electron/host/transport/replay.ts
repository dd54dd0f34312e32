import { readFileSync } from 'node:fs';
import { PackscopeError } from '../../../shared/errors.js';
import { fromHex } from '../../../shared/util/bytes.js';
import type { LineSettings } from '../../../shared/types/transport.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';
import { fsError } from '../util/files.js';
import type { CaptureHeader, CaptureRecord } from './capture.js';

/**
 * Plays a raw capture (transport/capture.ts) back as the board: each request the host sends is
 * looked up among the captured ones (the next in order first, then any identical one), and the
 * answer that followed it in the capture is sent with the captured timing. Bytes the board sent
 * without being asked (a listen-only capture, broadcasts) are played on their own timeline. A
 * request never captured gets silence, as a board that does not understand it would give.
 */
export interface Exchange {
  request: Uint8Array;
  /** The answer's chunks, each with its delay after the previous (the first: after the request). */
  answer: Array<{ delayMs: number; bytes: Uint8Array }>;
}

export interface ParsedCapture {
  header: CaptureHeader;
  exchanges: Exchange[];
  /** Received bytes before any request (or in a capture without requests), at their times. */
  unsolicited: Array<{ t: number; bytes: Uint8Array }>;
}

export function parseCapture(text: string, what = 'capture'): ParsedCapture {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const parse = (l: string, i: number): Record<string, unknown> => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new PackscopeError('DECODE', `${what}: line ${i + 1} is not JSON`);
    }
  };
  const header = parse(lines[0] ?? '', 0) as unknown as CaptureHeader;
  if (header.capture !== 'packscope-raw' || header.version !== 1) throw new PackscopeError('DECODE', `${what}: not a PackScope raw capture (first line)`);
  const exchanges: Exchange[] = [];
  const unsolicited: ParsedCapture['unsolicited'] = [];
  let current: { request: number[]; lastTx: number; answer: Exchange['answer']; lastRx: number } | null = null;
  const flush = () => {
    if (current) exchanges.push({ request: Uint8Array.from(current.request), answer: current.answer });
    current = null;
  };
  lines.slice(1).forEach((l, i) => {
    const r = parse(l, i + 1) as unknown as CaptureRecord;
    if (r.dir !== 'tx' && r.dir !== 'rx') return; // line settings changes and later additions
    if (typeof r.t !== 'number' || typeof r.hex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(r.hex))
      throw new PackscopeError('DECODE', `${what}: line ${i + 2} is not a capture record`);
    const bytes = fromHex(r.hex);
    if (r.dir === 'tx') {
      if (current && current.answer.length) flush();
      if (!current) current = { request: [], lastTx: r.t, answer: [], lastRx: r.t };
      current.request.push(...bytes);
      current.lastTx = r.t;
      current.lastRx = r.t;
    } else if (!current) {
      unsolicited.push({ t: r.t, bytes });
    } else {
      current.answer.push({ delayMs: Math.max(0, r.t - current.lastRx), bytes });
      current.lastRx = r.t;
    }
  });
  flush();
  return { header, exchanges, unsolicited };
}

export function loadCapture(file: string): ParsedCapture {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `${file}: no such capture`);
    throw fsError(e, `cannot read ${file}`);
  }
  return parseCapture(text, file);
}

export interface ReplayStats {
  answered: number;
  /** Requests the capture has no answer for (silence). */
  unknown: number;
  bytesIn: number;
  bytesOut: number;
}

const MAX_PENDING = 8192;

function endsWith(buf: number[], tail: Uint8Array): boolean {
  if (tail.length === 0 || tail.length > buf.length) return false;
  const off = buf.length - tail.length;
  for (let i = 0; i < tail.length; i++) if (buf[off + i] !== tail[i]) return false;
  return true;
}

export class ReplayBoard {
  readonly stats: ReplayStats = { answered: 0, unknown: 0, bytesIn: 0, bytesOut: 0 };
  private pending: number[] = [];
  private cursor = 0;
  private cancels: Array<() => void> = [];

  constructor(
    private capture: ParsedCapture,
    private send: (bytes: Uint8Array) => void,
    private o: { speed?: number; clock?: Clock } = {},
  ) {}

  get line(): LineSettings {
    return this.capture.header.line;
  }

  /** Starts the unsolicited timeline. */
  start(): void {
    for (const u of this.capture.unsolicited) this.later(u.t, () => this.out(u.bytes));
  }

  stop(): void {
    for (const c of this.cancels) c();
    this.cancels = [];
  }

  /** Bytes from the host. */
  receive(data: Uint8Array): void {
    this.stats.bytesIn += data.length;
    for (const b of data) this.pending.push(b);
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
    const ex = this.capture.exchanges;
    for (let k = 0; k < ex.length; k++) {
      const i = (this.cursor + k) % ex.length;
      if (!endsWith(this.pending, ex[i]!.request)) continue;
      this.pending = [];
      this.cursor = i + 1;
      this.stats.answered++;
      let at = 0;
      for (const a of ex[i]!.answer) {
        at += a.delayMs;
        this.later(at, () => this.out(a.bytes));
      }
      return;
    }
    // A whole request that nothing matches ends with silence; count it once its bytes stop coming.
    if (this.looksComplete()) {
      this.stats.unknown++;
      this.pending = [];
    }
  }

  private looksComplete(): boolean {
    // Longer than any captured request and still unmatched: it cannot become one.
    const longest = Math.max(0, ...this.capture.exchanges.map((e) => e.request.length));
    return this.pending.length > longest;
  }

  private later(ms: number, fn: () => void): void {
    const clock = this.o.clock ?? realClock;
    this.cancels.push(clock.after(ms / (this.o.speed ?? 1), fn));
  }

  private out(bytes: Uint8Array): void {
    this.stats.bytesOut += bytes.length;
    this.send(bytes);
  }
}
