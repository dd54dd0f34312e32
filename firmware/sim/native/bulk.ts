import { DecodeError } from '../../../shared/errors.js';
import { BulkReceiver, BulkSender, contextStart, damagedChunkOffset, minRtoMs, packChunk } from '../../../shared/protocol/bulk.js';
import { CMD, ERR } from '../../../shared/protocol/constants.js';
import {
  BULK_ABORT,
  BULK_ACK,
  BULK_CLOSE,
  BULK_CLOSED,
  BULK_DATA,
  BULK_FLAG,
  BULK_NAK,
  BULK_OPEN,
  MAX_CHUNK,
  MAX_WINDOW_WIDE,
  encodeBulkData,
  type BulkOpen,
} from '../../../shared/protocol/messages.js';
import type { Cancel, Clock } from '../../../shared/util/clock.js';
import type { SimBoard } from '../board.js';
import { bitsPerChar } from '../line.js';
import { checkRange } from './core.js';
import { NativeError, type BoardRegion, type NativeSession } from './dispatcher.js';

/**
 * Board side of the windowed bulk transfer (PROTOCOL.md §6): for reads the board is the sender
 * (chunks out as BULK_DATA events, host acks and NAKs steer it), for writes the receiver (chunks
 * in, committed to the region strictly in order, acks out, and a NAK for a chunk whose frame
 * arrived damaged). Transfers belong to one host connection.
 */
interface ReadTransfer {
  kind: 'read';
  open: BulkOpen;
  region: BoardRegion;
  sender: BulkSender;
  compress: boolean;
  /** Chunks may be deflated against the transfer's bytes before them (granted BULK_FLAG.CONTEXT). */
  context: boolean;
  /** Line rate in bytes/s (infinite when unpaced is irrelevant: backlog is then ~0). */
  byteRate: number;
  /** The board's clock: pacing and retransmission timers. */
  clock: Clock;
  /** Line bytes a chunk's frame takes, smoothed: less than the chunk when chunks go compressed. */
  frameBytes: number;
  timer: Cancel | null;
  pumping: boolean;
  again: boolean;
  closed: boolean;
}

interface WriteTransfer {
  kind: 'write';
  open: BulkOpen;
  region: BoardRegion;
  receiver: BulkReceiver;
  chain: Promise<void>;
  failed: boolean;
  closed: boolean;
  /** Granted BULK_FLAG.NAK: chunks whose frames arrive damaged are named to the host. */
  nak: boolean;
}

type Transfer = ReadTransfer | WriteTransfer;

function transfers(session: NativeSession): Map<number, Transfer> {
  let m = session.data.get('bulk') as Map<number, Transfer> | undefined;
  if (!m) {
    const created = new Map<number, Transfer>();
    m = created;
    session.data.set('bulk', created);
    session.onClose(() => {
      for (const t of created.values()) closeTransfer(t);
      created.clear();
    });
    // A chunk of a write whose frame arrived damaged: ask the host for it again at once.
    session.onDamagedFrame((head) => {
      for (const t of created.values()) {
        if (t.kind !== 'write' || !t.nak || t.closed || t.failed) continue;
        const offset = damagedChunkOffset(head, t.open.transferId);
        if (offset !== null && t.receiver.lacks(offset)) session.emit(CMD.EV_BULK_NAK, BULK_NAK.encode({ transferId: t.open.transferId, offset }));
      }
    });
  }
  return m;
}

function closeTransfer(t: Transfer): void {
  t.closed = true;
  if (t.kind === 'read') t.timer?.();
}

function grant(req: BulkOpen, region: BoardRegion): BulkOpen {
  const size = region.size();
  const length = req.length === 0xffffffff ? size - Math.min(req.offset, size) : req.length;
  checkRange(region, req.offset, length);
  return {
    ...req,
    length,
    chunkSize: Math.max(16, Math.min(req.chunkSize || 4096, MAX_CHUNK)),
    // Windows above 32 with the wide SACK of PROTOCOL.md §6.3: a small-chunk transfer on a noisy
    // line keeps the round trip covered, and a lost chunk at the base does not stop the line.
    window: Math.max(1, Math.min(req.window || 8, MAX_WINDOW_WIDE)),
    // Context compression only together with compression; NAKs on either.
    flags: (req.flags & BULK_FLAG.COMPRESS ? req.flags & (BULK_FLAG.COMPRESS | BULK_FLAG.CONTEXT) : 0) | (req.flags & BULK_FLAG.NAK),
  };
}

export function installBulkTransfer(board: SimBoard): void {
  const n = board.native;
  // A reset drops every open transfer (PROTOCOL.md §5, RESET): the host resumes by asking the board.
  board.onReset(() => {
    for (const s of n.sessions) {
      const m = s.data.get('bulk') as Map<number, Transfer> | undefined;
      if (!m) continue;
      for (const t of m.values()) closeTransfer(t);
      m.clear();
    }
  });

  n.register(CMD.BULK_READ_OPEN, (payload, { session }) => {
    const req = BULK_OPEN.decode(payload);
    const region = n.region(req.region);
    const open = grant(req, region);
    const map = transfers(session);
    const old = map.get(open.transferId);
    if (old) closeTransfer(old);
    const byteRate = session.link.settings.baudRate / bitsPerChar(session.link.settings);
    // Until a round trip is measured, allow for a full window queued ahead on the line (no more
    // chunks than the transfer has: a short read's lost chunk must not wait for a window's time).
    const inFlight = Math.min(open.window, Math.ceil(open.length / open.chunkSize));
    const windowMs = ((inFlight + 1) * (open.chunkSize + 32) * 1000) / byteRate;
    const t: ReadTransfer = {
      kind: 'read',
      open,
      region,
      sender: new BulkSender({
        start: open.offset,
        length: open.length,
        chunkSize: open.chunkSize,
        window: open.window,
        initialRtoMs: 2 * windowMs + 300,
        minRtoMs: minRtoMs(open.chunkSize, (open.flags & BULK_FLAG.NAK) !== 0, byteRate),
      }),
      compress: (open.flags & BULK_FLAG.COMPRESS) !== 0,
      context: (open.flags & BULK_FLAG.CONTEXT) !== 0,
      byteRate,
      clock: board.clock,
      frameBytes: open.chunkSize + 32,
      timer: null,
      pumping: false,
      again: false,
      closed: false,
    };
    map.set(open.transferId, t);
    t.clock.defer(() => void pump(session, t));
    return BULK_OPEN.encode(open);
  });

  n.register(CMD.BULK_WRITE_OPEN, async (payload, { session }) => {
    const req = BULK_OPEN.decode(payload);
    const region = n.region(req.region);
    if (!region.write) throw new NativeError(ERR.READ_ONLY, `region '${region.name}' is read-only`);
    const open = grant(req, region);
    const map = transfers(session);
    // One writer per region: two interleaved writes would leave neither image whole. The same
    // host opening a new write has abandoned its old one (e.g. a lost BULK_CLOSE): that one ends.
    for (const s of n.sessions) {
      const m = s.data.get('bulk') as Map<number, Transfer> | undefined;
      for (const [tid, t] of m ?? []) {
        if (t.kind !== 'write' || t.closed || t.region !== region) continue;
        if (s !== session) throw new NativeError(ERR.BUSY, `region '${region.name}' is being written by another connection`);
        closeTransfer(t);
        m!.delete(tid);
      }
    }
    const old = map.get(open.transferId);
    if (old) closeTransfer(old);
    await region.beginWrite?.(open.offset, open.length);
    map.set(open.transferId, {
      kind: 'write',
      open,
      region,
      receiver: new BulkReceiver(open.offset, open.length, open.chunkSize, (open.flags & BULK_FLAG.CONTEXT) !== 0),
      chain: Promise.resolve(),
      failed: false,
      closed: false,
      nak: (open.flags & BULK_FLAG.NAK) !== 0,
    });
    return BULK_OPEN.encode(open);
  });

  n.register(CMD.BULK_CLOSE, async (payload, { session }) => {
    const { transferId } = BULK_CLOSE.decode(payload);
    const map = transfers(session);
    const t = map.get(transferId);
    if (!t) throw new NativeError(ERR.UNKNOWN_TRANSFER, `no open transfer ${transferId}`);
    map.delete(transferId);
    if (t.kind === 'read') {
      closeTransfer(t);
      return BULK_CLOSED.encode({ transferId, committed: t.open.offset + t.sender.ackedBytes });
    }
    closeTransfer(t);
    await t.chain;
    await t.region.endWrite?.(t.receiver.committed);
    return BULK_CLOSED.encode({ transferId, committed: t.receiver.committed });
  });

  n.registerEvent(CMD.EV_BULK_ACK, (payload, { session }) => {
    const ack = BULK_ACK.decode(payload);
    const t = transfers(session).get(ack.transferId);
    if (!t || t.kind !== 'read' || t.closed) return;
    if (t.sender.onAck(ack.cumulative, ack.sack, t.clock.now(), ack.more) || !t.sender.done) void pump(session, t);
  });

  // The host saw a chunk's frame arrive damaged: send it again now rather than at the timeout.
  n.registerEvent(CMD.EV_BULK_NAK, (payload, { session }) => {
    const nak = BULK_NAK.decode(payload);
    const t = transfers(session).get(nak.transferId);
    if (!t || t.kind !== 'read' || t.closed) return;
    if (t.sender.onNak(nak.offset, t.clock.now())) void pump(session, t);
  });

  n.registerEvent(CMD.EV_BULK_DATA, (payload, { session }) => {
    const d = BULK_DATA.decode(payload);
    const t = transfers(session).get(d.transferId);
    if (!t || t.kind !== 'write' || t.closed || t.failed) return;
    const r = t.receiver;
    let fresh = false;
    try {
      fresh = r.acceptPacked(d.offset, d.data, d.flags);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
    sendAck(session, t);
    if (!fresh) return;
    const abort = (code: number, message: string) => {
      t.failed = true;
      session.emit(CMD.EV_BULK_ABORT, BULK_ABORT.encode({ transferId: t.open.transferId, code, message }));
    };
    t.chain = t.chain.then(async () => {
      for (;;) {
        let next;
        try {
          next = r.takeNext();
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          // The frame arrived whole, so the sender compressed it wrongly: nothing to retransmit.
          return abort(ERR.MALFORMED, `chunk at ${r.committed}: ${e.message}`);
        }
        if (!next || t.failed) return;
        try {
          await t.region.write!(next.offset, next.data);
        } catch (e) {
          return abort(ERR.WRITE_FAILED, `write at ${next.offset} failed: ${(e as Error).message}`);
        }
        r.commit(next.offset + next.data.length);
        sendAck(session, t);
      }
    });
  });
}

function sendAck(session: NativeSession, t: WriteTransfer): void {
  session.emit(CMD.EV_BULK_ACK, BULK_ACK.encode({ transferId: t.open.transferId, ...t.receiver.ack(t.open.window) }));
}

async function pump(session: NativeSession, t: ReadTransfer): Promise<void> {
  if (t.pumping) {
    t.again = true;
    return;
  }
  t.pumping = true;
  try {
    do {
      t.again = false;
      if (t.closed || session.closed) return;
      // Keep only about two chunks queued on the UART: the window counts what is in flight on
      // the wire, and a short queue lets answers to other requests through during a transfer.
      // Small chunks: at least 8 ms of line time, so a late timer does not leave the line idle.
      // Counted in frames as they go on the line (a compressed chunk takes less than its size).
      const limit = Math.max(2 * t.frameBytes, t.byteRate * 0.008);
      if (session.link.backlog > limit) {
        t.timer?.();
        t.timer = t.clock.after(Math.max(1, ((session.link.backlog - limit / 2) * 1000) / t.byteRate), () => {
          t.timer = null;
          void pump(session, t);
        });
        return;
      }
      for (const i of t.sender.due(t.clock.now(), Math.max(1, Math.ceil((limit - session.link.backlog) / t.frameBytes)))) {
        const { offset, length } = t.sender.chunkRange(i);
        let data: Uint8Array;
        let dictionary: Uint8Array | undefined;
        try {
          // With context, the bytes before the chunk come along in the same read: its dictionary.
          const from = t.compress && t.context ? contextStart(t.open.offset, offset) : offset;
          const got = await t.region.read(from, offset - from + length);
          dictionary = got.subarray(0, offset - from);
          data = got.subarray(offset - from);
        } catch (e) {
          closeTransfer(t);
          session.emit(
            CMD.EV_BULK_ABORT,
            BULK_ABORT.encode({ transferId: t.open.transferId, code: ERR.INTERNAL, message: `read at ${offset} failed: ${(e as Error).message}` }),
          );
          return;
        }
        if (t.closed || session.closed) return;
        const packed = packChunk(data, t.compress, dictionary);
        session.emit(CMD.EV_BULK_DATA, encodeBulkData(t.open.transferId, offset, packed.flags, packed.data));
        t.frameBytes = 0.875 * t.frameBytes + 0.125 * (packed.data.length + 32);
        t.sender.setSentAt(i, t.clock.now() + (session.link.backlog * 1000) / t.byteRate);
      }
    } while (t.again);
    t.timer?.();
    t.timer = null;
    let deadline = t.sender.nextDeadline();
    if (t.sender.canSendNew) {
      const drainAt = t.clock.now() + (Math.max(0, session.link.backlog - t.frameBytes) * 1000) / t.byteRate;
      deadline = deadline === null ? drainAt : Math.min(deadline, drainAt);
    }
    if (deadline !== null && !t.closed) {
      t.timer = t.clock.after(Math.max(1, deadline - t.clock.now() + 1), () => {
        t.timer = null;
        void pump(session, t);
      });
    }
  } finally {
    t.pumping = false;
  }
}
