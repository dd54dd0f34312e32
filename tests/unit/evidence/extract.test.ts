import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeZip } from '../../../shared/codec/zip-write.js';
import { extractPackage } from '../../../electron/host/evidence/extract.js';
import { fileSource } from '../../../electron/host/evidence/file-io.js';
import { PACKAGE_ZIP_LIMITS } from '../../../shared/evidence/package-verify.js';

/**
 * `package extract` reads the archive through range reads and writes each file as it inflates:
 * what lands on disk is the archive's content byte for byte, and an entry that fails its CRC-32
 * half-way leaves neither the target nor the staging directory behind.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'packscope-extract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Larger than one read and one inflate step, so the files are written in several pieces.
const big = new Uint8Array(1024 * 1024 + 17).map((_, i) => (i * 2654435761) >>> 24);
const text = new TextEncoder().encode(Array.from({ length: 50_000 }, (_, i) => `${i},${(i * 7919) % 1000}\n`).join(''));
const files = new Map([
  ['device/segments.bin', big],
  ['data/records.csv', text],
  ['SHA256SUMS', new TextEncoder().encode('none\n')],
]);

describe('extractPackage from a file', () => {
  it('writes every entry as the archive holds it', () => {
    const pkg = path.join(dir, 'a.psdiag');
    writeFileSync(pkg, writeZip(files));
    const to = path.join(dir, 'a');
    const names = extractPackage(fileSource(pkg, 'package'), to, PACKAGE_ZIP_LIMITS);
    expect(names.sort()).toEqual([...files.keys()].sort());
    for (const [name, data] of files) expect(Buffer.compare(readFileSync(path.join(to, name)), data)).toBe(0);
  });

  it('leaves nothing behind when an entry is damaged', () => {
    const zip = writeZip(files, { level: 0 });
    // Flip a byte in the middle of the stored segments: its CRC-32 fails after most of it was written.
    const at = Buffer.from(zip).indexOf(Buffer.from(big.subarray(0, 64))) + 768 * 1024;
    zip[at] = zip[at]! ^ 0xff;
    const pkg = path.join(dir, 'b.psdiag');
    writeFileSync(pkg, zip);
    const to = path.join(dir, 'b');
    expect(() => extractPackage(fileSource(pkg, 'package'), to, PACKAGE_ZIP_LIMITS)).toThrow(/CRC-32/);
    expect(existsSync(to)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes('.b.'))).toEqual([]);
  });
});
