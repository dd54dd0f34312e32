/**
 * Files dropped on the browser page: the page has their bytes but the host (perhaps another
 * machine) does not, so they are uploaded into the data folder in chunks, under a temporary name,
 * and renamed to a fresh name when the last chunk arrived. The Electron window gets dropped files
 * by path and never uses this.
 */
import { appendFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { Params, Res } from '../../../shared/api/contract.js';
import { screenForName } from '../../../shared/api/desktop.js';
import { ensureDir } from '../api/files.js';
import { safeStem, uniquePath } from './unique-path.js';

/** Larger than any log or package PackScope writes for one pack. */
export const MAX_IMPORT_BYTES = 1 << 30;

export function importChunk(dataDir: string, req: Params<'files.import'>): Res<'files.import'> {
  if (!screenForName(req.name)) throw new PackscopeError('USAGE', `${req.name} is not a file PackScope opens (.pslog, .psdiag, .img or .hex)`);
  const dir = ensureDir(path.join(dataDir, 'dropped'));
  const part = path.join(dir, `.${req.uploadId}.part`);
  let size = 0;
  try {
    size = statSync(part).size;
  } catch {
    size = 0;
  }
  if (req.offset === 0 && size > 0) {
    rmSync(part, { force: true });
    size = 0;
  }
  if (req.offset !== size) throw new PackscopeError('USAGE', `upload ${req.uploadId} is at byte ${size}, not ${req.offset}: drop the file again`);
  const bytes = Buffer.from(req.base64, 'base64');
  if (size + bytes.length > MAX_IMPORT_BYTES) {
    rmSync(part, { force: true });
    throw new PackscopeError('REFUSED', `${req.name} is larger than ${MAX_IMPORT_BYTES >> 20} MiB`);
  }
  appendFileSync(part, bytes);
  if (!req.final) return { path: null, bytes: size + bytes.length };
  const ext = path.extname(req.name).toLowerCase();
  const target = uniquePath(dir, safeStem(path.basename(req.name, path.extname(req.name))), ext);
  renameSync(part, target);
  return { path: target, bytes: size + bytes.length };
}
