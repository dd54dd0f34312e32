import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { zipSync, type Zippable } from 'fflate';
import { ed25519 } from '@noble/curves/ed25519.js';
import { assemblePackage, evaluateEvidence, evidenceFacts, FILES, type PackageSigner } from '../../../shared/evidence/package.js';
import { verifyPackage, verifyPackageSource } from '../../../shared/evidence/package-verify.js';
import { blackboxEvidenceDecoder, decodeDeviceEvidence, DeviceEvidenceStream, DEVICE_FILES, deviceFiles } from '../../../shared/evidence/blackbox-evidence.js';
import type { EvidenceDecoder } from '../../../shared/evidence/device-evidence.js';
import { Evaluator } from '../../../shared/warranty/engine.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { fflateDeflater, writeZip, ZipStreamWriter } from '../../../shared/codec/zip-write.js';
import { zlibDeflater } from '../../../electron/host/evidence/file-io.js';
import { bytesSource, openZip, openZipSource, readZipFiles, type ByteSource } from '../../../shared/codec/zip.js';
import { formatSha256Sums } from '../../../shared/codec/sha256sums.js';
import { sshsigSign } from '../../../shared/codec/sshsig.js';
import { canonicalJson } from '../../../shared/codec/canonical-json.js';
import { concatByteList, utf8Decode, utf8Encode } from '../../../shared/util/bytes.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import { CLAIM, stream } from '../warranty/stream.js';
import { makeDeviceLog, values } from './device-log.js';

/**
 * Package creation and verification stream: the log's segments are pushed in chunks of any size,
 * the rule engine folds over the records as they decode, the CSVs are compared chunk by chunk and
 * the archive is read through range reads. These tests pin that streaming gives exactly what the
 * whole-log computation gives, and that nothing on the way reads a large file whole.
 */
const sk = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(11));
const signer: PackageSigner = { publicKey: ed25519.getPublicKey(sk), sign: (m) => ed25519.sign(m, sk) };
const CREATED = new Date('2026-06-03T10:00:00Z');

/** Splits bytes at the given cut points (sorted, deduplicated, inside the buffer). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let p = 0;
  for (const c of at) {
    out.push(bytes.subarray(p, c));
    p = c;
  }
  out.push(bytes.subarray(p));
  return out;
}

/** A ByteSource that records the longest single read. */
function counting(bytes: Uint8Array): ByteSource & { longest: number; total: number } {
  const s = {
    size: bytes.length,
    longest: 0,
    total: 0,
    read(offset: number, length: number) {
      s.longest = Math.max(s.longest, length);
      s.total += length;
      return bytes.subarray(offset, offset + length);
    },
  };
  return s;
}

/** A generated log: a mix of rest, charge, discharge, over-current bursts, cold charging and events. */
const arbLog = fc
  .record({
    n: fc.integer({ min: 1, max: 700 }),
    burstAt: fc.integer({ min: 0, max: 699 }),
    burstLen: fc.integer({ min: 0, max: 40 }),
    coldAt: fc.integer({ min: 0, max: 699 }),
    eventEvery: fc.integer({ min: 0, max: 90 }),
    gapAt: fc.integer({ min: 0, max: 699 }),
  })
  .map((p) =>
    stream(p.n, (r, i) => {
      r.current = i % 300 < 150 ? -20 : 15;
      r.soc = 50 + 30 * Math.sin(i / 120);
      if (i >= p.burstAt && i < p.burstAt + p.burstLen) r.current = -260;
      if (i >= p.coldAt && i < p.coldAt + 20) {
        r.current = 10;
        r.temperatures = [-5, -4];
      }
      if (p.eventEvery && i % p.eventEvery === 0) r.event = 1 + (i % 3);
      if (i >= p.gapAt) r.t += 7_200_000;
    }),
  );

describe('streaming evidence', () => {
  it('property: chunked decode and the engine fold give exactly the whole-log decode and evaluation', () => {
    fc.assert(
      fc.property(arbLog, fc.array(fc.nat(), { maxLength: 12 }), (records, cuts) => {
        const log = makeDeviceLog(values(records));
        const files = deviceFiles(log);
        const whole = decodeDeviceEvidence(files, { rootPublicKeyPem: log.ca.pem });
        const got: LogRecord[] = [];
        const ev = new Evaluator(DEFAULT_POLICY, { nominalCapacityAh: whole.device.nominalCapacityAh });
        const small = new Map([...files].filter(([n]) => n !== DEVICE_FILES.segments));
        const s = new DeviceEvidenceStream(
          small,
          { rootPublicKeyPem: log.ca.pem },
          {
            records: (rs) => {
              for (const r of rs) {
                got.push(r);
                ev.push(r);
              }
            },
          },
          { hasSegments: true },
        );
        for (const c of split(log.segments, cuts)) s.push(c);
        const summary = s.finish(() => [log.segments]);
        expect(got).toEqual(whole.records);
        expect(summary.recordCount).toBe(whole.records.length);
        expect(summary.checks).toEqual(whole.checks);
        expect(summary.extent).toEqual(whole.extent);
        const created = new Date(records[records.length - 1]!.t + 60_000).toISOString();
        const streamed = ev.finish(CLAIM, evidenceFacts(summary, created));
        expect(canonicalJson(streamed)).toBe(canonicalJson(evaluateEvidence(whole, DEFAULT_POLICY, CLAIM, created)));
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it.each([
    ['fflate', fflateDeflater],
    ['zlib, piece by piece', zlibDeflater],
  ])('property: the streamed ZIP writer (%s deflate) gives archives the defensive reader opens, with the same files', (_name, deflater) => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,8}(\/[a-z]{1,8})?(\.csv|\.jpg|\.bin)?$/), { minLength: 1, maxLength: 6 }),
        fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 6, maxLength: 6 }),
        fc.nat({ max: 4 }),
        (names, blobs, pieces) => {
          const parts: Uint8Array[] = [];
          const patches: [number, Uint8Array][] = [];
          const sink = { write: (c: Uint8Array) => void parts.push(c.slice()), patch: (o: number, b: Uint8Array) => void patches.push([o, b.slice()]) };
          const z = new ZipStreamWriter(sink, { deflater });
          const files = new Map<string, Uint8Array>();
          names.forEach((n, i) => {
            const data = blobs[i]!;
            files.set(n, data);
            const w = z.begin(n);
            for (const c of split(data, [data.length >> 1, pieces * 97])) w.write(c);
            w.end();
          });
          z.finish();
          const buf = concatByteList(parts);
          for (const [o, b] of patches) buf.set(b, o);
          const back = readZipFiles(buf);
          expect([...back.keys()].sort()).toEqual([...files.keys()].sort());
          for (const [n, d] of files) expect(back.get(n)).toEqual(d);
        },
      ),
      { numRuns: 25 },
    );
  });

  const big = stream(6000, (r, i) => {
    r.current = i % 600 < 300 ? -25 : 20;
    r.soc = 50 + 25 * Math.sin(i / 500);
    if (i >= 5900 && i < 5915) r.current = -260;
    if (i % 700 === 0) r.event = 2;
  });
  const bigLog = makeDeviceLog(values(big), { segmentSize: 1024 });

  async function bigPackage(device = deviceFiles(bigLog)) {
    const evidence = decodeDeviceEvidence(device, { rootPublicKeyPem: null });
    return assemblePackage({
      evidence,
      deviceFiles: device,
      claim: CLAIM,
      policy: DEFAULT_POLICY,
      photos: [],
      createdAt: CREATED,
      toolVersion: '0.1.0',
      signer,
    });
  }

  /** Re-signs an edited file set with the package's own key, as the customer (or an attacker) could. */
  async function resigned(files: Map<string, Uint8Array>): Promise<Uint8Array> {
    const m = new Map(files);
    for (const n of [FILES.sums, FILES.sig, FILES.sshsig]) m.delete(n);
    const sums = formatSha256Sums(m);
    m.set(FILES.sums, sums);
    m.set(FILES.sig, signer.sign(sums) as Uint8Array);
    m.set(FILES.sshsig, utf8Encode(await sshsigSign(sums, signer.publicKey, (d) => signer.sign(d))));
    return writeZip(m);
  }

  it('verifies through range reads: same answer as in memory, and no large file is read whole', async () => {
    const { files } = await bigPackage();
    const zip = writeZip(files, { level: 0 });
    const src = counting(zip);
    const streamed = await verifyPackageSource(src, { decoder: blackboxEvidenceDecoder, rootPublicKeyPem: bigLog.ca.pem });
    const inMemory = await verifyPackage(zip, { decoder: blackboxEvidenceDecoder, rootPublicKeyPem: bigLog.ca.pem });
    expect(streamed.ok).toBe(true);
    expect(streamed.evaluation!.verdict).toBe('excluded');
    expect(streamed.line).toBe(inMemory.line);
    expect(streamed.checks).toEqual(inMemory.checks);
    expect(streamed.report).toEqual(inMemory.report);
    // The reader's steps are bounded, whatever the size of the entries.
    const segs = openZip(zip).entries.find((e) => e.name === 'device/segments.bin')!;
    expect(segs.size).toBeGreaterThan(64 * 1024);
    const small = openZipSource(counting(zip));
    expect(small.entries.length).toBe(files.size);
    const entry = counting(zip);
    const r = openZipSource(entry).open(segs);
    let n = 0;
    for (let c = r.next(); c !== null; c = r.next()) n += c.length;
    expect(n).toBe(segs.size);
    expect(entry.longest).toBeLessThanOrEqual(1 << 20);
  });

  it('stores the raw log as it lies, and verifies a package whose log was deflated (older packages) the same', async () => {
    const { files } = await bigPackage();
    const zip = writeZip(files);
    const method = (z: Uint8Array) => openZip(z).entries.find((e) => e.name === 'device/segments.bin')!.method;
    expect(method(zip)).toBe(0);
    const tree: Zippable = {};
    for (const [name, data] of files) tree[name] = [data, { level: 6 }];
    const older = zipSync(tree);
    expect(method(older)).toBe(8);
    const trust = { decoder: blackboxEvidenceDecoder, rootPublicKeyPem: bigLog.ca.pem };
    const now = await verifyPackageSource(bytesSource(zip), trust);
    const then = await verifyPackageSource(bytesSource(older), trust);
    expect(now.ok).toBe(true);
    expect(then.line).toBe(now.line);
    expect(then.checks).toEqual(now.checks);
    expect(then.report).toEqual(now.report);
  });

  it('decodes the log once for a package without findings, and a second time only to draw findings', async () => {
    const passes = (opens: string[]): EvidenceDecoder => ({
      open: (files, trust, sink, o) => {
        opens.push(o?.recordsOnly ? 'records' : 'full');
        return blackboxEvidenceDecoder.open(files, trust, sink, o);
      },
    });
    const quietLog = makeDeviceLog(values(stream(3000, (r, i) => void (r.current = i % 600 < 300 ? -25 : 20))), { segmentSize: 1024 });
    const quiet = await bigPackage(deviceFiles(quietLog));
    const once: string[] = [];
    const v = await verifyPackageSource(bytesSource(writeZip(quiet.files)), { decoder: passes(once), rootPublicKeyPem: quietLog.ca.pem });
    expect(v.ok).toBe(true);
    expect(v.evaluation!.findings).toEqual([]);
    expect(once).toEqual(['full']);
    const twice: string[] = [];
    const w = await verifyPackageSource(bytesSource(writeZip((await bigPackage()).files)), { decoder: passes(twice), rootPublicKeyPem: bigLog.ca.pem });
    expect(w.ok).toBe(true);
    expect(w.evaluation!.findings.length).toBeGreaterThan(0);
    expect(twice).toEqual(['full', 'records']);
  });

  it('finds a tampered record deep in a large package, re-assembled and re-signed', async () => {
    const device = deviceFiles(bigLog);
    const segs = device.get(DEVICE_FILES.segments)!.slice();
    // A byte of a record in the last closed segment: the segment hash no longer holds.
    segs[segs.length - 500] ^= 0x40;
    device.set(DEVICE_FILES.segments, segs);
    const { files } = await bigPackage(device);
    const v = await verifyPackageSource(bytesSource(writeZip(files)), { decoder: blackboxEvidenceDecoder, rootPublicKeyPem: bigLog.ca.pem });
    expect(v.ok).toBe(false);
    expect(v.checks.find((c) => c.id === 'segment-signatures')).toMatchObject({ ok: false });
    expect(v.evaluation?.verdict).not.toBe('covered');
  });

  it('finds an edited row deep in data/records.csv and an edited event, even when re-signed', async () => {
    const { files } = await bigPackage();
    const csv = utf8Decode(files.get(FILES.recordsCsv)!);
    const lines = csv.split('\n');
    lines[5905] = lines[5905]!.replace('-260.000', '-26.000');
    const edited = new Map(files);
    edited.set(FILES.recordsCsv, utf8Encode(lines.join('\n')));
    const v = await verifyPackageSource(bytesSource(await resigned(edited)), { decoder: blackboxEvidenceDecoder, rootPublicKeyPem: bigLog.ca.pem });
    expect(v.ok).toBe(false);
    expect(v.checks.find((c) => c.id === 'csv')).toMatchObject({ ok: false, detail: expect.stringMatching(/data\/records\.csv differ/) });
    const events = new Map(files);
    events.set(FILES.eventsCsv, utf8Encode(utf8Decode(files.get(FILES.eventsCsv)!).trimEnd().split('\n').slice(0, -1).join('\n') + '\n'));
    const w = await verifyPackageSource(bytesSource(await resigned(events)), { decoder: blackboxEvidenceDecoder, rootPublicKeyPem: bigLog.ca.pem });
    expect(w.checks.find((c) => c.id === 'csv')).toMatchObject({ ok: false, detail: expect.stringMatching(/data\/events\.csv differ/) });
  });

  it('an entry whose bytes break its CRC-32 is an archive failure, found while streaming', async () => {
    const { files } = await bigPackage();
    const zip = writeZip(files, { level: 0 });
    const segs = openZip(zip).entries.find((e) => e.name === 'device/segments.bin')!;
    const bad = zip.slice();
    bad[segs.dataOffset + segs.size - 700] ^= 1;
    const v = await verifyPackageSource(bytesSource(bad), { decoder: blackboxEvidenceDecoder, rootPublicKeyPem: bigLog.ca.pem });
    expect(v.ok).toBe(false);
    expect(v.checks).toEqual([{ id: 'archive', ok: false, detail: 'entry "device/segments.bin": CRC-32 mismatch' }]);
    expect(v.manifest).toBeNull();
  });
});
