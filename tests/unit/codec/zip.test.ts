import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { openZip, readZipFiles, UnsafeArchiveError, DEFAULT_ZIP_LIMITS } from '../../../shared/codec/zip.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { PackscopeError } from '../../../shared/errors.js';
import { utf8Encode } from '../../../shared/util/bytes.js';
import { overlappingZip, rawZip } from '../evidence/malicious.js';

const enc = utf8Encode;

describe('ZIP reader', () => {
  it('round-trips what writeZip writes', () => {
    const files = new Map([
      ['a.txt', enc('hello')],
      ['dir/b.csv', enc('x,y\n'.repeat(1000))],
      ['photos/p.jpg', new Uint8Array([0xff, 0xd8, 1, 2, 3])],
      ['empty', new Uint8Array(0)],
    ]);
    const back = readZipFiles(writeZip(files));
    expect([...back.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [k, v] of files) expect(back.get(k)).toEqual(v);
    const z = openZip(writeZip(files));
    expect(z.entries.every((e) => e.mode === 0o644)).toBe(true);
  });

  it('writeZip output depends only on the content', () => {
    const files = new Map([
      ['b', enc('2')],
      ['a', enc('1')],
    ]);
    expect(writeZip(files)).toEqual(writeZip(new Map([...files].reverse())));
  });

  const refused = (bytes: Uint8Array, re: RegExp) => {
    let err: unknown;
    try {
      readZipFiles(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toMatch(re);
  };

  it.each([
    ['../evil.txt', /parent-directory/],
    ['a/../../evil.txt', /parent-directory/],
    ['/etc/passwd', /absolute path/],
    ['C:/x.txt', /drive letter/],
    ['a\\..\\b', /backslash/],
    ['a//b', /empty or "\." path component/],
    ['./a', /empty or "\." path component/],
  ])('refuses the entry name %s', (name, re) => {
    refused(rawZip([{ name, data: enc('x') }]), re);
  });

  it('refuses symbolic links, devices and setuid files by their Unix mode', () => {
    refused(rawZip([{ name: 'link', data: enc('/etc/passwd'), unixMode: 0o120777 }]), /symbolic link/);
    refused(zipSync({ link: [enc('/etc'), { os: 3, attrs: (0o120777 << 16) >>> 0 }] }), /symbolic link/);
    refused(rawZip([{ name: 'dev', data: enc(''), unixMode: 0o020644 }]), /special file/);
    refused(rawZip([{ name: 'suid', data: enc('x'), unixMode: 0o104755 }]), /setuid/);
  });

  it('refuses duplicate names, also when they differ only in case', () => {
    refused(
      rawZip([
        { name: 'manifest.json', data: enc('1') },
        { name: 'manifest.json', data: enc('2') },
      ]),
      /duplicate entry "manifest.json"/,
    );
    refused(
      rawZip([
        { name: 'SHA256SUMS', data: enc('1') },
        { name: 'sha256sums', data: enc('2') },
      ]),
      /differ only in case/,
    );
  });

  it('refuses zip bombs: high ratio, declared size beyond limits, lying sizes, overlapping entries', () => {
    const zeros = new Uint8Array(20 << 20);
    refused(zipSync({ 'bomb.bin': zeros }), /compression ratio of \d+:1/);
    refused(zipSync({ 'bomb.bin': zeros }), /zip bomb/);
    expect(() => readZipFiles(zipSync({ 'big.bin': new Uint8Array(1000) }), { ...DEFAULT_ZIP_LIMITS, maxEntryBytes: 999 })).toThrow(/more than the limit/);
    expect(() =>
      readZipFiles(zipSync({ a: new Uint8Array(600), b: new Uint8Array(600) }, { level: 0 }), { ...DEFAULT_ZIP_LIMITS, maxTotalBytes: 1000 }),
    ).toThrow(UnsafeArchiveError);
    // Declares 10 bytes but inflates to 100 kB: stopped at the declared size.
    refused(rawZip([{ name: 'liar', data: new Uint8Array(100_000), deflate: true, declaredSize: 10 }]), /beyond its declared size/);
    refused(overlappingZip(), /entries "a" and "b" overlap/);
    expect(() =>
      readZipFiles(rawZip(Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, data: enc('x') }))), { ...DEFAULT_ZIP_LIMITS, maxEntries: 10 }),
    ).toThrow(/11 entries/);
  });

  it('refuses encrypted entries and unknown methods', () => {
    refused(rawZip([{ name: 'enc', data: enc('x'), flags: 1 }]), /encrypted/);
    refused(rawZip([{ name: 'bz', data: enc('x'), method: 12 }]), /method 12/);
  });

  it('detects a corrupted entry by CRC', () => {
    const z = rawZip([{ name: 'a', data: enc('hello world') }]);
    const i = z.indexOf('h'.charCodeAt(0), 30);
    z[i] ^= 1;
    expect(() => readZipFiles(z)).toThrow(/CRC-32 mismatch/);
  });

  it('arbitrary bytes and mutated archives give only typed errors', () => {
    const good = writeZip(
      new Map([
        ['a.txt', enc('hello hello hello')],
        ['b/c', enc('x'.repeat(300))],
      ]),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          readZipFiles(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(PackscopeError);
        }
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (pos, x) => {
        const z = good.slice();
        z[pos] ^= x;
        try {
          const files = readZipFiles(z);
          // A flip that survives must have landed in bytes with no meaning for the content.
          expect(files.get('a.txt')).toEqual(enc('hello hello hello'));
        } catch (e) {
          expect(e).toBeInstanceOf(PackscopeError);
        }
      }),
      { numRuns: 400 },
    );
  });
});
