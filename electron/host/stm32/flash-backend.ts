import type { Parity } from '../../../shared/types/transport.js';
import type { Stm32RomFlashJob, Stm32RomFlashResult } from '../flasher/flash-backends.js';
import { createTransport } from '../transport/index.js';
import { flashStm32, type Stm32FlashResult } from './rom-flasher.js';
import { loadFirmware, parseFirmware } from './image.js';

/**
 * The STM32 ROM back end: recovery flashing through the STM32 system-memory bootloader (AN3155)
 * for a board whose application, bootloader included, is broken. It writes raw firmware (a .bin
 * at an address, or Intel HEX), so there are no MCUboot checks, no test boot and nothing to
 * confirm: the ROM is the path for a board that cannot run anything else.
 */
export function defaultParity(port: string): Parity {
  return port.startsWith('/dev/pts/') ? 'none' : 'even';
}

export async function flashStm32Rom(job: Stm32RomFlashJob): Promise<Stm32RomFlashResult> {
  const baudRate = job.baudRate ?? 115200;
  const parity = job.parity ?? defaultParity(job.port);
  const image = typeof job.firmware === 'string' ? await loadFirmware(job.firmware, job.address) : parseFirmware(job.firmware, 'the firmware', job.address);
  const first = Math.min(...image.segments.map((s) => s.address));
  const goAddress = job.go === undefined || job.go === false ? null : job.go === true ? first : job.go;

  const raw = createTransport(job.port, { baudRate, parity });
  const transport = job.wrapTransport ? job.wrapTransport(raw, { baudRate, parity }) : raw;
  await transport.open();
  let result: Stm32FlashResult;
  try {
    result = await flashStm32(transport, {
      baudRate,
      segments: image.segments,
      verify: job.verify ?? true,
      erase: job.erase ?? 'touched',
      goAddress,
      ...(job.signal ? { signal: job.signal } : {}),
      ...(job.onProgress ? { onProgress: job.onProgress } : {}),
      ...(job.log ? { log: job.log } : {}),
    });
  } finally {
    await transport.close().catch(() => undefined);
  }
  // The ROM always speaks 8E1: 11 bits per byte on the wire (the simulator paces a pty the same way).
  const lineRate = baudRate / 11;
  const payloadRate = (result.imageBytes * 1000) / result.durationMs;
  return { protocol: 'stm32-rom', port: job.port, format: image.format, baudRate, parity, result, payloadRate, lineRate };
}
