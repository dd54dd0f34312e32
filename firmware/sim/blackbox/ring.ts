import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync, fsyncSync } from 'node:fs';
import path from 'node:path';

/**
 * The black box's flash: a ring of fixed-size slots, one segment per slot. With a state directory it
 * is one sparse file (`blackbox.ring`), written in place with positional writes, so a 64 MiB ring
 * costs only the pages actually written and appending a record is one small write. Without a
 * directory the slots live in memory, allocated on first write. Never-written space reads as
 * erased flash (FF).
 */
export interface FlashRing {
  readonly slotCount: number;
  readonly segmentSize: number;
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  readSlot(slot: number): Uint8Array;
  /** Programs bytes at an offset inside a slot (records, trailer) or a whole slot (erase + header). */
  write(offset: number, data: Uint8Array): void;
  /** Bytes at the start of every slot, for the boot scan. */
  slotHeads(n: number): Iterable<{ slot: number; head: Uint8Array }>;
  flush(): void;
  close(): void;
}

/** What both rings share: the geometry, and a slot read as a read of its bytes. */
abstract class SlotRing implements FlashRing {
  readonly size: number;
  constructor(
    readonly slotCount: number,
    readonly segmentSize: number,
  ) {
    this.size = slotCount * segmentSize;
  }
  abstract read(offset: number, length: number): Uint8Array;
  abstract write(offset: number, data: Uint8Array): void;
  abstract slotHeads(n: number): Iterable<{ slot: number; head: Uint8Array }>;
  abstract flush(): void;
  abstract close(): void;
  readSlot(slot: number): Uint8Array {
    return this.read(slot * this.segmentSize, this.segmentSize);
  }
}

export class MemoryRing extends SlotRing {
  private slots = new Map<number, Uint8Array>();
  private slot(i: number, create: boolean): Uint8Array | null {
    let s = this.slots.get(i) ?? null;
    if (!s && create) {
      s = new Uint8Array(this.segmentSize).fill(0xff);
      this.slots.set(i, s);
    }
    return s;
  }
  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length).fill(0xff);
    let o = offset;
    while (o < offset + length) {
      const i = Math.floor(o / this.segmentSize);
      const within = o - i * this.segmentSize;
      const n = Math.min(this.segmentSize - within, offset + length - o);
      const s = this.slot(i, false);
      if (s) out.set(s.subarray(within, within + n), o - offset);
      o += n;
    }
    return out;
  }
  write(offset: number, data: Uint8Array): void {
    let o = 0;
    while (o < data.length) {
      const abs = offset + o;
      const i = Math.floor(abs / this.segmentSize);
      const within = abs - i * this.segmentSize;
      const n = Math.min(this.segmentSize - within, data.length - o);
      this.slot(i, true)!.set(data.subarray(o, o + n), within);
      o += n;
    }
  }
  *slotHeads(n: number): Iterable<{ slot: number; head: Uint8Array }> {
    for (const [slot, s] of this.slots) yield { slot, head: s.subarray(0, n) };
  }
  flush(): void {}
  close(): void {}
}

/**
 * File-backed ring. A sparse file reads zeros where nothing was written; since a slot always begins
 * with its header when programmed, a zero head means an erased slot, and reads map untouched slots
 * to FF like real erased flash.
 */
export class FileRing extends SlotRing {
  private fd: number;
  readonly file: string;
  constructor(dir: string, slotCount: number, segmentSize: number) {
    super(slotCount, segmentSize);
    this.file = path.join(dir, 'blackbox.ring');
    try {
      this.fd = openSync(this.file, 'r+');
    } catch {
      this.fd = openSync(this.file, 'w+');
    }
    if (fstatSync(this.fd).size !== this.size) ftruncateSync(this.fd, this.size);
  }
  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.fd, out, got, length - got, offset + got);
      if (n <= 0) break;
      got += n;
    }
    // Slots never programmed (zero head) read as erased flash.
    for (let o = offset - (offset % this.segmentSize); o < offset + length; o += this.segmentSize) {
      const headAt = o - offset;
      const head = headAt >= 0 ? out.subarray(headAt, headAt + 4) : this.readRaw(o, 4);
      if (head.length === 4 && head[0] === 0 && head[1] === 0 && head[2] === 0 && head[3] === 0) {
        out.fill(0xff, Math.max(0, headAt), Math.min(length, headAt + this.segmentSize));
      }
    }
    return out;
  }
  private readRaw(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    readSync(this.fd, out, 0, length, offset);
    return out;
  }
  write(offset: number, data: Uint8Array): void {
    let o = 0;
    while (o < data.length) o += writeSync(this.fd, data, o, data.length - o, offset + o);
  }
  *slotHeads(n: number): Iterable<{ slot: number; head: Uint8Array }> {
    // Read in batches of slots' heads by positional reads: 16384 small reads take a few ms.
    const buf = new Uint8Array(n);
    for (let slot = 0; slot < this.slotCount; slot++) {
      const got = readSync(this.fd, buf, 0, n, slot * this.segmentSize);
      if (got === n && !(buf[0] === 0 && buf[1] === 0 && buf[2] === 0 && buf[3] === 0)) yield { slot, head: buf.slice() };
    }
  }
  flush(): void {
    fsyncSync(this.fd);
  }
  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
