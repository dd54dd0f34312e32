import { isoTpCeiling } from '../../../shared/can/bittime.js';
import type { ImageFlashResult, UdsFlashJob } from '../flasher/flash-backends.js';
import { flashOpenedTarget, readImageSource } from '../flasher/image-job.js';
import { openUdsFlashTarget } from './uds-flash.js';

/**
 * The UDS back end: UDS (ISO 14229) over ISO-TP on an SLCAN adapter, through the common flasher.
 * The PackScope UDS bootloader takes raw data (dataFormatIdentifier 00), so nothing is
 * compressed. The report's line ratio is the payload rate ÷ the ISO-TP ceiling at the bus
 * bitrate (7 payload bytes per 111-bit frame).
 */
export async function flashUds(job: UdsFlashJob): Promise<ImageFlashResult> {
  let image: Uint8Array;
  try {
    image = readImageSource(job.image);
  } catch (e) {
    await job.opened?.close().catch(() => undefined); // the probe's adapter, handed over
    throw e;
  }
  const bitrate = job.bitrate ?? 500_000;
  const opened = await openUdsFlashTarget({
    port: job.port,
    bitrate,
    ...(job.baudRate !== undefined ? { baudRate: job.baudRate } : {}),
    ...(job.txId !== undefined ? { txId: job.txId } : {}),
    ...(job.rxId !== undefined ? { rxId: job.rxId } : {}),
    ...(job.seedKey !== undefined ? { seedKey: job.seedKey } : {}),
    ...(job.maxBlockPayload !== undefined ? { maxBlockPayload: job.maxBlockPayload } : {}),
    ...(job.status ? { status: job.status } : {}),
    ...(job.signal ? { signal: job.signal } : {}),
    ...(job.wrapTransport ? { wrapTransport: job.wrapTransport } : {}),
    ...(job.opened ? { opened: job.opened } : {}),
  });
  return flashOpenedTarget('uds', { ...opened, lineBytesPerSecond: isoTpCeiling(bitrate) }, image, job, false);
}
