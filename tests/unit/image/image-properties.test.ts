import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import {
  TLV_INFO_MAGIC,
  decodeImageFile,
  decodeTlvArea,
  formatVersion,
  generateKey,
  hexToBinary,
  parseImage,
  parseIntelHex,
  parsePkcs8,
  parseSpki,
  parseVersion,
  signImage,
  verifyImage,
  writeIntelHex,
  boardIdOf,
  securityCounterOf,
  encodeImageMeta,
  parseImageMeta,
  precheckImage,
  decodeHashesRequest,
  decodeHashesResponse,
  decodeJson,
  requestBody,
} from '../../../shared/image/index.js';
import { concatBytes, toHex } from '../../../shared/util/bytes.js';

/** Runs a decoder and fails the property on anything but a typed DecodeError. */
function onlyDecodeErrors(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
}

const KEYS = { ed25519: generateKey('ed25519'), 'ecdsa-p256': generateKey('ecdsa-p256') };
const small = signImage({ payload: new Uint8Array(64).fill(7), version: parseVersion('1.2.3+4'), key: KEYS.ed25519, securityCounter: 5, boardId: 'BMS-X' });

describe('decoders never throw anything but DecodeError', () => {
  it('parseImage on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => onlyDecodeErrors(() => parseImage(b))),
      { numRuns: 500 },
    );
  });
  it('parseImage on mutated valid images (header, TLV lengths, truncation)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(small.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(small.length), (muts, cut) => {
        const b = small.slice(0, Math.max(cut, 1));
        for (const [o, v] of muts) if (o < b.length) b[o] = v;
        onlyDecodeErrors(() => {
          const img = parseImage(b);
          verifyImage(img, { trustedKeys: [{ key: KEYS.ed25519.publicKey, name: 'k' }], boardId: 'BMS-X', minSecurityCounter: 1 });
        });
      }),
      { numRuns: 500 },
    );
  });
  it('decodeTlvArea on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (b, off) => {
        const withMagic = concatBytes(Uint8Array.of(0x07, 0x69), b);
        onlyDecodeErrors(() => decodeTlvArea(withMagic, off % (withMagic.length + 1), TLV_INFO_MAGIC));
        onlyDecodeErrors(() => decodeTlvArea(b, 0, TLV_INFO_MAGIC));
      }),
      { numRuns: 500 },
    );
  });
  it('parseIntelHex on arbitrary text and on hex-looking lines', () => {
    const hexLine = fc.uint8Array({ minLength: 0, maxLength: 24 }).map((b) => ':' + toHex(b).toUpperCase());
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.array(hexLine, { maxLength: 8 }).map((l) => l.join('\n') + '\n:00000001FF\n'),
        ),
        (t) => onlyDecodeErrors(() => hexToBinary(parseIntelHex(t))),
      ),
      { numRuns: 500 },
    );
  });
  it('image meta and firmware message decoders on arbitrary bytes', () => {
    const meta = encodeImageMeta(parseImage(small));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.tuple(fc.nat(meta.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (b, muts) => {
          onlyDecodeErrors(() => parseImageMeta(b));
          const m = meta.slice();
          for (const [o, v] of muts) m[o] = v;
          onlyDecodeErrors(() => precheckImage(parseImageMeta(m), { trustedKeys: [{ key: KEYS.ed25519.publicKey, name: 'k' }], boardId: 'BMS-X' }));
          onlyDecodeErrors(() => decodeHashesRequest(b));
          onlyDecodeErrors(() => decodeHashesResponse(b, 2));
          onlyDecodeErrors(() => decodeJson(b));
          onlyDecodeErrors(() => requestBody(b));
        },
      ),
      { numRuns: 500 },
    );
  });
  it('decodeImageFile and key parsers on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        onlyDecodeErrors(() => decodeImageFile(b));
        onlyDecodeErrors(() => parsePkcs8(b));
        onlyDecodeErrors(() => parseSpki(b));
      }),
      { numRuns: 500 },
    );
  });
});

describe('round trips', () => {
  const version = fc.record({
    major: fc.integer({ min: 0, max: 255 }),
    minor: fc.integer({ min: 0, max: 255 }),
    revision: fc.integer({ min: 0, max: 65535 }),
    build: fc.integer({ min: 0, max: 0xffffffff }),
  });
  it('sign → parse → verify', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        version,
        fc.constantFrom('ed25519' as const, 'ecdsa-p256' as const),
        fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
        fc.option(fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), { nil: undefined }),
        fc.constantFrom(0x20, 0x200, 0x400),
        fc.boolean(),
        (payload, v, type, counter, board, headerSize, full) => {
          const key = KEYS[type];
          const bytes = signImage({ payload, version: v, key, securityCounter: counter, boardId: board, headerSize, publicKeyFull: full });
          const img = parseImage(bytes);
          expect(formatVersion(img.version)).toBe(formatVersion(v));
          expect(toHex(img.body)).toBe(toHex(payload));
          expect(securityCounterOf(img)).toBe(counter ?? null);
          expect(boardIdOf(img)).toBe(board ?? null);
          const r = verifyImage(img, { trustedKeys: [{ key: key.publicKey, name: 'k' }], boardId: board, minSecurityCounter: counter ?? 0 });
          expect(r.valid).toBe(true);
          // The other key type is not trusted: unknown key.
          const other = KEYS[type === 'ed25519' ? 'ecdsa-p256' : 'ed25519'];
          expect(verifyImage(img, { trustedKeys: [{ key: other.publicKey, name: 'o' }] }).signature.status).toBe('unknown_key');
          if (counter !== undefined && counter < 0xffffffff) {
            expect(verifyImage(img, { trustedKeys: [{ key: key.publicKey, name: 'k' }], minSecurityCounter: counter + 1 }).reason).toBe(
              'security_counter_too_low',
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });
  it('Intel HEX write → parse', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 0x3ffff }), fc.uint8Array({ minLength: 1, maxLength: 300 })), { maxLength: 4 }), (segs) => {
        // Make segments disjoint by laying them out in order with gaps.
        let addr = 0;
        const laid = segs.map(([gap, data]) => {
          const s = { address: addr + gap, data };
          addr = s.address + data.length + 1;
          return s;
        });
        const parsed = parseIntelHex(writeIntelHex(laid, 0x08000101));
        expect(parsed.startAddress).toBe(0x08000101);
        const flat = (ss: Array<{ address: number; data: Uint8Array }>) => ss.flatMap((s) => Array.from(s.data, (b, i) => `${s.address + i}:${b}`));
        expect(flat(parsed.segments)).toEqual(flat(laid));
      }),
      { numRuns: 200 },
    );
  });
});
