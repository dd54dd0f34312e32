import { PackscopeError } from '../../../shared/errors.js';
import type { TransportWrapper } from '../transport/capture.js';
import { Session } from '../session.js';
import { lineBytesPerSecond } from '../transport/index.js';
import { NativeFirmwareTarget } from './native-target.js';
import type { ImageFlashResult, NativeFlashJob } from './flash-backends.js';
import { flashOpenedTarget, readImageSource, type OpenedTarget } from './image-job.js';
import { settingsBackupForFlash } from '../settings/flash-backup.js';

/** Opens the native protocol on a port and returns its firmware target. */
export async function openNativeTarget(
  port: string,
  o: { baud?: number; signal?: AbortSignal; window?: number; chunkSize?: number; wrapTransport?: TransportWrapper } = {},
): Promise<OpenedTarget & { session: Session }> {
  const session = await Session.open(port, {
    protocol: 'native',
    ...(o.baud ? { baud: o.baud } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.wrapTransport ? { wrapTransport: o.wrapTransport } : {}),
  });
  const native = session.native;
  if (!native) {
    await session.close();
    throw new PackscopeError('PROTOCOL', `${port} does not speak the native protocol`);
  }
  const target = new NativeFirmwareTarget(native.link, { ...(o.window ? { window: o.window } : {}), ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}) });
  return { session, target, lineBytesPerSecond: lineBytesPerSecond(session.transport, session.line), close: () => session.close() };
}

/** The firmware target of an already open native session (the app's connection). */
export function targetForSession(session: Session, o: { window?: number; chunkSize?: number } = {}): NativeFirmwareTarget {
  const native = session.native;
  if (!native)
    throw new PackscopeError('PROTOCOL', `${session.path} is not a native-protocol board: firmware updates need the native protocol, UDS or the STM32 ROM`);
  return new NativeFirmwareTarget(native.link, o);
}

/**
 * The native back end: opens the port with the native protocol and runs the common flasher on
 * the board's bootloader (deflate-compressed uploads unless `compress: false`). With
 * settingsBackupDir, the board's settings are backed up after the checks and before the first
 * erase, and compared with that backup after the flash.
 */
export async function flashNative(job: NativeFlashJob): Promise<ImageFlashResult> {
  const image = readImageSource(job.image);
  const opened = await openNativeTarget(job.port, {
    ...(job.baudRate !== undefined ? { baud: job.baudRate } : {}),
    ...(job.signal ? { signal: job.signal } : {}),
    ...(job.window !== undefined ? { window: job.window } : {}),
    ...(job.chunkSize !== undefined ? { chunkSize: job.chunkSize } : {}),
    ...(job.wrapTransport ? { wrapTransport: job.wrapTransport } : {}),
  });
  if (!job.settingsBackupDir) return flashOpenedTarget('native', opened, image, job, job.compress ?? true);
  const settings = settingsBackupForFlash(opened.session, job.settingsBackupDir, {
    ...(job.signal ? { signal: job.signal } : {}),
    ...(job.log ? { log: job.log } : {}),
  });
  try {
    // The session stays open after the flash: the board's settings are compared with the backup through it.
    const r = await flashOpenedTarget(
      'native',
      { ...opened, close: async () => undefined },
      image,
      { ...job, onChecked: settings.onChecked },
      job.compress ?? true,
    );
    return { ...r, settings: await settings.after() };
  } finally {
    await opened.close().catch(() => undefined);
  }
}
