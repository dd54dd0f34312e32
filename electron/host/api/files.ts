import { mkdirSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { FileEntry } from '../../../shared/api/contract.js';

/**
 * The data folder: recordings, pulled logs and packages go here unless the user names a path.
 * PACKSCOPE_DATA_DIR overrides it (tests, kiosks).
 */
export function defaultDataDir(): string {
  return process.env.PACKSCOPE_DATA_DIR ?? path.join(os.homedir(), 'PackScope');
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Lists a host directory for the renderer's file picker: folders first, then matching files. */
export function listDir(dir: string, extensions?: string[]): { dir: string; parent: string | null; entries: FileEntry[] } {
  const abs = path.resolve(dir);
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `folder ${abs} does not exist`);
    if (code === 'EACCES' || code === 'EPERM') throw new PackscopeError('PERMISSION', `no permission to read ${abs}`);
    if (code === 'ENOTDIR') throw new PackscopeError('USAGE', `${abs} is not a folder`);
    throw new PackscopeError('IO', `cannot read ${abs}: ${(e as Error).message}`);
  }
  const entries: FileEntry[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const full = path.join(abs, name);
    let st;
    try {
      st = statSync(full);
    } catch {
      continue; // dangling link or vanished file
    }
    const isDir = st.isDirectory();
    if (!isDir && extensions && !extensions.some((ext) => name.toLowerCase().endsWith(ext))) continue;
    entries.push({ name, path: full, isDir, size: isDir ? 0 : st.size, mtimeMs: st.mtimeMs });
  }
  entries.sort((a, b) => (a.isDir === b.isDir ? a.name.localeCompare(b.name) : a.isDir ? -1 : 1));
  const parent = path.dirname(abs);
  return { dir: abs, parent: parent === abs ? null : parent, entries };
}
