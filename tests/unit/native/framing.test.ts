import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import { cobsDecode, cobsDecodePrefix, cobsEncode, cobsMaxEncodedLength } from '../../../shared/protocol/cobs.js';
import { MSG } from '../../../shared/protocol/constants.js';
import { crc32 } from '../../../shared/protocol/crc32.js';
import { decodeFrame, encodeFrame, FrameDecoder, salvageHead, type DamagedHead, type Frame } from '../../../shared/protocol/frame.js';
import { utf8Encode } from '../../../shared/util/bytes.js';

/** Bitwise reference CRC-32 to check the sliced table implementation against. */
function crcRef(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

const headerArbs = {
  type: fc.constantFrom(MSG.REQUEST, MSG.RESPONSE, MSG.ERROR, MSG.EVENT),
  seq: fc.integer({ min: 0, max: 0xffff }),
  cmd: fc.integer({ min: 0, max: 0xffff }),
};
const frameArb = fc.record({ ...headerArbs, payload: fc.uint8Array({ maxLength: 3000 }) });

describe('CRC-32', () => {
  it('matches the IEEE check value', () => {
    expect(crc32(utf8Encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
  it('equals the bitwise reference and composes over splits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), (data, cut) => {
        const k = data.length ? cut % (data.length + 1) : 0;
        expect(crc32(data)).toBe(crcRef(data));
        expect(crc32(data.subarray(k), crc32(data.subarray(0, k)))).toBe(crc32(data));
      }),
    );
  });
});

describe('COBS', () => {
  it('round-trips and never emits a zero', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
        const enc = cobsEncode(data);
        expect(enc.includes(0)).toBe(false);
        expect(enc.length).toBeLessThanOrEqual(cobsMaxEncodedLength(data.length));
        expect(cobsDecode(enc)).toEqual(data);
      }),
    );
  });
  it('round-trips runs of zeros and 254-byte blocks', () => {
    for (const n of [0, 1, 253, 254, 255, 508, 1000]) {
      for (const fill of [0, 1]) {
        const d = new Uint8Array(n).fill(fill);
        expect(cobsDecode(cobsEncode(d))).toEqual(d);
      }
    }
  });
  it('arbitrary bytes decode or throw DecodeError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (data) => {
        try {
          cobsDecode(data);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
    );
  });
});

describe('frames', () => {
  it('round-trip through encodeFrame/decodeFrame', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const wire = encodeFrame(f);
        expect(wire[wire.length - 1]).toBe(0);
        expect(wire.subarray(0, -1).includes(0)).toBe(false);
        const back = decodeFrame(wire.subarray(0, -1));
        expect(back).toEqual({ version: 1, ...f });
      }),
    );
  });

  it('arbitrary bytes give frames or DecodeError, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (data) => {
        try {
          decodeFrame(data);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
    );
  });

  it('the streaming decoder reassembles any chunking of a frame sequence', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1 }), (frames, cuts) => {
        const wire = frames.map((f) => encodeFrame(f));
        const all = new Uint8Array(wire.reduce((n, w) => n + w.length, 0));
        let o = 0;
        for (const w of wire) {
          all.set(w, o);
          o += w.length;
        }
        const got: Frame[] = [];
        const dec = new FrameDecoder((f) => got.push(f));
        let pos = 0;
        for (let i = 0; pos < all.length; i++) {
          const n = cuts[i % cuts.length]!;
          dec.push(all.subarray(pos, pos + n));
          pos += n;
        }
        expect(got).toEqual(frames.map((f) => ({ version: 1, ...f })));
        expect(dec.stats.crcErrors + dec.stats.decodeErrors).toBe(0);
      }),
    );
  });

  it('resyncs after garbage and counts damaged frames', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), frameArb, (garbage, f) => {
        const got: Frame[] = [];
        const dec = new FrameDecoder((x) => got.push(x));
        dec.push(garbage);
        dec.push(new Uint8Array([0]));
        dec.push(encodeFrame(f));
        expect(got[got.length - 1]).toEqual({ version: 1, ...f });
      }),
    );
  });

  it('counts a flipped bit as a CRC or decode error, never a wrong frame', () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (f, at, bit) => {
        const wire = encodeFrame(f);
        const i = at % (wire.length - 1);
        const bad = wire.slice();
        bad[i] ^= 1 << bit;
        const got: Frame[] = [];
        const dec = new FrameDecoder((x) => got.push(x));
        dec.push(bad);
        dec.push(new Uint8Array([0]));
        for (const g of got) expect(g).toEqual({ version: 1, ...f }); // only if the flip was harmless (never)
        expect(got.length + dec.stats.crcErrors + dec.stats.decodeErrors).toBeGreaterThan(0);
        expect(got.length).toBe(0);
      }),
    );
  });

  it('reads the header of a frame damaged after it, and reports the damaged frame with it', () => {
    fc.assert(
      fc.property(
        fc.record({ ...headerArbs, payload: fc.uint8Array({ minLength: 40, maxLength: 3000 }) }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (f, at, flip) => {
          const wire = encodeFrame(f);
          // Damage past the first 32 encoded bytes: header and payload start still decode.
          const i = 32 + (at % (wire.length - 33));
          const bad = wire.slice();
          bad[i] ^= flip;
          const heads: Array<DamagedHead | null> = [];
          const dec = new FrameDecoder(
            () => undefined,
            (_e, h) => heads.push(h),
          );
          dec.push(bad);
          dec.push(new Uint8Array([0]));
          // A flip to 0x00 splits the frame: the first part still carries the header.
          expect(heads.length).toBeGreaterThan(0);
          expect(heads[0]).toEqual({ type: f.type, seq: f.seq, cmd: f.cmd, payload: f.payload.slice(0, 16) });
        },
      ),
    );
  });

  it('salvages headers and COBS prefixes from arbitrary bytes without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 64 }), (bytes, max) => {
        const p = cobsDecodePrefix(bytes, max);
        expect(p.length).toBeLessThanOrEqual(max);
        const h = salvageHead(bytes);
        if (h) expect(h.payload.length).toBeLessThanOrEqual(16);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 700 }), (data, max) => {
        // On an undamaged block the prefix is exactly the data's prefix.
        expect(cobsDecodePrefix(cobsEncode(data), max)).toEqual(data.slice(0, max));
      }),
    );
  });

  it('drops over-long frames as decode errors and recovers', () => {
    const got: Frame[] = [];
    const dec = new FrameDecoder((x) => got.push(x));
    dec.push(new Uint8Array(40000).fill(7));
    dec.push(new Uint8Array([0]));
    dec.push(encodeFrame({ type: MSG.EVENT, seq: 1, cmd: 2, payload: new Uint8Array([1]) }));
    expect(dec.stats.decodeErrors).toBe(1);
    expect(got).toHaveLength(1);
  });
});
