import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import * as M from '../../../shared/protocol/messages.js';
import { BulkReceiver, BulkSender, contextStart, packChunk, unpackChunk } from '../../../shared/protocol/bulk.js';
import { BULK_FLAG, CHUNK_FLAG, MAX_WINDOW_WIDE } from '../../../shared/protocol/messages.js';
import { payloadToTelemetry, telemetryToPayload } from '../../../shared/protocol/telemetry.js';

/** Every payload codec of the core and bulk commands: round trip, and arbitrary bytes → DecodeError only. */
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const str = fc.string({ maxLength: 40 });
const f32 = fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => Math.fround(x));
const t = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const blob = fc.uint8Array({ maxLength: 200 });

const cases: Array<[string, M.Codec<any>, fc.Arbitrary<any>]> = [
  [
    'IDENTITY',
    M.IDENTITY,
    fc.record({
      protocolVersion: u8,
      model: str,
      serial: str,
      boardId: str,
      hardwareRevision: str,
      firmwareVersion: str,
      bootloaderVersion: str,
      cellCount: u8,
      chemistry: fc.constantFrom('unknown', 'lfp', 'nmc'),
      nominalCapacityMah: u32,
      capabilities: u16,
      maxPayload: u16,
      bootCount: u32,
      uptimeMs: u32,
    }),
  ],
  ['DEVICE_KEY', M.DEVICE_KEY, fc.record({ publicKey: blob })],
  [
    'TELEMETRY',
    M.TELEMETRY,
    fc.record({
      t,
      packMv: u32,
      currentMa: i32,
      socCenti: u16,
      sohCenti: u16,
      status: u16,
      alarms: u32,
      cellMv: fc.array(u16, { maxLength: 32 }),
      tempDeci: fc.array(fc.integer({ min: -0x8000, max: 0x7fff }), { maxLength: 16 }),
    }),
  ],
  ['TELEMETRY_START', M.TELEMETRY_START, fc.record({ rateMilliHz: u32 })],
  [
    'PARAM_LIST',
    M.PARAM_LIST,
    fc.record({ params: fc.array(fc.record({ id: u16, writable: fc.boolean(), min: f32, max: f32, value: f32, name: str, unit: str }), { maxLength: 10 }) }),
  ],
  ['PARAM_ID', M.PARAM_ID, fc.record({ id: u16 })],
  ['PARAM_VALUE', M.PARAM_VALUE, fc.record({ id: u16, value: f32 })],
  ['FAULTS', M.FAULTS, fc.record({ status: u16, activeAlarms: u32, latchedAlarms: u32 })],
  ['EVENTS_QUERY', M.EVENTS_QUERY, fc.record({ since: u32, max: u8 })],
  ['EVENTS_LIST', M.EVENTS_LIST, fc.record({ next: u32, events: fc.array(fc.record({ seq: u32, t, code: u16 }), { maxLength: 64 }) })],
  ['BOARD_EVENT', M.BOARD_EVENT, fc.record({ seq: u32, t, code: u16 })],
  ['TIME', M.TIME, fc.record({ t })],
  ['RESET', M.RESET, fc.record({ mode: fc.constantFrom(...M.RESET_MODES) })],
  ['ERROR', M.ERROR, fc.record({ code: u16, message: fc.string({ maxLength: 60 }) })],
  ['REGION_LIST', M.REGION_LIST, fc.record({ regions: fc.array(fc.record({ id: u8, flags: u8, size: u32, written: u32, name: str }), { maxLength: 8 }) })],
  ['REGION_ID', M.REGION_ID, fc.record({ region: u8 })],
  ['REGION_INFO', M.REGION_INFO, fc.record({ id: u8, flags: u8, size: u32, written: u32, name: str })],
  ['REGION_RANGE', M.REGION_RANGE, fc.record({ region: u8, offset: u32, length: u32 })],
  ['REGION_HASH', M.REGION_HASH, fc.record({ offset: u32, length: u32, sha256: fc.uint8Array({ minLength: 32, maxLength: 32 }) })],
  ['BULK_OPEN', M.BULK_OPEN, fc.record({ transferId: u16, region: u8, flags: u8, offset: u32, length: u32, chunkSize: u16, window: u8 })],
  ['BULK_CLOSE', M.BULK_CLOSE, fc.record({ transferId: u16 })],
  ['BULK_CLOSED', M.BULK_CLOSED, fc.record({ transferId: u16, committed: u32 })],
  ['BULK_DATA', M.BULK_DATA, fc.record({ transferId: u16, offset: u32, flags: u8, data: blob })],
  [
    'BULK_ACK',
    M.BULK_ACK,
    fc.record(
      { transferId: u16, cumulative: u32, sack: u32, more: fc.array(u32, { minLength: 1, maxLength: 3 }) },
      { requiredKeys: ['transferId', 'cumulative', 'sack'] },
    ),
  ],
  ['BULK_NAK', M.BULK_NAK, fc.record({ transferId: u16, offset: u32 })],
  ['BULK_ABORT', M.BULK_ABORT, fc.record({ transferId: u16, code: u16, message: fc.string({ maxLength: 60 }) })],
];

describe('message codecs', () => {
  for (const [name, codec, arb] of cases) {
    it(`${name}: round trip`, () => {
      fc.assert(
        fc.property(arb, (v) => {
          expect(codec.decode(codec.encode(v))).toEqual(v);
        }),
        { numRuns: 200 },
      );
    });
    it(`${name}: arbitrary bytes decode or throw DecodeError only`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          try {
            codec.decode(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it('encodeBulkData equals the BULK_DATA codec', () => {
    fc.assert(
      fc.property(u16, u32, u8, blob, (id, off, flags, data) => {
        expect(M.encodeBulkData(id, off, flags, data)).toEqual(M.BULK_DATA.encode({ transferId: id, offset: off, flags, data }));
      }),
    );
  });

  it('telemetry survives the integer wire units within their resolution', () => {
    fc.assert(
      fc.property(
        fc.record({
          t: fc.integer({ min: 0, max: 2 ** 45 }),
          packVoltage: fc.double({ min: 0, max: 1000, noNaN: true }),
          current: fc.double({ min: -1000, max: 1000, noNaN: true }),
          soc: fc.double({ min: 0, max: 100, noNaN: true }),
          cellVoltages: fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { maxLength: 24 }),
          temperatures: fc.array(fc.double({ min: -40, max: 120, noNaN: true }), { maxLength: 8 }),
          status: u8,
          alarms: u16,
        }),
        (f) => {
          const back = payloadToTelemetry(M.TELEMETRY.decode(M.TELEMETRY.encode(telemetryToPayload(f))));
          expect(Math.abs(back.packVoltage - f.packVoltage)).toBeLessThanOrEqual(0.0005 + 1e-9);
          expect(Math.abs(back.current - f.current)).toBeLessThanOrEqual(0.0005 + 1e-9);
          back.cellVoltages.forEach((v, i) => expect(Math.abs(v - f.cellVoltages[i]!)).toBeLessThanOrEqual(0.0005 + 1e-9));
          back.temperatures.forEach((v, i) => expect(Math.abs(v - f.temperatures[i]!)).toBeLessThanOrEqual(0.05 + 1e-9));
          expect(back.status).toBe(f.status);
          expect(back.alarms).toBe(f.alarms);
        },
      ),
    );
  });
});

describe('bulk chunks and the windowed engine', () => {
  it('packChunk/unpackChunk round-trip; damaged compressed chunks are DecodeErrors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), fc.uint8Array({ maxLength: 200 }), u8, (data, compress, junk, flags) => {
        const p = packChunk(data, compress);
        expect(unpackChunk(p.data, p.flags, data.length)).toEqual(data);
        try {
          unpackChunk(junk, flags | 1, 100);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 200 },
    );
    const text = new Uint8Array(4096).map((_, i) => 65 + (i % 7));
    expect(packChunk(text, true).flags & 1).toBe(1);
  });

  it('moves every byte exactly once in order over a lossy, reordering channel', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20000 }),
        fc.integer({ min: 16, max: 1500 }),
        fc.integer({ min: 1, max: MAX_WINDOW_WIDE }),
        fc.double({ min: 0, max: 0.4, noNaN: true }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.constantFrom(0, BULK_FLAG.COMPRESS, BULK_FLAG.COMPRESS | BULK_FLAG.CONTEXT),
        (length, chunkSize, window, loss, seed, flags) => {
          let s = seed;
          const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
          const start = 100;
          // Records-like bytes: repeating structure with slowly changing values, and some noise.
          const src = new Uint8Array(length).map((_, i) => (i % 24 < 12 ? (i / 24) & 0xff : i % 24 === 13 ? rnd() * 256 : i % 24));
          const sender = new BulkSender({ start, length, chunkSize, window, initialRtoMs: 50, minRtoMs: 20 });
          const context = (flags & BULK_FLAG.CONTEXT) !== 0;
          const rx = new BulkReceiver(start, length, chunkSize, context);
          /** The sender's side of a chunk: packed as the board packs it (dictionary: the bytes before it). */
          const pack = (offset: number, n: number) => {
            const dictionary = context ? src.subarray(contextStart(start, offset) - start, offset - start) : undefined;
            return packChunk(src.subarray(offset - start, offset - start + n), flags !== 0, dictionary);
          };
          const out = new Uint8Array(length);
          let now = 0;
          let inFlight: Array<{ at: number; i: number }> = [];
          let acks: Array<{ at: number; cum: number; sack: number; more?: number[] }> = [];
          for (let step = 0; step < 200000 && !(sender.done && rx.complete); step++) {
            now += 1;
            for (const i of sender.due(now)) if (rnd() >= loss) inFlight.push({ at: now + 1 + Math.floor(rnd() * 5), i });
            const arrived = inFlight.filter((x) => x.at <= now);
            inFlight = inFlight.filter((x) => x.at > now);
            for (const { i } of arrived) {
              const { offset, length: n } = sender.chunkRange(i);
              const p = pack(offset, n);
              rx.acceptPacked(offset, p.data, p.flags);
              for (let c = rx.takeNext(); c; c = rx.takeNext()) {
                out.set(c.data, c.offset - start);
                rx.commit(c.offset + c.data.length);
              }
              const a = rx.ack(window);
              if (rnd() >= loss) acks.push({ at: now + 1 + Math.floor(rnd() * 3), cum: a.cumulative, sack: a.sack, ...(a.more ? { more: a.more } : {}) });
            }
            const due = acks.filter((a) => a.at <= now);
            acks = acks.filter((a) => a.at > now);
            for (const a of due) sender.onAck(a.cum, a.sack, now, a.more);
            // the receiver repeats its ack now and then, as the host does
            if (now % 40 === 0 && rnd() >= loss) {
              const a = rx.ack(window);
              sender.onAck(a.cumulative, a.sack, now, a.more);
            }
          }
          expect(rx.complete).toBe(true);
          expect(sender.done).toBe(true);
          expect(out).toEqual(src);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects misplaced and mis-sized chunks with DecodeError', () => {
    const rx = new BulkReceiver(0, 1000, 256);
    expect(() => rx.accept(100, new Uint8Array(256))).toThrow(DecodeError);
    expect(() => rx.accept(0, new Uint8Array(255))).toThrow(DecodeError);
    expect(() => rx.accept(768, new Uint8Array(256))).toThrow(DecodeError); // last chunk is 232 bytes
    expect(rx.accept(768, new Uint8Array(232))).toBe(true);
    expect(rx.accept(768, new Uint8Array(232))).toBe(false);
    expect(rx.ack()).toEqual({ cumulative: 0, sack: 0b1000 });
  });

  it('acknowledges a wide window with further SACK words', () => {
    const rx = new BulkReceiver(0, 100 * 16, 16);
    for (const i of [1, 33, 70, 99]) rx.accept(i * 16, new Uint8Array(16));
    expect(rx.ack(100)).toEqual({ cumulative: 0, sack: 0b10, more: [0b10, 1 << 6, 1 << 3] });
    const tx = new BulkSender({ start: 0, length: 100 * 16, chunkSize: 16, window: 100, initialRtoMs: 50 });
    expect(tx.due(0)).toHaveLength(100);
    const a = rx.ack(100);
    expect(tx.onAck(a.cumulative, a.sack, 1, a.more)).toBe(true);
    // Chunk 99, sent last, is acknowledged: every chunk sent before it and not acknowledged is lost.
    expect(tx.due(1)).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((i) => ![1, 33, 70, 99].includes(i)));
  });

  it('sends a chunk named in a NAK again at once, and only one it sent and still lacks an ack for', () => {
    // Three chunks, the RTO far away: only NAKs bring chunks back before it.
    const tx = new BulkSender({ start: 1000, length: 3 * 100, chunkSize: 100, window: 8, initialRtoMs: 10_000 });
    expect(tx.due(0)).toEqual([0, 1, 2]);
    for (const i of [0, 1, 2]) tx.setSentAt(i, 2 * (i + 1)); // on the wire until 2, 4, 6 ms
    expect(tx.onNak(1100, 5)).toBe(true);
    expect(tx.onNak(1100, 5)).toBe(false); // already due
    expect(tx.onNak(1200, 5)).toBe(false); // still on its way out
    expect(tx.onNak(1050, 5)).toBe(false); // not a chunk's offset
    expect(tx.onNak(1300, 5)).toBe(false); // past the end
    expect(tx.due(5)).toEqual([1]);
    expect(tx.retransmissions).toBe(1);
    expect(tx.onAck(1000, 0b110, 8)).toBe(true); // chunks 1 and 2 arrived
    expect(tx.onNak(1100, 9)).toBe(false); // acknowledged
    // Chunk 0 is lost by order anyway; a NAK for it changes nothing.
    expect(tx.due(9)).toEqual([0]);
    // A NAK arriving while the chunk's new copy is still on its way out is about the earlier one.
    tx.setSentAt(0, 20);
    expect(tx.onNak(1000, 15)).toBe(false);
    expect(tx.onNak(1000, 21)).toBe(true);
    expect(tx.due(21)).toEqual([0]);
  });

  it('inflates a context chunk only against the bytes before it, and refuses one on a transfer without context', () => {
    const src = new Uint8Array(600).map((_, i) => (i % 20 < 10 ? 7 : i % 20));
    const dict = src.subarray(0, 300);
    const p = packChunk(src.subarray(300, 600), true, dict);
    expect(p.flags).toBe(CHUNK_FLAG.DEFLATE | CHUNK_FLAG.CONTEXT);
    // Against its dictionary far smaller than alone.
    expect(p.data.length).toBeLessThan(packChunk(src.subarray(300, 600), true).data.length / 2);
    const rx = new BulkReceiver(0, 600, 300, true);
    expect(rx.acceptPacked(300, p.data, p.flags)).toBe(true);
    expect(rx.takeNext()).toBeNull(); // waits for the bytes before it
    expect(rx.acceptPacked(0, dict, 0)).toBe(true);
    expect(rx.takeNext()!.data).toEqual(dict);
    expect(rx.takeNext()!.data).toEqual(src.subarray(300, 600));
    expect(() => new BulkReceiver(0, 600, 300).acceptPacked(300, p.data, p.flags)).toThrow(DecodeError);
  });
});
