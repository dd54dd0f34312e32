import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { ExtentTracker } from '../../../electron/host/blackbox/pslog.js';
import { ChainVerifier, decodeCertificate, decodeSegments, verifyCertificate, verifyCheckpoint } from '../../../shared/blackbox/index.js';
import { makeDeviceLog } from '../evidence/device-log.js';
import { record } from './helpers.js';

/** The evidence tests' synthetic device log is what a format-2 board would give. */
const RECORDS = Array.from({ length: 200 }, (_, i) => record(1_700_000_000_000 + i * 1000, i));

function check(log: ReturnType<typeof makeDeviceLog>) {
  const cert = decodeCertificate(log.certificate!);
  verifyCertificate(cert, log.ca.spki);
  const chain = new ChainVerifier({ publicKey: cert.devicePublicKey, serial: cert.serial });
  const extent = new ExtentTracker();
  for (const it of decodeSegments(log.segments)) {
    if (it.kind !== 'segment') continue;
    chain.addSegment(it.segment);
    extent.add(it.segment.header.counter, it.segment.trailer!.sha256, it.segment.header.rtcMs);
  }
  return { cert, chain, extent, cpIssues: verifyCheckpoint(chain, log.checkpoint!, cert.devicePublicKey) };
}

describe('makeDeviceLog (evidence test helper)', () => {
  it('by default: version-2 certificate with the rating, format-2 checkpoint attesting every closed segment', () => {
    const log = makeDeviceLog(RECORDS, { segmentSize: 1024, nominalCapacityAh: 50 });
    const { cert, chain, extent, cpIssues } = check(log);
    expect(cert).toMatchObject({ version: 2, chemistry: 'lfp', cellCount: 4, ratedCapacityAh: 50 });
    expect(cpIssues).toEqual([]);
    expect(chain.summary().issues).toEqual([]);
    const a = log.checkpoint!.attestation!;
    expect(a.oldestCounter).toBe(0);
    expect(a.newestCounter).toBe(log.checkpoint!.counter - 1);
    expect(a.boardTimeMs).toBe(RECORDS[RECORDS.length - 1]!.t);
    expect(extent.check(a)).toMatchObject({ complete: true, missingCount: 0 });
  });

  it('on request: version-1 certificate and a first-format checkpoint; or an extent the segments do not cover', () => {
    const v1 = makeDeviceLog(RECORDS, { segmentSize: 1024, certificateVersion: 1, attestation: false });
    const r1 = check(v1);
    expect(r1.cert).toMatchObject({ version: 1, chemistry: null, ratedCapacityAh: null });
    expect(v1.checkpoint!.attestation ?? null).toBeNull();
    expect(r1.cpIssues).toEqual([]);

    const cut = makeDeviceLog(RECORDS, { segmentSize: 1024, omitSegments: [0, 1], nonce: sha256(new Uint8Array([1])).slice(0, 10) });
    const r2 = check(cut);
    expect(r2.cpIssues).toEqual([]); // the board's statement is intact; the parts lack what it names
    expect(r2.extent.check(cut.checkpoint!.attestation!).missing).toEqual([{ from: 0, to: 1 }]);
    expect(cut.checkpoint!.nonce.length).toBe(10);
  });
});
