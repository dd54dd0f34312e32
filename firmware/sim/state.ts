import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import path from 'node:path';
import { PackscopeError } from '../../shared/errors.js';
import type { SimStorage } from './board.js';

/**
 * The board's non-volatile memory. With `--state DIR` every named blob is a file in DIR, written to
 * a temporary name, flushed and renamed, so a simulator killed mid-write never leaves a torn file
 * (the same guarantee a real board gets from its flash journal). Without a directory it lives in
 * memory and dies with the process.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

function checkName(name: string): void {
  if (!NAME.test(name) || name.includes('..')) throw new PackscopeError('USAGE', `invalid storage name '${name}'`);
}

export class MemoryStorage implements SimStorage {
  readonly dir = null;
  private blobs = new Map<string, Uint8Array>();
  read(name: string): Uint8Array | null {
    checkName(name);
    const b = this.blobs.get(name);
    return b ? b.slice() : null;
  }
  write(name: string, data: Uint8Array): void {
    checkName(name);
    this.blobs.set(name, data.slice());
  }
}

export class DirectoryStorage implements SimStorage {
  readonly dir: string;
  private seq = 0;
  constructor(dir: string) {
    this.dir = path.resolve(dir);
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      throw new PackscopeError('IO', `cannot create state directory ${this.dir}: ${(e as Error).message}`);
    }
  }
  read(name: string): Uint8Array | null {
    checkName(name);
    try {
      const b = readFileSync(path.join(this.dir, name));
      return new Uint8Array(b.buffer, b.byteOffset, b.length);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new PackscopeError('IO', `cannot read state ${name}: ${(e as Error).message}`);
    }
  }
  write(name: string, data: Uint8Array): void {
    checkName(name);
    const file = path.join(this.dir, name);
    const tmp = `${file}.tmp-${process.pid}-${this.seq++}`;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(tmp, data);
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
    } catch (e) {
      throw new PackscopeError('IO', `cannot write state ${name}: ${(e as Error).message}`);
    }
  }
}

export function openStorage(dir: string | null | undefined): SimStorage {
  return dir ? new DirectoryStorage(dir) : new MemoryStorage();
}

/** JSON helpers over a storage (small records: identity, counters, parameters). */
export function readJson<T>(storage: SimStorage, name: string): T | null {
  const b = storage.read(name);
  if (!b) return null;
  try {
    return JSON.parse(new TextDecoder().decode(b)) as T;
  } catch {
    return null;
  }
}

export function writeJson(storage: SimStorage, name: string, value: unknown): void {
  storage.write(name, new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n'));
}
