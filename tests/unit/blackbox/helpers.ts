import { p256 } from '@noble/curves/nist.js';
import { buildSchemaText, SegmentBuilder, type RecordValues } from '../../../shared/blackbox/index.js';

export const SECRET = p256.utils.randomSecretKey(new Uint8Array(48).fill(7));
export const PUBLIC = p256.getPublicKey(SECRET, false);
export const sign = (digest: Uint8Array) => p256.sign(digest, SECRET, { prehash: false });
export const SCHEMA = buildSchemaText(4, ['cells1', 'mosfet', 'board']);

export function record(t: number, i: number): RecordValues {
  return {
    t,
    packVoltage: 13.2 + (i % 7) * 0.001,
    current: -12.5 + (i % 5),
    soc: 55.5,
    cellVoltages: [3.3, 3.301, 3.299, 3.3 + (i % 3) * 0.001],
    temperatures: [21.5, 25.2, -3.4],
    status: 0x1a,
    alarms: i % 11 === 0 ? 2 : 0,
    event: i % 13 === 0 ? 7 : 0,
  };
}

/** A chain of closed segments (512-byte segments keep tests small), concatenated. */
export function buildChain(count: number, perSegment = 4, segmentSize = 512): { segments: Uint8Array[]; bytes: Uint8Array } {
  let prev: Uint8Array = new Uint8Array(32);
  const segments: Uint8Array[] = [];
  let t = 1_700_000_000_000;
  let i = 0;
  for (let c = 0; c < count; c++) {
    const b = new SegmentBuilder({
      segmentSize,
      counter: 100 + c,
      bootCount: 3,
      rtcMs: t,
      uptimeMs: 5000 + c,
      prevHash: prev,
      serial: 'PS24-000123',
      schemaText: SCHEMA,
    });
    for (let k = 0; k < perSegment && !b.full; k++) {
      b.append(record(t, i++));
      t += 1000;
    }
    prev = b.close(sign);
    segments.push(b.bytes);
  }
  const bytes = new Uint8Array(segments.reduce((n, s) => n + s.length, 0));
  let o = 0;
  for (const s of segments) {
    bytes.set(s, o);
    o += s.length;
  }
  return { segments, bytes };
}
