/**
 * A defensive ZIP reader for diagnosis packages. A .psdiag arrives from someone else's computer,
 * so the whole central directory is checked before a single byte is inflated: absolute paths,
 * `..`, backslashes and drive letters, symbolic links and other special files (Unix mode in the
 * external attributes), duplicate names (also case-insensitively, as Windows and macOS would
 * merge them), encryption, unknown compression, ZIP64, entries whose local header disagrees with
 * the central directory, overlapping entries (the overlapping-file zip bomb), bytes that belong
 * to no listed entry (a local entry left out of the central directory, which a streaming reader
 * would still extract, or data before, between or after the entries), and sizes or compression
 * ratios beyond sane limits. Inflation then stops at the declared size, and every
 * entry's CRC-32 is checked.
 *
 * The archive is read through a ByteSource (range reads): a package on disk is vetted by reading
 * its end record, central directory and local headers only, and an entry is streamed in chunks
 * (`open`), so a package of any size is checked in bounded memory. `openZip(bytes)` is the same
 * reader over bytes already in memory.
 */
import { Inflate } from 'fflate';
import { DecodeError, PackscopeError } from '../errors.js';
import { bytesEqual, utf8Decode } from '../util/bytes.js';
import { crc32 } from '../protocol/crc32.js';
import { rd16, rd32 } from '../util/le.js';

/** An archive that is well-formed but unsafe to extract (traversal, links, bombs, duplicates). */
export class UnsafeArchiveError extends PackscopeError {
  constructor(message: string, details?: unknown) {
    super('REFUSED', message, details);
    this.name = 'UnsafeArchiveError';
  }
}

export interface ZipLimits {
  maxEntries: number;
  /** Largest uncompressed size of one entry. */
  maxEntryBytes: number;
  /** Largest uncompressed size of all entries together. */
  maxTotalBytes: number;
  /** Largest uncompressed/compressed ratio of an entry bigger than ratioFloorBytes. */
  maxRatio: number;
  ratioFloorBytes: number;
  maxNameBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 10_000,
  maxEntryBytes: 2 ** 31,
  maxTotalBytes: 2 ** 32,
  maxRatio: 200,
  ratioFloorBytes: 1 << 20,
  maxNameBytes: 255,
};

export interface ZipEntry {
  name: string;
  method: 0 | 8;
  compressedSize: number;
  size: number;
  crc32: number;
  /** Unix permission bits when the archive recorded them, else null. */
  mode: number | null;
  /** Offset of the entry's data in the archive. */
  dataOffset: number;
}

export interface ZipArchive {
  /** Regular files in central-directory order (directory entries are checked, then left out). */
  entries: ZipEntry[];
  /** Inflates one entry, checking its size and CRC-32. */
  read(entry: ZipEntry): Uint8Array;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_DATA_DESCRIPTOR = 0x08074b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;

/** Checks one entry name; returns the reason it is unsafe, or null. Exported for the extractor. */
export function unsafeNameReason(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'control character in name';
  if (name.includes('\ufffd')) return 'name is not valid UTF-8';
  if (name.startsWith('/') || name.startsWith('\\')) return 'absolute path';
  if (/^[A-Za-z]:/.test(name) || name.includes(':')) return 'drive letter or colon in name';
  if (name.includes('\\')) return 'backslash in name';
  const parts = name.replace(/\/$/, '').split('/');
  for (const p of parts) {
    if (p === '..') return 'parent-directory (..) component';
    if (p === '.' || p === '') return 'empty or "." path component';
  }
  return null;
}

/** Random access to the bytes of an archive: a file handle on the host, a buffer in memory. */
export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset` (the caller keeps inside `size`); may be a view. */
  read(offset: number, length: number): Uint8Array;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/** Pulls an entry's content chunk by chunk: null at the end, after its size and CRC-32 were checked. */
export interface EntryReader {
  next(): Uint8Array | null;
}

/** Largest central directory read (a package lists a few dozen files). */
const MAX_CENTRAL_DIRECTORY = 64 << 20;
/** Compressed bytes inflated per step: bounds what one step can expand to. */
const INFLATE_STEP = 64 * 1024;
/** Bytes read from the source per step. */
const READ_STEP = 1 << 20;

/**
 * Parses and vets the archive. Throws DecodeError for bytes that are not a ZIP this reader
 * understands and UnsafeArchiveError for archives that must not be extracted.
 */
export function openZip(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ZipArchive {
  return openZipSource(bytesSource(bytes), limits);
}

export interface ZipSourceArchive extends ZipArchive {
  /** Streams one entry (bounded memory whatever its size). */
  open(entry: ZipEntry): EntryReader;
}

/** Continues a CRC-32 over more data (a host may pass a native one: it runs over every byte inflated). */
export type Crc32 = (data: Uint8Array, previous: number) => number;

/**
 * One raw-deflate stream being inflated: compressed bytes in (`last` on the stream's final
 * bytes), what they inflate to out. Throws on corrupt data. A host may pass a native one: it runs
 * over every compressed byte of a package.
 */
export type InflateStep = (data: Uint8Array, last: boolean) => Uint8Array[];

/** fflate's streaming Inflate: platform-free. */
export function fflateInflater(): InflateStep {
  let out: Uint8Array[] = [];
  const inf = new Inflate((chunk) => void out.push(chunk));
  return (data, last) => {
    inf.push(data, last);
    const got = out;
    out = [];
    return got;
  };
}

/** How an archive's entries are checked and inflated (defaults: the portable CRC-32 and fflate). */
export interface ZipCodecs {
  crc32?: Crc32;
  inflater?: () => InflateStep;
}

/**
 * The same vetting as openZip, over range reads: only the end record, directory and headers are
 * read. `codecs`: the CRC-32 entries are checked with and their inflater (defaults: portable ones).
 */
export function openZipSource(src: ByteSource, limits: ZipLimits = DEFAULT_ZIP_LIMITS, codecs: ZipCodecs = {}): ZipSourceArchive {
  const crcOf = codecs.crc32 ?? crc32;
  const inflater = codecs.inflater ?? fflateInflater;
  const n = src.size;
  if (n < 22) throw new DecodeError('not a ZIP archive (too short)');
  const at = (offset: number, length: number): Uint8Array => {
    if (offset < 0 || offset + length > n) throw new DecodeError(`archive ends before offset ${offset + length}`);
    return src.read(offset, length);
  };
  // The end-of-central-directory record: its comment must run exactly to the end of the file,
  // so appended data (or a second, hidden archive) cannot hide behind it.
  const tailStart = Math.max(0, n - 22 - 0xffff);
  const tail = at(tailStart, n - tailStart);
  let eocd = -1;
  for (let o = n - 22; o >= tailStart; o--) {
    const t = o - tailStart;
    if (rd32(tail, t) === SIG_EOCD && o + 22 + rd16(tail, t + 20) === n) {
      eocd = o;
      break;
    }
  }
  if (eocd < 0) throw new DecodeError('not a ZIP archive (no end-of-central-directory record)');
  const e0 = eocd - tailStart;
  const disk = rd16(tail, e0 + 4);
  const cdDisk = rd16(tail, e0 + 6);
  const onDisk = rd16(tail, e0 + 8);
  const total = rd16(tail, e0 + 10);
  const cdSize = rd32(tail, e0 + 12);
  const cdOffset = rd32(tail, e0 + 16);
  if (eocd >= 20 && rd32(at(eocd - 20, 4), 0) === SIG_ZIP64_LOCATOR) throw new UnsafeArchiveError('ZIP64 archives are not accepted');
  if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new UnsafeArchiveError('ZIP64 archives are not accepted');
  }
  if (disk !== 0 || cdDisk !== 0 || onDisk !== total) throw new DecodeError('multi-disk ZIP archives are not supported');
  if (total > limits.maxEntries) throw new UnsafeArchiveError(`archive has ${total} entries, more than the limit of ${limits.maxEntries}`);
  if (cdOffset + cdSize !== eocd) throw new DecodeError('central directory does not end where the end record begins');
  if (cdSize > MAX_CENTRAL_DIRECTORY) throw new UnsafeArchiveError(`central directory of ${cdSize} bytes, more than the limit of ${MAX_CENTRAL_DIRECTORY}`);
  const cd = at(cdOffset, cdSize).slice();

  const entries: ZipEntry[] = [];
  const seen = new Map<string, string>();
  const spans: { start: number; end: number; name: string }[] = [];
  let totalSize = 0;
  let o = 0;
  for (let i = 0; i < total; i++) {
    if (o + 46 > cdSize || rd32(cd, o) !== SIG_CENTRAL) throw new DecodeError(`central directory entry ${i} is damaged`);
    const madeBy = rd16(cd, o + 4) >> 8;
    const flags = rd16(cd, o + 8);
    const method = rd16(cd, o + 10);
    const crc = rd32(cd, o + 16);
    const csize = rd32(cd, o + 20);
    const usize = rd32(cd, o + 24);
    const nameLen = rd16(cd, o + 28);
    const extraLen = rd16(cd, o + 30);
    const commentLen = rd16(cd, o + 32);
    const diskStart = rd16(cd, o + 34);
    const external = rd32(cd, o + 38);
    const localOffset = rd32(cd, o + 42);
    const o0 = o;
    const end = o + 46 + nameLen + extraLen + commentLen;
    if (end > cdSize) throw new DecodeError(`central directory entry ${i} runs past the directory`);
    const nameBytes = cd.subarray(o + 46, o + 46 + nameLen);
    const name = utf8Decode(nameBytes);
    o = end;

    if (nameLen > limits.maxNameBytes) throw new UnsafeArchiveError(`entry ${i}: name longer than ${limits.maxNameBytes} bytes`);
    const why = unsafeNameReason(name);
    if (why) throw new UnsafeArchiveError(`entry "${printable(name)}": ${why}`);
    const key = name.toLowerCase();
    const dup = seen.get(key);
    if (dup !== undefined) {
      throw new UnsafeArchiveError(
        dup === name ? `duplicate entry "${printable(name)}"` : `entries "${printable(dup)}" and "${printable(name)}" differ only in case`,
      );
    }
    seen.set(key, name);
    if (flags & 0x41) throw new UnsafeArchiveError(`entry "${printable(name)}" is encrypted`);
    if (diskStart !== 0) throw new DecodeError(`entry "${printable(name)}" starts on another disk`);
    if (csize === 0xffffffff || usize === 0xffffffff || localOffset === 0xffffffff) {
      throw new UnsafeArchiveError(`entry "${printable(name)}" uses ZIP64 sizes`);
    }

    // File type: Unix-made archives carry st_mode in the high 16 bits of the external attributes.
    const isDirName = name.endsWith('/');
    let mode: number | null = null;
    if (madeBy === 3 || madeBy === 19) {
      const m = external >>> 16;
      const type = m & 0o170000;
      if (type === 0o120000) throw new UnsafeArchiveError(`entry "${printable(name)}" is a symbolic link`);
      if (type !== 0 && type !== 0o100000 && !(type === 0o040000 && isDirName)) {
        throw new UnsafeArchiveError(`entry "${printable(name)}" is a special file (mode ${m.toString(8)})`);
      }
      if (m !== 0) mode = m & 0o7777;
      if (mode !== null && mode & 0o6000) throw new UnsafeArchiveError(`entry "${printable(name)}" is setuid/setgid`);
    }
    if (!isDirName && (external & 0x10) !== 0 && madeBy !== 3 && madeBy !== 19) {
      throw new UnsafeArchiveError(`entry "${printable(name)}" is marked as a directory but named as a file`);
    }

    if (method !== 0 && method !== 8) throw new UnsafeArchiveError(`entry "${printable(name)}" uses unsupported compression method ${method}`);
    if (method === 0 && csize !== usize) throw new DecodeError(`stored entry "${printable(name)}" has different compressed and real sizes`);
    if (usize > limits.maxEntryBytes) {
      throw new UnsafeArchiveError(`entry "${printable(name)}" would expand to ${usize} bytes, more than the limit of ${limits.maxEntryBytes}`);
    }
    totalSize += usize;
    if (totalSize > limits.maxTotalBytes) {
      throw new UnsafeArchiveError(`archive would expand to more than ${limits.maxTotalBytes} bytes`);
    }
    if (usize > limits.ratioFloorBytes && usize > limits.maxRatio * Math.max(csize, 1)) {
      throw new UnsafeArchiveError(
        `entry "${printable(name)}" has a compression ratio of ${Math.round(usize / Math.max(csize, 1))}:1 (limit ${limits.maxRatio}:1): a zip bomb`,
      );
    }

    // The local header must agree with the central directory.
    if (localOffset + 30 > cdOffset) throw new DecodeError(`entry "${printable(name)}": local header missing`);
    const local = at(localOffset, 30);
    if (rd32(local, 0) !== SIG_LOCAL) throw new DecodeError(`entry "${printable(name)}": local header missing`);
    const lFlags = rd16(local, 6);
    const lMethod = rd16(local, 8);
    const lNameLen = rd16(local, 26);
    const lExtraLen = rd16(local, 28);
    const lName = localOffset + 30 + lNameLen <= cdOffset ? at(localOffset + 30, lNameLen) : new Uint8Array(0);
    // Every field the two headers share must agree: a difference means the archive was edited
    // outside a ZIP tool, or two readers could see two different archives.
    const sameFixed = bytesEqual(local.subarray(4, 14), cd.subarray(o0 + 6, o0 + 16));
    if (lMethod !== method || lNameLen !== nameLen || !bytesEqual(lName, nameBytes) || (lFlags & 0x41) !== 0 || lFlags !== flags || !sameFixed) {
      throw new UnsafeArchiveError(`entry "${printable(name)}": local header disagrees with the central directory`);
    }
    if ((lFlags & 0x08) === 0) {
      if (rd32(local, 14) !== crc || rd32(local, 18) !== csize || rd32(local, 22) !== usize) {
        throw new UnsafeArchiveError(`entry "${printable(name)}": local header sizes disagree with the central directory`);
      }
    }
    const dataOffset = localOffset + 30 + lNameLen + lExtraLen;
    if (dataOffset + csize > cdOffset) throw new DecodeError(`entry "${printable(name)}": data runs past the central directory`);
    let entryEnd = dataOffset + csize;
    if (lFlags & 0x08) entryEnd += dataDescriptorLength(at(entryEnd, Math.min(16, cdOffset - entryEnd)), entryEnd, crc, csize, usize, name);
    spans.push({ start: localOffset, end: entryEnd, name });

    if (isDirName) {
      if (usize !== 0) throw new UnsafeArchiveError(`directory entry "${printable(name)}" has content`);
      continue;
    }
    entries.push({ name, method: method as 0 | 8, compressedSize: csize, size: usize, crc32: crc, mode, dataOffset });
  }
  if (o !== cdSize) throw new DecodeError('central directory size does not match its entries');
  checkContiguous(at, spans, cdOffset);

  const open = (entry: ZipEntry): EntryReader => entryReader(src, entry, crcOf, inflater);
  return {
    entries,
    open,
    read(entry: ZipEntry): Uint8Array {
      const out = new Uint8Array(entry.size);
      const r = open(entry);
      let p = 0;
      for (let c = r.next(); c !== null; c = r.next()) {
        out.set(c, p);
        p += c.length;
      }
      return out;
    },
  };
}

/**
 * Streams an entry: stored data in READ_STEP slices, deflated data inflated INFLATE_STEP compressed
 * bytes at a time. Inflation fails as soon as the stream wants more than the declared size, and
 * the CRC-32 is checked when the last chunk has been handed out.
 */
function entryReader(src: ByteSource, entry: ZipEntry, crcOf: Crc32, inflater: () => InflateStep): EntryReader {
  let pos = 0;
  let produced = 0;
  let crc = 0;
  let done = false;
  const queue: Uint8Array[] = [];
  let over = false;
  const inf = entry.method === 8 ? inflater() : null;
  const end = (): null => {
    done = true;
    if (entry.method === 8 && produced !== entry.size) {
      throw new DecodeError(`entry "${printable(entry.name)}": inflated to ${produced} bytes, ${entry.size} declared`);
    }
    if (crc >>> 0 !== entry.crc32) throw new DecodeError(`entry "${printable(entry.name)}": CRC-32 mismatch`);
    return null;
  };
  return {
    next(): Uint8Array | null {
      if (done) return null;
      if (!inf) {
        if (pos >= entry.compressedSize) return end();
        const n = Math.min(READ_STEP, entry.compressedSize - pos);
        const chunk = src.read(entry.dataOffset + pos, n);
        pos += n;
        crc = crcOf(chunk, crc);
        return chunk;
      }
      while (queue.length === 0) {
        if (pos >= entry.compressedSize && pos > 0) return end();
        const n = Math.min(INFLATE_STEP, entry.compressedSize - pos);
        const data = n > 0 ? src.read(entry.dataOffset + pos, n) : new Uint8Array(0);
        pos += n;
        const last = pos >= entry.compressedSize;
        let out: Uint8Array[];
        try {
          out = inf(data, last);
        } catch (e) {
          throw new DecodeError(`entry "${printable(entry.name)}": corrupt deflate data (${(e as Error).message})`);
        }
        for (const chunk of out) {
          if (produced + chunk.length > entry.size) over = true;
          if (over) break;
          produced += chunk.length;
          if (chunk.length) queue.push(chunk);
        }
        if (over) throw new UnsafeArchiveError(`entry "${printable(entry.name)}" inflates beyond its declared size`);
        if (last && queue.length === 0) {
          pos = Math.max(pos, 1);
          return end();
        }
      }
      const chunk = queue.shift()!;
      crc = crcOf(chunk, crc);
      return chunk;
    },
  };
}

/**
 * Length of the data descriptor after an entry written with flag bit 3 (sizes not known when the
 * local header was written, as fflate's streaming Zip and `zip -` write them): CRC-32, compressed
 * and real size, optionally preceded by the signature PK\x07\x08. It must agree with the central
 * directory.
 */
function dataDescriptorLength(d: Uint8Array, at: number, crc: number, csize: number, usize: number, name: string): number {
  if (d.length >= 16 && rd32(d, 0) === SIG_DATA_DESCRIPTOR && rd32(d, 4) === crc && rd32(d, 8) === csize && rd32(d, 12) === usize) return 16;
  if (d.length >= 12 && rd32(d, 0) === crc && rd32(d, 4) === csize && rd32(d, 8) === usize) return 12;
  throw new DecodeError(`entry "${printable(name)}": data descriptor at offset ${at} is missing or disagrees with the central directory`);
}

/**
 * The listed entries must tile the archive from offset 0 up to the central directory, each one
 * starting where the previous one ends. Two entries sharing bytes are how "overlapping" zip bombs
 * reach huge sizes from a small file; bytes between entries that no central record names can hold a
 * hidden local entry, which a reader that walks local headers (streaming unzip, some antivirus and
 * mail filters) would extract although the central directory, and so this reader, never lists it.
 */
function checkContiguous(at: (offset: number, length: number) => Uint8Array, spans: { start: number; end: number; name: string }[], cdOffset: number): void {
  spans.sort((a, b) => a.start - b.start);
  let pos = 0;
  let prev: string | null = null;
  for (const s of spans) {
    if (s.start < pos) {
      throw new UnsafeArchiveError(`entries "${printable(prev!)}" and "${printable(s.name)}" overlap (at offset ${s.start})`);
    }
    if (s.start > pos) unlisted(at, pos, s.start, prev === null ? 'before the first entry' : `between entries "${printable(prev)}" and "${printable(s.name)}"`);
    pos = s.end;
    prev = s.name;
  }
  if (pos < cdOffset)
    unlisted(at, pos, cdOffset, prev === null ? 'before the central directory' : `between the last entry "${printable(prev)}" and the central directory`);
}

function unlisted(at: (offset: number, length: number) => Uint8Array, from: number, to: number, where: string): never {
  if (to - from >= 4 && rd32(at(from, 4), 0) === SIG_LOCAL) {
    throw new UnsafeArchiveError(`a local entry at offset ${from}, ${where}, is missing from the central directory (a hidden entry)`);
  }
  throw new DecodeError(`${to - from} bytes at offset ${from}, ${where}, belong to no entry`);
}

function printable(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 120);
}

/** Vets and inflates every file; returns them by name. */
export function readZipFiles(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Map<string, Uint8Array> {
  const zip = openZip(bytes, limits);
  const files = new Map<string, Uint8Array>();
  for (const e of zip.entries) files.set(e.name, zip.read(e));
  return files;
}
