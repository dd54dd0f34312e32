/**
 * Large attested black boxes for the benchmarks: a .pslog of any size as a board writes it, with
 * the root key, a claim and the default policy beside it (evidence and ui benches, profiling runs).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { crc32 } from '../../shared/protocol/crc32.js';
import { rd16 } from '../../shared/util/le.js';
import { toHex } from '../../shared/util/bytes.js';
import { checkpointMessage } from '../../shared/blackbox/verify.js';
import type { ParsedSegment } from '../../shared/blackbox/segment.js';
import { nodeKeyFromSecret, signMessage } from '../../firmware/sim/blackbox/signing-keys.js';
import { PslogWriter } from '../../electron/host/blackbox/pslog.js';
import { DEFAULT_POLICY } from '../../shared/warranty/default-policy.js';
import { CLAIM } from '../unit/warranty/stream.js';
import { makeDeviceLog } from '../unit/evidence/device-log.js';

/**
 * A .pslog of about `bytes` as a board writes it: a 16-cell template segment (56 one-second records
 * with an over-current burst, rest and charge) replicated into a chain of closed segments, each
 * with its counter, clock, previous hash, header CRC, hash and device signature (node:crypto), then
 * an open segment sealed by a checkpoint that attests the whole ring. Writes the root key, a claim
 * and the default policy beside it.
 */
export async function makeAttestedLog(file: string, bytes: number, dir: string): Promise<{ root: string; claim: string; policy: string; records: number }> {
  const segmentSize = 4096;
  const perSegment = 56;
  const count = Math.max(1, Math.floor(bytes / segmentSize));
  const t0 = Date.now() - (count + 2) * perSegment * 1000 - 3_600_000;
  const template = makeDeviceLog(
    Array.from({ length: perSegment * 2 + 10 }, (_, i) => ({
      t: t0 + i * 1000,
      packVoltage: 52.8,
      current: i % 56 < 28 ? -30 : 20,
      soc: 50 + (i % 56) / 10,
      cellVoltages: Array.from({ length: 16 }, (_, c) => 3.3 + c * 0.001),
      temperatures: [25, 25, 25, 25, 31, 28],
      status: 0,
      alarms: 0,
      event: i === 3 ? 2 : 0,
    })),
    { cells: 16, segmentSize },
  );
  const key = nodeKeyFromSecret(p256.utils.randomSecretKey(new Uint8Array(48).fill(2)));
  const first = template.segments.subarray(0, segmentSize);
  const headerLen = rd16(first, 6);
  const writer = await PslogWriter.create(
    file,
    { format: 'pslog', tool: 'bench', pulledAt: new Date().toISOString(), identity: null, certificate: toHex(template.certificate!) },
    segmentSize,
  );
  const span = perSegment * 1000;
  let prev: Uint8Array = new Uint8Array(32);
  let oldest: Uint8Array = prev;
  let rtc = t0;
  const reseal = (seg: Uint8Array, counter: number) => {
    const v = new DataView(seg.buffer, seg.byteOffset, seg.byteLength);
    v.setUint32(12, counter, true);
    v.setUint32(20, rtc % 4294967296, true);
    v.setUint32(24, Math.floor(rtc / 4294967296), true);
    seg.set(prev, 36);
    v.setUint32(headerLen - 4, crc32(seg.subarray(0, headerLen - 4)), true);
  };
  let batch: ParsedSegment[] = [];
  for (let i = 0; i < count; i++) {
    const seg = first.slice();
    reseal(seg, i);
    const message = seg.subarray(0, segmentSize - 96);
    const digest = new Uint8Array(createHash('sha256').update(message).digest());
    seg.set(digest, segmentSize - 96);
    seg.set(signMessage(key, message), segmentSize - 64);
    if (i === 0) oldest = digest;
    prev = digest;
    batch.push({ bytes: seg, header: { counter: i, rtcMs: rtc }, recordCount: perSegment, trailer: { flags: 1 } } as unknown as ParsedSegment);
    rtc += span;
    if (batch.length === 1024) {
      await writer.appendMany(batch);
      batch = [];
    }
  }
  if (batch.length) await writer.appendMany(batch);
  const cp = template.checkpoint!;
  const prefix = cp.prefix.slice();
  reseal(prefix, count);
  const attestation = { oldestCounter: 0, oldestHash: oldest, newestCounter: count - 1, newestHash: prev, boardTimeMs: rtc + span, bootCount: 1 };
  const nonce = new Uint8Array(16).fill(7);
  const signature = signMessage(key, checkpointMessage(count, cp.recordCount, nonce, prefix, attestation));
  await writer.finish({ counter: count, recordCount: cp.recordCount, nonce, signature, prefix, segmentSize, attestation });
  const out = { root: path.join(dir, 'root.pem'), claim: path.join(dir, 'claim.json'), policy: path.join(dir, 'policy.json') };
  writeFileSync(out.root, template.ca.pem);
  writeFileSync(out.claim, JSON.stringify({ ...CLAIM, serial: 'SN-0001', purchaseDate: new Date(t0 - 86_400_000).toISOString().slice(0, 10) }));
  writeFileSync(out.policy, JSON.stringify(DEFAULT_POLICY));
  return { ...out, records: count * perSegment + cp.recordCount };
}
