import { ACK, CMD, NACK, SYNC, stm32Crc, xor } from '../../../shared/stm32/an3155.js';
import { rd32 } from '../../../shared/util/le.js';
import type { Stm32DeviceModel } from './device.js';
import type { Stm32Memory } from './memory.js';

/**
 * The STM32 system-memory bootloader's USART protocol (ST AN3155), written the way the ROM runs
 * it: one polling loop that reads a byte, acts, answers, and reads the next. Consequences a host
 * must live with, and which this model reproduces:
 *  - every command is stop-and-wait; there are no inter-byte timeouts (a half-sent command keeps
 *    the ROM waiting for the rest; a host resynchronises by sending bytes until a NACK comes);
 *  - while the ROM programs or erases flash, or pushes a multi-byte answer out, it does not read
 *    its UART: the first byte that arrives meanwhile waits in the receive data register, the
 *    following ones are lost (USART overrun). A host that sends ahead of an ACK across a flash
 *    operation therefore fails here exactly as it would on a board.
 *  - a single ACK/NACK byte is written to the transmit register and the ROM reads on at once, so
 *    bytes that follow a command while it is only being parsed are not lost.
 */
export { ACK, NACK, SYNC, CMD };

/** The UART side the ROM talks to (the simulated line). */
export interface RomPort {
  send(data: Uint8Array): void;
  /** Resolves once everything sent so far has left the transmitter. */
  drained(): Promise<void>;
}

export type RomExit = { kind: 'application'; address: number; stackPointer: number; entry: number } | { kind: 'lockup'; address: number; reason: string };

export interface RomOptions {
  /** Waits for a flash operation; tests may shorten it. Defaults to real time (the personality passes its clock's). */
  delay?: (ms: number) => Promise<void>;
  /** Called when Go leaves the bootloader (the application runs, or the core locks up). */
  onExit?: (exit: RomExit) => void;
  /** Called for every command the ROM carries out (tests and `--verbose` tracing). */
  trace?: (event: RomTraceEvent) => void;
}

export interface RomTraceEvent {
  command: number;
  ok: boolean;
  address?: number;
  length?: number;
  /** Sectors erased, or 'mass'. */
  erased?: number[] | 'mass';
}

export type RomState = 'autobaud' | 'command' | 'busy' | 'application' | 'lockup' | 'stopped';

export interface RomStats {
  commands: number;
  nacks: number;
  overruns: number;
  resets: number;
}

/** Thrown inside the ROM loop to unwind it: power cut, board reset, or simulator shutdown. */
class Unwind {
  constructor(readonly why: 'reset' | 'stop') {}
}

const realDelay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Stm32Rom {
  private queue: number[] = [];
  private head = 0;
  private waiter: { resolve: (b: number) => void; reject: (e: Unwind) => void } | null = null;
  private receiving = true;
  private generation = 0;
  private _state: RomState = 'stopped';
  private readonly delay: (ms: number) => Promise<void>;
  readonly stats: RomStats = { commands: 0, nacks: 0, overruns: 0, resets: 0 };

  constructor(
    readonly dev: Stm32DeviceModel,
    readonly memory: Stm32Memory,
    private port: RomPort,
    private options: RomOptions = {},
  ) {
    this.delay = options.delay ?? realDelay;
  }

  get state(): RomState {
    return this._state;
  }

  /** Power-on with BOOT0 high: the ROM starts and waits for the 0x7F autobaud byte. */
  start(): void {
    this.restart();
  }

  /** Reset button / SYSRESETREQ with BOOT0 still high: back to autobaud, receive state lost. */
  reset(): void {
    this.stats.resets++;
    this.restart();
  }

  stop(): void {
    this.generation++;
    this._state = 'stopped';
    this.dropPending();
    this.waiter?.reject(new Unwind('stop'));
    this.waiter = null;
  }

  /** Bytes from the line, in arrival order. */
  feed(data: Uint8Array): void {
    if (this._state === 'stopped' || this._state === 'application' || this._state === 'lockup') return;
    for (const b of data) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(b);
        continue;
      }
      if (!this.receiving && this.queue.length - this.head >= 1) {
        // Receive data register already full while the ROM is not reading: overrun, byte lost.
        this.stats.overruns++;
        continue;
      }
      this.queue.push(b);
    }
  }

  private restart(): void {
    this.generation++;
    this.waiter?.reject(new Unwind('reset'));
    this.waiter = null;
    this.dropPending();
    this.receiving = true;
    void this.run(this.generation);
  }

  private dropPending(): void {
    this.queue = [];
    this.head = 0;
  }

  private async run(gen: number): Promise<void> {
    try {
      this._state = 'autobaud';
      // Autobaud: the ROM measures the first 0x7F to find the host's baud rate. Other bytes do
      // not form the pattern it waits for and are ignored.
      while ((await this.rx(gen)) !== SYNC) {
        /* keep waiting */
      }
      this._state = 'command';
      this.send([ACK]);
      for (;;) await this.command(gen);
    } catch (e) {
      if (e instanceof Unwind) {
        if (e.why === 'reset' && gen === this.generation) {
          // A command that resets the part (option bytes changed) restarts the ROM from autobaud.
          this.stats.resets++;
          this.restart();
        }
        return;
      }
      // A bug in the model must not take the simulator down with an unhandled rejection.
      this._state = 'lockup';
      this.options.onExit?.({ kind: 'lockup', address: 0, reason: `simulator fault: ${(e as Error).message}` });
    }
  }

  private rx(gen: number): Promise<number> {
    if (gen !== this.generation) return Promise.reject(new Unwind('stop'));
    if (this.head < this.queue.length) {
      const b = this.queue[this.head++]!;
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve(b);
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private async rxBytes(gen: number, n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = await this.rx(gen);
    return out;
  }

  /** Address frame: four bytes MSB first and their XOR; null when the checksum is wrong. */
  private async rxAddress(gen: number): Promise<number | null> {
    const b = await this.rxBytes(gen, 5);
    if ((b[0]! ^ b[1]! ^ b[2]! ^ b[3]!) !== b[4]) return null;
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  private send(bytes: number[] | Uint8Array): void {
    this.port.send(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }

  private note(event: RomTraceEvent): void {
    this.options.trace?.(event);
  }

  private nack(): void {
    this.stats.nacks++;
    this.send([NACK]);
  }

  /** The ROM is away from its UART (flash operation): one byte may wait in RDR, the rest overrun. */
  private enterBusy(): void {
    this.receiving = false;
    const pending = this.queue.length - this.head;
    if (pending > 1) {
      this.stats.overruns += pending - 1;
      this.queue.length = this.head + 1;
    }
  }

  private async busy(gen: number, ms: number): Promise<void> {
    const prev = this._state;
    this._state = 'busy';
    this.enterBusy();
    await this.delay(ms);
    this.receiving = true;
    if (gen !== this.generation) throw new Unwind('stop');
    this._state = prev;
  }

  /** A multi-byte answer: the ROM polls its transmitter until the last byte is out. */
  private async reply(gen: number, bytes: number[] | Uint8Array): Promise<void> {
    this.send(bytes);
    this.enterBusy();
    await this.port.drained();
    this.receiving = true;
    if (gen !== this.generation) throw new Unwind('stop');
  }

  private async command(gen: number): Promise<void> {
    const code = await this.rx(gen);
    const check = await this.rx(gen);
    if ((code ^ check) !== 0xff || !this.dev.commands.includes(code)) {
      this.nack();
      return;
    }
    this.stats.commands++;
    switch (code) {
      case CMD.GET:
        return this.reply(gen, [ACK, this.dev.commands.length, this.dev.bootloaderVersion, ...this.dev.commands, ACK]);
      case CMD.GET_VERSION:
        // Version, then two option bytes kept for compatibility (0 on v3.x ROMs).
        return this.reply(gen, [ACK, this.dev.bootloaderVersion, 0x00, 0x00, ACK]);
      case CMD.GET_ID:
        return this.reply(gen, [ACK, 0x01, this.dev.productId >> 8, this.dev.productId & 0xff, ACK]);
      case CMD.READ_MEMORY:
        return this.readMemory(gen);
      case CMD.WRITE_MEMORY:
        return this.writeMemory(gen);
      case CMD.GO:
        return this.go(gen);
      case CMD.EXTENDED_ERASE:
        return this.extendedErase(gen);
      case CMD.ERASE:
        return this.legacyErase(gen);
      case CMD.WRITE_PROTECT:
        return this.writeProtect(gen);
      case CMD.WRITE_UNPROTECT:
        return this.writeUnprotect(gen);
      case CMD.READOUT_PROTECT:
        return this.readoutProtect(gen);
      case CMD.READOUT_UNPROTECT:
        return this.readoutUnprotect(gen);
      case CMD.GET_CHECKSUM:
        return this.getChecksum(gen);
      default:
        this.nack();
    }
  }

  private async readMemory(gen: number): Promise<void> {
    if (this.memory.rdpActive) return this.nack();
    this.send([ACK]);
    const address = await this.rxAddress(gen);
    if (address === null || this.memory.regionOf(address, 1) === null) return this.nack();
    this.send([ACK]);
    const n = await this.rx(gen);
    const nc = await this.rx(gen);
    if ((n ^ nc) !== 0xff) return this.nack();
    const data = this.memory.read(address, n + 1);
    if (!data) return this.nack();
    const out = new Uint8Array(n + 2); // ACK, then exactly N+1 bytes
    out[0] = ACK;
    out.set(data, 1);
    this.note({ command: CMD.READ_MEMORY, ok: true, address, length: data.length });
    return this.reply(gen, out);
  }

  /**
   * Get Checksum (0xA1): address + XOR, size (whole words, MSB first) + XOR, then the ROM runs the
   * area through its CRC unit (reset configuration) and answers ACK, the CRC MSB first and its XOR.
   */
  private async getChecksum(gen: number): Promise<void> {
    if (this.memory.rdpActive) return this.nack();
    this.send([ACK]);
    const address = await this.rxAddress(gen);
    if (address === null || address % 4 !== 0 || this.memory.regionOf(address, 4) === null) return this.nack();
    this.send([ACK]);
    const size = await this.rxAddress(gen); // same framing: four bytes MSB first and their XOR
    if (size === null || size === 0 || size % 4 !== 0) return this.nack();
    const data = this.memory.read(address, size);
    if (!data) return this.nack();
    this.send([ACK]);
    await this.busy(gen, ((size / 4) * this.dev.checksumWordUs) / 1000);
    const crc = stm32Crc(data);
    const out = [ACK, crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff];
    out.push(out[1]! ^ out[2]! ^ out[3]! ^ out[4]!);
    this.note({ command: CMD.GET_CHECKSUM, ok: true, address, length: size });
    return this.reply(gen, out);
  }

  private async writeMemory(gen: number): Promise<void> {
    if (this.memory.rdpActive) return this.nack();
    this.send([ACK]);
    const address = await this.rxAddress(gen);
    const startRegion = address === null ? null : this.memory.regionOf(address, 1);
    if (address === null || startRegion === null || startRegion === 'system' || startRegion === 'signature' || address % 4 !== 0) {
      return this.nack();
    }
    this.send([ACK]);
    const n = await this.rx(gen);
    const data = await this.rxBytes(gen, n + 1);
    const cs = await this.rx(gen);
    const x = xor(data, n);
    if (x !== cs) return this.nack();
    const region = this.memory.regionOf(address, data.length);
    // AN3155: N+1 must be a multiple of 4 (flash is programmed by 32-bit words).
    if (region === null || region !== startRegion || data.length % 4 !== 0) return this.nack();
    switch (region) {
      case 'flash': {
        const sectors = this.memory.sectorsOf(address, data.length);
        if (sectors.some((s) => this.memory.sectorWriteProtected(s))) {
          await this.busy(gen, 0.1); // WRPERR is flagged on the first word
          return this.nack();
        }
        await this.busy(gen, ((data.length / 4) * this.dev.wordProgramUs) / 1000);
        this.memory.programFlash(address, data);
        this.note({ command: CMD.WRITE_MEMORY, ok: true, address, length: data.length });
        this.send([ACK]);
        return;
      }
      case 'ram':
        if (address < this.dev.ramUserStart) return this.nack();
        this.memory.writeRam(address, data);
        this.send([ACK]);
        return;
      case 'otp':
        await this.busy(gen, ((data.length / 4) * this.dev.wordProgramUs) / 1000);
        this.memory.programOtp(address, data);
        this.send([ACK]);
        return;
      case 'option': {
        // Writing the option bytes reprograms them and resets the part (AN3155, Write Memory).
        const ob = new Uint8Array(this.memory.optionBytes);
        ob.set(data, address - this.dev.optionBytes.address);
        await this.busy(gen, this.dev.optionProgramMs);
        this.memory.setOptionBytes(ob);
        this.send([ACK]);
        await this.port.drained();
        throw new Unwind('reset');
      }
      default:
        return this.nack();
    }
  }

  private async go(gen: number): Promise<void> {
    if (this.memory.rdpActive) return this.nack();
    this.send([ACK]);
    const address = await this.rxAddress(gen);
    const region = address === null ? null : this.memory.regionOf(address, 8);
    if (address === null || (region !== 'flash' && region !== 'ram')) return this.nack();
    this.send([ACK]);
    await this.port.drained();
    // The ROM loads MSP from [address] and jumps to [address + 4] (a Thumb address).
    const table = this.memory.read(address, 8)!;
    const sp = rd32(table, 0);
    const pc = rd32(table, 4);
    const ramEnd = this.dev.ramBase + this.dev.ramSize;
    const entryRegion = this.memory.regionOf(pc & ~1, 2);
    const spOk = sp > this.dev.ramBase && sp <= ramEnd && sp % 4 === 0;
    if (!spOk || (pc & 1) === 0 || (entryRegion !== 'flash' && entryRegion !== 'ram')) {
      this.generation++;
      this._state = 'lockup';
      this.options.onExit?.({
        kind: 'lockup',
        address,
        reason: `no valid vector table at 0x${address.toString(16)} (SP 0x${sp.toString(16)}, PC 0x${pc.toString(16)}): HardFault`,
      });
      return new Promise(() => undefined);
    }
    if (entryRegion === 'ram' && this.isResetStub(pc & ~1)) {
      // Hosts run a few instructions from RAM that write VECTKEY|SYSRESETREQ to AIRCR; the part
      // resets and, BOOT0 still high, comes back in its bootloader. This model does not execute
      // ARM code; it recognises that stub by the two constants it loads.
      await this.delay(1);
      throw new Unwind('reset');
    }
    this.generation++;
    this._state = 'application';
    this.options.onExit?.({ kind: 'application', address, stackPointer: sp, entry: pc });
    return new Promise(() => undefined);
  }

  private isResetStub(entry: number): boolean {
    const code = this.memory.read(entry, 32) ?? this.memory.read(entry, 16);
    if (!code) return false;
    const words = new Set<number>();
    for (let i = 0; i + 4 <= code.length; i += 4) {
      words.add(rd32(code, i));
    }
    return words.has(0xe000ed0c) && words.has(0x05fa0004);
  }

  /** Erase (0x43), ROMs before v3.0: N-1 then N 8-bit page numbers and XOR; 0xFF 0x00 = mass erase. */
  private async legacyErase(gen: number): Promise<void> {
    if (this.memory.rdpActive) return this.nack();
    this.send([ACK]);
    const n = await this.rx(gen);
    if (n === 0xff) {
      if ((await this.rx(gen)) !== 0x00) return this.nack();
      if (this.dev.sectors.some((s) => this.memory.sectorWriteProtected(s.index))) return this.nack();
      await this.busy(gen, this.dev.massEraseMs);
      this.memory.eraseAll();
      this.note({ command: CMD.ERASE, ok: true, erased: 'mass' });
      this.send([ACK]);
      return;
    }
    const list = await this.rxBytes(gen, n + 1);
    const cs = await this.rx(gen);
    const x = xor(list, n);
    if (x !== cs || list.some((p) => p >= this.dev.sectors.length)) return this.nack();
    for (const p of list) {
      if (this.memory.sectorWriteProtected(p)) return this.nack();
      await this.busy(gen, this.dev.sectors[p]!.eraseMs);
      this.memory.eraseSector(p);
    }
    this.note({ command: CMD.ERASE, ok: true, erased: Array.from(list) });
    this.send([ACK]);
  }

  private async extendedErase(gen: number): Promise<void> {
    if (this.memory.rdpActive) return this.nack();
    this.send([ACK]);
    const hi = await this.rx(gen);
    const lo = await this.rx(gen);
    const n = (hi << 8) | lo;
    if (n >= 0xfff0) {
      const cs = await this.rx(gen);
      if (cs !== (hi ^ lo)) return this.nack();
      // 0xFFFF mass erase; 0xFFFE/0xFFFD bank erases exist only on dual-bank parts; the rest is reserved.
      if (n !== 0xffff) return this.nack();
      if (this.dev.sectors.some((s) => this.memory.sectorWriteProtected(s.index))) return this.nack();
      await this.busy(gen, this.dev.massEraseMs);
      this.memory.eraseAll();
      this.note({ command: CMD.EXTENDED_ERASE, ok: true, erased: 'mass' });
      this.send([ACK]);
      return;
    }
    const list = await this.rxBytes(gen, 2 * (n + 1));
    const cs = await this.rx(gen);
    const x = xor(list, hi ^ lo);
    if (x !== cs) return this.nack();
    const sectors: number[] = [];
    for (let i = 0; i < list.length; i += 2) sectors.push((list[i]! << 8) | list[i + 1]!);
    if (sectors.some((s) => s >= this.dev.sectors.length)) return this.nack();
    for (const s of sectors) {
      if (this.memory.sectorWriteProtected(s)) return this.nack();
      await this.busy(gen, this.dev.sectors[s]!.eraseMs);
      this.memory.eraseSector(s);
    }
    this.note({ command: CMD.EXTENDED_ERASE, ok: true, erased: sectors });
    this.send([ACK]);
  }

  private async writeProtect(gen: number): Promise<void> {
    if (this.memory.rdpActive) return this.nack();
    this.send([ACK]);
    const n = await this.rx(gen);
    const list = await this.rxBytes(gen, n + 1);
    const cs = await this.rx(gen);
    const x = xor(list, n);
    if (x !== cs || list.some((g) => g >= this.dev.options.groups)) return this.nack();
    await this.busy(gen, this.dev.optionProgramMs);
    this.memory.setOptionBytes(this.dev.options.withProtection(this.memory.optionBytes, Array.from(list)));
    this.send([ACK]);
    await this.port.drained();
    throw new Unwind('reset');
  }

  private async writeUnprotect(gen: number): Promise<void> {
    if (this.memory.rdpActive) return this.nack();
    this.send([ACK]);
    await this.busy(gen, this.dev.optionProgramMs);
    this.memory.setOptionBytes(this.dev.options.withProtection(this.memory.optionBytes, 'none'));
    this.send([ACK]);
    await this.port.drained();
    throw new Unwind('reset');
  }

  private async readoutProtect(gen: number): Promise<void> {
    if (this.memory.rdpActive) return this.nack();
    this.send([ACK]);
    await this.busy(gen, this.dev.optionProgramMs);
    this.memory.setOptionBytes(this.dev.options.withRdp(this.memory.optionBytes, true));
    this.send([ACK]);
    await this.port.drained();
    throw new Unwind('reset');
  }

  private async readoutUnprotect(gen: number): Promise<void> {
    this.send([ACK]);
    // Leaving level 1 mass-erases the flash before RDP returns to 0xAA (RM0090 §3.7.3).
    await this.busy(gen, this.dev.massEraseMs + this.dev.optionProgramMs);
    this.memory.eraseAll();
    this.memory.setOptionBytes(this.dev.options.withRdp(this.memory.optionBytes, false));
    this.send([ACK]);
    await this.port.drained();
    throw new Unwind('reset');
  }
}
