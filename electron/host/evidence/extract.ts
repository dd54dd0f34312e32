/**
 * Unpacks a diagnosis package into a new directory for the stock tools (sha256sum, openssl,
 * ssh-keygen). The whole archive is vetted by shared/codec/zip.ts first; then every file is
 * created exclusively (O_EXCL: never through an existing file or link) inside a private staging
 * directory next to the target, which is renamed into place only when everything is written.
 * A refused archive, or an entry that does not inflate to its size and CRC-32, leaves nothing
 * behind. The archive is read through range reads and each file written as it inflates, so a
 * package of any size is unpacked in bounded memory.
 */
import { mkdirSync, rmSync, renameSync, existsSync, openSync, writeSync, closeSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import { bytesSource, openZipSource, type ByteSource, type ZipLimits, DEFAULT_ZIP_LIMITS } from '../../../shared/codec/zip.js';
import { HOST_ZIP_CODECS } from './package-file.js';

/** `zip`: the package's bytes, or a range-read source over its file (fileSource). */
export function extractPackage(zip: Uint8Array | ByteSource, targetDir: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): string[] {
  const target = resolve(targetDir);
  if (existsSync(target)) throw new PackscopeError('REFUSED', `${target} already exists; extract into a new directory`);
  const archive = openZipSource(zip instanceof Uint8Array ? bytesSource(zip) : zip, limits, HOST_ZIP_CODECS); // throws before anything is written
  const staging = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.extract`);
  mkdirSync(staging, { mode: 0o700 });
  const written: string[] = [];
  try {
    for (const entry of archive.entries) {
      const path = resolve(staging, entry.name);
      const rel = relative(staging, path);
      // Defence in depth: the name was vetted already, but the file system has the last word.
      if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
        throw new PackscopeError('REFUSED', `entry "${entry.name}" would be written outside the target`);
      }
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      const fd = openSync(path, 'wx', 0o644);
      try {
        const r = archive.open(entry);
        for (let data = r.next(); data !== null; data = r.next()) {
          let off = 0;
          while (off < data.length) off += writeSync(fd, data, off, data.length - off);
        }
      } finally {
        closeSync(fd);
      }
      written.push(entry.name);
    }
    mkdirSync(dirname(target), { recursive: true });
    renameSync(staging, target);
    return written;
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}
