import { DecodeError, PackscopeError } from '../../../shared/errors.js';
import { concatBytes } from '../../../shared/util/bytes.js';
import { realClock, type Clock } from '../../../shared/util/clock.js';
import type { ByteTransport } from '../../../shared/types/transport.js';
import {
  ACK,
  addressFrame,
  CMD,
  COMMAND_NAMES,
  checksumSizeFrame,
  commandFrame,
  decodeChecksum,
  decodeGet,
  decodeGetId,
  decodeGetVersion,
  extendedEraseFrame,
  extendedSpecialEraseFrame,
  legacyEraseFrame,
  NACK,
  readLengthFrame,
  SYNC,
  writeDataFrame,
  type GetReply,
  type VersionReply,
} from './protocol.js';
import { ByteReader } from './reader.js';

export interface Stm32ClientOptions {
  /** Line rate, to size read timeouts (a 256-byte reply takes 25 ms at 115200 8E1). */
  baudRate: number;
  /**
   * Send the parts of one command that the ROM only parses (command, address, length) in one
   * write instead of waiting for an ACK after each. Never crosses a flash operation or a reply,
   * during which the ROM does not read its UART. Default true.
   */
  pipeline?: boolean;
  /** How long the ROM may take to answer a byte it has all it needs for, ms. Default 1000. */
  ackTimeoutMs?: number;
  signal?: AbortSignal;
  /** Time base of read timeouts and resynchronisation pauses (default: the real clock). */
  clock?: Clock;
}

export const NO_SYNC_ADVICE =
  'no answer from the STM32 ROM bootloader. Hold BOOT0 high (BOOT1/PB2 low), reset the board, ' +
  "and check that the adapter's TX goes to the MCU's RX (USART1 PA9/PA10 or USART3) and the port uses 8E1";

/**
 * An AN3155 session over a serial port. Each method is one bootloader command; failures are typed
 * (TIMEOUT: nothing came back; DEVICE: the ROM said NACK; PROTOCOL: it said something else).
 */
export class Stm32RomClient {
  private reader: ByteReader;
  private readonly pipeline: boolean;
  private readonly ackTimeoutMs: number;
  private readonly clock: Clock;
  commands: number[] = [];
  bootloaderVersion = 0;
  /** Round trips (waits for the ROM) so far; benchmarks report it. */
  roundTrips = 0;

  constructor(
    private transport: ByteTransport,
    private options: Stm32ClientOptions,
  ) {
    this.clock = options.clock ?? realClock;
    this.reader = new ByteReader(transport, this.clock);
    this.pipeline = options.pipeline ?? true;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 1000;
  }

  dispose(): void {
    this.reader.dispose();
  }

  /** Time for n characters on the wire (11 bits each at 8E1, 10 at 8N1; take the slower). */
  private lineMs(n: number): number {
    return Math.ceil((n * 11 * 1000) / this.options.baudRate);
  }

  private async write(bytes: Uint8Array): Promise<void> {
    if (this.options.signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled');
    await this.transport.write(bytes);
  }

  private read(n: number, timeoutMs: number): Promise<Uint8Array> {
    return this.reader.read(n, timeoutMs, this.options.signal);
  }

  /** Waits for ACK; `wait` false when the byte is already on its way behind an earlier one. */
  private async ack(what: string, timeoutMs = this.ackTimeoutMs, wait = true): Promise<void> {
    if (wait) this.roundTrips++;
    let b: number;
    try {
      b = (await this.read(1, timeoutMs))[0]!;
    } catch (e) {
      if (e instanceof PackscopeError && e.code === 'TIMEOUT') {
        throw new PackscopeError('TIMEOUT', `${what}: no ACK within ${timeoutMs} ms`);
      }
      throw e;
    }
    if (b === ACK) return;
    if (b === NACK) throw new PackscopeError('DEVICE', `${what}: the bootloader refused (NACK)`);
    throw new PackscopeError('PROTOCOL', `${what}: expected ACK, got 0x${b.toString(16).padStart(2, '0')}`);
  }

  /**
   * Autobaud and command-boundary check. A ROM fresh from reset answers 0x7F with ACK. One that
   * was already synchronised takes 0x7F as a command byte and says NACK after a second one. One
   * left halfway through a command (a cancelled session) is brought back by resync().
   */
  async sync(): Promise<'fresh' | 'resumed'> {
    this.reader.flush();
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.write(Uint8Array.of(SYNC));
      try {
        const b = (await this.read(1, 400))[0]!;
        // Only the autobaud state answers a lone 0x7F with ACK: the ROM now waits for a command.
        if (b === ACK) return 'fresh';
        if (b === NACK) return 'resumed';
        this.reader.flush();
      } catch (e) {
        if (!(e instanceof PackscopeError && e.code === 'TIMEOUT')) throw e;
      }
    }
    try {
      await this.resync();
    } catch {
      throw new PackscopeError('TIMEOUT', `${this.transport.info.path}: ${NO_SYNC_ADVICE}`);
    }
    return 'resumed';
  }

  /**
   * True if the ROM is waiting for a command: 0xFF alone is never a complete command, so it
   * either completes a pair with a stray byte (NACK) or waits for a second 0xFF (then NACK).
   * Identical bytes make the test immune to which byte the ROM pairs with which.
   */
  private async atBoundary(): Promise<boolean> {
    const t = Math.min(250, this.ackTimeoutMs);
    await this.clock.sleep(10);
    this.reader.flush();
    for (let i = 0; i < 2; i++) {
      await this.write(Uint8Array.of(0xff));
      try {
        const b = (await this.read(1, t))[0];
        if (b === NACK) {
          // More NACKs may follow from bytes that were still in flight; let them land and drop them.
          await this.clock.sleep(10);
          this.reader.flush();
          return true;
        }
        return false;
      } catch (e) {
        if (!(e instanceof PackscopeError && e.code === 'TIMEOUT')) throw e;
      }
    }
    return false;
  }

  /**
   * Brings the ROM back to a command boundary after a failed exchange (a lost or corrupted
   * byte). Filler is 0xFF: whatever frame the ROM is in, 0xFF completes it harmlessly (an
   * address or erase list of 0xFF is invalid; 0xFF data programmed into flash changes nothing,
   * as bits only go from 1 to 0), and pairs of 0xFF are never a command.
   */
  async resync(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      if (await this.atBoundary()) return;
      await this.write(new Uint8Array(600).fill(0xff));
      await this.clock.sleep(200 + this.lineMs(600));
      this.reader.flush();
    }
    throw new PackscopeError('PROTOCOL', 'lost step with the bootloader and could not resynchronise; reset the board (BOOT0 high) and retry');
  }

  async get(): Promise<GetReply> {
    await this.write(commandFrame(CMD.GET));
    await this.ack('Get');
    const n = (await this.read(1, this.ackTimeoutMs))[0]!;
    const rest = await this.read(n + 1, this.ackTimeoutMs + this.lineMs(n + 1));
    await this.ack('Get (end)');
    const reply = decodeGet(concatBytes(Uint8Array.of(n), rest));
    this.commands = reply.commands;
    this.bootloaderVersion = reply.bootloaderVersion;
    return reply;
  }

  async getVersion(): Promise<VersionReply> {
    await this.write(commandFrame(CMD.GET_VERSION));
    await this.ack('Get Version');
    const body = await this.read(3, this.ackTimeoutMs);
    await this.ack('Get Version (end)');
    return decodeGetVersion(body);
  }

  async getId(): Promise<number> {
    await this.write(commandFrame(CMD.GET_ID));
    await this.ack('Get ID');
    const n = (await this.read(1, this.ackTimeoutMs))[0]!;
    const rest = await this.read(n + 1, this.ackTimeoutMs);
    await this.ack('Get ID (end)');
    return decodeGetId(concatBytes(Uint8Array.of(n), rest));
  }

  supports(code: number): boolean {
    return this.commands.includes(code);
  }

  private requireCommand(code: number): void {
    if (this.commands.length && !this.supports(code)) {
      throw new PackscopeError('DEVICE', `this bootloader does not offer ${COMMAND_NAMES[code] ?? `command 0x${code.toString(16)}`}`);
    }
  }

  /** Runs a pipelined exchange; a failure leaves the ROM mid-parse, so resynchronise first. */
  private async guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof PackscopeError && (e.code === 'DEVICE' || e.code === 'PROTOCOL' || e.code === 'TIMEOUT')) {
        await this.resync().catch(() => undefined);
      }
      throw e;
    }
  }

  async readMemory(address: number, length: number): Promise<Uint8Array> {
    this.requireCommand(CMD.READ_MEMORY);
    const where = `Read Memory at 0x${address.toString(16).padStart(8, '0')}`;
    const dataTimeout = this.ackTimeoutMs + this.lineMs(length + 3);
    if (!this.pipeline) {
      await this.write(commandFrame(CMD.READ_MEMORY));
      await this.ack(where);
      await this.write(addressFrame(address));
      await this.ack(`${where} (address)`);
      await this.write(readLengthFrame(length));
      await this.ack(`${where} (length)`);
      return this.read(length, dataTimeout);
    }
    return this.guarded(async () => {
      await this.write(concatBytes(commandFrame(CMD.READ_MEMORY), addressFrame(address), readLengthFrame(length)));
      await this.ack(where, dataTimeout);
      await this.ack(`${where} (address)`, dataTimeout, false);
      await this.ack(`${where} (length)`, dataTimeout, false);
      return this.read(length, dataTimeout);
    });
  }

  /**
   * Get Checksum (0xA1): the ROM's CRC (shared/stm32/an3155.ts stm32Crc) over `length` bytes at
   * `address`, both whole words. Command, address and size go in one write (the ROM only parses
   * them); the third ACK comes once the ROM has run the area through its CRC unit, then the CRC
   * and its XOR check. A reply whose check fails is line noise: PROTOCOL, so callers retry.
   */
  async getChecksum(address: number, length: number): Promise<number> {
    this.requireCommand(CMD.GET_CHECKSUM);
    const where = `Get Checksum of ${length} bytes at 0x${address.toString(16).padStart(8, '0')}`;
    // The CRC unit takes a word per few cycles: well under 1 ms per KiB even from the HSI clock.
    const computeTimeout = this.ackTimeoutMs + Math.ceil(length / 1024) + this.lineMs(8);
    const result = async (): Promise<number> => {
      try {
        return decodeChecksum(await this.read(5, this.ackTimeoutMs + this.lineMs(5)));
      } catch (e) {
        if (e instanceof DecodeError) throw new PackscopeError('PROTOCOL', `${where}: ${e.message}`);
        throw e;
      }
    };
    if (!this.pipeline) {
      await this.write(commandFrame(CMD.GET_CHECKSUM));
      await this.ack(where);
      await this.write(addressFrame(address));
      await this.ack(`${where} (address)`);
      await this.write(checksumSizeFrame(length));
      await this.ack(`${where} (size)`);
      await this.ack(`${where} (result)`, computeTimeout, false);
      return result();
    }
    return this.guarded(async () => {
      await this.write(concatBytes(commandFrame(CMD.GET_CHECKSUM), addressFrame(address), checksumSizeFrame(length)));
      await this.ack(where, computeTimeout);
      await this.ack(`${where} (address)`, computeTimeout, false);
      await this.ack(`${where} (size)`, computeTimeout, false);
      await this.ack(`${where} (result)`, computeTimeout, false);
      return result();
    });
  }

  /**
   * Writes 4..256 bytes (a multiple of 4) at a word-aligned address; the last ACK comes after
   * programming. `burst` sends the whole command at once (one wait): the ROM reads address,
   * length and data back to back as it does anyway, but if it refused the command or address
   * the data would be parsed as commands, so callers use it only once a strict write to the same
   * part has succeeded, and fall back on the first failure.
   */
  async writeMemory(address: number, data: Uint8Array, burst = false): Promise<void> {
    this.requireCommand(CMD.WRITE_MEMORY);
    const where = `Write Memory at 0x${address.toString(16).padStart(8, '0')}`;
    const frame = writeDataFrame(data);
    // Programming 64 words takes ~1 ms (16 µs each) and at most 6.4 ms (100 µs each).
    const programTimeout = this.ackTimeoutMs + this.lineMs(frame.length + 7) + 10;
    if (burst && this.pipeline) {
      return this.guarded(async () => {
        await this.write(concatBytes(commandFrame(CMD.WRITE_MEMORY), addressFrame(address), frame));
        await this.ack(where, programTimeout);
        await this.ack(`${where} (address)`, programTimeout, false);
        await this.ack(`${where} (data)`, programTimeout, false);
      });
    }
    if (!this.pipeline) {
      await this.write(commandFrame(CMD.WRITE_MEMORY));
      await this.ack(where);
      await this.write(addressFrame(address));
      await this.ack(`${where} (address)`);
    } else {
      await this.guarded(async () => {
        await this.write(concatBytes(commandFrame(CMD.WRITE_MEMORY), addressFrame(address)));
        await this.ack(where);
        await this.ack(`${where} (address)`, this.ackTimeoutMs, false);
      });
    }
    // Here the data goes only after the address ACK, so a refused address cannot let 258 bytes
    // be parsed as commands.
    await this.write(frame);
    await this.ack(`${where} (data)`, programTimeout);
  }

  /** Extended Erase of the listed pages/sectors; `timeoutMs` covers the worst-case erase time. */
  async extendedErase(pagesToErase: readonly number[], timeoutMs: number): Promise<void> {
    this.requireCommand(CMD.EXTENDED_ERASE);
    await this.write(commandFrame(CMD.EXTENDED_ERASE));
    await this.ack('Extended Erase');
    await this.write(extendedEraseFrame(pagesToErase));
    await this.ack(`Extended Erase of ${pagesToErase.length} page(s)`, timeoutMs);
  }

  async massErase(timeoutMs: number): Promise<void> {
    if (this.supports(CMD.EXTENDED_ERASE)) {
      await this.write(commandFrame(CMD.EXTENDED_ERASE));
      await this.ack('Extended Erase');
      await this.write(extendedSpecialEraseFrame(0xffff));
      await this.ack('mass erase', timeoutMs);
      return;
    }
    this.requireCommand(CMD.ERASE);
    await this.write(commandFrame(CMD.ERASE));
    await this.ack('Erase');
    await this.write(commandFrame(0xff));
    await this.ack('mass erase', timeoutMs);
  }

  /** Legacy Erase (0x43) for ROMs without Extended Erase: up to 255 pages below 256. */
  async legacyErase(pagesToErase: readonly number[], timeoutMs: number): Promise<void> {
    this.requireCommand(CMD.ERASE);
    await this.write(commandFrame(CMD.ERASE));
    await this.ack('Erase');
    await this.write(legacyEraseFrame(pagesToErase));
    await this.ack(`Erase of ${pagesToErase.length} page(s)`, timeoutMs);
  }

  /** Jumps to the vector table at `address` (MSP from [address], PC from [address + 4]). */
  async go(address: number): Promise<void> {
    this.requireCommand(CMD.GO);
    await this.write(commandFrame(CMD.GO));
    await this.ack('Go');
    await this.write(addressFrame(address));
    await this.ack(`Go 0x${address.toString(16)}`);
  }
}
