import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import { exactFrameBits, isoTpCeiling, nominalFrameBits, worstCaseFrameBits, stuffBitCount } from '../../../shared/can/bittime.js';
import { dataFrame, formatCandump, remoteFrame, type CanFrame } from '../../../shared/can/frame.js';
import {
  BELL,
  SlcanLineSplitter,
  bitrateCode,
  decodeCommand,
  decodeReply,
  encodeCommand,
  encodeReply,
  type SlcanCommand,
  type SlcanReply,
} from '../../../shared/can/slcan.js';

const text = (b: Uint8Array) => String.fromCharCode(...b);

export const arbFrame: fc.Arbitrary<CanFrame> = fc
  .oneof(
    fc.record({ id: fc.integer({ min: 0, max: 0x7ff }), extended: fc.constant(false), data: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({ id: fc.integer({ min: 0, max: 0x1fffffff }), extended: fc.constant(true), data: fc.uint8Array({ maxLength: 8 }) }),
  )
  .chain((f) => fc.boolean().map((remote) => (remote ? remoteFrame(f.id, f.data.length, f.extended) : dataFrame(f.id, f.data, f.extended))));

const arbCommand: fc.Arbitrary<SlcanCommand> = fc.oneof(
  fc.integer({ min: 0, max: 8 }).map((code) => ({ kind: 'bitrate' as const, code })),
  fc.record({ btr0: fc.integer({ min: 0, max: 255 }), btr1: fc.integer({ min: 0, max: 255 }) }).map((r) => ({ kind: 'btr' as const, ...r })),
  fc.constantFrom<SlcanCommand>({ kind: 'open' }, { kind: 'listen' }, { kind: 'close' }, { kind: 'status' }, { kind: 'version' }, { kind: 'serial' }),
  fc.boolean().map((on) => ({ kind: 'timestamps' as const, on })),
  fc.integer({ min: 0, max: 0xffffffff }).map((value) => ({ kind: 'acceptanceCode' as const, value })),
  fc.integer({ min: 0, max: 0xffffffff }).map((value) => ({ kind: 'acceptanceMask' as const, value })),
  arbFrame.map((frame) => ({ kind: 'transmit' as const, frame })),
);

const arbReply: fc.Arbitrary<SlcanReply> = fc.oneof(
  fc.constantFrom<SlcanReply>({ kind: 'ok' }, { kind: 'txOk', extended: false }, { kind: 'txOk', extended: true }, { kind: 'error' }),
  arbFrame.map((frame) => ({ kind: 'frame' as const, frame })),
  fc.tuple(arbFrame, fc.integer({ min: 0, max: 59999 })).map(([frame, timestamp]) => ({ kind: 'frame' as const, frame, timestamp })),
  fc.integer({ min: 0, max: 255 }).map((flags) => ({ kind: 'status' as const, flags })),
  fc.record({ hardware: fc.integer({ min: 0, max: 255 }), software: fc.integer({ min: 0, max: 255 }) }).map((v) => ({ kind: 'version' as const, ...v })),
  fc.stringMatching(/^[0-9A-Z]{4}$/).map((serial) => ({ kind: 'serial' as const, serial })),
);

function splitReplies(bytes: Uint8Array): { items: SlcanReply[]; errors: DecodeError[] } {
  const items: SlcanReply[] = [];
  const errors: DecodeError[] = [];
  const s = new SlcanLineSplitter(
    decodeReply,
    (r) => items.push(r),
    (e) => errors.push(e),
    () => items.push({ kind: 'error' }),
  );
  s.push(bytes);
  return { items, errors };
}

describe('SLCAN codec', () => {
  it('encodes the Lawicel commands byte for byte', () => {
    expect(text(encodeCommand({ kind: 'bitrate', code: bitrateCode(500_000) }))).toBe('S6\r');
    expect(text(encodeCommand({ kind: 'open' }))).toBe('O\r');
    expect(text(encodeCommand({ kind: 'transmit', frame: dataFrame(0x7e0, [0x02, 0x10, 0x02]) }))).toBe('t7E03021002\r');
    expect(text(encodeCommand({ kind: 'transmit', frame: dataFrame(0x18db33f1, [0x01], true) }))).toBe('T18DB33F1101\r');
    expect(text(encodeCommand({ kind: 'transmit', frame: remoteFrame(0x123, 4) }))).toBe('r1234\r');
    expect(text(encodeCommand({ kind: 'timestamps', on: true }))).toBe('Z1\r');
    expect(() => bitrateCode(300_000)).toThrow(DecodeError);
  });

  it('decodes adapter replies: frames with and without timestamps, status, version, BELL', () => {
    expect(decodeReply('t7E8706500200320 1F4'.replace(' ', ''))).toEqual({
      kind: 'frame',
      frame: dataFrame(0x7e8, [0x06, 0x50, 0x02, 0x00, 0x32, 0x01, 0xf4]),
    });
    // 7 data bytes announced with 8: wrong length is a typed error, not a guess.
    expect(() => decodeReply('t7E88065002003201F4')).toThrow(DecodeError);
    const r = decodeReply('t3566' + '6C140400DC00' + 'EA5F');
    expect(r).toEqual({ kind: 'frame', frame: dataFrame(0x356, [0x6c, 0x14, 0x04, 0x00, 0xdc, 0x00]), timestamp: 0xea5f });
    expect(decodeReply('F0C')).toEqual({ kind: 'status', flags: 0x0c });
    expect(decodeReply('V1013')).toEqual({ kind: 'version', hardware: 0x10, software: 0x13 });
    const { items } = splitReplies(Uint8Array.of(0x7a, 0x0d, BELL, 0x0d));
    expect(items).toEqual([{ kind: 'txOk', extended: false }, { kind: 'error' }, { kind: 'ok' }]);
  });

  it('round-trips every command and reply', () => {
    fc.assert(
      fc.property(arbCommand, (c) => {
        const bytes = encodeCommand(c);
        expect(bytes[bytes.length - 1]).toBe(0x0d);
        expect(decodeCommand(text(bytes.subarray(0, -1)))).toEqual(c);
      }),
    );
    fc.assert(
      fc.property(fc.array(arbReply, { maxLength: 20 }), (replies) => {
        const { items, errors } = splitReplies(Uint8Array.from(replies.flatMap((r) => [...encodeReply(r)])));
        expect(errors).toEqual([]);
        expect(items).toEqual(replies);
      }),
    );
  });

  it('arbitrary input gives typed errors only and never loses the next good line', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        for (const f of [decodeCommand, decodeReply]) {
          try {
            f(s);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        const good = encodeReply({ kind: 'frame', frame: dataFrame(0x355, [0x3c, 0, 0x64, 0]) });
        const { items } = splitReplies(Uint8Array.from([...junk, 0x0d, ...good]));
        expect(items[items.length - 1]).toEqual({ kind: 'frame', frame: dataFrame(0x355, [0x3c, 0, 0x64, 0]) });
      }),
    );
  });
});

describe('CAN bit time', () => {
  it('an 8-byte standard frame is 111 bits before stuffing, 29-bit ids add 20', () => {
    expect(nominalFrameBits({ extended: false, remote: false, dlc: 8 })).toBe(111);
    expect(nominalFrameBits({ extended: true, remote: false, dlc: 8 })).toBe(131);
    expect(nominalFrameBits({ extended: false, remote: true, dlc: 8 })).toBe(47);
    expect(isoTpCeiling(500_000)).toBeCloseTo((7 * 500_000) / 111, 6);
  });

  it('counts stuff bits on the real bit sequence', () => {
    expect(stuffBitCount([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).toBe(2);
    expect(stuffBitCount([1, 1, 1, 1, 1, 0, 0, 0])).toBe(1);
    expect(stuffBitCount([1, 1, 1, 1, 1, 0, 0, 0, 0])).toBe(2); // the stuff bit (0) joins the following zeros
    // All-zero payload of id 0: long dominant runs force many stuff bits.
    const zeros = exactFrameBits(dataFrame(0, new Uint8Array(8)));
    expect(zeros).toBeGreaterThan(111 + 15);
    fc.assert(
      fc.property(arbFrame, (f) => {
        const bits = exactFrameBits(f);
        expect(bits).toBeGreaterThanOrEqual(nominalFrameBits(f));
        expect(bits).toBeLessThanOrEqual(worstCaseFrameBits(f));
      }),
    );
  });

  it('formats candump lines', () => {
    expect(formatCandump(dataFrame(0x7e8, [0x02, 0x50, 0x02]))).toBe('7E8   [3]  02 50 02');
  });
});
