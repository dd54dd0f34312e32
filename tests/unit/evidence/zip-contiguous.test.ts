import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { openZip, readZipFiles, UnsafeArchiveError } from '../../../shared/codec/zip.js';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { assemblePackage, verifyPackage, type PackageSigner } from '../../../shared/evidence/package.js';
import { blackboxEvidenceDecoder, decodeDeviceEvidence, deviceFiles } from '../../../shared/evidence/blackbox-evidence.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { concatBytes, utf8Encode } from '../../../shared/util/bytes.js';
import { rawZip } from './malicious.js';
import { CLAIM, stream } from '../warranty/stream.js';
import { makeDeviceLog, values } from './device-log.js';

/**
 * The entries a ZIP lists must tile it from offset 0 to the central directory. A local entry that
 * the central directory leaves out is invisible to this reader but extracted by readers that walk
 * local headers; bytes before, between or after the entries have no business in a package.
 */
const enc = utf8Encode;

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function put32(b: Uint8Array, o: number, v: number): void {
  for (let i = 0; i < 4; i++) b[o + i] = (v >>> (8 * i)) & 255;
}

interface Layout {
  eocd: number;
  cdOffset: number;
  /** Local header offsets in central-directory order, with the position of each offset field. */
  entries: { name: string; local: number; field: number }[];
}

function layout(zip: Uint8Array): Layout {
  let eocd = zip.length - 22;
  while (u32(zip, eocd) !== 0x06054b50) eocd--;
  const cdOffset = u32(zip, eocd + 16);
  const total = zip[eocd + 10]! | (zip[eocd + 11]! << 8);
  const entries: Layout['entries'] = [];
  let o = cdOffset;
  for (let i = 0; i < total; i++) {
    const nameLen = zip[o + 28]! | (zip[o + 29]! << 8);
    const extra = zip[o + 30]! | (zip[o + 31]! << 8);
    const comment = zip[o + 32]! | (zip[o + 33]! << 8);
    entries.push({ name: new TextDecoder().decode(zip.subarray(o + 46, o + 46 + nameLen)), local: u32(zip, o + 42), field: o + 42 });
    o += 46 + nameLen + extra + comment;
  }
  return { eocd, cdOffset, entries };
}

/**
 * Inserts bytes at `pos` (at most the central directory's offset) and keeps the archive otherwise
 * consistent: local offsets at or after `pos` and the central directory offset move with them.
 */
function insertAt(zip: Uint8Array, pos: number, bytes: Uint8Array): Uint8Array {
  const l = layout(zip);
  if (pos > l.cdOffset) throw new Error('insertAt: only before the central directory');
  const out = concatBytes(zip.subarray(0, pos), bytes, zip.subarray(pos));
  const shift = (o: number) => (o >= pos ? o + bytes.length : o);
  for (const e of l.entries) put32(out, shift(e.field), e.local >= pos ? e.local + bytes.length : e.local);
  put32(out, l.eocd + bytes.length + 16, l.cdOffset + bytes.length);
  return out;
}

/** A complete local file record (header, name, data) for an entry no central record will name. */
function localRecord(name: string, data: Uint8Array): Uint8Array {
  const z = rawZip([{ name, data }]);
  return z.slice(0, 30 + enc(name).length + data.length);
}

function refusal(bytes: Uint8Array): PackscopeError {
  try {
    readZipFiles(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(PackscopeError);
    return e as PackscopeError;
  }
  throw new Error('the archive was accepted');
}

const FILES = new Map([
  ['a.txt', enc('hello '.repeat(50))],
  ['b.csv', enc('x,y\n'.repeat(300))],
  ['photos/p.jpg', new Uint8Array([0xff, 0xd8, 1, 2, 3])],
]);

describe('ZIP entries run contiguously from offset 0 to the central directory', () => {
  it('refuses a local entry hidden before the central directory, naming its offset', () => {
    const good = writeZip(FILES);
    const { cdOffset } = layout(good);
    const hidden = insertAt(good, cdOffset, localRecord('run.sh', enc('#!/bin/sh\nrm -rf ~\n')));
    const e = refusal(hidden);
    expect(e).toBeInstanceOf(UnsafeArchiveError);
    expect(e.message).toBe(
      `a local entry at offset ${cdOffset}, between the last entry "photos/p.jpg" and the central directory, is missing from the central directory (a hidden entry)`,
    );
    // Everything else about it is consistent: the listed entries alone would read fine.
    expect(layout(hidden).entries.map((x) => x.name)).toEqual(['a.txt', 'b.csv', 'photos/p.jpg']);
  });

  it('refuses a local entry hidden between two listed entries, and before the first', () => {
    const good = writeZip(FILES);
    const second = layout(good).entries[1]!.local;
    const between = refusal(insertAt(good, second, localRecord('x.bin', enc('payload'))));
    expect(between).toBeInstanceOf(UnsafeArchiveError);
    expect(between.message).toMatch(
      new RegExp(`^a local entry at offset ${second}, between entries "a.txt" and "b.csv", is missing from the central directory`),
    );
    const first = refusal(insertAt(good, 0, localRecord('x.bin', enc('payload'))));
    expect(first.message).toMatch(/^a local entry at offset 0, before the first entry, is missing from the central directory/);
  });

  it('refuses bytes that belong to no entry: a prepended stub, a gap, trailing data before the directory', () => {
    const good = writeZip(FILES);
    const l = layout(good);
    const stub = refusal(insertAt(good, 0, enc('MZ self-extractor stub')));
    expect(stub).toBeInstanceOf(DecodeError);
    expect(stub.message).toBe('22 bytes at offset 0, before the first entry, belong to no entry');
    const gap = refusal(insertAt(good, l.entries[2]!.local, new Uint8Array(7)));
    expect(gap).toBeInstanceOf(DecodeError);
    expect(gap.message).toBe(`7 bytes at offset ${l.entries[2]!.local}, between entries "b.csv" and "photos/p.jpg", belong to no entry`);
    const tail = refusal(insertAt(good, l.cdOffset, enc('junk')));
    expect(tail.message).toBe(`4 bytes at offset ${l.cdOffset}, between the last entry "photos/p.jpg" and the central directory, belong to no entry`);
    // An archive that lists nothing holds nothing before its directory either.
    expect(readZipFiles(writeZip(new Map())).size).toBe(0);
    expect(refusal(insertAt(writeZip(new Map()), 0, enc('junk'))).message).toBe('4 bytes at offset 0, before the central directory, belong to no entry');
  });

  it('still names overlapping entries, with the offset', () => {
    const inner = rawZip([{ name: 'b', data: enc('payload') }]);
    const bomb = rawZip([
      { name: 'a', data: inner.subarray(0, 30 + 1 + 7) },
      { name: 'b', data: enc('payload'), noLocal: true, offsetOverride: 31 },
    ]);
    expect(refusal(bomb).message).toBe('entries "a" and "b" overlap (at offset 31)');
  });

  it('any bytes inserted before the central directory are refused', () => {
    const good = writeZip(FILES);
    const { cdOffset } = layout(good);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: cdOffset }), fc.uint8Array({ minLength: 1, maxLength: 64 }), (pos, junk) => {
        refusal(insertAt(good, pos, junk));
      }),
      { numRuns: 500 },
    );
  });

  it('entries with data descriptors (flag bit 3) end after the descriptor, with or without its signature', () => {
    // fflate's streaming Zip writes sizes after the data, with the PK\x07\x08 signature.
    const chunks: Uint8Array[] = [];
    let done = false;
    const z = new Zip((err, data, final) => {
      if (err) throw err;
      chunks.push(data);
      done = final;
    });
    const a = new ZipDeflate('a.txt', { level: 6 });
    z.add(a);
    a.push(enc('hello '.repeat(40)), true);
    const b = new ZipPassThrough('b.bin');
    z.add(b);
    b.push(new Uint8Array([1, 2, 3]), true);
    z.end();
    expect(done).toBe(true);
    const streamed = concatBytes(...chunks);
    expect(streamed[6]! & 8).toBe(8);
    const files = readZipFiles(streamed);
    expect(files.get('a.txt')).toEqual(enc('hello '.repeat(40)));
    expect(files.get('b.bin')).toEqual(new Uint8Array([1, 2, 3]));

    // The same archive with descriptors lacking the optional signature.
    const l = layout(streamed);
    const unsigned: Uint8Array[] = [];
    let prev = 0;
    for (let i = 0; i < streamed.length - 4; i++) {
      if (i < l.cdOffset && u32(streamed, i) === 0x08074b50 && (l.entries.some((e) => e.local === i + 16) || i + 16 === l.cdOffset)) {
        unsigned.push(streamed.subarray(prev, i));
        prev = i + 4;
      }
    }
    unsigned.push(streamed.subarray(prev));
    let bare = concatBytes(...unsigned);
    const removed = streamed.length - bare.length;
    expect(removed).toBe(8);
    // Fix the offsets by hand: b's local header moved by 4, the directory (and its records) by 8.
    expect(bare[l.entries[1]!.local - 4 + 6]! & 8).toBe(8);
    put32(bare, l.entries[1]!.field - 8, l.entries[1]!.local - 4);
    put32(bare, l.eocd - 8 + 16, l.cdOffset - 8);
    expect(readZipFiles(bare).get('b.bin')).toEqual(new Uint8Array([1, 2, 3]));

    // A descriptor that disagrees with the central directory is refused, naming its offset.
    bare = streamed.slice();
    const at = l.entries[1]!.local - 16;
    expect(u32(bare, at)).toBe(0x08074b50);
    bare[at + 8]! ^= 1;
    const e = refusal(bare);
    expect(e.message).toBe(`entry "a.txt": data descriptor at offset ${at} is missing or disagrees with the central directory`);
  });

  it('every package the project writes still opens and verifies its archive', async () => {
    const sk = ed25519.utils.randomSecretKey(new Uint8Array(32).fill(9));
    const signer: PackageSigner = { publicKey: ed25519.getPublicKey(sk), sign: (m) => ed25519.sign(m, sk) };
    const log = makeDeviceLog(
      values(
        stream(300, (r, i) => {
          if (i >= 100 && i <= 115) r.current = -260;
        }),
      ),
    );
    const files = deviceFiles(log);
    const evidence = decodeDeviceEvidence(files, { rootPublicKeyPem: null });
    for (const photos of [[], [{ name: 'pack.jpg', data: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]) }]]) {
      const pkg = await assemblePackage({
        evidence,
        deviceFiles: files,
        claim: CLAIM,
        policy: DEFAULT_POLICY,
        photos,
        createdAt: new Date('2026-06-03T10:00:00Z'),
        toolVersion: '0.1.0',
        signer,
      });
      const zip = writeZip(pkg.files);
      const z = openZip(zip);
      expect(z.entries.map((e) => e.name).sort()).toEqual([...pkg.files.keys()].sort());
      for (const e of z.entries) expect(z.read(e)).toEqual(pkg.files.get(e.name));
      const v = await verifyPackage(zip, { decoder: blackboxEvidenceDecoder, rootPublicKeyPem: log.ca.pem });
      expect(v.checks.find((c) => c.id === 'archive')).toMatchObject({ ok: true });
    }
    // And any set of files writeZip is given.
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z]{1,8}(\/[a-z]{1,8})?(\.(txt|jpg|csv))?$/), fc.uint8Array({ maxLength: 2000 })), {
          maxLength: 12,
          selector: ([n]) => n.toLowerCase(),
        }),
        (entries) => {
          const names = new Set(entries.map(([n]) => n));
          // A file and a directory of the same name cannot both exist.
          fc.pre(entries.every(([n]) => ![...names].some((m) => m.startsWith(`${n}/`))));
          const back = readZipFiles(writeZip(new Map(entries)));
          expect(back.size).toBe(entries.length);
          for (const [n, d] of entries) expect(back.get(n)).toEqual(d);
        },
      ),
      { numRuns: 200 },
    );
  });
});
