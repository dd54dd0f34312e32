import { lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../../electron/host/util/files.js';

describe('writeFileAtomic', () => {
  const dir = () => mkdtempSync(path.join(tmpdir(), 'packscope-files-'));

  it('writes bytes or text under the final name and leaves no temporary file', () => {
    const d = dir();
    writeFileAtomic(path.join(d, 'a.bin'), Uint8Array.of(1, 2, 3));
    writeFileAtomic(path.join(d, 'b.txt'), 'hello');
    writeFileAtomic(path.join(d, 'b.txt'), 'again');
    expect([...readFileSync(path.join(d, 'a.bin'))]).toEqual([1, 2, 3]);
    expect(readFileSync(path.join(d, 'b.txt'), 'utf8')).toBe('again');
    expect(readdirSync(d).sort()).toEqual(['a.bin', 'b.txt']);
  });

  it('sets an explicit mode exactly, and exclusive refuses an existing file without touching it', () => {
    const d = dir();
    const key = path.join(d, 'key.pem');
    writeFileAtomic(key, 'secret', { mode: 0o600, exclusive: true });
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(() => writeFileAtomic(key, 'other', { exclusive: true })).toThrow(
      expect.objectContaining({ code: 'REFUSED', message: expect.stringMatching(/already exists; refusing to overwrite/) }),
    );
    expect(readFileSync(key, 'utf8')).toBe('secret');
    writeFileSync(path.join(d, 'plain'), 'x');
    expect(readdirSync(d).sort()).toEqual(['key.pem', 'plain']);
  });

  it('writes through a link (such as /dev/stdout) in place, never renaming over it', () => {
    const d = dir();
    writeFileSync(path.join(d, 'target.img'), 'old');
    symlinkSync('target.img', path.join(d, 'link.img'));
    writeFileAtomic(path.join(d, 'link.img'), 'new contents');
    expect(lstatSync(path.join(d, 'link.img')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(d, 'target.img'), 'utf8')).toBe('new contents');
    expect(readdirSync(d).sort()).toEqual(['link.img', 'target.img']);
  });

  it('a missing directory is NOT_FOUND naming the file', () => {
    const target = path.join(dir(), 'no', 'such', 'out.psdiag');
    expect(() => writeFileAtomic(target, 'x')).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: expect.stringContaining(target) }));
    expect(() => writeFileAtomic(target, 'x', { exclusive: true })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});
