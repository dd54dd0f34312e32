import { PackscopeError } from '../../../shared/errors.js';
import { FwStatusSchema, type FwStatus } from '../../../shared/image/fw-status.js';
import { BootRefusal, type Bootloader } from '../../../firmware/sim/boot/bootloader.js';
import { fwStatusOf } from '../../../firmware/sim/boot/status.js';
import type { FirmwareTarget, UploadVerdict, UploadWriteOptions } from './target.js';

/**
 * A FirmwareTarget that drives a bootloader model in the same process (the simulated board
 * without a line between): the power-fail matrix runs the real flasher against it thousands of
 * times, and the demo device can use it. `reboot` is what a reset does to the board (it may be
 * replaced to model power returning after a cut).
 */
export class LocalTarget implements FirmwareTarget {
  readonly description = 'in-process simulated board';
  constructor(
    private bl: Bootloader,
    private reboot: () => Promise<void> = async () => {
      await bl.boot();
    },
  ) {}

  private async call<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof BootRefusal) throw new PackscopeError('REFUSED', e.message, { reason: e.reason });
      throw e;
    }
  }

  async status(): Promise<FwStatus> {
    return FwStatusSchema.parse(fwStatusOf(this.bl));
  }
  async begin(meta: Uint8Array): Promise<void> {
    await this.call(() => this.bl.beginUpdate(meta));
  }
  async hashes(length: number, granule: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let o = 0; o < length; o += granule) out.push(this.bl.hashSecondary(o, Math.min(granule, length - o)));
    return out;
  }
  async erase(offset: number, length: number): Promise<void> {
    await this.call(() => this.bl.eraseSecondaryRange(offset, length));
  }
  async write(offset: number, data: Uint8Array, o: UploadWriteOptions): Promise<void> {
    const step = 4096;
    for (let p = 0; p < data.length; p += step) {
      if (o.signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled');
      await this.call(() => this.bl.writeSecondary(offset + p, data.subarray(p, p + step)));
      o.onProgress?.(Math.min(data.length, p + step));
    }
  }
  async finish(): Promise<UploadVerdict> {
    const r = await this.call(() => this.bl.finishUpload());
    return { valid: r.valid, reason: r.reason, problems: r.problems, hash: r.hash.computed };
  }
  async requestTest(): Promise<void> {
    await this.call(() => this.bl.requestTest());
  }
  async confirm(): Promise<{ changed: boolean }> {
    return this.call(() => this.bl.confirm());
  }
  async revert(): Promise<{ mode: string }> {
    return this.call(() => this.bl.revert());
  }
  async reset(): Promise<void> {
    await this.reboot();
  }
}
