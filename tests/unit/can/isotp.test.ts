import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import { IsoTpEndpoint, IsoTpError, decodePdu, decodeStMin, encodePdu, encodeStMin, type IsoTpOptions, type IsoTpPdu } from '../../../shared/can/isotp.js';
import { VirtualClock } from '../../../shared/util/clock.js';

/** Two endpoints joined by a virtual bus where each frame takes `frameMs` of virtual time. */
function pair(a: IsoTpOptions = {}, b: IsoTpOptions = {}, frameMs = 0.222) {
  const clock = new VirtualClock();
  const log: Array<{ t: number; from: 'a' | 'b'; data: Uint8Array }> = [];
  let busFree = 0;
  let tamper: ((from: 'a' | 'b', d: Uint8Array) => Uint8Array | null) | null = null;
  const wire = (from: 'a' | 'b', data: Uint8Array) =>
    new Promise<void>((resolve) => {
      const start = Math.max(clock.now(), busFree);
      busFree = start + frameMs;
      clock.after(busFree - clock.now(), () => {
        log.push({ t: clock.now(), from, data });
        const d = tamper ? tamper(from, data) : data;
        if (d) (from === 'a' ? epB : epA).handleFrame(d);
        resolve();
      });
    });
  const epA: IsoTpEndpoint = new IsoTpEndpoint((d) => wire('a', d), clock, a);
  const epB: IsoTpEndpoint = new IsoTpEndpoint((d) => wire('b', d), clock, b);
  return { clock, epA, epB, log, setTamper: (f: typeof tamper) => (tamper = f) };
}

const arbPdu: fc.Arbitrary<IsoTpPdu> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 7 }).map((data) => ({ type: 'single' as const, data })),
  fc
    .tuple(fc.integer({ min: 8, max: 4095 }), fc.uint8Array({ minLength: 6, maxLength: 6 }))
    .map(([length, data]) => ({ type: 'first' as const, length, data })),
  fc
    .tuple(fc.integer({ min: 4096, max: 0xffffffff }), fc.uint8Array({ minLength: 2, maxLength: 2 }))
    .map(([length, data]) => ({ type: 'first' as const, length, data })),
  fc.tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ minLength: 7, maxLength: 7 })).map(([sn, data]) => ({ type: 'consecutive' as const, sn, data })),
  fc
    .tuple(fc.constantFrom('continue' as const, 'wait' as const, 'overflow' as const), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
    .map(([status, blockSize, stMin]) => ({ type: 'flow' as const, status, blockSize, stMin })),
);

describe('ISO-TP codec', () => {
  it('STmin encodings: 0x00-0x7F ms, 0xF1-0xF9 hundreds of µs, reserved = 127 ms', () => {
    expect(decodeStMin(0x00)).toBe(0);
    expect(decodeStMin(0x7f)).toBe(127_000);
    expect(decodeStMin(0xf1)).toBe(100);
    expect(decodeStMin(0xf9)).toBe(900);
    expect(decodeStMin(0x80)).toBe(127_000);
    expect(decodeStMin(0xfa)).toBe(127_000);
    expect(encodeStMin(250)).toBe(0xf3);
    expect(encodeStMin(5000)).toBe(5);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), (raw) => {
        expect(decodeStMin(encodeStMin(decodeStMin(raw)))).toBe(decodeStMin(raw));
      }),
    );
  });

  it('round-trips PDUs, padded and unpadded', () => {
    fc.assert(
      fc.property(arbPdu, fc.constantFrom(0xcc, 0xaa, 0x00, null), (pdu, pad) => {
        const bytes = encodePdu(pdu, pad);
        expect(bytes.length).toBeLessThanOrEqual(8);
        if (pad !== null) expect(bytes.length).toBe(8);
        const back = decodePdu(bytes);
        if (pdu.type === 'consecutive') expect(back).toEqual({ ...pdu, data: bytes.slice(1) });
        else expect(back).toEqual(pdu);
      }),
    );
  });

  it('arbitrary CAN payloads decode or raise a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
        try {
          decodePdu(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ISO-TP state machines (virtual time)', () => {
  it('carries messages of 1..4095 bytes with any block size and STmin', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 4095 }),
        fc.integer({ min: 0, max: 20 }),
        fc.constantFrom(0, 1, 0xf3, 0xf9),
        fc.constantFrom(0xcc, null),
        async (msg, bs, st, pad) => {
          const { clock, epA, epB } = pair({ padding: pad }, { blockSize: bs, stMin: st, padding: pad });
          const got: Uint8Array[] = [];
          epB.onMessage((m) => got.push(m));
          const sent = epA.send(msg);
          await clock.advance(5000);
          await sent;
          expect(got).toEqual([msg]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('messages above 4095 bytes use the 32-bit first-frame length, only where the receiver accepts them', async () => {
    const { clock, epA, epB, log } = pair({}, { maxLength: 70_000 });
    const got: Uint8Array[] = [];
    epB.onMessage((m) => got.push(m));
    const msg = Uint8Array.from({ length: 65_538 }, (_, i) => (i * 7) & 0xff);
    const sent = epA.send(msg);
    await clock.advance(60_000);
    await sent;
    expect(got).toEqual([msg]);
    expect(Array.from(log[0]!.data.subarray(0, 6))).toEqual([0x10, 0x00, 0x00, 0x01, 0x00, 0x02]);
    // A receiver limited to the 2004 edition's 4095 bytes answers overflow.
    const p2 = pair();
    const s2 = p2.epA.send(new Uint8Array(5000)).then(
      () => null,
      (e: unknown) => e,
    );
    await p2.clock.advance(10);
    expect(((await s2) as IsoTpError).failure).toBe('N_BUFFER_OVFLW');
  });

  it("honours the receiver's STmin and block size on the wire", async () => {
    const { clock, epA, epB, log } = pair({}, { blockSize: 4, stMin: 5 });
    epB.onMessage(() => undefined);
    const sent = epA.send(new Uint8Array(100));
    await clock.advance(1000);
    await sent;
    const cfs = log.filter((e) => e.from === 'a' && e.data[0]! >> 4 === 2);
    expect(cfs.length).toBe(14); // 100 - 6 = 94 bytes → 14 consecutive frames
    const fcs = log.filter((e) => e.from === 'b');
    expect(fcs.length).toBe(1 + 3); // after the first frame, then after CF 4, 8 and 12
    for (let i = 1; i < cfs.length; i++) {
      if (i % 4 !== 0) expect(cfs[i]!.t - cfs[i - 1]!.t).toBeGreaterThanOrEqual(5);
    }
  });

  it('a wrong sequence number is a clear N_WRONG_SN error at the receiver', async () => {
    const { clock, epA, epB, setTamper } = pair();
    const errors: IsoTpError[] = [];
    epB.onError((e) => errors.push(e));
    let cf = 0;
    setTamper((from, d) => {
      if (from === 'a' && d[0]! >> 4 === 2 && ++cf === 3) return Uint8Array.of(0x25, ...d.slice(1)); // SN 3 → 5
      return d;
    });
    const sent = epA.send(new Uint8Array(50));
    await clock.advance(100);
    await sent;
    expect(errors).toHaveLength(1);
    expect(errors[0]!.failure).toBe('N_WRONG_SN');
    expect(errors[0]!.message).toMatch(/expected 3, got 5/);
  });

  it('N_Bs: the sender fails when no flow control comes', async () => {
    const { clock, epA, setTamper } = pair({ nBsMs: 250 });
    setTamper(() => null); // receiver never hears anything
    const sent = epA.send(new Uint8Array(20));
    const outcome = sent.then(
      () => null,
      (e: unknown) => e,
    );
    await clock.advance(249);
    await clock.advance(2);
    const e = await outcome;
    expect(e).toBeInstanceOf(IsoTpError);
    expect((e as IsoTpError).failure).toBe('N_TIMEOUT_Bs');
    expect((e as IsoTpError).code).toBe('TIMEOUT');
  });

  it('N_Cr: the receiver fails when consecutive frames stop', async () => {
    const { clock, epA, epB, setTamper } = pair({}, { nCrMs: 300 });
    const errors: IsoTpError[] = [];
    epB.onError((e) => errors.push(e));
    let cf = 0;
    setTamper((from, d) => (from === 'a' && d[0]! >> 4 === 2 && ++cf >= 2 ? null : d));
    const sent = epA.send(new Uint8Array(40));
    await clock.advance(250);
    expect(errors).toHaveLength(0);
    await clock.advance(100);
    await sent;
    expect(errors.map((e) => e.failure)).toEqual(['N_TIMEOUT_Cr']);
  });

  it('takes a WAIT and the clear-to-send that follows it in the same read from the adapter', async () => {
    // An SLCAN adapter hands over every frame it buffered in one serial read; the CTS behind a WAIT
    // reaches the sender before any continuation runs. It was ignored, and the send then died of
    // N_Bs although the receiver had asked for the data.
    const clock = new VirtualClock();
    const sentFrames: Uint8Array[] = [];
    const sender = new IsoTpEndpoint((d) => void sentFrames.push(d), clock, { nBsMs: 1000, padding: 0xcc });
    const sent = sender.send(Uint8Array.from({ length: 30 }, (_, i) => i)).then(
      () => null,
      (e: unknown) => e,
    );
    await clock.advance(1);
    expect(sentFrames).toHaveLength(1); // the first frame
    sender.handleFrame(Uint8Array.of(0x31, 0, 0, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc)); // WAIT
    sender.handleFrame(Uint8Array.of(0x30, 0, 0, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc)); // CTS, same read
    await clock.advance(2000); // past N_Bs
    expect(await sent).toBeNull();
    expect(sentFrames.map((f) => f[0]! >> 4)).toEqual([1, 2, 2, 2, 2]);
  });

  it('flow control WAIT restarts N_Bs; too many WAITs and OVERFLOW are errors', async () => {
    const clock = new VirtualClock();
    const sender = new IsoTpEndpoint(() => undefined, clock, { maxWaitFrames: 2, nBsMs: 100 });
    const wait = Uint8Array.of(0x31, 0, 0, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc);
    const sent = sender.send(new Uint8Array(30)).then(
      () => null,
      (e: unknown) => e,
    );
    let settled = false;
    void sent.then(() => (settled = true));
    await clock.advance(60);
    sender.handleFrame(wait);
    await clock.advance(90); // 150 ms since the first frame, 90 since the WAIT: N_Bs restarted
    expect(settled).toBe(false);
    sender.handleFrame(wait);
    await clock.advance(1);
    sender.handleFrame(wait);
    await clock.advance(1);
    expect(((await sent) as IsoTpError).failure).toBe('N_WFT_OVRN');

    const p2 = pair({}, { maxLength: 100 });
    const errs: IsoTpError[] = [];
    p2.epB.onError((e) => errs.push(e));
    const s2 = p2.epA.send(new Uint8Array(200)).then(
      () => null,
      (e: unknown) => e,
    );
    await p2.clock.advance(10);
    expect(((await s2) as IsoTpError).failure).toBe('N_BUFFER_OVFLW');
    expect(errs[0]!.failure).toBe('N_BUFFER_OVFLW');
  });

  it('arbitrary frames fed to an endpoint never throw', () => {
    const { epB } = pair();
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 9 }), { maxLength: 30 }), (frames) => frames.forEach((f) => epB.handleFrame(f))));
  });
});
