import { describe, expect, it } from 'vitest';
import { bulkWrite } from '../../../electron/host/link/bulk.js';
import { NativeLink } from '../../../electron/host/link/native-link.js';
import { CMD, MSG } from '../../../shared/protocol/constants.js';
import { FrameDecoder, encodeFrame, type Frame } from '../../../shared/protocol/frame.js';
import { BULK_ACK, BULK_CLOSE, BULK_CLOSED, BULK_DATA, BULK_OPEN, REGION_INFO } from '../../../shared/protocol/messages.js';
import { VirtualClock } from '../../../shared/util/clock.js';
import { MockTransport } from '../../support/mock-transport.js';

/**
 * The stall check of bulk transfers, on virtual time, against a scripted board: a board that keeps
 * answering is alive even while no byte moves (a write it is still committing: a slow erase), and
 * only silence, or a transfer that does not move for a long time although the board answers,
 * fails it with TIMEOUT.
 */
const SIZE = 16 * 1024;

interface Board {
  /** Virtual time after the write opens during which the board takes no chunk (it acks, cumulative unchanged). */
  busyMs: number;
  /** The board stops sending anything at all from this virtual time on (after the open). */
  silentFromMs?: number;
}

function scriptedBoard(clock: VirtualClock, b: Board): { link: NativeLink; committed: () => number } {
  let openedAt = 0;
  let start = 0;
  let chunk = 0;
  let committed = 0;
  let transfer = -1;
  const got = new Set<number>();
  const port = new MockTransport({
    clock,
    peer: (bytes) => decoder.push(bytes),
  });
  const send = (type: number, seq: number, cmd: number, payload: Uint8Array) => {
    if (b.silentFromMs !== undefined && transfer >= 0 && clock.now() - openedAt >= b.silentFromMs) return;
    port.reply(encodeFrame({ type: type as Frame['type'], seq, cmd, payload }), 1);
  };
  const decoder = new FrameDecoder((f) => {
    if (f.cmd === CMD.REGION_INFO) {
      send(MSG.RESPONSE, f.seq, f.cmd, REGION_INFO.encode({ id: 1, flags: 3, size: SIZE, written: 0xffffffff, name: 'scratch' }));
    } else if (f.cmd === CMD.BULK_WRITE_OPEN) {
      const o = BULK_OPEN.decode(f.payload);
      transfer = o.transferId;
      start = committed = o.offset;
      chunk = o.chunkSize;
      openedAt = clock.now();
      send(MSG.RESPONSE, f.seq, f.cmd, BULK_OPEN.encode(o));
    } else if (f.cmd === CMD.EV_BULK_DATA) {
      const d = BULK_DATA.decode(f.payload);
      if (d.transferId !== transfer) return;
      // A busy board has no room for the chunk: it drops it and acks what it holds.
      const busy = clock.now() - openedAt < b.busyMs;
      if (!busy) got.add(d.offset);
      while (got.has(committed) && committed < start + SIZE) committed = Math.min(start + SIZE, committed + chunk);
      let sack = 0;
      for (let i = 0; i < 32; i++) if (got.has(committed + i * chunk)) sack |= 1 << i;
      send(MSG.EVENT, 0, CMD.EV_BULK_ACK, BULK_ACK.encode({ transferId: transfer, cumulative: committed, sack: sack >>> 0 }));
    } else if (f.cmd === CMD.BULK_CLOSE) {
      const c = BULK_CLOSE.decode(f.payload);
      send(MSG.RESPONSE, f.seq, f.cmd, BULK_CLOSED.encode({ transferId: c.transferId, committed }));
    }
  });
  // A link on virtual time at 921 600 baud (90 kB/s): chunks of the test are paced like a real line.
  const link = new NativeLink(port, { clock, lineBytesPerSecond: 92_160 });
  return { link, committed: () => committed };
}

const data = new Uint8Array(SIZE).map((_, i) => (i * 31) & 0xff);

describe('bulk transfer stall check', () => {
  it('keeps a write going while the board answers without committing for longer than the stall timeout', async () => {
    const clock = new VirtualClock();
    const { link, committed } = scriptedBoard(clock, { busyMs: 15_000 });
    const t0 = clock.now();
    const r = await clock.run(bulkWrite(link, { region: 1, data, chunkSize: 1024, adaptive: false }));
    expect(r.committed).toBe(SIZE);
    expect(committed()).toBe(SIZE);
    // It really waited out the board's 15 s, longer than the 10 s stall timeout.
    expect(clock.now() - t0).toBeGreaterThanOrEqual(15_000);
    link.dispose();
  });

  it('fails with TIMEOUT once the board has been silent for the stall timeout', async () => {
    const clock = new VirtualClock();
    const { link } = scriptedBoard(clock, { busyMs: 60_000, silentFromMs: 2_000 });
    const t0 = clock.now();
    const err = await clock.run(bulkWrite(link, { region: 1, data, chunkSize: 1024, adaptive: false })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/no answer from the board for 10 s/) });
    // Silent from 2 s on: the 10 s count from the last frame heard, not from the last byte committed.
    expect(clock.now() - t0).toBeGreaterThan(12_000);
    expect(clock.now() - t0).toBeLessThan(30_000);
    link.dispose();
  });

  it('fails with TIMEOUT when the board answers but no data moves for the moveless timeout', async () => {
    const clock = new VirtualClock();
    const { link, committed } = scriptedBoard(clock, { busyMs: Infinity });
    const t0 = clock.now();
    const err = await clock.run(bulkWrite(link, { region: 1, data, chunkSize: 1024, adaptive: false, movelessTimeoutMs: 30_000 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/answers, but no data moved for 30 s/) });
    expect(committed()).toBe(0);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(30_000);
    link.dispose();
  });
});
