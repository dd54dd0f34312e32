import type { TrustedKey } from '../../../shared/image/index.js';
import { readInputFile } from './files.js';
import { flashImage } from './flasher.js';
import type { FlashJobBase, ImageFlashResult, ImageSource } from './flash-backends.js';
import type { FirmwareTarget } from './target.js';

/** A firmware target a back end opened for one job, with what its report is measured against. */
export interface OpenedTarget {
  target: FirmwareTarget;
  /** Line rate of the connection in bytes/s (for the report), if known. */
  lineBytesPerSecond?: number;
  close(): Promise<void>;
}

/** The image of a job: its bytes as given, or read from its path ('image PATH does not exist' and the like). */
export function readImageSource(image: ImageSource): Uint8Array {
  return typeof image === 'string' ? readInputFile(image, 'image') : image;
}

/**
 * The part of a native or UDS job after the target is open: the common flasher (checks, resume,
 * upload, read-back verification, test boot, confirm) on `image`, then the target is closed
 * whatever happened.
 */
export async function flashOpenedTarget(
  protocol: ImageFlashResult['protocol'],
  opened: OpenedTarget,
  image: Uint8Array,
  job: FlashJobBase & { confirm?: boolean; trust?: readonly TrustedKey[]; onChecked?: () => Promise<void> },
  compress: boolean,
): Promise<ImageFlashResult> {
  try {
    const onProgress = job.onProgress;
    const report = await flashImage(opened.target, image, {
      trust: job.trust ? [...job.trust] : [],
      confirm: !!job.confirm,
      compress,
      ...(job.signal ? { signal: job.signal } : {}),
      ...(onProgress ? { onProgress: (p) => onProgress({ ...p, phase: 'upload' }) } : {}),
      ...(job.log ? { log: job.log } : {}),
      ...(job.onChecked ? { onChecked: job.onChecked } : {}),
    });
    const line =
      opened.lineBytesPerSecond !== undefined && Number.isFinite(opened.lineBytesPerSecond) && opened.lineBytesPerSecond > 0 ? opened.lineBytesPerSecond : null;
    return { protocol, port: job.port, report, lineBytesPerSecond: line, lineRatio: line !== null ? report.payloadRate / line : null };
  } finally {
    await opened.close().catch(() => undefined);
  }
}
