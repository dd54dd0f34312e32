import { PackscopeError } from '../../../shared/errors.js';
import type { Parity } from '../../../shared/types/transport.js';
import type { CliContext } from '../cli/context.js';
import { SerialTransport } from '../transport/serial.js';
import { flashStm32, type Stm32FlashResult, type Stm32Progress } from './flasher.js';
import { loadFirmware } from './image.js';

/**
 * `packscope flash --protocol stm32-rom --port PATH FIRMWARE.bin|.hex [--address A] [--baud B]
 * [--parity none|even] [--no-verify] [--go | --go-address A] [--json]`: recovery flashing through the
 * STM32 ROM bootloader. The `flash` command hands its arguments here when --protocol stm32-rom.
 */
export interface Stm32CliOptions {
  port: string;
  file: string;
  address?: number;
  baudRate?: number;
  /** Default: 'none' on a pseudo-terminal (it cannot carry parity), 'even' (the ROM's 8E1) elsewhere. */
  parity?: Parity;
  verify?: boolean;
  /** Start the application afterwards: true = at the image's first address, or an explicit address. */
  go?: boolean | number;
  json?: boolean;
}

export const STM32_FLASH_USAGE = `packscope flash --protocol stm32-rom --port PATH FIRMWARE.bin|.hex [options]

Recovery flashing through the STM32 system-memory (ROM) bootloader, AN3155: for a board whose
application is broken. Hold BOOT0 high and reset the board first.

  --address A        where a raw .bin goes (default 0x08000000; HEX files carry their addresses)
  --baud B           line rate (default 115200, the ROM's maximum)
  --parity P         none|even (default even, the ROM's 8E1; none on a pseudo-terminal)
  --no-verify        skip the read-back verification (not recommended)
  --go               start the application afterwards (vector table at the image start)
  --go-address A     start it from the vector table at A instead
  --json             print the result as one JSON document

Only the sectors the image touches are erased; 0xFF blocks are not sent; every byte is verified
by read-back.`;

export function parseAddress(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = /^0x[0-9a-f]+$/i.test(value) ? parseInt(value, 16) : /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new PackscopeError('USAGE', `--${name} must be an address like 0x08000000, got '${value}'`);
  return n;
}

export function defaultParity(port: string): Parity {
  return port.startsWith('/dev/pts/') ? 'none' : 'even';
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function runStm32Flash(o: Stm32CliOptions, ctx: CliContext): Promise<number> {
  const baudRate = o.baudRate ?? 115200;
  const parity = o.parity ?? defaultParity(o.port);
  const image = await loadFirmware(o.file, o.address);
  const first = Math.min(...image.segments.map((s) => s.address));
  const goAddress = o.go === undefined || o.go === false ? null : o.go === true ? first : o.go;

  const transport = new SerialTransport(o.port, { baudRate, parity });
  await transport.open();
  let lastPrint = 0;
  let lastPhase = '';
  const onProgress = (p: Stm32Progress) => {
    // Connect and erase are single exchanges, announced by the log lines; write and verify get
    // a line per second on a terminal, every few seconds in a log, and one at each phase's end.
    if (p.phase !== 'write' && p.phase !== 'verify') return;
    const now = performance.now();
    if (p.phase === lastPhase && p.done < p.total && now - lastPrint < (ctx.isTTY ? 1000 : 3000)) return;
    lastPrint = now;
    lastPhase = p.phase;
    const rate = p.rate > 0 ? `${kib(p.rate)}/s` : '--';
    const eta = p.etaSeconds === null ? '--' : `${Math.ceil(p.etaSeconds)} s`;
    ctx.err(`${p.phase.padEnd(6)} ${kib(p.done)} / ${kib(p.total)}  ${rate}  ETA ${eta}`);
  };

  let result: Stm32FlashResult;
  try {
    result = await flashStm32(transport, {
      baudRate,
      segments: image.segments,
      verify: o.verify ?? true,
      goAddress,
      signal: ctx.signal,
      onProgress,
      log: (l) => ctx.err(l),
    });
  } finally {
    await transport.close().catch(() => undefined);
  }

  // The ROM always speaks 8E1: 11 bits per byte on the wire (the simulator paces a pty the same way).
  const lineRate = baudRate / 11;
  const payloadRate = (result.imageBytes * 1000) / result.durationMs;
  if (o.json) {
    ctx.out(JSON.stringify({ protocol: 'stm32-rom', port: o.port, file: o.file, format: image.format, baudRate, parity, ...result, payloadRate, lineRate }));
    return 0;
  }
  const erasedRange =
    result.erased.length === 0
      ? 'nothing'
      : result.erased.length === 1
        ? `sector ${result.erased[0]!.index}`
        : `sectors ${result.erased.map((e) => e.index).join(', ')}`;
  ctx.out(`Flashed ${result.imageBytes} bytes to ${result.part} (ID 0x${result.productId.toString(16)}, bootloader ${result.bootloaderVersion}) on ${o.port}`);
  ctx.out(`  erased ${erasedRange} in ${secs(result.phasesMs.erase)}${result.collateralErasedBytes ? ` (${result.collateralErasedBytes} bytes beyond the image)` : ''}`);
  ctx.out(`  wrote ${result.blocksWritten} block(s), ${result.blocksSkipped} blank block(s) not sent, in ${secs(result.phasesMs.write)}`);
  ctx.out(result.verified ? `  verified all ${result.imageBytes} bytes by read-back in ${secs(result.phasesMs.verify)}` : '  NOT verified (--no-verify)');
  ctx.out(`  total ${secs(result.durationMs)}: ${kib(payloadRate)}/s, ${(payloadRate / lineRate).toFixed(2)} × line rate (${baudRate} baud 8E1${parity === 'none' ? ', port opened 8N1' : ''})`);
  if (result.retries) ctx.out(`  ${result.retries} exchange(s) retried after line errors`);
  ctx.out(
    result.started !== null
      ? `  started the application at 0x${result.started.toString(16)}`
      : '  the board stays in its bootloader: set BOOT0 low and reset it (or flash with --go)',
  );
  return 0;
}
