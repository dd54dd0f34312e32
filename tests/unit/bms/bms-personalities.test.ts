import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBoard, type SimBoard } from '../../../firmware/sim/board.js';
import type { DeviceLink } from '../../../firmware/sim/line.js';
import { createDalyPersonality } from '../../../firmware/sim/bms/daly.js';
import { createJbdPersonality, JBD_STATUS_REFUSED } from '../../../firmware/sim/bms/jbd.js';
import { createJkPersonality } from '../../../firmware/sim/bms/jk.js';
import { RX_IDLE_RESET_MS } from '../../../firmware/sim/bms/common.js';
import * as daly from '../../../shared/bms/daly.js';
import * as jbd from '../../../shared/bms/jbd.js';
import * as jk from '../../../shared/bms/jk.js';
import type { LineSettings } from '../../../shared/types/transport.js';
import { Emitter } from '../../../shared/util/emitter.js';

/** A DeviceLink without a line: what the personality sends is collected synchronously. */
function fakeLink(): DeviceLink & { sent: Uint8Array[]; feed(b: Uint8Array): void } {
  const rx = new Emitter<Uint8Array>();
  let settings: LineSettings = { baudRate: 115200 };
  const sent: Uint8Array[] = [];
  return {
    sent,
    feed: (b) => rx.emit(b),
    send: (d) => sent.push(d.slice()),
    onReceive: (l) => rx.on(l),
    backlog: 0,
    drained: async () => undefined,
    get settings() {
      return settings;
    },
    setSettings: (s) => (settings = s),
    onDisconnect: () => () => undefined,
    disconnect: () => undefined,
    stats: { bytesToHost: 0, bytesFromHost: 0, dropped: 0, corrupted: 0 },
  };
}

let board: SimBoard;
beforeAll(async () => {
  board = await createBoard({ cells: 13, chemistry: 'nmc', subsystems: false, seed: 11 });
  board.pack.step(60);
});

describe('JBD personality', () => {
  it('answers 0x03/0x04/0x05 from the pack, refuses other registers and writes with status 0x80, and sets 9600 8N1', () => {
    const p = createJbdPersonality(board);
    const link = fakeLink();
    p.attach(link);
    expect(link.settings).toEqual({ baudRate: 9600, parity: 'none' });
    link.feed(jbd.encodeJbdRead(3));
    link.feed(jbd.encodeJbdRead(4));
    link.feed(jbd.encodeJbdRead(5));
    link.feed(jbd.encodeJbdRead(0xa9));
    link.feed(jbd.encodeJbdRequest({ kind: 'write', register: 0xe1, data: Uint8Array.of(0, 1) }));
    const [basic, cells, hw, aa, write] = link.sent.map((b) => jbd.decodeJbdResponse(b));
    const s = board.pack.state();
    expect(jbd.decodeJbdBasicInfo(basic!.data)).toMatchObject({ cellCount: 13, temperatures: s.temperatures.map((t) => Math.round(t * 10) / 10) });
    expect(jbd.decodeJbdCells(cells!.data)).toEqual(s.cellVoltages.map((v) => Math.round(v * 1000) / 1000));
    expect(jbd.decodeJbdHardwareVersion(hw!.data)).toBe('JBD-SP13S-SIM-B2');
    expect([aa!.status, write!.status]).toEqual([JBD_STATUS_REFUSED, JBD_STATUS_REFUSED]);
    p.detach();
    link.feed(jbd.encodeJbdRead(3));
    expect(link.sent).toHaveLength(5); // detached: silent
  });
});

describe('Daly personality', () => {
  it('sends ceil(13/3) = 5 cell frames whose unused slots carry stale bytes, and no answer to unknown commands', () => {
    const p = createDalyPersonality(board);
    const link = fakeLink();
    p.attach(link);
    link.feed(daly.encodeDalyRequest(0x90)); // fills the transmit buffer
    link.feed(daly.encodeDalyRequest(0x95));
    link.feed(daly.encodeDalyRequest(0x42));
    const frames = link.sent.map((b) => daly.decodeDalyResponse(b));
    expect(frames.map((f) => f.command)).toEqual([0x90, 0x95, 0x95, 0x95, 0x95, 0x95]);
    const last = frames.at(-1)!;
    expect(last.data[0]).toBe(5);
    // Cell 13 is the first slot of frame 5; slots 2 and 3 repeat frame 4's bytes.
    expect(last.data.subarray(3, 7)).toEqual(frames.at(-2)!.data.subarray(3, 7));
    const s = board.pack.state();
    const cells = daly.assembleDalyValues(
      frames.slice(1).map((f) => ({ frame: f.data[0]!, values: daly.decodeDalyCellFrame(f.data).millivolts.map((v) => v / 1000) })),
      13,
      3,
      'cells',
    );
    expect(cells).toEqual(s.cellVoltages.map((v) => Math.round(v * 1000) / 1000));
  });
});

describe('JK personality', () => {
  it('answers read-all with the fields in board order, protocol version last', () => {
    const p = createJkPersonality(board);
    const link = fakeLink();
    p.attach(link);
    expect(link.settings.baudRate).toBe(115200);
    link.feed(jk.encodeJkReadAll());
    const f = jk.decodeJkFrame(link.sent[0]!);
    const ids = jk.decodeJkFields(f.payload).fields.map((x) => x.id);
    expect(ids[0]).toBe(0x79);
    expect(ids.at(-1)).toBe(0xc0);
    expect(ids).not.toContain(0x88);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const s = jk.decodeJkStatusFrame(link.sent[0]!);
    expect(s.cellVoltages).toHaveLength(13);
    expect(jk.jkDeviceInfo(s)).toMatchObject({ chemistry: 'nmc', cellCount: 13, model: 'JK-SIM13S' });
  });
});

describe('receive idle timeout', () => {
  // A stray start byte with a large "length" after it (another protocol's probe during
  // auto-detection, noise on plug-in) must not make a board swallow the next request as the rest
  // of that frame: after RX_IDLE_RESET_MS of silence the partial frame is given up.
  const cases = [
    { name: 'jbd', make: createJbdPersonality, stray: Uint8Array.of(0x00, 0xdd, 0xa5, 0x03, 0xf0), request: jbd.encodeJbdRead(3), swallowed: true },
    { name: 'jk', make: createJkPersonality, stray: Uint8Array.of(0x00, 0x4e, 0x57, 0x01, 0x00), request: jk.encodeJkReadAll(), swallowed: true },
    // Daly frames have a fixed length and the rescan skips one byte at a time, so a Daly board
    // recovers from a stray header by itself once a whole request has arrived.
    { name: 'daly', make: createDalyPersonality, stray: Uint8Array.of(0x00, 0xa5, 0x40, 0x90, 0x08), request: daly.encodeDalyRequest(0x90), swallowed: false },
  ];
  for (const c of cases) {
    it(`${c.name}: a request after a quiet gap is answered, whatever was half-received before it`, () => {
      let t = 1000;
      const p = c.make(board, { clock: () => t });
      const link = fakeLink();
      p.attach(link);
      link.feed(c.stray);
      t += RX_IDLE_RESET_MS - 5; // not yet idle: the request is taken as the stray frame's body
      link.feed(c.request);
      expect(link.sent.length > 0).toBe(!c.swallowed);
      const before = link.sent.length;
      t += RX_IDLE_RESET_MS + 5;
      link.feed(c.request);
      expect(link.sent.length).toBeGreaterThan(before);
      p.detach();
    });
    it(`${c.name}: a request split by a pause shorter than the idle timeout is still answered`, () => {
      let t = 0;
      const p = c.make(board, { clock: () => t });
      const link = fakeLink();
      p.attach(link);
      link.feed(c.request.subarray(0, 3));
      t += RX_IDLE_RESET_MS - 1;
      link.feed(c.request.subarray(3));
      expect(link.sent.length).toBeGreaterThan(0);
      p.detach();
    });
  }
});

describe('all personalities on arbitrary input', () => {
  it('never throw, whatever arrives on the line', () => {
    const ps = [createJbdPersonality(board), createDalyPersonality(board), createJkPersonality(board)];
    const links = ps.map((p) => {
      const l = fakeLink();
      p.attach(l);
      return l;
    });
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), (chunks) => {
        for (const l of links) for (const c of chunks) l.feed(c);
      }),
      { numRuns: 300 },
    );
    for (const p of ps) p.detach();
  });
});
