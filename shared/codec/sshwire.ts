/** SSH wire encoding (RFC 4251 §5): uint32 big-endian lengths before byte strings. */
import { DecodeError } from '../errors.js';
import { concatBytes, utf8Decode } from '../util/bytes.js';

export function sshU32(n: number): Uint8Array {
  return Uint8Array.from([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

export function sshString(b: Uint8Array): Uint8Array {
  return concatBytes(sshU32(b.length), b);
}

export class SshReader {
  private o = 0;
  constructor(private readonly b: Uint8Array) {}
  u32(): number {
    if (this.o + 4 > this.b.length) throw new DecodeError('SSH data truncated');
    const v = ((this.b[this.o]! << 24) | (this.b[this.o + 1]! << 16) | (this.b[this.o + 2]! << 8) | this.b[this.o + 3]!) >>> 0;
    this.o += 4;
    return v;
  }
  raw(n: number): Uint8Array {
    if (this.o + n > this.b.length) throw new DecodeError('SSH data truncated');
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  bytes(): Uint8Array {
    return this.raw(this.u32());
  }
  text(): string {
    return utf8Decode(this.bytes());
  }
  end(): void {
    if (this.o !== this.b.length) throw new DecodeError('trailing bytes in SSH data');
  }
}
