import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { fflateInflater, openZipSource, bytesSource, type InflateStep } from '../../../shared/codec/zip.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { zlibInflater } from '../../../electron/host/evidence/zlib-inflate.js';
import { HOST_ZIP_CODECS } from '../../../electron/host/evidence/package-file.js';

/** Feeds `c` to a fresh inflater in pieces of the given sizes (the last piece flagged). */
function inflateIn(mk: () => InflateStep, c: Uint8Array, cuts: number[]): Uint8Array {
  const step = mk();
  const out: Uint8Array[] = [];
  let p = 0;
  for (const n of cuts) {
    if (p >= c.length) break;
    out.push(...step(c.subarray(p, p + n), p + n >= c.length));
    p += n;
  }
  if (p < c.length) out.push(...step(c.subarray(p), true));
  return Buffer.concat(out);
}

// Text with long repeats, like the CSVs of a package (they inflate to many times their size).
const csvLike = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 1, max: 400 })), { minLength: 0, maxLength: 300 })
  .map((rows) => Buffer.from(rows.map(([v, k]) => `${v},3.${v % 1000},ok\n`.repeat(k)).join('')));

describe("zlib's inflate, streamed synchronously", () => {
  it('gives back exactly what was deflated, however the compressed bytes are cut, as fflate does', () => {
    fc.assert(
      fc.property(
        fc.oneof(csvLike, fc.uint8Array({ maxLength: 20_000 })),
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 40 }),
        (data, cuts) => {
          const c = deflateRawSync(data);
          const z = inflateIn(zlibInflater, c, cuts);
          expect(Buffer.compare(z, data)).toBe(0);
          expect(Buffer.compare(inflateIn(fflateInflater, c, cuts), z)).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('throws on corrupt and on truncated deflate data', () => {
    const data = Buffer.from('0123456789,abcdef\n'.repeat(5000) + Array.from({ length: 3000 }, (_, i) => `${i * 7919}\n`).join(''));
    const c = deflateRawSync(data);
    const bad = Buffer.from(c);
    for (let i = 40; i < 60; i++) bad[i] ^= 0xa5;
    expect(() => inflateIn(zlibInflater, bad, [4096])).toThrow();
    expect(() => inflateIn(zlibInflater, c.subarray(0, c.length - 20), [4096])).toThrow(/end of file/);
  });

  it("reads a package's ZIP entries like the portable reader, and refuses a damaged entry", () => {
    const files = new Map([
      ['records.csv', Buffer.from('t,v\n' + Array.from({ length: 50_000 }, (_, i) => `${i},${(i * 0.25).toFixed(2)}\n`).join(''))],
      ['empty', new Uint8Array(0)],
    ]);
    const zip = writeZip(files);
    const native = openZipSource(bytesSource(zip), undefined, HOST_ZIP_CODECS);
    const portable = openZipSource(bytesSource(zip));
    for (const e of native.entries) expect(Buffer.compare(native.read(e), portable.read(e))).toBe(0);
    const e = native.entries.find((x) => x.name === 'records.csv')!;
    const damaged = zip.slice();
    damaged[e.dataOffset + 200] ^= 0xff;
    expect(() => openZipSource(bytesSource(damaged), undefined, HOST_ZIP_CODECS).read(e)).toThrow(/records\.csv/);
  });
});
