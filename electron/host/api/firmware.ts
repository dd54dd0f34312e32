import { readFile } from 'node:fs/promises';
import { PackscopeError } from '../../../shared/errors.js';
import { decodeImageFile, parseSpki, verifyImage, type FwStatus, type TrustedKey } from '../../../shared/image/index.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { fromHex } from '../../../shared/util/bytes.js';
import { checkImageAgainstBoard, flashImage, summarize } from '../flasher/flasher.js';
import { NativeFirmwareTarget } from '../flasher/native-target.js';
import type { DeviceSession } from './device.js';

/**
 * Firmware jobs of the app on the connected board (native protocol): inspect an image before
 * anything is written, flash with progress and cancel, slot status, confirm, revert. The safety
 * rules (board id, trusted keys, security counter, size) are the flasher's, the same the CLI
 * applies; the app only shows their verdict first.
 */
async function readImage(path: string) {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PackscopeError(code === 'ENOENT' ? 'NOT_FOUND' : code === 'EACCES' ? 'PERMISSION' : 'IO', `cannot read ${path}: ${(e as Error).message}`);
  }
  return { bytes, ...decodeImageFile(bytes) };
}

export class FirmwareJobs {
  constructor(private device: DeviceSession) {}

  private target(): NativeFirmwareTarget {
    const native = this.device.require().native;
    if (!native) throw new PackscopeError('REFUSED', 'firmware updates need a board speaking the native protocol; this one does not');
    return new NativeFirmwareTarget(native.link);
  }

  async status(): Promise<FwStatus> {
    return this.target().status();
  }

  /** What the image is, and (when a native board is connected) whether that board would take it. */
  async inspect(path: string) {
    const { image } = await readImage(path);
    const s = summarize(image);
    let board: FwStatus | null = null;
    try {
      if (this.device.current?.native) board = await this.target().status();
    } catch {
      board = null;
    }
    const trusted: TrustedKey[] = (board?.trustedKeys ?? []).map((k, i) => ({ key: parseSpki(fromHex(k)), name: `board key ${i + 1}` }));
    const v = verifyImage(image, { trustedKeys: trusted });
    let againstBoard: { ok: boolean; message: string; boardId: string } | null = null;
    if (board) {
      try {
        checkImageAgainstBoard(image, board);
        againstBoard = { ok: true, message: `the connected board (${board.boardId}) will accept this image`, boardId: board.boardId };
      } catch (e) {
        againstBoard = { ok: false, message: (e as Error).message, boardId: board.boardId };
      }
    }
    return {
      path,
      version: s.version,
      boardId: s.boardId,
      securityCounter: s.securityCounter,
      size: s.size,
      hash: s.hash,
      keyHash: s.keyHash,
      intact: v.hash.status === 'ok',
      signature: { status: v.signature.status, keyType: v.signature.keyType, trustedKey: v.signature.trustedKey },
      againstBoard,
    };
  }

  async flash(path: string, confirm: boolean, signal: AbortSignal, onProgress: (p: TransferProgress) => void) {
    const session = this.device.require();
    const { bytes } = await readImage(path);
    // The telemetry stream would share the link with the upload: pause it for the transfer.
    const rate = session.telemetryRateHz;
    if (rate > 0) await session.stopTelemetry().catch(() => undefined);
    try {
      const r = await flashImage(this.target(), bytes, { confirm, signal, onProgress, compress: true });
      return {
        outcome: r.outcome,
        version: r.image.version,
        bytesTotal: r.bytesTotal,
        bytesSent: r.bytesSent,
        bytesSkipped: r.bytesSkipped,
        seconds: r.seconds,
        payloadRate: r.payloadRate,
        status: r.status,
      };
    } finally {
      if (rate > 0 && !session.isDisconnected) await session.startTelemetry(rate).catch(() => undefined);
    }
  }

  async confirm() {
    const t = this.target();
    const r = await t.confirm();
    return { changed: r.changed, status: await t.status() };
  }

  async revert() {
    const t = this.target();
    const r = await t.revert();
    await t.reset();
    return { mode: r.mode, status: await t.status() };
  }
}
