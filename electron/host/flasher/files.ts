import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import { parsePublicKeyPem, type TrustedKey } from '../../../shared/image/index.js';

/** File helpers for the image and flash commands: typed errors, atomic writes, no clobbering of keys. */
export function readInputFile(file: string, what: string): Uint8Array {
  try {
    const b = readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `${what} ${file} does not exist`);
    if (code === 'EACCES') throw new PackscopeError('PERMISSION', `${what} ${file} is not readable (permission denied)`);
    if (code === 'EISDIR') throw new PackscopeError('NOT_FOUND', `${what} ${file} is a directory, not a file`);
    throw new PackscopeError('IO', `cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

export function readTextFile(file: string, what: string): string {
  return new TextDecoder().decode(readInputFile(file, what));
}

/**
 * Writes to a temporary name beside the target, flushes, then renames: a crash or a full disk never
 * leaves a half-written file under the real name. With `exclusive`, an existing target is an error.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, o: { mode?: number; exclusive?: boolean } = {}): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  let fd: number | null = null;
  try {
    if (o.exclusive) {
      // Claim the name first so two runs cannot both create it.
      try {
        closeSync(openSync(file, 'wx', o.mode ?? 0o644));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new PackscopeError('REFUSED', `${file} already exists; refusing to overwrite it`);
        throw e;
      }
    }
    fd = openSync(tmp, 'w', o.mode ?? 0o644);
    writeSync(fd, bytes, 0, bytes.length, 0);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    if (o.mode !== undefined) chmodSync(tmp, o.mode);
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    if (o.exclusive && !(e instanceof PackscopeError)) rmSync(file, { force: true });
    if (e instanceof PackscopeError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new PackscopeError('PERMISSION', `cannot write ${file}: permission denied`);
    throw new PackscopeError('IO', `cannot write ${file}: ${(e as Error).message}`);
  }
}

/** Loads --trust PUB.pem files (public keys, or the public half of private key files). */
export function loadTrustedKeys(files: string[] | undefined): TrustedKey[] {
  return (files ?? []).map((f) => ({ key: parsePublicKeyPem(readTextFile(f, 'trusted key')), name: path.basename(f) }));
}
