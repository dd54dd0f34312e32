import { sha256 } from '@noble/hashes/sha2.js';
import { PackscopeError } from '../../../shared/errors.js';
import {
  decodeHeader,
  formatVersion,
  parseImage,
  parseImageMeta,
  precheckImage,
  securityCounterOf,
  boardIdOf,
  verifyImage,
  type McubootImage,
  type TrustedKey,
  type VerifyResult,
} from '../../../shared/image/index.js';
import type { NorFlash } from '../flash/nor-flash.js';
import { BOOT_EVENT, BootJournal, type BootState, type SwapKind } from './journal.js';
import { slotBytes, type FlashLayout } from './layout.js';

/**
 * The simulated board's bootloader: two slots (banks), every state change journaled so a power
 * cut at any flash operation resumes where it stopped. Two ways to start a new image:
 *  - 'swap' (MCUboot swap-using-scratch, the board's SPI NOR): the image always runs from the
 *    first bank, so the boot copies the new image in sector by sector through a scratch sector,
 *    the old one out to the second bank, and back again on a revert;
 *  - 'dual-bank' (MCUs that run from either of two flash banks and erase/program one while
 *    executing from the other, read-while-write): the boot only switches the bank it starts, in
 *    one journal record; a revert switches back. No image is copied, so a reset takes no longer
 *    than a boot. The upload goes into the inactive bank as it arrives.
 * 'primary' always names the bank the image runs from and 'secondary' the other one, in both modes,
 * so everything above this class (status, the hosts' flashers) is the same for both.
 *
 *  - Uploads go to the secondary slot (never into the running image).
 *  - Before any erase, an upload's header and TLVs are checked: trusted key, signature over the
 *    claimed digest, board id, security counter, size.
 *  - At boot a pending image is verified completely (hash, signature, board, counter) before the
 *    swap; a test image runs once and is swapped back at the next boot unless confirmed.
 *  - The security counter is raised when an image is confirmed (or installed permanently) and
 *    images with a lower counter are refused.
 *
 * Flash operations are synchronous on the model; after each, the bootloader waits out its
 * simulated busy time (flash.settle), so a board with real timing takes real time.
 */
export const REASON_CODES = {
  hash_mismatch: 1,
  hash_missing: 2,
  missing_signature: 3,
  unknown_key: 4,
  bad_signature: 5,
  wrong_board: 6,
  security_counter_too_low: 7,
  too_large: 8,
  no_image: 9,
  testing: 10,
  no_session: 11,
} as const;
export type RefusalReason = keyof typeof REASON_CODES;

export function reasonName(code: number): RefusalReason | null {
  return (Object.keys(REASON_CODES) as RefusalReason[]).find((k) => REASON_CODES[k] === code) ?? null;
}

export class BootRefusal extends PackscopeError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super('REFUSED', message, { reason });
    this.name = 'BootRefusal';
  }
}

export type BootMode = 'swap' | 'dual-bank';
export const BOOT_MODES: readonly BootMode[] = ['swap', 'dual-bank'];

export interface BootloaderOptions {
  flash: NorFlash;
  layout: FlashLayout;
  trustedKeys: TrustedKey[];
  boardId: string;
  /** How a new image is started (default 'swap'). */
  mode?: BootMode;
}

export interface SlotInfo {
  present: boolean;
  version: string | null;
  imageSize: number;
  totalSize: number;
  securityCounter: number | null;
  boardId: string | null;
  hash: string | null;
  signature: VerifyResult['signature']['status'] | null;
  signedBy: string | null;
  valid: boolean;
  problem: string | null;
}

export interface BootStatus {
  running: 'primary' | null;
  runningVersion: string | null;
  primary: SlotInfo;
  secondary: SlotInfo;
  testing: boolean;
  pending: BootState['pending'];
  securityCounter: number;
  lastEvent: number;
  lastReason: RefusalReason | null;
  swapInProgress: boolean;
  mode: BootMode;
  /** Bank the primary (running) slot is: 'a' the first, 'b' the second. */
  activeBank: 'a' | 'b';
}

export interface BootReport {
  event: number;
  reason: RefusalReason | null;
  running: string | null;
  testing: boolean;
}

const EMPTY_SLOT: SlotInfo = {
  present: false,
  version: null,
  imageSize: 0,
  totalSize: 0,
  securityCounter: null,
  boardId: null,
  hash: null,
  signature: null,
  signedBy: null,
  valid: false,
  problem: 'no image',
};

export class Bootloader {
  readonly flash: NorFlash;
  readonly layout: FlashLayout;
  trustedKeys: TrustedKey[];
  readonly boardId: string;
  readonly mode: BootMode;
  private journal: BootJournal;
  private state: BootState;
  private running: 'primary' | null = null;
  /** Upload session (RAM only: a reset ends it, and a resume asks the flash what is written). */
  private upload: { touched: Set<number>; eraseBefore?: number } | null = null;

  constructor(o: BootloaderOptions) {
    this.flash = o.flash;
    this.layout = o.layout;
    this.trustedKeys = o.trustedKeys;
    this.boardId = o.boardId;
    this.mode = o.mode ?? 'swap';
    this.journal = new BootJournal(o.flash, o.layout);
    this.state = this.journal.load();
  }

  get slotSize(): number {
    return slotBytes(this.layout);
  }

  /** First flash sector of a slot: the active bank is the primary slot. */
  private slotSector(slot: 'primary' | 'secondary'): number {
    const bank = slot === 'primary' ? this.state.activeBank : 1 - this.state.activeBank;
    return bank === 0 ? this.layout.primary : this.layout.secondary;
  }

  private slotBase(slot: 'primary' | 'secondary'): number {
    return this.slotSector(slot) * this.layout.sectorSize;
  }

  /** The image in a slot, parsed (null when the slot holds no parsable image). */
  readSlot(slot: 'primary' | 'secondary'): McubootImage | null {
    try {
      return parseImage(this.flash.view(this.slotBase(slot), this.slotSize));
    } catch {
      return null;
    }
  }

  /** Image size a slot's header claims (0 if none), for sizing swaps. */
  private claimedSize(slot: 'primary' | 'secondary'): number {
    const img = this.readSlot(slot);
    if (img) return img.bytes.length;
    try {
      const { header } = decodeHeader(this.flash.view(this.slotBase(slot), 32));
      return Math.min(this.slotSize, header.headerSize + header.imageSize + header.protectedTlvSize + 0x1000);
    } catch {
      return 0;
    }
  }

  private verifySlot(slot: 'primary' | 'secondary', withCounter: boolean): { img: McubootImage | null; result: VerifyResult | null } {
    const img = this.readSlot(slot);
    if (!img) return { img: null, result: null };
    const result = verifyImage(img, {
      trustedKeys: this.trustedKeys,
      boardId: this.boardId,
      minSecurityCounter: withCounter ? this.state.securityCounter : 0,
    });
    return { img, result };
  }

  slotInfo(slot: 'primary' | 'secondary'): SlotInfo {
    const { img, result } = this.verifySlot(slot, slot === 'secondary');
    if (!img || !result) return { ...EMPTY_SLOT };
    return {
      present: true,
      version: formatVersion(img.version),
      imageSize: img.header.imageSize,
      totalSize: img.bytes.length,
      securityCounter: securityCounterOf(img),
      boardId: boardIdOf(img),
      hash: result.hash.computed,
      signature: result.signature.status,
      signedBy: result.signature.trustedKey,
      valid: result.valid,
      problem: result.problems[0] ?? null,
    };
  }

  status(): BootStatus {
    const primary = this.slotInfo('primary');
    return {
      running: this.running,
      runningVersion: this.running ? primary.version : null,
      primary,
      secondary: this.slotInfo('secondary'),
      testing: this.state.testing,
      pending: this.state.pending,
      securityCounter: this.state.securityCounter,
      lastEvent: this.state.lastEvent,
      lastReason: reasonName(this.state.lastReason),
      swapInProgress: this.state.swap !== null,
      mode: this.mode,
      activeBank: this.state.activeBank === 0 ? 'a' : 'b',
    };
  }

  get bootState(): Readonly<BootState> {
    return this.state;
  }

  get runningVersion(): string | null {
    if (!this.running) return null;
    const img = this.readSlot('primary');
    return img ? formatVersion(img.version) : null;
  }

  private commit(next: BootState): void {
    this.journal.append(next);
    this.state = next;
  }

  private async settle(): Promise<void> {
    await this.flash.settle();
  }

  // ---------- boot ----------

  /** Runs the boot decision: resume or start a swap, revert an unconfirmed test, pick the image to run. */
  async boot(): Promise<BootReport> {
    this.upload = null;
    this.running = null;
    this.state = this.journal.load();
    const s = this.state;
    let event: number = BOOT_EVENT.BOOTED;
    let reason: RefusalReason | null = null;
    if (s.swap) {
      event = s.swap.kind === 'revert' ? BOOT_EVENT.REVERTED : s.swap.kind === 'test' ? BOOT_EVENT.SWAPPED_TEST : BOOT_EVENT.SWAPPED_PERM;
      await this.runSwap();
    } else if (s.testing) {
      // The test image was not confirmed: put the previous image back.
      await this.install('revert');
      event = BOOT_EVENT.REVERTED;
    } else if (s.pending !== 'none') {
      const { img, result } = this.verifySlot('secondary', true);
      if (img && result?.valid) {
        const kind = s.pending;
        await this.install(kind);
        event = kind === 'test' ? BOOT_EVENT.SWAPPED_TEST : BOOT_EVENT.SWAPPED_PERM;
      } else {
        reason = result ? (result.reason as RefusalReason) : 'no_image';
        event = BOOT_EVENT.REJECTED;
        this.commit({ ...s, pending: 'none', lastEvent: event, lastReason: REASON_CODES[reason] });
      }
    }
    const primary = this.verifySlot('primary', false);
    if (primary.result?.valid) {
      this.running = 'primary';
    } else {
      // Not reachable through the update paths; kept so a board with a damaged primary recovers.
      const secondary = this.verifySlot('secondary', true);
      if (secondary.result?.valid) {
        await this.install('perm');
        const recovered = this.verifySlot('primary', false);
        this.running = recovered.result?.valid ? 'primary' : null;
        event = this.running ? BOOT_EVENT.RECOVERED : BOOT_EVENT.NO_IMAGE;
      } else {
        event = BOOT_EVENT.NO_IMAGE;
      }
    }
    return { event, reason, running: this.runningVersion, testing: this.state.testing };
  }

  private swapSectorCount(): number {
    const bytes = Math.max(this.claimedSize('primary'), this.claimedSize('secondary'), 1);
    return Math.min(this.layout.slotSectors, Math.ceil(bytes / this.layout.sectorSize));
  }

  /** Starts the secondary image (or the previous one back, for a revert): a swap, or a bank switch. */
  private async install(kind: SwapKind): Promise<void> {
    if (this.mode === 'dual-bank') await this.switchBank(kind);
    else await this.startSwap(kind);
  }

  /**
   * Dual bank: the other bank becomes the one that boots, with the outcome, in a single journal
   * record (one page program): a power cut leaves either the old bank and the pending request (the
   * next boot does it again) or the new bank. Nothing is copied.
   */
  private async switchBank(kind: SwapKind): Promise<void> {
    const flipped: BootState = { ...this.state, pending: 'none', swap: null, activeBank: this.state.activeBank === 0 ? 1 : 0 };
    this.commit(this.finished(kind, flipped));
    await this.settle();
  }

  /** The state once an image has been started in `kind` ('perm' raises the counter to the running image's). */
  private finished(kind: SwapKind, s: BootState): BootState {
    if (kind === 'test') return { ...s, swap: null, testing: true, lastEvent: BOOT_EVENT.SWAPPED_TEST, lastReason: 0 };
    if (kind === 'perm') {
      const counter = Math.max(s.securityCounter, this.bankCounter(s.activeBank));
      return { ...s, swap: null, testing: false, securityCounter: counter, lastEvent: BOOT_EVENT.SWAPPED_PERM, lastReason: 0 };
    }
    return { ...s, swap: null, testing: false, lastEvent: BOOT_EVENT.REVERTED, lastReason: 0 };
  }

  private async startSwap(kind: SwapKind): Promise<void> {
    this.commit({ ...this.state, pending: 'none', swap: { kind, sectors: this.swapSectorCount(), index: 0, step: 0 } });
    await this.settle();
    await this.runSwap();
  }

  private async copySector(fromSector: number, toSector: number): Promise<void> {
    const ss = this.layout.sectorSize;
    const page = this.layout.geometry.pageSize;
    const data = this.flash.read(fromSector * ss, ss);
    this.flash.eraseSector(toSector);
    await this.settle();
    for (let p = 0; p < ss; p += page) {
      const chunk = data.subarray(p, p + page);
      if (chunk.every((b) => b === 0xff)) continue; // erased already
      this.flash.program(toSector * ss + p, chunk);
      await this.settle();
    }
  }

  /** Runs (or resumes) the journaled swap to its end. Each sector: S→scratch, P→S, scratch→P. */
  private async runSwap(): Promise<void> {
    const sw = this.state.swap!;
    const P = this.slotSector('primary');
    const S = this.slotSector('secondary');
    const X = this.layout.scratch;
    for (let i = sw.index; i < sw.sectors; i++) {
      let step = i === sw.index ? sw.step : 0;
      if (step < 1) {
        await this.copySector(S + i, X);
        this.commit({ ...this.state, swap: { ...sw, index: i, step: 1 } });
        step = 1;
      }
      if (step < 2) {
        await this.copySector(P + i, S + i);
        this.commit({ ...this.state, swap: { ...sw, index: i, step: 2 } });
      }
      await this.copySector(X, P + i);
      if (i + 1 < sw.sectors) this.commit({ ...this.state, swap: { ...sw, index: i + 1, step: 0 } });
      await this.settle();
    }
    // The last sector's completion and the outcome go in one record.
    this.commit(this.finished(sw.kind, this.state));
    await this.settle();
  }

  /** Security counter of the image in a bank (0 when there is none). */
  private bankCounter(bank: 0 | 1): number {
    const base = (bank === 0 ? this.layout.primary : this.layout.secondary) * this.layout.sectorSize;
    try {
      return securityCounterOf(parseImage(this.flash.view(base, this.slotSize))) ?? 0;
    } catch {
      return 0;
    }
  }

  private primaryCounter(): number {
    return this.bankCounter(this.state.activeBank);
  }

  // ---------- application-side API (upload, test, confirm, revert) ----------

  private refuseWhileTesting(): void {
    if (this.state.testing) {
      throw new BootRefusal(
        'testing',
        'the running image is in test mode: confirm or revert it before uploading another (the secondary slot holds the fallback image)',
      );
    }
  }

  /**
   * Judges an upload from its meta (32-byte header + TLV areas) without touching flash:
   * trusted key and signature, board id, security counter, size. Throws BootRefusal.
   */
  precheck(meta: Uint8Array): ReturnType<typeof parseImageMeta> {
    const m = parseImageMeta(meta);
    const r = precheckImage(m, {
      trustedKeys: this.trustedKeys,
      boardId: this.boardId,
      minSecurityCounter: this.state.securityCounter,
      maxSize: this.slotSize,
    });
    if (!r.ok) throw new BootRefusal(r.reason as RefusalReason, `image refused: ${r.problems.join('; ')}`);
    return m;
  }

  /** Opens an upload after the precheck. Nothing is erased here; sectors are erased as writes reach them. */
  async beginUpdate(meta: Uint8Array): Promise<{ totalSize: number }> {
    this.refuseWhileTesting();
    const m = this.precheck(meta);
    if (this.state.pending !== 'none') this.commit({ ...this.state, pending: 'none' });
    await this.settle();
    this.upload = { touched: new Set() };
    return { totalSize: m.totalSize };
  }

  /**
   * Opens an upload for the UDS erase routine. Swap: erases the whole secondary slot now (block
   * erases). Dual bank: erases the inactive bank's first sector now, so its old image is gone at
   * once, and the rest of [0, imageSize) as the download reaches it (eraseAhead, writeSecondary)
   * while the bus delivers data; finishErase clears whatever the download left out.
   */
  async eraseSecondary(imageSize = this.slotSize): Promise<void> {
    this.refuseWhileTesting();
    if (this.state.pending !== 'none') this.commit({ ...this.state, pending: 'none' });
    if (this.mode === 'swap') {
      this.upload = { touched: new Set() };
      await this.eraseSecondaryRange(0, this.slotSize);
      return;
    }
    const size = Math.min(Math.max(imageSize, 1), this.slotSize);
    this.upload = { touched: new Set(), eraseBefore: Math.ceil(size / this.layout.sectorSize) };
    await this.eraseAhead(0, 1);
  }

  /**
   * Erases the secondary sectors covering [offset, offset+length) that this upload has not
   * written or erased yet (a sector being written is never erased again). The download calls it
   * for the next block's range while the current block is on the bus.
   */
  async eraseAhead(offset: number, length: number): Promise<void> {
    if (!this.upload) throw new BootRefusal('no_session', 'no upload in progress (begin the update first)');
    this.refuseWhileTesting();
    const ss = this.layout.sectorSize;
    const first = this.slotSector('secondary');
    const end = Math.min(this.layout.slotSectors, Math.ceil((offset + length) / ss));
    for (let s = Math.max(0, Math.floor(offset / ss)); s < end; s++) {
      if (this.upload.touched.has(s)) continue;
      if (!this.flash.isErased((first + s) * ss, ss)) {
        this.flash.eraseSector(first + s);
        await this.settle();
      }
      this.upload.touched.add(s);
    }
  }

  /** Dual bank: erases the sectors of the image range that no download reached (so the slot holds exactly what was sent). */
  async finishErase(): Promise<void> {
    if (this.upload?.eraseBefore) await this.eraseAhead(0, this.upload.eraseBefore * this.layout.sectorSize);
  }

  /**
   * Erases the sectors covering [offset, offset+length) of the secondary slot ahead of an upload
   * (the host names exactly the ranges it will send, so sectors a resume skips are kept). Whole
   * 64 KiB blocks inside the range go with one block erase, the rest sector by sector; sectors
   * already erased are left alone.
   */
  async eraseSecondaryRange(offset: number, length: number): Promise<void> {
    if (!this.upload) throw new BootRefusal('no_session', 'no upload in progress (begin the update first)');
    this.refuseWhileTesting();
    if (offset < 0 || length < 0 || offset + length > this.slotSize) {
      throw new PackscopeError('USAGE', `erase ${offset}+${length} is outside the ${this.slotSize}-byte slot`);
    }
    const ss = this.layout.sectorSize;
    const base = this.slotBase('secondary');
    const firstSector = this.slotSector('secondary');
    const bs = this.layout.geometry.blockSize ?? 0;
    const perBlock = bs ? bs / ss : 0;
    let s = Math.floor(offset / ss);
    const end = Math.ceil((offset + length) / ss);
    while (s < end) {
      if (perBlock && (s * ss) % bs === 0 && s + perBlock <= end) {
        if (!this.flash.isErased(base + s * ss, bs)) {
          this.flash.eraseBlock(base + s * ss);
          await this.settle();
        }
        for (let i = 0; i < perBlock; i++) this.upload.touched.add(s + i);
        s += perBlock;
        continue;
      }
      if (!this.flash.isErased(base + s * ss, ss)) {
        this.flash.eraseSector(firstSector + s);
        await this.settle();
      }
      this.upload.touched.add(s);
      s++;
    }
  }

  /**
   * Programs bytes into the secondary slot. The first write into a sector during an upload erases
   * that sector (unless it is erased already), so a resumed upload rewrites whole sectors.
   */
  async writeSecondary(offset: number, data: Uint8Array): Promise<void> {
    if (!this.upload) throw new BootRefusal('no_session', 'no upload in progress (begin the update first)');
    this.refuseWhileTesting();
    if (offset < 0 || offset + data.length > this.slotSize) {
      throw new PackscopeError('USAGE', `write ${offset}+${data.length} is outside the ${this.slotSize}-byte slot`);
    }
    const ss = this.layout.sectorSize;
    const base = this.slotBase('secondary');
    let p = 0;
    while (p < data.length) {
      const a = offset + p;
      const sector = Math.floor(a / ss);
      const n = Math.min(data.length - p, (sector + 1) * ss - a);
      if (!this.upload.touched.has(sector)) {
        if (!this.flash.isErased(base + sector * ss, ss)) {
          this.flash.eraseSector(this.slotSector('secondary') + sector);
          await this.settle();
        }
        this.upload.touched.add(sector);
      }
      this.flash.program(base + a, data.subarray(p, p + n));
      await this.settle();
      p += n;
    }
  }

  readSecondary(offset: number, length: number): Uint8Array {
    return this.flash.read(this.slotBase('secondary') + offset, length);
  }

  hashSecondary(offset: number, length: number): Uint8Array {
    return sha256(this.flash.view(this.slotBase('secondary') + offset, length));
  }

  /** Complete check of the uploaded image (as the boot will do it). */
  finishUpload(): VerifyResult {
    const { result } = this.verifySlot('secondary', true);
    if (!result) throw new BootRefusal('no_image', 'the secondary slot holds no complete MCUboot image');
    return result;
  }

  private requireValidSecondary(): VerifyResult {
    const r = this.finishUpload();
    if (!r.valid) throw new BootRefusal((r.reason ?? 'no_image') as RefusalReason, `the secondary image is not valid: ${r.problems.join('; ')}`);
    return r;
  }

  /** Marks the secondary image to be run once in test mode at the next boot. */
  async requestTest(): Promise<void> {
    this.refuseWhileTesting();
    this.requireValidSecondary();
    this.upload = null;
    this.commit({ ...this.state, pending: 'test' });
    await this.settle();
  }

  /** Marks the secondary image to be installed for good at the next boot. */
  async requestPermanent(): Promise<void> {
    this.refuseWhileTesting();
    this.requireValidSecondary();
    this.upload = null;
    this.commit({ ...this.state, pending: 'perm' });
    await this.settle();
  }

  /** Confirms the running test image: it stays, and its security counter becomes the minimum. */
  async confirm(): Promise<{ changed: boolean }> {
    if (!this.running) throw new BootRefusal('no_image', 'no image is running');
    if (!this.state.testing) return { changed: false };
    const counter = Math.max(this.state.securityCounter, this.primaryCounter());
    this.commit({ ...this.state, testing: false, securityCounter: counter });
    await this.settle();
    return { changed: true };
  }

  /**
   * Asks for the previous image back at the next boot: an unconfirmed test image is reverted;
   * a confirmed one is swapped with the secondary image if that one is valid (counter included).
   */
  async revert(): Promise<{ mode: 'revert-test' | 'swap-back' }> {
    if (this.state.testing) return { mode: 'revert-test' }; // the next boot reverts by itself
    this.requireValidSecondary();
    this.commit({ ...this.state, pending: 'perm' });
    await this.settle();
    return { mode: 'swap-back' };
  }

  /** Factory programming: writes an image into the primary slot and marks it confirmed (first start). */
  async factoryInstall(image: Uint8Array): Promise<void> {
    const base = this.slotBase('primary');
    const ss = this.layout.sectorSize;
    for (let s = 0; s < Math.ceil(image.length / ss); s++) {
      this.flash.eraseSector(this.slotSector('primary') + s);
      await this.settle();
    }
    this.flash.program(base, image);
    await this.settle();
    const img = parseImage(image);
    this.commit({
      ...this.state,
      testing: false,
      pending: 'none',
      swap: null,
      securityCounter: Math.max(this.state.securityCounter, securityCounterOf(img) ?? 0),
      lastEvent: BOOT_EVENT.NONE,
      lastReason: 0,
    });
  }
}
