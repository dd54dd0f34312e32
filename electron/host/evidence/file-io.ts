/**
 * Files of any size for evidence, read and written in pieces: a range of a file as a ByteSource
 * (what the ZIP reader and the segment decoder read through), and a package written under a
 * temporary name, header fields patched in place, flushed and renamed into place when complete.
 * A log or package is never held whole.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PackscopeError } from '../../../shared/errors.js';
import type { ByteSource } from '../../../shared/codec/zip.js';
import type { ZipSink } from '../../../shared/codec/zip-write.js';
import { fsError, isSpecialPath } from '../util/files.js';

/** Bytes read per step when a file range is streamed. */
export const READ_CHUNK = 1 << 20;

/**
 * Bytes `offset`…`offset + size` of a file as a ByteSource. Each read opens the file, checks that
 * its size and modification time are those seen first (a file changed while being read is an
 * error, never a mix of two versions) and closes it again, so the source needs no closing.
 */
export function fileSource(file: string, what: string, range?: { offset: number; size: number }): ByteSource {
  const stamp = (fd: number) => {
    const st = fstatSync(fd);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  };
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `${what} ${file}: no such file`);
    throw fsError(e, `${what} ${file}`);
  }
  let first: string;
  let total: number;
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new PackscopeError('NOT_FOUND', `${what} ${file} is a directory, not a file`);
    if (!st.isFile()) throw new PackscopeError('NOT_FOUND', `${what} ${file} is not a file`);
    first = stamp(fd);
    total = st.size;
  } finally {
    closeSync(fd);
  }
  const base = range?.offset ?? 0;
  const size = range?.size ?? total;
  if (base + size > total) throw new PackscopeError('DECODE', `${what} ${file} is truncated`);
  return {
    size,
    read(offset: number, length: number): Uint8Array {
      const out = new Uint8Array(length);
      const fd = openSync(file, 'r');
      try {
        if (stamp(fd) !== first) throw new PackscopeError('IO', `${what} ${file} changed while it was being read`);
        let got = 0;
        while (got < length) {
          const n = readSync(fd, out, got, length - got, base + offset + got);
          if (n === 0) throw new PackscopeError('IO', `${what} ${file} ended early (changed while it was being read)`);
          got += n;
        }
      } finally {
        closeSync(fd);
      }
      return out;
    },
  };
}

/** A ByteSource from start to end in READ_CHUNK pieces. */
export function* sourceChunks(src: ByteSource): Generator<Uint8Array> {
  for (let o = 0; o < src.size; o += READ_CHUNK) yield src.read(o, Math.min(READ_CHUNK, src.size - o));
}

/**
 * Streams a new file to `file`: `fill` writes through a ZipSink (appends and in-place patches) to
 * a temporary name beside it, which is flushed and renamed into place only when `fill` succeeds;
 * on failure nothing is left. A special path (a device or a link such as /dev/stdout) is written
 * where it leads, from a temporary file in the system's temp folder. Returns the bytes written.
 */
export async function writeStreamedFile(file: string, fill: (sink: ZipSink) => Promise<void>): Promise<number> {
  const special = isSpecialPath(file);
  const dir = special ? tmpdir() : path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  let fd: number | null = null;
  let size = 0;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const out = fd;
    const writeAt = (bytes: Uint8Array, position: number) => {
      let off = 0;
      while (off < bytes.length) off += writeSync(out, bytes, off, bytes.length - off, position + off);
    };
    await fill({
      write: (chunk) => {
        writeAt(chunk, size);
        size += chunk.length;
      },
      patch: (offset, bytes) => writeAt(bytes, offset),
    });
    fsyncSync(out);
    if (special) {
      const dest = openSync(file, 'w');
      try {
        const src = fileSource(tmp, 'package');
        for (const chunk of sourceChunks(src)) {
          let off = 0;
          while (off < chunk.length) off += writeSync(dest, chunk, off, chunk.length - off);
        }
      } finally {
        closeSync(dest);
      }
      closeSync(out);
      fd = null;
      rmSync(tmp, { force: true });
    } else {
      closeSync(out);
      fd = null;
      renameSync(tmp, file);
    }
    return size;
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    if (e instanceof PackscopeError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PackscopeError('NOT_FOUND', `cannot write ${file}: directory does not exist`);
    if (code === 'EPIPE') throw new PackscopeError('IO', `${file}: the reader closed the pipe`, { errno: 'EPIPE' });
    throw fsError(e, `cannot write ${file}`);
  }
}
