import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { p256 } from '@noble/curves/nist.js';
import { PslogWriter, openPslog } from '../../../electron/host/blackbox/pslog.js';
import { decodePreamble, type PslogMeta } from '../../../shared/blackbox/pslog-format.js';
import { assembleCertificate, certificateTbs, decodeSegments, spkiFromPoint, type ParsedSegment } from '../../../shared/blackbox/index.js';
import { PackscopeError } from '../../../shared/errors.js';
import { toHex } from '../../../shared/util/bytes.js';
import { PUBLIC, buildChain } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pslog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const caSecret = p256.utils.randomSecretKey(new Uint8Array(48).fill(3));
const rootSpki = spkiFromPoint(p256.getPublicKey(caSecret, false));
const tbs = certificateTbs({ issuedMs: 1, serial: 'PS24-000123', model: 'M', boardId: 'B', devicePublicKey: PUBLIC, issuerSpki: rootSpki });
const cert = assembleCertificate(tbs, p256.sign(tbs, caSecret));
const meta: PslogMeta = { format: 'pslog', tool: 'test', pulledAt: '2026-01-01T00:00:00Z', identity: null, certificate: toHex(cert) };
const CHAIN = buildChain(6);
const parsed = decodeSegments(CHAIN.bytes).flatMap((i) => (i.kind === 'segment' ? [i.segment] : [])) as ParsedSegment[];

async function write(name: string, segs: ParsedSegment[], finish = true): Promise<string> {
  const file = path.join(dir, name);
  const w = await PslogWriter.create(file, meta, 512);
  await w.appendMany(segs.slice(0, 2));
  for (const s of segs.slice(2)) await w.append(s);
  if (finish) await w.finish(null);
  else await w.close();
  return file;
}

describe('.pslog', () => {
  it('round-trips segments, records and the index; verifies against its root', async () => {
    const file = await write('a.pslog', parsed);
    expect(existsSync(`${file}.partial`)).toBe(false);
    const r = await openPslog(file);
    expect(r.complete).toBe(true);
    expect(r.segmentCount).toBe(6);
    expect(await r.recordCount()).toBe(24);
    expect((await r.indexEntry(3)).counter).toBe(103);
    expect(await r.seek({ record: 13 })).toBe(3);
    const from13 = [];
    for await (const rec of r.records({ fromRecord: 13 })) from13.push(rec.index);
    expect(from13[0]).toBe(13);
    expect(from13.length).toBe(11);
    let visited = 0;
    expect(await r.forEachRecord(() => visited++)).toBe(24);
    const rep = await r.verify(rootSpki);
    expect(rep.issues).toEqual([]);
    expect(rep.ok && rep.certificate.ok).toBe(true);
    await r.close();
  });

  it('a byte flipped in a stored segment fails verification naming it; a wrong root fails the certificate', async () => {
    const file = await write('b.pslog', parsed);
    const bytes = readFileSync(file);
    const seg0 = decodePreamble(bytes.subarray(0, 64)).segmentsOffset;
    bytes[seg0 + 2 * 512 + 300]! ^= 0x40;
    writeFileSync(file, bytes);
    const r = await openPslog(file);
    const rep = await r.verify(rootSpki);
    expect(rep.ok).toBe(false);
    expect(rep.issues.some((i) => i.segment === 102)).toBe(true);
    const other = spkiFromPoint(p256.getPublicKey(p256.utils.randomSecretKey(new Uint8Array(48).fill(8)), false));
    expect((await r.verify(other)).certificate.ok).toBe(false);
    await r.close();
  });

  it('a partial download is never taken for a complete log', async () => {
    const file = await write('c.pslog', parsed, false);
    expect(existsSync(file)).toBe(false);
    const r = await openPslog(`${file}.partial`);
    expect(r.complete).toBe(false);
    expect(r.segmentCount).toBe(6);
    const rep = await r.verify(rootSpki);
    expect(rep.issues.map((i) => i.kind)).toContain('truncated');
    await r.close();
  });

  it('arbitrary or truncated files give typed errors only', async () => {
    const good = readFileSync(await write('d.pslog', parsed));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.nat(good.length).map((n) => good.subarray(0, n)),
        ),
        async (bytes) => {
          const f = path.join(dir, 'fuzz.pslog');
          writeFileSync(f, bytes);
          try {
            const r = await openPslog(f);
            await r.verify(rootSpki);
            await r.close();
          } catch (e) {
            expect(e).toBeInstanceOf(PackscopeError);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a full disk is a clear error that leaves no final file and no open handle', async () => {
    // /dev/full answers every write with ENOSPC: the partial file "is" a full disk.
    const full = path.join(dir, 'full.pslog');
    symlinkSync('/dev/full', `${full}.partial`);
    await expect(PslogWriter.create(full, meta, 512)).rejects.toThrow(/disk full/);
    expect(existsSync(full)).toBe(false);

    // A write that fails while the file is being completed keeps the partial (resumable) and
    // never renames a half-finished file into place.
    const file = path.join(dir, 'e.pslog');
    const w = await PslogWriter.create(file, meta, 512);
    await w.appendMany(parsed.slice(0, 3));
    await w.close(); // every later write on the handle fails
    const err = await w.finish(null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PackscopeError);
    expect((err as PackscopeError).message).toContain(`${file}.partial`);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.partial`)).toBe(true);
    await w.close(); // idempotent
  });
});
