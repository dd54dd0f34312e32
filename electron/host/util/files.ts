import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, lstatSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';

export interface AtomicWriteOptions {
  /** File mode; when given it is set exactly (the umask does not narrow it). Default 0o644 less the umask. */
  mode?: number;
  /** Refuse (REFUSED) when the target exists: keys and tickets are never clobbered. */
  exclusive?: boolean;
}

/**
 * True for an existing path that is not a plain regular file: a device, a FIFO, or a link (such as
 * /dev/stdout, whichever file it points to). Such a path is written where it leads, in place:
 * renaming a temporary file over it would replace the link or the device node itself.
 */
export function isSpecialPath(file: string): boolean {
  try {
    const link = lstatSync(file);
    if (link.isSymbolicLink()) return !statSync(file).isDirectory();
    return !link.isFile() && !link.isDirectory();
  } catch {
    return false;
  }
}

/**
 * The one way the host writes a file the user asked for (packages, reports, images, keys,
 * tickets): a temporary name beside the target, every byte written and flushed, then a rename, so
 * a crash or a full disk never leaves a half-written file under the real name. With `exclusive`
 * the name is claimed first, so two runs cannot both create it. Failures are PackscopeErrors
 * that name the file.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, o: AtomicWriteOptions = {}): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  let claimed = false;
  let fd: number | null = null;
  try {
    if (!o.exclusive && isSpecialPath(file)) {
      fd = openSync(file, 'w');
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 24));
      closeSync(fd);
      return;
    }
    if (o.exclusive) {
      closeSync(openSync(file, 'wx', o.mode ?? 0o644));
      claimed = true;
    }
    fd = openSync(tmp, 'wx', o.mode ?? 0o644);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 24));
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    if (o.mode !== undefined) chmodSync(tmp, o.mode);
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') throw new PackscopeError('IO', `${file}: the reader closed the pipe`, { errno: 'EPIPE' });
    if (claimed) rmSync(file, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && o.exclusive && !claimed) throw new PackscopeError('REFUSED', `${file} already exists; refusing to overwrite it`);
    if (code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `cannot write ${file}: directory does not exist`);
    if (code === 'EACCES' || code === 'EPERM') throw new PackscopeError('PERMISSION', `cannot write ${file}: permission denied`);
    if (code === 'ENOSPC') throw new PackscopeError('IO', `cannot write ${file}: disk full`);
    throw new PackscopeError('IO', `cannot write ${file}: ${(e as Error).message}`);
  }
}

/**
 * A failed file operation as a PackscopeError that says `what` failed: PERMISSION for EACCES and
 * EPERM, IO for the rest ("disk full" for ENOSPC). Callers handle the codes they expect (ENOENT
 * for an optional file) before this.
 */
export function fsError(e: unknown, what: string): PackscopeError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return new PackscopeError('PERMISSION', `${what}: permission denied`);
  if (code === 'ENOSPC') return new PackscopeError('IO', `${what}: disk full`);
  return new PackscopeError('IO', `${what}: ${(e as Error).message}`);
}
