/**
 * Fresh file names in a folder: a second package or report made on the same day gets "-2", "-3", …
 * instead of replacing the first.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Makes a name safe as one path component (serials and file names may hold anything). */
export function safeStem(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_') || '_';
}

/** The first of `stem.ext`, `stem-2.ext`, `stem-3.ext` … that does not exist in `dir`. */
export function uniquePath(dir: string, stem: string, ext: string, exists: (p: string) => boolean = existsSync): string {
  for (let i = 1; ; i++) {
    const p = path.join(dir, `${stem}${i === 1 ? '' : `-${i}`}${ext}`);
    if (!exists(p)) return p;
  }
}
