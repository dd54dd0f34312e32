/**
 * File helpers for evidence: reads with typed errors (writes go through writeFileAtomic in
 * ../util/files.ts).
 */
import { readFileSync, statSync } from 'node:fs';
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
