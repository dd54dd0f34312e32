import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import { assemblePackage, verifyPackage, FILES, type PackageSigner } from '../../../shared/evidence/package.js';
import { blackboxEvidenceDecoder, decodeDeviceEvidence, deviceFiles } from '../../../shared/evidence/blackbox-evidence.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { readZipFiles } from '../../../shared/codec/zip.js';
import { formatSha256Sums } from '../../../shared/codec/sha256sums.js';
import { sshsigSign } from '../../../shared/codec/sshsig.js';
import { utf8Decode, utf8Encode } from '../../../shared/util/bytes.js';
import { PackscopeError } from '../../../shared/errors.js';
import { CLAIM, stream } from '../warranty/stream.js';
import { makeCa, makeDeviceLog, values } from './device-log.js';

const sk = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(9));
const signer: PackageSigner = { publicKey: ed25519.getPublicKey(sk), sign: (m) => ed25519.sign(m, sk) };
const CREATED = new Date('2026-06-03T10:00:00Z');

const abuse = stream(400, (r, i) => {
  if (i >= 200 && i <= 215) r.current = -260;
});
const log = makeDeviceLog(values(abuse));
const photo = { name: 'C:\\Users\\me\\pack <1>.jpg', data: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]) };

async function build(parts = log, extra: Partial<Parameters<typeof assemblePackage>[0]> = {}) {
  const files = deviceFiles(parts);
  const evidence = decodeDeviceEvidence(files, { rootPublicKeyPem: null });
  return assemblePackage({
    evidence,
    deviceFiles: files,
    claim: CLAIM,
    policy: DEFAULT_POLICY,
    photos: [photo],
    createdAt: CREATED,
    toolVersion: '0.1.0',
    signer,
    ...extra,
  });
}

const verify = (zip: Uint8Array, root = log.ca.pem) => verifyPackage(zip, { decoder: blackboxEvidenceDecoder, rootPublicKeyPem: root });

describe('diagnosis package', () => {
  it('decodes the signed black box into the records it was written from', () => {
    const ev = decodeDeviceEvidence(deviceFiles(log), { rootPublicKeyPem: log.ca.pem });
    expect(ev.records).toHaveLength(400);
    expect(ev.records[210]).toMatchObject({ index: 210, current: -260, t: abuse[210]!.t });
    expect(ev.signature).toBe('valid');
    expect(ev.checks.every((c) => c.ok)).toBe(true);
    expect(ev.segments).toBe(4);
  });

  it('has the documented layout and verifies completely', async () => {
    const { files, evaluation, manifest } = await build();
    expect([...files.keys()].sort()).toEqual([
      'SHA256SUMS',
      'SHA256SUMS.sig',
      'SHA256SUMS.sshsig',
      'VERIFY.txt',
      'claim.json',
      'data/events.csv',
      'data/records.csv',
      'device/certificate.psdc',
      'device/checkpoint.json',
      'device/identity.json',
      'device/open-segment.bin',
      'device/segments.bin',
      'evaluation.json',
      'health.json',
      'keys/allowed_signers',
      'keys/install.pub',
      'keys/install.pub.pem',
      'manifest.json',
      'photos/01-pack__1_.jpg',
      'policy.json',
      'report.html',
    ]);
    expect(evaluation.verdict).toBe('excluded');
    expect(evaluation.excludedBy).toEqual(['over-discharge-current']);
    expect(evaluation.findings[0]!.records).toEqual({ first: 200, last: 215, extreme: 200 });
    expect(manifest.verdict.verdict).toBe('excluded');
    const v = await verify(writeZip(files));
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.line).toMatch(/^VERIFIED: EXCLUDED by clause over-discharge-current/);
    expect(v.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'archive',
        'hashes',
        'install-key',
        'signature-raw',
        'signature-ssh',
        'verify-text',
        'manifest',
        'device-certificate',
        'extent',
        'segment-signatures',
        'segment-chain',
        'dates',
        'csv',
        'evaluation',
        'health',
        'lifetime-counters',
        'report',
      ]),
    );
    // The health section is the verifier's own recomputation; this board keeps no lifetime counters.
    expect(v.health!.report.records).toBe(evaluation.log.records);
    expect(v.health!.lifetime).toBeNull();
    expect(v.checks.find((c) => c.id === 'lifetime-counters')!.detail).toMatch(/absent, not zero/);
  });

  it('the report is self-contained and escapes customer text', async () => {
    const { files } = await build(log, { claim: { ...CLAIM, description: '<script>alert(1)</script> & more' } });
    const html = utf8Decode(files.get(FILES.report)!);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain("default-src 'none'");
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(3);
  });

  it('fails without the right root, naming the certificate', async () => {
    const { files } = await build();
    const v = await verify(writeZip(files), makeCa(7).pem);
    expect(v.ok).toBe(false);
    expect(v.checks.find((c) => c.id === 'device-certificate')).toMatchObject({ ok: false, detail: expect.stringMatching(/not by the given root/) });
  });

  it('detects a segment swapped in from another device, even when the package is re-signed', async () => {
    const other = makeDeviceLog(values(stream(400)), { serial: 'SN-0002', deviceSeed: 5, ca: log.ca });
    const seg = 4096;
    const mixed = log.segments.slice();
    mixed.set(other.segments.subarray(seg * 2, seg * 3), seg * 2);
    const { files } = await build({ ...log, segments: mixed });
    const v = await verify(writeZip(files));
    expect(v.ok).toBe(false);
    const sig = v.checks.find((c) => c.id === 'segment-signatures')!;
    expect(sig.ok).toBe(false);
    expect(sig.detail).toMatch(/belongs to board "SN-0002"/);
  });

  it('detects any single changed byte, a removed or an added file, after re-zipping', async () => {
    const { files } = await build();
    const names = [...files.keys()];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...names), fc.nat(), fc.integer({ min: 1, max: 255 }), async (name, pos, x) => {
        const copy = new Map(files);
        const data = copy.get(name)!.slice();
        if (data.length === 0) return;
        data[pos % data.length] ^= x;
        copy.set(name, data);
        const v = await verify(writeZip(copy));
        expect(v.ok).toBe(false);
      }),
      { numRuns: 40 },
    );
    for (const name of names) {
      const copy = new Map(files);
      copy.delete(name);
      expect((await verify(writeZip(copy))).ok, `removing ${name}`).toBe(false);
    }
    const added = new Map(files).set('notes.txt', utf8Encode('hi'));
    const v = await verify(writeZip(added));
    expect(v.ok).toBe(false);
    const fileSet = v.checks.filter((c) => c.id === 'file-set').map((c) => c.detail);
    expect(fileSet).toContainEqual(expect.stringMatching(/files a package does not hold: notes\.txt/));
    expect(fileSet).toContainEqual(expect.stringMatching(/not listed in SHA256SUMS: notes\.txt/));
  });

  it('a re-signed package with an edited evaluation, CSV or verdict still fails', async () => {
    const { files } = await build();
    const resign = async (edit: (m: Map<string, Uint8Array>) => void) => {
      const m = new Map(files);
      edit(m);
      for (const s of ['SHA256SUMS', 'SHA256SUMS.sig', 'SHA256SUMS.sshsig']) m.delete(s);
      const sums = formatSha256Sums(m);
      m.set('SHA256SUMS', sums).set('SHA256SUMS.sig', signer.sign(sums) as Uint8Array);
      m.set('SHA256SUMS.sshsig', utf8Encode(await sshsigSign(sums, signer.publicKey, (d) => signer.sign(d))));
      return verify(writeZip(m));
    };
    const evalEdit = await resign((m) => m.set(FILES.evaluation, utf8Encode(utf8Decode(m.get(FILES.evaluation)!).replace('"excluded"', '"covered"'))));
    expect(evalEdit.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(expect.arrayContaining(['evaluation']));
    const csvEdit = await resign((m) => m.set(FILES.recordsCsv, utf8Encode(utf8Decode(m.get(FILES.recordsCsv)!).replace('-260.000', '-160.000'))));
    expect(csvEdit.checks.find((c) => c.id === 'csv')!.ok).toBe(false);
  });

  it('refuses unsafe archives as a failed archive check', async () => {
    const v = await verify(utf8Encode('not a zip at all'));
    expect(v.ok).toBe(false);
    expect(v.line).toMatch(/^FAILED: 1 check\(s\) failed; first: archive: not a ZIP archive/);
  });

  it('recomputing the package gives byte-identical evaluation, CSVs and manifest', async () => {
    const a = await build();
    const b = await build();
    for (const n of [FILES.evaluation, FILES.recordsCsv, FILES.eventsCsv, FILES.manifest, FILES.report, FILES.sums])
      expect(b.files.get(n)).toEqual(a.files.get(n));
    expect(readZipFiles(writeZip(a.files)).get(FILES.manifest)).toEqual(a.files.get(FILES.manifest));
  });
});

describe('device evidence decoder on hostile input', () => {
  it('arbitrary or mutated device files give typed errors or a decode that reports problems, never another exception', () => {
    const base = deviceFiles(log);
    const names = [...base.keys()];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.option(fc.uint8Array({ maxLength: 300 })),
        (name, pos, x, replacement) => {
          const files = new Map(base);
          if (replacement !== null) files.set(name, replacement);
          else {
            const b = files.get(name)!.slice();
            b[pos % b.length] ^= x;
            files.set(name, b);
          }
          // A closed segment's signature field is outside what its hash covers; when the checkpoint's
          // attested chain head binds an unbroken chain, per-segment signatures are not checked
          // (ARCHITECTURE.md 4b), so a flipped signature byte changes no evidence and may pass.
          const segSize = new DataView(base.get('segments.bin')!.buffer, base.get('segments.bin')!.byteOffset).getUint32(8, true);
          const inSignature = name === 'segments.bin' && (pos % files.get(name)!.length) % segSize >= segSize - 64;
          try {
            const ev = decodeDeviceEvidence(files, { rootPublicKeyPem: log.ca.pem });
            // A changed byte in signed data never decodes clean. (A whole file replaced may just be
            // less data, e.g. no closed segments: the evaluation then sees fewer records.)
            if (replacement === null && !inSignature && (name === 'segments.bin' || name === 'open-segment.bin' || name === 'certificate.psdc')) {
              expect(ev.checks.some((c) => !c.ok) || ev.gaps.length > 0).toBe(true);
            }
          } catch (e) {
            expect(e).toBeInstanceOf(PackscopeError);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
