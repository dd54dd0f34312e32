import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import { parsePublicKeyPem, type TrustedKey } from '../../../shared/image/index.js';

/** File helpers for the image and flash commands: reads with typed errors, trusted keys (writes: ../util/files.ts). */
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

/** Loads --trust PUB.pem files (public keys, or the public half of private key files). */
export function loadTrustedKeys(files: string[] | undefined): TrustedKey[] {
  return (files ?? []).map((f) => ({ key: parsePublicKeyPem(readTextFile(f, 'trusted key')), name: path.basename(f) }));
}
