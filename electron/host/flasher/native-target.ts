import { PackscopeError } from '../../../shared/errors.js';
import {
  FW_CMD,
  FW_MAX_HASHES,
  FwStatusSchema,
  decodeHashesResponse,
  decodeJson,
  encodeHashesRequest,
  parseRefusal,
  withRequestId,
  type FwStatus,
} from '../../../shared/image/index.js';
import { ERR } from '../../../shared/protocol/constants.js';
import { bulkWrite, regionErase } from '../link/bulk.js';
import { DeviceError } from '../link/errors.js';
import type { NativeLink } from '../link/native-link.js';
import type { FirmwareTarget, UploadVerdict, UploadWriteOptions } from './target.js';
import { FW_RELEASE, type ReleaseAnnouncement } from '../../../shared/settings/update-record.js';

/**
 * The flasher's FirmwareTarget over the native protocol: firmware commands 0x03xx for status,
 * upload begin (the board's precheck), sector hashes, verification, test/confirm/revert, and the
 * windowed bulk engine writing into the board's upload region.
 */
export interface NativeTargetOptions {
  /** How long a reset (with its swap) may take before the board must answer again (default 120 s). */
  resetTimeoutMs?: number;
  chunkSize?: number;
  window?: number;
}

/** A board's REFUSED answer as a REFUSED error carrying the board's reason; any other error as it is. */
function refusalOf(e: unknown): unknown {
  if (e instanceof DeviceError && e.deviceCode === ERR.REFUSED) {
    const r = parseRefusal(e.deviceMessage);
    return new PackscopeError('REFUSED', `the board refused: ${r.message}`, { reason: r.reason });
  }
  return e;
}

function asObject(x: unknown, what: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null) throw new PackscopeError('PROTOCOL', `${what}: the board sent no JSON object`);
  return x as Record<string, unknown>;
}

export class NativeFirmwareTarget implements FirmwareTarget {
  readonly description: string;
  private uploadRegion: number | null = null;
  constructor(
    private link: NativeLink,
    private o: NativeTargetOptions = {},
  ) {
    this.description = `native protocol on ${link.transport.info?.path ?? 'a port'}`;
  }

  /**
   * A firmware request (with a fresh random request id, PROTOCOL.md §8.3) whose REFUSED answer
   * becomes a REFUSED error carrying the board's reason.
   */
  private async call(cmd: number, payload: Uint8Array = new Uint8Array(0), signal?: AbortSignal, timeoutMs?: number, retries?: number): Promise<Uint8Array> {
    const id = crypto.getRandomValues(new Uint32Array(1))[0]!;
    try {
      return await this.link.request(cmd, withRequestId(payload, id), {
        signal,
        ...(timeoutMs ? { timeoutMs } : {}),
        ...(retries !== undefined ? { retries } : {}),
      });
    } catch (e) {
      throw refusalOf(e);
    }
  }

  async status(signal?: AbortSignal): Promise<FwStatus> {
    const parsed = FwStatusSchema.safeParse(decodeJson(await this.call(FW_CMD.STATUS, undefined, signal, 2000)));
    if (!parsed.success) throw new PackscopeError('PROTOCOL', `firmware status from the board is malformed: ${parsed.error.issues[0]?.message}`);
    this.uploadRegion = parsed.data.uploadRegion;
    return parsed.data;
  }

  async begin(meta: Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.call(FW_CMD.BEGIN, meta, signal, 3000);
  }

  async hashes(length: number, granule: number, signal?: AbortSignal): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let off = 0; off < length; off += granule * FW_MAX_HASHES) {
      const len = Math.min(length - off, granule * FW_MAX_HASHES);
      const b = await this.call(FW_CMD.HASHES, encodeHashesRequest({ offset: off, length: len, granule }), signal, 3000);
      out.push(...decodeHashesResponse(b, Math.ceil(len / granule)));
    }
    return out;
  }

  async erase(offset: number, length: number, signal?: AbortSignal): Promise<void> {
    if (this.uploadRegion === null) await this.status(signal);
    try {
      await regionErase(this.link, this.uploadRegion!, offset, length, signal);
    } catch (e) {
      throw refusalOf(e);
    }
  }

  async write(offset: number, data: Uint8Array, o: UploadWriteOptions): Promise<void> {
    if (this.uploadRegion === null) await this.status(o.signal);
    try {
      await bulkWrite(this.link, {
        region: this.uploadRegion!,
        offset,
        data,
        compress: o.compress,
        ...(this.o.chunkSize ? { chunkSize: this.o.chunkSize } : {}),
        ...(this.o.window ? { window: this.o.window } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        onProgress: (p) => o.onProgress?.(p.done),
      });
    } catch (e) {
      throw refusalOf(e);
    }
  }

  async finish(signal?: AbortSignal): Promise<UploadVerdict> {
    const v = asObject(decodeJson(await this.call(FW_CMD.FINISH, undefined, signal, 5000)), 'FW_FINISH');
    if (typeof v.valid !== 'boolean' || typeof v.hash !== 'string' || !Array.isArray(v.problems)) {
      throw new PackscopeError('PROTOCOL', 'FW_FINISH: malformed verdict from the board');
    }
    return { valid: v.valid, reason: typeof v.reason === 'string' ? v.reason : null, problems: v.problems.map(String), hash: v.hash };
  }

  /**
   * Tells the board which release bundle the next install belongs to, so the update records it
   * signs carry the bundle's sequence number. False for a board without FW_RELEASE (older
   * firmware): its records then carry no sequence.
   */
  async announceRelease(release: ReleaseAnnouncement, signal?: AbortSignal): Promise<boolean> {
    const id = crypto.getRandomValues(new Uint32Array(1))[0]!;
    try {
      await this.link.request(FW_CMD.RELEASE, withRequestId(FW_RELEASE.encode(release), id), { signal, timeoutMs: 3000 });
      return true;
    } catch (e) {
      if (e instanceof DeviceError && e.deviceCode === ERR.UNKNOWN_COMMAND) return false;
      throw refusalOf(e);
    }
  }

  async requestTest(signal?: AbortSignal): Promise<void> {
    await this.call(FW_CMD.TEST, undefined, signal, 3000);
  }

  async confirm(signal?: AbortSignal): Promise<{ changed: boolean }> {
    const v = asObject(decodeJson(await this.call(FW_CMD.CONFIRM, undefined, signal, 3000)), 'FW_CONFIRM');
    return { changed: v.changed === true };
  }

  async revert(signal?: AbortSignal): Promise<{ mode: string }> {
    const v = asObject(decodeJson(await this.call(FW_CMD.REVERT, undefined, signal, 3000)), 'FW_REVERT');
    return { mode: String(v.mode) };
  }

  /** Resets the board, then waits until its bootloader has finished and the firmware commands answer. */
  async reset(signal?: AbortSignal): Promise<void> {
    await this.call(FW_CMD.RESET, undefined, signal, 2000);
    const deadline = performance.now() + (this.o.resetTimeoutMs ?? 120_000);
    await new Promise((r) => setTimeout(r, 100));
    for (;;) {
      if (signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled while the board was restarting');
      try {
        await this.call(FW_CMD.STATUS, undefined, signal, 500, 0);
        return;
      } catch (e) {
        const busy = e instanceof DeviceError && e.deviceCode === ERR.BUSY;
        const silent = e instanceof PackscopeError && e.code === 'TIMEOUT';
        if (!(busy || silent) || performance.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}
