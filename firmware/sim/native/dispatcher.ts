import { sha256 } from '@noble/hashes/sha2.js';
import { isPackscopeError } from '../../../shared/errors.js';
import { ERR, MSG, commandName } from '../../../shared/protocol/constants.js';
import { encodeFrame, type DamagedHead, type Frame } from '../../../shared/protocol/frame.js';
import { ERROR } from '../../../shared/protocol/messages.js';
import type { DeviceLink } from '../line.js';

/**
 * The board's native command dispatcher and region registry. Core commands, the bulk-transfer
 * engine and every subsystem (black box, bootloader) register here; the native personality feeds
 * it frames from the line. A handler returns the response payload or throws a NativeError, which
 * becomes a typed ERROR message (PROTOCOL.md §4): the host always gets exactly one answer.
 */
export class NativeError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'NativeError';
  }
}

/** One attachment of the native personality to a line (a host connection). */
export interface NativeSession {
  /** Sends an unsolicited EVENT message to the host. */
  emit(cmd: number, payload: Uint8Array): void;
  readonly link: DeviceLink;
  /** Per-connection state of handlers (telemetry timer, open transfers), keyed by owner. */
  readonly data: Map<string, unknown>;
  /** Runs when the line goes away or the personality detaches. */
  onClose(fn: () => void): void;
  /** Runs for every damaged frame from the host whose header still reads (bulk writes NAK their chunks). */
  onDamagedFrame(fn: (head: DamagedHead) => void): void;
  readonly closed: boolean;
}

export interface NativeContext {
  session: NativeSession;
  seq: number;
  cmd: number;
}

export type NativeHandler = (payload: Uint8Array, ctx: NativeContext) => Uint8Array | void | Promise<Uint8Array | void>;
export type NativeEventHandler = (payload: Uint8Array, ctx: NativeContext) => void;

/**
 * A named, offset-addressed memory of the board that bulk transfers read or write (black-box
 * flash, firmware slots, a scratch area). `write` may be async (flash program time).
 */
export interface BoardRegion {
  /** 0..255, unique on the board (PROTOCOL.md §6.1 lists the allocation). */
  id: number;
  name: string;
  size(): number;
  read(offset: number, length: number): Uint8Array | Promise<Uint8Array>;
  write?(offset: number, data: Uint8Array): void | Promise<void>;
  erase?(offset: number, length: number): void | Promise<void>;
  /** SHA-256 of a range; defaults to hashing read(). */
  hash?(offset: number, length: number): Uint8Array | Promise<Uint8Array>;
  /** Bytes contiguously written from offset 0 since the last erase, if the region tracks it. */
  written?(): number;
  /** Called when a bulk write into the region opens (e.g. to erase ahead) — optional. */
  beginWrite?(offset: number, length: number): void | Promise<void>;
  /** Called when a bulk write closes, with the committed end offset — optional. */
  endWrite?(committed: number): void | Promise<void>;
}

export class NativeDispatcher {
  private handlers = new Map<number, NativeHandler>();
  private eventHandlers = new Map<number, NativeEventHandler>();
  private regionMap = new Map<number, BoardRegion>();
  /** Host connections currently attached (the native personality adds and removes them). */
  readonly sessions = new Set<NativeSession>();

  /** Sends an EVENT to every attached host. */
  broadcast(cmd: number, payload: Uint8Array): void {
    for (const s of this.sessions) if (!s.closed) s.emit(cmd, payload);
  }

  /** Registers a request handler for a command id; a second registration of the same id is a bug. */
  register(cmd: number, handler: NativeHandler): void {
    if (this.handlers.has(cmd)) throw new Error(`native command ${commandName(cmd)} registered twice`);
    this.handlers.set(cmd, handler);
  }

  /** Registers a handler for host → board EVENT messages (no response), e.g. bulk data and acks. */
  registerEvent(cmd: number, handler: NativeEventHandler): void {
    if (this.eventHandlers.has(cmd)) throw new Error(`native event ${commandName(cmd)} registered twice`);
    this.eventHandlers.set(cmd, handler);
  }

  has(cmd: number): boolean {
    return this.handlers.has(cmd);
  }

  registerRegion(region: BoardRegion): void {
    if (!Number.isInteger(region.id) || region.id < 0 || region.id > 255) throw new Error(`region id ${region.id} out of range`);
    if (this.regionMap.has(region.id)) throw new Error(`region ${region.id} registered twice`);
    for (const r of this.regionMap.values()) if (r.name === region.name) throw new Error(`region name '${region.name}' registered twice`);
    this.regionMap.set(region.id, region);
  }

  region(id: number): BoardRegion {
    const r = this.regionMap.get(id);
    if (!r) throw new NativeError(ERR.NOT_FOUND, `no region ${id}`);
    return r;
  }

  regions(): BoardRegion[] {
    return [...this.regionMap.values()].sort((a, b) => a.id - b.id);
  }

  async hashRegion(region: BoardRegion, offset: number, length: number): Promise<Uint8Array> {
    if (region.hash) return region.hash(offset, length);
    const h = sha256.create();
    for (let o = offset; o < offset + length; o += 65536) h.update(await region.read(o, Math.min(65536, offset + length - o)));
    return h.digest();
  }

  /**
   * Handles one frame from the host. Returns the encoded response (RESPONSE or ERROR) for a
   * request, or null for an event.
   */
  async dispatch(frame: Frame, session: NativeSession): Promise<Uint8Array | null> {
    const ctx: NativeContext = { session, seq: frame.seq, cmd: frame.cmd };
    if (frame.type === MSG.EVENT) {
      const h = this.eventHandlers.get(frame.cmd);
      if (h) {
        try {
          h(frame.payload, ctx);
        } catch {
          // A malformed event has no one to answer; it is dropped like a damaged frame.
        }
      }
      return null;
    }
    if (frame.type !== MSG.REQUEST) return null;
    const fail = (code: number, message: string) => encodeFrame({ type: MSG.ERROR, seq: frame.seq, cmd: frame.cmd, payload: ERROR.encode({ code, message }) });
    const h = this.handlers.get(frame.cmd);
    if (!h) return fail(ERR.UNKNOWN_COMMAND, `unknown command ${commandName(frame.cmd)}`);
    try {
      const out = await h(frame.payload, ctx);
      return encodeFrame({ type: MSG.RESPONSE, seq: frame.seq, cmd: frame.cmd, payload: out ?? new Uint8Array(0) });
    } catch (e) {
      if (e instanceof NativeError) return fail(e.code, e.message);
      if (isPackscopeError(e) && e.code === 'DECODE') return fail(ERR.MALFORMED, e.message);
      return fail(ERR.INTERNAL, e instanceof Error ? e.message : String(e));
    }
  }
}
