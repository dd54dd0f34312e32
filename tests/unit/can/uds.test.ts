import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import { packscopeHmacSeedKey, seedKeyAlgorithm, xorSeedKey } from '../../../shared/can/seedkey.js';
import {
  UdsNegativeResponseError,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  nextBlockSequence,
  nrcName,
  type UdsRequest,
  type UdsResponse,
} from '../../../shared/can/uds.js';
import { toHex } from '../../../shared/util/bytes.js';

const bytes = fc.uint8Array({ maxLength: 40 });
const sub = fc.integer({ min: 0, max: 0x7f });

const arbRequest: fc.Arbitrary<UdsRequest> = fc.oneof(
  fc.record({ service: fc.constant('DiagnosticSessionControl' as const), session: sub, suppressResponse: fc.boolean() }),
  fc.record({ service: fc.constant('EcuReset' as const), resetType: sub, suppressResponse: fc.boolean() }),
  fc.integer({ min: 0, max: 62 }).map((n) => ({ service: 'SecurityAccess' as const, subFunction: 2 * n + 1 })),
  fc.integer({ min: 0, max: 0xffff }).map((did) => ({ service: 'ReadDataByIdentifier' as const, did })),
  fc.record({ service: fc.constant('SecurityAccess' as const), subFunction: fc.integer({ min: 1, max: 63 }).map((n) => 2 * n), key: bytes }),
  fc.record({
    service: fc.constant('RoutineControl' as const),
    control: fc.integer({ min: 0, max: 255 }),
    routineId: fc.integer({ min: 0, max: 0xffff }),
    data: bytes,
  }),
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 255 })).chain(([a, s, dataFormat]) =>
    fc.record({
      service: fc.constant('RequestDownload' as const),
      dataFormat: fc.constant(dataFormat),
      address: fc.integer({ min: 0, max: 2 ** (8 * a) - 1 }),
      size: fc.integer({ min: 0, max: 2 ** (8 * s) - 1 }),
      addressBytes: fc.constant(a),
      sizeBytes: fc.constant(s),
    }),
  ),
  fc.record({ service: fc.constant('TransferData' as const), sequence: fc.integer({ min: 0, max: 255 }), data: bytes }),
  fc.record({ service: fc.constant('RequestTransferExit' as const), data: bytes }),
  fc.record({ service: fc.constant('TesterPresent' as const), suppressResponse: fc.boolean() }),
);

const arbResponse: fc.Arbitrary<UdsResponse> = fc.oneof(
  fc.record({ service: fc.constant('negative' as const), sid: fc.integer({ min: 0, max: 255 }), nrc: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    service: fc.constant('DiagnosticSessionControl' as const),
    session: fc.integer({ min: 0, max: 255 }),
    p2Ms: fc.integer({ min: 0, max: 0xffff }),
    p2StarMs: fc.integer({ min: 0, max: 0xffff }).map((n) => n * 10),
  }),
  fc.record({ service: fc.constant('EcuReset' as const), resetType: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ service: fc.constant('SecurityAccess' as const), subFunction: fc.integer({ min: 0, max: 255 }), seed: bytes }),
  fc.record({ service: fc.constant('ReadDataByIdentifier' as const), did: fc.integer({ min: 0, max: 0xffff }), data: bytes }),
  fc.record({
    service: fc.constant('RoutineControl' as const),
    control: fc.integer({ min: 0, max: 255 }),
    routineId: fc.integer({ min: 0, max: 0xffff }),
    status: bytes,
  }),
  fc.integer({ min: 1, max: 4 }).chain((n) =>
    fc.record({
      service: fc.constant('RequestDownload' as const),
      maxNumberOfBlockLength: fc.integer({ min: 0, max: 2 ** (8 * n) - 1 }),
      lengthBytes: fc.constant(n),
    }),
  ),
  fc.record({ service: fc.constant('TransferData' as const), sequence: fc.integer({ min: 0, max: 255 }), data: bytes }),
  fc.record({ service: fc.constant('RequestTransferExit' as const), data: bytes }),
  fc.constant({ service: 'TesterPresent' as const }),
);

describe('UDS codec', () => {
  it('encodes requests as ISO 14229 bytes', () => {
    expect(toHex(encodeRequest({ service: 'DiagnosticSessionControl', session: 2 }))).toBe('1002');
    expect(toHex(encodeRequest({ service: 'TesterPresent', suppressResponse: true }))).toBe('3e80');
    expect(toHex(encodeRequest({ service: 'RequestDownload', dataFormat: 0, address: 0x08020000, size: 0x40000 }))).toBe('3400440802000000040000');
    expect(toHex(encodeRequest({ service: 'RoutineControl', control: 1, routineId: 0xff00, data: Uint8Array.of(1) }))).toBe('3101ff0001');
  });

  it('parses maxNumberOfBlockLength of any width', () => {
    expect(decodeResponse(Uint8Array.of(0x74, 0x20, 0x0f, 0xff))).toEqual({ service: 'RequestDownload', maxNumberOfBlockLength: 4095, lengthBytes: 2 });
    expect(decodeResponse(Uint8Array.of(0x74, 0x40, 0x00, 0x00, 0x04, 0x02))).toEqual({
      service: 'RequestDownload',
      maxNumberOfBlockLength: 1026,
      lengthBytes: 4,
    });
    expect(() => decodeResponse(Uint8Array.of(0x74, 0x20, 0x0f))).toThrow(DecodeError);
  });

  it('names negative response codes', () => {
    expect(decodeResponse(Uint8Array.of(0x7f, 0x36, 0x73))).toEqual({ service: 'negative', sid: 0x36, nrc: 0x73 });
    expect(nrcName(0x78)).toBe('requestCorrectlyReceivedResponsePending');
    expect(nrcName(0x35)).toBe('invalidKey');
    const e = new UdsNegativeResponseError(0x36, 0x73);
    expect(e.message).toBe('TransferData refused by the ECU: wrongBlockSequenceCounter (0x73)');
    expect(e.code).toBe('DEVICE');
  });

  it('block sequence counter wraps from 0xFF to 0x00', () => {
    expect(nextBlockSequence(0xfe)).toBe(0xff);
    expect(nextBlockSequence(0xff)).toBe(0x00);
  });

  it('round-trips requests and responses', () => {
    fc.assert(fc.property(arbRequest, (r) => void expect(decodeRequest(encodeRequest(r))).toEqual(r)));
    fc.assert(fc.property(arbResponse, (r) => void expect(decodeResponse(encodeResponse(r))).toEqual(r)));
  });

  it('arbitrary bytes decode or raise a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (b) => {
        for (const f of [decodeRequest, decodeResponse]) {
          try {
            f(b);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('seed-to-key algorithms are pluggable and deterministic', async () => {
    const seed = Uint8Array.of(0x12, 0x34, 0x56, 0x78);
    const k1 = await packscopeHmacSeedKey()(seed, 1);
    expect(k1).toHaveLength(4);
    expect(await seedKeyAlgorithm('packscope-hmac')(seed, 1)).toEqual(k1);
    expect(await packscopeHmacSeedKey('other secret')(seed, 1)).not.toEqual(k1);
    expect(await packscopeHmacSeedKey()(seed, 3)).not.toEqual(k1);
    expect(toHex(await xorSeedKey(0x11223344)(seed, 1))).toBe('0316653c');
    expect(() => seedKeyAlgorithm('nope')).toThrow(/unknown seed-to-key/);
  });
});
