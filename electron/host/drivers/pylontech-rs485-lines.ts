import { ReadlineParser } from '@serialport/parser-readline';
import type { FrameExtractor } from '../../../shared/bms/extractor.js';
import { emptyExtractorStats } from '../../../shared/bms/common.js';
import { decodePylonLine, PYLON_EOI, PYLON_MAX_LINE, PYLON_SOI, type PylonFrame } from '../../../shared/bms/pylontech-rs485.js';
import { DecodeError } from '../../../shared/errors.js';

/**
 * Splits a Pylontech RS485 byte stream into frames. The protocol is a line protocol (every frame
 * ends with '\r'), so the stream is cut by @serialport/parser-readline (delimiter '\r'); each line
 * then goes to the pure codec in shared/bms/pylontech-rs485.ts. Noise before a frame's '~' is
 * counted as garbage; a line without '~', a bad CHKSUM/LCHKSUM or a broken line is counted, never
 * thrown. The parser emits synchronously while a 'data' listener is attached (flowing mode), so
 * push() returns the frames its chunk completed; a unit test pins that.
 */
export class PylonLineExtractor implements FrameExtractor<PylonFrame> {
  readonly stats = emptyExtractorStats();
  private parser = new ReadlineParser({ delimiter: '\r', encoding: 'latin1' });
  private out: PylonFrame[] = [];

  constructor() {
    this.parser.on('data', (line: string) => this.onLine(line));
  }

  push(chunk: Uint8Array): PylonFrame[] {
    if (chunk.length) this.parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    // A line that never ends (no '\r' in a frame's worth of bytes) is noise: drop it.
    if (this.parser.buffer.length > PYLON_MAX_LINE) {
      this.stats.garbageBytes += this.parser.buffer.length;
      this.parser.buffer = Buffer.alloc(0);
    }
    return this.take();
  }

  /** A frame cut short (the request timed out): what is buffered is a partial line. */
  flush(): PylonFrame[] {
    if (this.parser.buffer.length > 0) {
      if (this.parser.buffer.includes(PYLON_SOI)) this.stats.partial++;
      else this.stats.garbageBytes += this.parser.buffer.length;
      this.parser.buffer = Buffer.alloc(0);
    }
    return this.take();
  }

  reset(): void {
    this.parser.buffer = Buffer.alloc(0);
    this.out = [];
  }

  /** Bytes held while waiting for the end of a line. */
  get pending(): number {
    return this.parser.buffer.length;
  }

  private take(): PylonFrame[] {
    const f = this.out;
    this.out = [];
    return f;
  }

  private onLine(text: string): void {
    const line = Buffer.from(text, 'latin1');
    const soi = line.lastIndexOf(PYLON_SOI);
    if (soi < 0) {
      this.stats.garbageBytes += line.length + 1; // the '\r' too
      return;
    }
    this.stats.garbageBytes += soi;
    try {
      this.out.push(decodePylonLine(Uint8Array.from([...line.subarray(soi), PYLON_EOI])));
      this.stats.frames++;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      if (e.details && (e.details as { kind?: string }).kind === 'checksum') this.stats.crcErrors++;
      else this.stats.malformed++;
    }
  }
}
