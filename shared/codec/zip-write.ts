/**
 * Writes packages as ZIP with fflate: regular files only (Unix mode 0644), a fixed timestamp so
 * the archive bytes depend on the content alone. writeZip takes the files in memory (names in
 * sorted order); ZipStreamWriter writes them one by one as they are made, in bounded memory.
 */
import { Deflate, zipSync, type Zippable } from 'fflate';
import { PackscopeError } from '../errors.js';
import { crc32 } from '../protocol/crc32.js';
import { utf8Encode } from '../util/bytes.js';

/**
 * Entries written stored (method 0), everything else deflated: already-compressed photos, and a
 * package's raw log (device/segments.bin), which a verifier hashes segment by segment and whole
 * as it lies in the archive, at the speed of reading it, instead of inflating it first. Readers
 * take either method, so packages whose log was deflated still open.
 */
const STORED = /(\.(jpe?g|png|webp|gif|heic|zip|psdiag)|^device\/segments\.bin)$/i;

/** 2000-01-01: ZIP (DOS) timestamps start in 1980; the exact value only has to be constant. */
const FIXED_MTIME = Date.UTC(2000, 0, 1);

export function writeZip(files: ReadonlyMap<string, Uint8Array>, options: { level?: 0 | 6 | 9 } = {}): Uint8Array {
  const tree: Zippable = {};
  for (const name of [...files.keys()].sort()) {
    const data = files.get(name)!;
    const stored = STORED.test(name);
    tree[name] = [data, { level: stored ? 0 : (options.level ?? 6), mtime: FIXED_MTIME, os: 3, attrs: (0o100644 << 16) >>> 0 }];
  }
  return zipSync(tree);
}

/** Where a streamed archive goes: appended bytes, and header fields filled in once an entry is written. */
export interface ZipSink {
  write(chunk: Uint8Array): void;
  /** Overwrites bytes already written at `offset`. */
  patch(offset: number, bytes: Uint8Array): void;
}

/** Largest offset or size ZIP without ZIP64 can record (the reader refuses ZIP64). */
const ZIP32_MAX = 0xfffffffe;
/** Uncompressed bytes per deflate step. */
const DEFLATE_STEP = 1 << 20;

/**
 * Raw deflate of one entry as it streams: each call gets the next piece (and whether it is the
 * last) and returns the compressed bytes ready so far. Hosts may pass a native one (node's zlib).
 */
export type DeflateStep = (chunk: Uint8Array, final: boolean) => Uint8Array[];

/** fflate's streaming Deflate: platform-free. */
export function fflateDeflater(level: number): DeflateStep {
  let out: Uint8Array[] = [];
  const d = new Deflate({ level: level as 6 }, (chunk) => void out.push(chunk));
  return (chunk, final) => {
    d.push(chunk, final);
    const ready = out;
    out = [];
    return ready;
  };
}

function le(n: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Math.floor(n / 2 ** (8 * i)) & 255);
  return out;
}

/** MS-DOS date and time of FIXED_MTIME, as fflate writes it (local time fields). */
function dosTime(): number {
  const d = new Date(FIXED_MTIME);
  return (
    (((d.getFullYear() - 1980) << 25) |
      ((d.getMonth() + 1) << 21) |
      (d.getDate() << 16) |
      (d.getHours() << 11) |
      (d.getMinutes() << 5) |
      (d.getSeconds() >> 1)) >>>
    0
  );
}

/**
 * Writes a ZIP one entry at a time, each in as many pieces as it comes: deflated as it streams
 * (stored for photos, as writeZip does), CRC-32 and sizes counted on the way and patched into the
 * local header when the entry ends, so the archive has the layout writeZip gives (regular files,
 * mode 0644, a fixed timestamp, no data descriptors) without the whole of any entry in memory.
 */
export class ZipStreamWriter {
  private offset = 0;
  private readonly central: Uint8Array[] = [];
  private count = 0;
  private open = false;
  private readonly time = dosTime();

  constructor(
    private readonly sink: ZipSink,
    private readonly options: {
      level?: 0 | 1 | 6 | 9;
      deflater?: (level: number) => DeflateStep;
      /** CRC-32 continued over every byte written (a host passes zlib's, several times the portable one's speed). */
      crc32?: (data: Uint8Array, previous: number) => number;
    } = {},
  ) {}

  private put(b: Uint8Array): void {
    this.sink.write(b);
    this.offset += b.length;
    if (this.offset > ZIP32_MAX) throw new PackscopeError('REFUSED', 'the package would be larger than 4 GiB, the most a ZIP without ZIP64 can hold');
  }

  begin(name: string): { write(chunk: Uint8Array): void; end(): void } {
    if (this.open) throw new Error('ZipStreamWriter: one entry at a time');
    this.open = true;
    const nameBytes = utf8Encode(name);
    const stored = STORED.test(name) || this.options.level === 0;
    const method = stored ? 0 : 8;
    const flags = /[^\x20-\x7e]/.test(name) ? 0x0800 : 0;
    const localAt = this.offset;
    const fixed = [20, 0, ...le(flags, 2), ...le(method, 2), ...le(this.time, 4)];
    const header = new Uint8Array([...le(0x04034b50, 4), ...fixed, ...new Array<number>(12).fill(0), ...le(nameBytes.length, 2), 0, 0]);
    this.put(header);
    this.put(nameBytes);
    let crc = 0;
    let size = 0;
    let csize = 0;
    const emit = (chunk: Uint8Array) => {
      if (!chunk.length) return;
      csize += chunk.length;
      this.put(chunk);
    };
    const deflate = stored ? null : (this.options.deflater ?? fflateDeflater)(this.options.level ?? 6);
    const crcOf = this.options.crc32 ?? crc32;
    return {
      write: (chunk: Uint8Array) => {
        crc = crcOf(chunk, crc);
        size += chunk.length;
        if (size > ZIP32_MAX) throw new PackscopeError('REFUSED', `${name} would be larger than 4 GiB, the most a ZIP entry without ZIP64 can hold`);
        if (!deflate) return emit(chunk);
        for (let i = 0; i < chunk.length; i += DEFLATE_STEP)
          for (const c of deflate(chunk.subarray(i, Math.min(chunk.length, i + DEFLATE_STEP)), false)) emit(c);
      },
      end: () => {
        if (deflate) for (const c of deflate(new Uint8Array(0), true)) emit(c);
        const sizes = new Uint8Array([...le(crc >>> 0, 4), ...le(csize, 4), ...le(size, 4)]);
        this.sink.patch(localAt + 14, sizes);
        const attrs = (0o100644 << 16) >>> 0;
        this.central.push(
          new Uint8Array([
            ...le(0x02014b50, 4),
            20,
            3,
            ...fixed,
            ...sizes,
            ...le(nameBytes.length, 2),
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            ...le(attrs, 4),
            ...le(localAt, 4),
          ]),
          nameBytes,
        );
        this.count++;
        this.open = false;
      },
    };
  }

  /** Writes the central directory and end record. */
  finish(): void {
    if (this.open) throw new Error('ZipStreamWriter: an entry is still open');
    const cdOffset = this.offset;
    for (const c of this.central) this.put(c);
    const cdSize = this.offset - cdOffset;
    this.put(new Uint8Array([...le(0x06054b50, 4), 0, 0, 0, 0, ...le(this.count, 2), ...le(this.count, 2), ...le(cdSize, 4), ...le(cdOffset, 4), 0, 0]));
  }
}
