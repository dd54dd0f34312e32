import { beforeEach, describe, expect, it } from 'vitest';
import { BmsChannel, probeWith } from '../../../electron/host/drivers/bms-polling.js';
import jbdFactory from '../../../electron/host/drivers/jbd.js';
import { createJbdExtractor, encodeJbdRead, encodeJbdResponse, type JbdFrame } from '../../../shared/bms/jbd.js';
import { PackscopeError } from '../../../shared/errors.js';
import { VirtualClock } from '../../../shared/util/clock.js';
import { MockTransport } from '../../support/mock-transport.js';

/** Channel, probes and fake boards run on this virtual clock (fresh for each test). */
let clock: VirtualClock;
beforeEach(() => {
  clock = new VirtualClock();
});

/** A transport whose "board" is a function of what was written, answering 1 ms later. */
function fakeTransport(answer: (req: Uint8Array) => Uint8Array[] | null) {
  return new MockTransport({
    path: 'fake:',
    clock,
    peer: (d, port) => {
      const out = answer(d);
      if (out) port.reply(out, 1);
    },
  });
}

const line = { baudRate: 9600 };
const reply = (reg: number) => encodeJbdResponse({ register: reg, status: 0, data: Uint8Array.of(1, 2) });

describe('BmsChannel', () => {
  it('counts garbage and bad checksums around a good answer, and takes the good one', async () => {
    const bad = reply(3);
    bad[bad.length - 2]! ^= 1;
    const t = fakeTransport(() => [Uint8Array.of(0x00, 0x13, 0x37), bad, reply(3)]);
    const ch = new BmsChannel<JbdFrame>(t, createJbdExtractor(), line, 50, 0, clock);
    const [f] = await clock.run(ch.request({ request: encodeJbdRead(3), accept: (x) => x.b1 === 3, expectBytes: 9 }));
    expect(f!.data).toEqual(Uint8Array.of(1, 2));
    expect(clock.now()).toBe(1);
    const s = ch.stats();
    expect(s).toMatchObject({ crcErrors: 1, garbageBytes: 3, framesIn: 1, framesOut: 1, bytesOut: 7 });
  });

  it('a reply cut short is counted as partial and does not glue onto the next one; retries are counted', async () => {
    let n = 0;
    const t = fakeTransport(() => (n++ === 0 ? [reply(4).subarray(0, 6)] : [reply(4)]));
    const ch = new BmsChannel<JbdFrame>(t, createJbdExtractor(), line, 30, 1, clock);
    const [f] = await clock.run(ch.request({ request: encodeJbdRead(4), accept: (x) => x.b1 === 4, expectBytes: 9 }));
    expect(f!.b1).toBe(4);
    // The first attempt timed out after 30 ms plus 9 bytes of line time (10 ms at 9600 baud).
    expect(clock.now()).toBe(40 + 1);
    expect(ch.stats()).toMatchObject({ timeouts: 1, retries: 1 });
    expect(ch.stats().decodeErrors).toBeGreaterThanOrEqual(1);
  });

  it('a silent board is a TIMEOUT after the retries; an unplug rejects at once with DISCONNECTED', async () => {
    const t = fakeTransport(() => null);
    const ch = new BmsChannel<JbdFrame>(t, createJbdExtractor(), line, 20, 2, clock);
    await expect(clock.run(ch.request({ request: encodeJbdRead(3), accept: () => true, expectBytes: 0 }))).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(ch.stats()).toMatchObject({ timeouts: 3, retries: 2 });
    // Each retry waits twice as long as the attempt before it.
    expect(clock.now()).toBe(20 + 40 + 80);
    const p = ch.request({ request: encodeJbdRead(3), accept: () => true, expectBytes: 0 });
    await clock.settle();
    t.unplug();
    await expect(p).rejects.toBeInstanceOf(PackscopeError);
    await expect(p).rejects.toMatchObject({ code: 'DISCONNECTED' });
    ch.dispose();
    expect(t.listenerCount).toBe(0);
  });

  it('a reply later than the timeout is taken by the retry, which waits twice as long', async () => {
    // The board answers every request 45 ms after it: past the first 20 ms, inside the retry's 40.
    const t = new MockTransport({ path: 'fake:', clock, peer: (d, port) => port.reply([reply(d[2]!)], 45) });
    const ch = new BmsChannel<JbdFrame>(t, createJbdExtractor(), line, 20, 1, clock);
    const [f] = await clock.run(ch.request({ request: encodeJbdRead(3), accept: (x) => x.b1 === 3, expectBytes: 0 }));
    expect(f!.b1).toBe(3);
    expect(clock.now()).toBe(45);
    expect(ch.stats()).toMatchObject({ timeouts: 1, retries: 1 });
    // The repeat's own answer comes at 65 ms with nobody waiting for it: noted as unclaimed.
    await clock.advance(30);
    expect(ch.unclaimedFrames).toBe(1);
  });

  it('requests are serialised: each gets its own answer', async () => {
    const t = fakeTransport((req) => [reply(req[2]!)]);
    const ch = new BmsChannel<JbdFrame>(t, createJbdExtractor(), line, 50, 0, clock);
    const regs = [3, 4, 5, 3, 4];
    const got = await clock.run(Promise.all(regs.map((r) => ch.request({ request: encodeJbdRead(r), accept: (x) => x.b1 === r, expectBytes: 9 }))));
    expect(got.map(([f]) => f!.b1)).toEqual(regs);
    // One request on the line at a time: each waits for the answer before it, 1 ms apart.
    expect(clock.now()).toBe(regs.length);
  });
});

describe('probes', () => {
  it('answer true for the right board, false for silence, and leave no listener behind', async () => {
    const board = fakeTransport((req) => (req[1] === 0xa5 ? [reply(req[2]!)] : null));
    expect(await clock.run(jbdFactory.probe(board, 100, clock))).toBe(true);
    expect(board.listenerCount).toBe(0);
    const silent = fakeTransport(() => null);
    const t0 = clock.now();
    // The wait covers at least a short answer's line time: 64 bytes at 9600 baud, 67 ms.
    expect(await clock.run(probeWith(silent, line, createJbdExtractor(), encodeJbdRead(3), () => true, 30, clock))).toBe(false);
    expect(clock.now() - t0).toBe(67);
    expect(silent.listenerCount).toBe(0);
    // Line noise that merely looks like a frame start is not an answer.
    const noisy = fakeTransport(() => [Uint8Array.of(0xdd, 0x03, 0x00, 0x02, 0x01)]);
    expect(await clock.run(jbdFactory.probe(noisy, 50, clock))).toBe(false);
  });
});
