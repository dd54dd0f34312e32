import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import {
  addressFrame,
  commandFrame,
  decodeGet,
  decodeGetId,
  decodeGetVersion,
  extendedEraseFrame,
  extendedSpecialEraseFrame,
  legacyEraseFrame,
  readLengthFrame,
  writeDataFrame,
  xor,
} from '../../../electron/host/stm32/protocol.js';
import { flashEnd, pagesCovering, partById } from '../../../electron/host/stm32/devices.js';
import { normalizeSegments } from '../../../electron/host/stm32/rom-flasher.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('AN3155 frames', () => {
  it('encodes commands with their complement', () => {
    expect(hex(commandFrame(0x31))).toBe('31ce');
    expect(hex(commandFrame(0x00))).toBe('00ff');
    expect(hex(commandFrame(0x44))).toBe('44bb');
  });

  it('encodes addresses MSB first with an XOR checksum', () => {
    expect(hex(addressFrame(0x0800_0000))).toBe('0800000008');
    expect(hex(addressFrame(0x2000_3000))).toBe('2000300010');
    expect(() => addressFrame(-1)).toThrow(PackscopeError);
    expect(() => addressFrame(2 ** 32)).toThrow(PackscopeError);
  });

  it('encodes write data as N-1, bytes, XOR of all', () => {
    const f = writeDataFrame(Uint8Array.of(1, 2, 3, 4));
    expect(hex(f)).toBe('0301020304' + (3 ^ 1 ^ 2 ^ 3 ^ 4).toString(16).padStart(2, '0'));
    expect(() => writeDataFrame(new Uint8Array(3))).toThrow(/multiple of 4/);
    expect(() => writeDataFrame(new Uint8Array(260))).toThrow(PackscopeError);
  });

  it('encodes read lengths and erase lists as AN3155 shows', () => {
    expect(hex(readLengthFrame(256))).toBe('ff00');
    expect(hex(readLengthFrame(1))).toBe('00ff');
    // Extended Erase of sectors 0 and 1: N-1 = 0x0001, 0x0000, 0x0001, checksum.
    expect(hex(extendedEraseFrame([0, 1]))).toBe('000100000001' + '00');
    expect(hex(extendedSpecialEraseFrame(0xffff))).toBe('ffff00');
    expect(hex(legacyEraseFrame([2, 3]))).toBe('010203' + (1 ^ 2 ^ 3).toString(16).padStart(2, '0'));
  });

  it('write frames always check out: XOR over N and data equals the last byte', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.infiniteStream(fc.integer({ min: 0, max: 255 })), (words, s) => {
        const data = Uint8Array.from(s.take(words * 4));
        const f = writeDataFrame(data);
        expect(xor(f.subarray(0, f.length - 1))).toBe(f[f.length - 1]);
        expect(f[0]).toBe(data.length - 1);
      }),
    );
  });

  it('decodes replies and round-trips them', () => {
    expect(decodeGet(Uint8Array.of(2, 0x31, 0x00, 0x44))).toEqual({ bootloaderVersion: 0x31, commands: [0, 0x44] });
    expect(decodeGetId(Uint8Array.of(1, 0x04, 0x13))).toBe(0x413);
    expect(decodeGetVersion(Uint8Array.of(0x31, 0, 0))).toEqual({ bootloaderVersion: 0x31, option1: 0, option2: 0 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 254 }), (v, cmds) => {
        const r = decodeGet(Uint8Array.from([cmds.length, v, ...cmds]));
        expect(r).toEqual({ bootloaderVersion: v, commands: cmds });
      }),
    );
  });

  it('arbitrary bytes give a value or a DecodeError, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const decode of [decodeGet, decodeGetId, decodeGetVersion]) {
          try {
            decode(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }
      }),
    );
  });
});

describe('flash planning', () => {
  it('knows the F40x sector layout', () => {
    const f4 = partById(0x413)!;
    expect(f4.pageSizes.length).toBe(12);
    expect(flashEnd(f4)).toBe(0x0810_0000);
    // 256 KiB from the start of flash: sectors 0-5 (4x16 + 64 + 128 KiB), nothing more.
    expect(pagesCovering(f4, [{ start: 0x0800_0000, end: 0x0804_0000 }]).map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(pagesCovering(f4, [{ start: 0x0800_4000, end: 0x0800_4004 }]).map((p) => p.index)).toEqual([1]);
  });

  it('merges and word-aligns segments, padding with 0xFF', () => {
    const out = normalizeSegments([
      { address: 0x0800_0102, data: Uint8Array.of(1, 2, 3) },
      { address: 0x0800_0000, data: Uint8Array.of(9) },
    ]);
    expect(out.map((s) => s.address)).toEqual([0x0800_0000, 0x0800_0100]);
    expect(hex(out[0]!.data)).toBe('09ffffff');
    expect(hex(out[1]!.data)).toBe('ffff0102' + '03ffffff');
    expect(() =>
      normalizeSegments([
        { address: 0x100, data: new Uint8Array(8) },
        { address: 0x104, data: new Uint8Array(8) },
      ]),
    ).toThrow(/overlap/);
  });
});
