/**
 * A third-party-style CAN bootloader for tests: standard ISO 14229-1 services over ISO 15765-2,
 * written from the standards here, independently of PackScope's ISO-TP and UDS code (only the
 * simulated bus is shared: it is the wire). It knows nothing of MCUboot, PackScope identifiers or
 * PackScope routines, so flashing it proves the host needs none of them.
 *
 * Services: 10 (01 default, 02 programming, 03 extended), 11 01, 22 (F195 software version,
 * F18C serial, F180 boot software), 27 (optional, XOR seed/key at a configurable level),
 * 31 01 FF00 eraseMemory (record: addressAndLengthFormatIdentifier ‖ address ‖ size) and FF01
 * checkProgrammingDependencies (optional 4-byte CRC-32 record), 34, 36, 37, 3E. Like real ones it
 * answers 7F xx 78 (response pending) while erasing and now and then while programming, sends
 * flow-control WAIT before CTS when its buffer is busy, asks for a block size, and reports its
 * maxNumberOfBlockLength (SID and counter included).
 */
import { dataFrame, type CanFrame } from '../../shared/can/frame.js';
import type { BusPort, CanBus } from '../../firmware/sim/can/bus.js';
import { crc32 } from '../../shared/protocol/crc32.js';

export interface TestBootloaderOptions {
  requestId?: number;
  responseId?: number;
  /** Flash region the application lives in. */
  base?: number;
  size?: number;
  /** maxNumberOfBlockLength announced (default 0x102: 256 data bytes a block). */
  maxNumberOfBlockLength?: number;
  /** ISO-TP block size and STmin byte the bootloader asks for as receiver (default 8, 0). */
  blockSize?: number;
  stMin?: number;
  /** Every nth segmented request gets a flow-control WAIT before its CTS (0: never; default 5). */
  waitEvery?: number;
  /** Every nth TransferData is answered response-pending first (0: never; default 50). */
  pendingEvery?: number;
  /** ms an erase takes (answered with response pending meanwhile; default 300). */
  eraseMs?: number;
  /** Security access at this level (odd) with an XOR key; absent: none. */
  security?: { level: number; xor: number };
  serial?: string;
  softwareVersion?: string;
}

const NRC = {
  serviceNotSupported: 0x11,
  subFunctionNotSupported: 0x12,
  incorrectLength: 0x13,
  conditionsNotCorrect: 0x22,
  sequenceError: 0x24,
  outOfRange: 0x31,
  securityDenied: 0x33,
  invalidKey: 0x35,
  uploadDownloadNotAccepted: 0x70,
  transferSuspended: 0x71,
  wrongBlockSequenceCounter: 0x73,
  pending: 0x78,
  notInSession: 0x7f,
} as const;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function uint(b: Uint8Array, off: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[off + i]!;
  return v;
}

class Refuse extends Error {
  constructor(readonly nrc: number) {
    super(`NRC ${nrc}`);
  }
}

export class Iso14229TestBootloader {
  readonly memory: Uint8Array;
  readonly base: number;
  readonly options: Required<Omit<TestBootloaderOptions, 'security'>> & { security?: { level: number; xor: number } };
  /** What the bootloader saw, for assertions. */
  readonly log = {
    requests: [] as number[],
    erases: [] as Array<{ address: number; size: number }>,
    waitsSent: 0,
    pendingSent: 0,
    sequenceWraps: 0,
    repeatedBlocks: 0,
  };
  private port: BusPort | null = null;
  private session = 1;
  private unlocked = false;
  private seed: number | null = null;
  private erased: Array<{ address: number; size: number }> = [];
  private download: { address: number; size: number; done: number; lastSeq: number } | null = null;
  private written = new Set<number>();
  private offline = false;
  private runningVersion: string;
  // ISO-TP receiver state
  private rx: { buf: Uint8Array; filled: number; sn: number; inBlock: number } | null = null;
  private segmentedCount = 0;
  // ISO-TP sender state (responses longer than 7 bytes)
  private txFlow: ((fc: { fs: number; bs: number; st: number }) => void) | null = null;
  private transferCount = 0;

  constructor(
    private bus: CanBus,
    o: TestBootloaderOptions = {},
  ) {
    this.options = {
      requestId: o.requestId ?? 0x7e0,
      responseId: o.responseId ?? 0x7e8,
      base: o.base ?? 0x0800_8000,
      size: o.size ?? 256 * 1024,
      maxNumberOfBlockLength: o.maxNumberOfBlockLength ?? 0x102,
      blockSize: o.blockSize ?? 8,
      stMin: o.stMin ?? 0,
      waitEvery: o.waitEvery ?? 5,
      pendingEvery: o.pendingEvery ?? 50,
      eraseMs: o.eraseMs ?? 300,
      serial: o.serial ?? 'TB-000417',
      softwareVersion: o.softwareVersion ?? '1.0.0',
      ...(o.security ? { security: o.security } : {}),
    };
    this.base = this.options.base;
    this.memory = new Uint8Array(this.options.size).fill(0xff);
    this.runningVersion = this.options.softwareVersion;
  }

  start(): void {
    this.port = this.bus.attach({ name: 'iso14229-test-bootloader', bitrate: () => this.bus.bitrate, receive: (f) => this.onFrame(f) });
  }

  stop(): void {
    this.port?.detach();
    this.port = null;
  }

  /** The application bytes at [address, address + length). */
  read(address: number, length: number): Uint8Array {
    return this.memory.slice(address - this.base, address - this.base + length);
  }

  get softwareVersion(): string {
    return this.runningVersion;
  }

  private frame(bytes: number[]): Promise<void> {
    if (this.offline) return Promise.resolve(); // a powered-down or restarting ECU sends nothing
    const data = new Uint8Array(8).fill(0xaa);
    data.set(bytes);
    return this.port ? this.port.transmit(dataFrame(this.options.responseId, data)).catch(() => undefined) : Promise.resolve();
  }

  // ---- ISO 15765-2, server side ----
  private onFrame(f: CanFrame): void {
    if (this.offline || f.id !== this.options.requestId || f.extended || f.remote) return;
    const d = f.data;
    const type = d[0]! >> 4;
    if (type === 0) {
      const len = d[0]! & 0x0f;
      if (len >= 1 && len <= 7) void this.onMessage(d.slice(1, 1 + len));
    } else if (type === 1) {
      let len = ((d[0]! & 0x0f) << 8) | d[1]!;
      let first = d.slice(2, 8);
      if (len === 0) {
        len = uint(d, 2, 4);
        first = d.slice(6, 8);
      }
      this.rx = { buf: new Uint8Array(len), filled: first.length, sn: 1, inBlock: 0 };
      this.rx.buf.set(first);
      void this.sendFlowControl(++this.segmentedCount);
    } else if (type === 2 && this.rx) {
      const rx = this.rx;
      if ((d[0]! & 0x0f) !== rx.sn) {
        this.rx = null; // wrong sequence number: drop the message (N_WRONG_SN)
        return;
      }
      const take = Math.min(7, rx.buf.length - rx.filled);
      rx.buf.set(d.slice(1, 1 + take), rx.filled);
      rx.filled += take;
      rx.sn = (rx.sn + 1) & 0x0f;
      if (rx.filled === rx.buf.length) {
        this.rx = null;
        void this.onMessage(rx.buf);
      } else if (this.options.blockSize > 0 && ++rx.inBlock === this.options.blockSize) {
        rx.inBlock = 0;
        void this.frame([0x30, this.options.blockSize, this.options.stMin]);
      }
    } else if (type === 3 && this.txFlow) {
      const deliver = this.txFlow;
      this.txFlow = null;
      deliver({ fs: d[0]! & 0x0f, bs: d[1]!, st: d[2]! });
    }
  }

  private async sendFlowControl(n: number): Promise<void> {
    if (this.options.waitEvery > 0 && n % this.options.waitEvery === 0) {
      this.log.waitsSent++;
      await this.frame([0x31, 0, 0]);
      await sleep(5);
    }
    await this.frame([0x30, this.options.blockSize, this.options.stMin]);
  }

  private nextFlow(): Promise<{ fs: number; bs: number; st: number }> {
    return new Promise((resolve) => (this.txFlow = resolve));
  }

  private async send(msg: number[]): Promise<void> {
    if (msg.length <= 7) return this.frame([msg.length, ...msg]);
    let flow = this.nextFlow();
    await this.frame([0x10 | (msg.length >> 8), msg.length & 0xff, ...msg.slice(0, 6)]);
    let off = 6;
    let sn = 1;
    while (off < msg.length) {
      let fc = await flow;
      while (fc.fs === 1) fc = await this.nextFlow();
      if (fc.fs !== 0) return; // overflow: the client cannot take it
      for (let sent = 0; off < msg.length && (fc.bs === 0 || sent < fc.bs); sent++) {
        if (fc.bs > 0 && sent + 1 === fc.bs && off + 7 < msg.length) flow = this.nextFlow();
        await this.frame([0x20 | sn, ...msg.slice(off, off + 7)]);
        off += 7;
        sn = (sn + 1) & 0x0f;
        if (fc.st > 0 && fc.st <= 0x7f) await sleep(fc.st);
      }
    }
    this.txFlow = null;
  }

  // ---- ISO 14229-1 ----
  private async onMessage(req: Uint8Array): Promise<void> {
    const sid = req[0]!;
    this.log.requests.push(sid);
    try {
      const res = await this.handle(req);
      if (res) await this.send(res);
    } catch (e) {
      if (!(e instanceof Refuse)) throw e;
      await this.send([0x7f, sid, e.nrc]);
    }
  }

  private async pending(sid: number): Promise<void> {
    this.log.pendingSent++;
    await this.send([0x7f, sid, NRC.pending]);
  }

  private needProgramming(): void {
    if (this.session !== 2) throw new Refuse(NRC.notInSession);
    if (this.options.security && !this.unlocked) throw new Refuse(NRC.securityDenied);
  }

  private async handle(req: Uint8Array): Promise<number[] | null> {
    const sid = req[0]!;
    switch (sid) {
      case 0x10: {
        if (req.length !== 2) throw new Refuse(NRC.incorrectLength);
        const s = req[1]! & 0x7f;
        if (s !== 1 && s !== 2 && s !== 3) throw new Refuse(NRC.subFunctionNotSupported);
        if (s === 2 && this.session === 1) throw new Refuse(NRC.conditionsNotCorrect); // programming only from extended
        if (s !== this.session) this.unlocked = false;
        this.session = s;
        if (s === 1) this.download = null;
        // P2 = 50 ms, P2* = 2000 ms (in 10 ms units).
        return [0x50, s, 0x00, 0x32, 0x00, 0xc8];
      }
      case 0x3e:
        return (req[1]! & 0x80) !== 0 ? null : [0x7e, 0x00];
      case 0x22: {
        if (req.length !== 3) throw new Refuse(NRC.incorrectLength);
        const did = uint(req, 1, 2);
        const text = did === 0xf195 ? this.runningVersion : did === 0xf18c ? this.options.serial : did === 0xf180 ? 'TB-BOOT 3.1' : null;
        if (text === null) throw new Refuse(NRC.outOfRange);
        return [0x62, req[1]!, req[2]!, ...Buffer.from(text, 'ascii')];
      }
      case 0x27: {
        const sec = this.options.security;
        if (!sec) throw new Refuse(NRC.serviceNotSupported);
        if (this.session === 1) throw new Refuse(NRC.notInSession);
        const sf = req[1]!;
        if (sf === sec.level) {
          this.seed = this.unlocked ? 0 : 0x1000_0000 + Math.floor(Math.random() * 0x6fff_ffff);
          return [0x67, sf, ...[24, 16, 8, 0].map((s) => (this.seed! >>> s) & 0xff)];
        }
        if (sf === sec.level + 1) {
          if (this.seed === null) throw new Refuse(NRC.sequenceError);
          const expected = (this.seed ^ sec.xor) >>> 0;
          this.seed = null;
          if (req.length !== 6 || uint(req, 2, 4) !== expected) throw new Refuse(NRC.invalidKey);
          this.unlocked = true;
          return [0x67, sf];
        }
        throw new Refuse(NRC.subFunctionNotSupported);
      }
      case 0x31:
        return this.routine(req);
      case 0x34: {
        this.needProgramming();
        const alfid = req[2]!;
        const a = alfid & 0x0f;
        const s = alfid >> 4;
        if (req[1] !== 0) throw new Refuse(NRC.outOfRange);
        if (req.length !== 3 + a + s) throw new Refuse(NRC.incorrectLength);
        const address = uint(req, 3, a);
        const size = uint(req, 3 + a, s);
        if (!this.erased.some((e) => address >= e.address && address + size <= e.address + e.size)) throw new Refuse(NRC.uploadDownloadNotAccepted);
        this.download = { address, size, done: 0, lastSeq: 0 };
        const m = this.options.maxNumberOfBlockLength;
        return [0x74, 0x20, m >> 8, m & 0xff];
      }
      case 0x36: {
        this.needProgramming();
        const dl = this.download;
        if (!dl) throw new Refuse(NRC.sequenceError);
        const seq = req[1]!;
        const data = req.subarray(2);
        if (req.length > this.options.maxNumberOfBlockLength) throw new Refuse(NRC.incorrectLength);
        if (seq === dl.lastSeq && dl.done > 0) {
          this.log.repeatedBlocks++;
          return [0x76, seq];
        }
        if (seq !== ((dl.lastSeq + 1) & 0xff)) throw new Refuse(NRC.wrongBlockSequenceCounter);
        if (dl.done + data.length > dl.size) throw new Refuse(NRC.transferSuspended);
        if (seq === 0) this.log.sequenceWraps++;
        if (this.options.pendingEvery > 0 && ++this.transferCount % this.options.pendingEvery === 0) {
          await this.pending(sid);
          await sleep(60);
        }
        const at = dl.address - this.base + dl.done;
        for (let i = 0; i < data.length; i++) {
          // NOR flash programs 1 → 0 only: writing an unerased byte is a programming failure.
          if (this.written.has(at + i)) throw new Refuse(0x72);
          this.written.add(at + i);
          this.memory[at + i] = data[i]!;
        }
        dl.done += data.length;
        dl.lastSeq = seq;
        return [0x76, seq];
      }
      case 0x37: {
        this.needProgramming();
        const dl = this.download;
        if (!dl || dl.done !== dl.size) throw new Refuse(NRC.sequenceError);
        this.download = null;
        return [0x77];
      }
      case 0x11: {
        if (req[1] !== 1) throw new Refuse(NRC.subFunctionNotSupported);
        setTimeout(() => void this.reboot(), 0);
        return [0x51, 0x01];
      }
      default:
        throw new Refuse(NRC.serviceNotSupported);
    }
  }

  private async routine(req: Uint8Array): Promise<number[]> {
    this.needProgramming();
    if (req.length < 4) throw new Refuse(NRC.incorrectLength);
    if (req[1] !== 1) throw new Refuse(NRC.subFunctionNotSupported);
    const id = uint(req, 2, 2);
    if (id === 0xff00) {
      const alfid = req[4] ?? 0;
      const a = alfid & 0x0f;
      const s = alfid >> 4;
      if (a < 1 || s < 1 || req.length !== 5 + a + s) throw new Refuse(NRC.incorrectLength);
      const address = uint(req, 5, a);
      const size = uint(req, 5 + a, s);
      if (address < this.base || address + size > this.base + this.memory.length) throw new Refuse(NRC.outOfRange);
      // Erasing takes a while: response pending, and again before P2* would run out.
      for (let t = 0; t < this.options.eraseMs; t += 150) {
        await this.pending(0x31);
        await sleep(Math.min(150, this.options.eraseMs - t));
      }
      this.memory.fill(0xff, address - this.base, address - this.base + size);
      for (let i = address - this.base; i < address - this.base + size; i++) this.written.delete(i);
      this.erased.push({ address, size });
      this.log.erases.push({ address, size });
      return [0x71, 0x01, 0xff, 0x00, 0x00];
    }
    if (id === 0xff01) {
      // Dependencies: something was downloaded; with a CRC record, it must match what was written.
      if (this.download || this.written.size === 0) return [0x71, 0x01, 0xff, 0x01, 0x01];
      if (req.length === 8) {
        let crc = 0;
        for (const e of this.erased) {
          const start = e.address - this.base;
          let end = start;
          while (end < start + e.size && this.written.has(end)) end++;
          crc = crc32(this.memory.subarray(start, end), crc);
        }
        if (crc >>> 0 !== uint(req, 4, 4)) return [0x71, 0x01, 0xff, 0x01, 0x01];
      }
      return [0x71, 0x01, 0xff, 0x01, 0x00];
    }
    throw new Refuse(NRC.outOfRange);
  }

  /** Power cut: silent, and everything held in RAM (session, security, download, what was erased) is gone; flash keeps what was written. */
  cutPower(): void {
    this.offline = true;
    this.session = 1;
    this.unlocked = false;
    this.seed = null;
    this.download = null;
    this.erased = [];
    this.rx = null;
    this.txFlow = null;
  }

  /** Power back: the bootloader starts as after a reset. */
  async powerOn(): Promise<void> {
    await this.reboot();
  }

  /** Reset: silent while it restarts, then the application (whose version string leads the image) runs. */
  private async reboot(): Promise<void> {
    this.offline = true;
    this.session = 1;
    this.unlocked = false;
    this.download = null;
    this.erased = [];
    await sleep(200);
    const head = this.memory.subarray(0, 32);
    const end = head.indexOf(0);
    const text = Buffer.from(head.subarray(0, end < 0 ? 32 : end)).toString('ascii');
    this.runningVersion = /^[\x20-\x7e]+$/.test(text) ? text : 'no valid application';
    this.offline = false;
  }
}
