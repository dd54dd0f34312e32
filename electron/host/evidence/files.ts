/**
 * File helpers for evidence: typed errors for reads, and writes that never leave a half-written
 * file under the final name (temp file in the same directory, fsync, rename).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';

export function readInput(path: string, what: string, maxBytes = 2 ** 31): Uint8Array {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new PackscopeError('NOT_FOUND', `${what} ${path} is a directory, not a file`);
    if (!st.isFile()) throw new PackscopeError('NOT_FOUND', `${what} ${path} is not a file`);
    if (st.size > maxBytes) throw new PackscopeError('REFUSED', `${what} ${path} is ${st.size} bytes, more than the limit of ${maxBytes}`);
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if (e instanceof PackscopeError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `${what} ${path}: no such file`);
    if (code === 'EACCES' || code === 'EPERM') throw new PackscopeError('PERMISSION', `${what} ${path}: permission denied`);
    throw new PackscopeError('IO', `${what} ${path}: ${(e as Error).message}`);
  }
}

export function writeFileAtomic(path: string, bytes: Uint8Array, mode = 0o644): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.part`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'wx', mode);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 24));
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `cannot write ${path}: directory does not exist`);
    if (code === 'EACCES' || code === 'EPERM') throw new PackscopeError('PERMISSION', `cannot write ${path}: permission denied`);
    if (code === 'ENOSPC') throw new PackscopeError('IO', `cannot write ${path}: disk full`);
    throw new PackscopeError('IO', `cannot write ${path}: ${(e as Error).message}`);
  }
}
