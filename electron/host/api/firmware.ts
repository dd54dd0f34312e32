import { readFile } from 'node:fs/promises';
import type { FlashStartResult, Params } from '../../../shared/api/contract.js';
import { PackscopeError } from '../../../shared/errors.js';
import { decodeImageFile, parseSpki, verifyImage, type FwStatus, type TrustedKey } from '../../../shared/image/index.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { fromHex } from '../../../shared/util/bytes.js';
import { loadTrustedKeys } from '../flasher/files.js';
import { runFlashJob, type FlashProtocol, type ImageFlashResult, type Stm32RomFlashResult } from '../flasher/flash-backends.js';
import { checkImageAgainstBoard, summarize } from '../flasher/flasher.js';
import { flashOpenedTarget } from '../flasher/image-job.js';
import { NativeFirmwareTarget } from '../flasher/native-target.js';
import { lineBytesPerSecond } from '../transport/index.js';
import { settingsBackupForFlash } from '../settings/flash-backup.js';
import type { DeviceSession } from './device.js';

/**
 * Firmware jobs of the app: inspect an image before anything is written, flash with progress and
 * cancel, slot status, confirm, revert. Flashing runs one of the flash back ends
 * (electron/host/flasher/flash-backends.ts): native on the connected board (or on a port opened
 * for the job), UDS over CAN, or STM32 ROM recovery. The safety rules (board id, trusted keys,
 * security counter, size) are the flasher's, the same the CLI applies; the app only shows their
 * verdict first.
 */
/** flash.start's validated request without its opId, by protocol. */
export type FlashRequestParams = Params<'flash.start'> extends infer R ? (R extends unknown ? Omit<R, 'opId'> : never) : never;

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
  /** settingsBackupDir: where a native flash backs the board's settings up before anything is erased (absent: no backup). */
  constructor(
    private device: DeviceSession,
    private settingsBackupDir?: string,
  ) {}

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
      // Not while a flash or download has the link: the verdict waits for the next look.
      if (this.device.current?.native && !this.device.linkBusy) board = await this.target().status();
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

  /** A port the connected session holds cannot be opened a second time for a job. */
  private refuseConnectedPort(port: string, protocol: FlashProtocol): void {
    const s = this.device.current;
    if (s && !s.isDisconnected && s.path === port) {
      throw new PackscopeError('REFUSED', `${port} is the connected device's port: disconnect it first, then flash over ${protocol}`);
    }
  }

  async flash(req: FlashRequestParams, signal: AbortSignal, onProgress: (p: TransferProgress) => void): Promise<FlashStartResult> {
    if (req.protocol === 'stm32-rom') {
      this.refuseConnectedPort(req.port, req.protocol);
      const r = await runFlashJob({
        protocol: 'stm32-rom',
        port: req.port,
        firmware: req.path,
        ...(req.baudRate !== undefined ? { baudRate: req.baudRate } : {}),
        ...(req.parity !== undefined ? { parity: req.parity } : {}),
        ...(req.address !== undefined ? { address: req.address } : {}),
        verify: req.verify,
        go: req.go,
        erase: req.erase,
        signal,
        onProgress,
      });
      return romFlashView(r);
    }
    // native without a port, or on the connected board's port: the connected session.
    const connected = this.device.current;
    const onSession = req.protocol === 'native' && (req.port === undefined || (connected !== null && !connected.isDisconnected && connected.path === req.port));
    const session = onSession ? this.device.require() : null;
    if (req.protocol === 'uds') this.refuseConnectedPort(req.port, req.protocol);
    const trust = loadTrustedKeys(req.trustKeyPaths);
    const { bytes } = await readImage(req.path);
    if (req.protocol === 'uds') {
      const r = await runFlashJob({
        protocol: 'uds',
        port: req.port,
        image: bytes,
        confirm: req.confirm,
        trust,
        bitrate: req.bitrate,
        txId: req.txId,
        rxId: req.rxId,
        seedKey: req.seedKey,
        ...(req.maxBlockPayload !== undefined ? { maxBlockPayload: req.maxBlockPayload } : {}),
        ...(req.baudRate !== undefined ? { baudRate: req.baudRate } : {}),
        signal,
        onProgress,
      });
      return imageFlashView(r);
    }
    if (!session) {
      // Another port than the connected board's: the native back end opens it for the job.
      const r = await runFlashJob({
        protocol: 'native',
        port: req.port!,
        image: bytes,
        confirm: req.confirm,
        trust,
        compress: req.compress,
        ...(req.baudRate !== undefined ? { baudRate: req.baudRate } : {}),
        ...(this.settingsBackupDir ? { settingsBackupDir: this.settingsBackupDir } : {}),
        signal,
        onProgress,
      });
      return imageFlashView(r);
    }
    const target = this.target();
    // A new image may reset the board's settings: they are backed up after the checks, before the first erase.
    const settings = this.settingsBackupDir ? settingsBackupForFlash(session, this.settingsBackupDir, { signal }) : null;
    // The upload has the link to itself: the telemetry stream pauses and comes back afterwards.
    const r = await this.device
      .exclusive('paused while firmware was written', async () => {
        const opened = { target, lineBytesPerSecond: lineBytesPerSecond(session.transport, session.line), close: async () => undefined };
        const flashed = await flashOpenedTarget(
          'native',
          opened,
          bytes,
          { port: session.path, confirm: req.confirm, trust, signal, onProgress, ...(settings ? { onChecked: settings.onChecked } : {}) },
          req.compress,
        );
        // The board runs other firmware now: its identity is read again while the flash still has
        // the link, so no frame of the new firmware reaches a screen or a recording under the old
        // version (a recording moves on to a file whose header names the new one).
        await this.device.refreshIdentity();
        return flashed;
      })
      .catch((e: unknown) => {
        throw session.isDisconnected ? lostDuringFlash(e) : e;
      });
    return imageFlashView(settings ? { ...r, settings: await settings.after() } : r);
  }

  async confirm() {
    const t = this.target();
    const r = await t.confirm();
    const status = await t.status();
    await this.device.refreshIdentity();
    return { changed: r.changed, status };
  }

  async revert() {
    const t = this.target();
    const r = await t.revert();
    await t.reset();
    const status = await t.status();
    await this.device.refreshIdentity();
    return { mode: r.mode, status };
  }
}

/** A flash cut by the link going away, in the words of someone standing at the bench. */
function lostDuringFlash(e: unknown): PackscopeError {
  if (e instanceof PackscopeError && e.code === 'CANCELLED') return e;
  return new PackscopeError(
    'DISCONNECTED',
    'The connection to the board was lost while the firmware was being written. The board keeps its current firmware (the new image is never started half-written). Connect the board again, then flash again: the upload continues where it stopped.',
  );
}

function imageFlashView(r: ImageFlashResult): FlashStartResult {
  const { report } = r;
  return {
    protocol: r.protocol,
    outcome: report.outcome,
    version: report.image.version,
    bytesTotal: report.bytesTotal,
    bytesSent: report.bytesSent,
    bytesSkipped: report.bytesSkipped,
    seconds: report.seconds,
    payloadRate: report.payloadRate,
    lineRatio: r.lineRatio,
    status: report.status,
    ...(r.settings ? { settingsBackup: r.settings.backup, settingsChanged: r.settings.changed } : {}),
  };
}

function romFlashView(r: Stm32RomFlashResult): FlashStartResult {
  const x = r.result;
  return {
    protocol: 'stm32-rom',
    part: x.part,
    productId: x.productId,
    bootloaderVersion: x.bootloaderVersion,
    format: r.format,
    imageBytes: x.imageBytes,
    bytesWritten: x.bytesWritten,
    blocksWritten: x.blocksWritten,
    blocksSkipped: x.blocksSkipped,
    erased: x.erased,
    collateralErasedBytes: x.collateralErasedBytes,
    verified: x.verified,
    verifiedBy: x.verifiedBy,
    started: x.started,
    retries: x.retries,
    seconds: x.durationMs / 1000,
    payloadRate: r.payloadRate,
    lineRatio: r.payloadRate / r.lineRate,
  };
}
