import { sha256 } from '@noble/hashes/sha2.js';
import { ROUTINE, SESSION, DID, RESET, type SeedKeyAlgorithm } from '../../../shared/can/uds.js';
import { packscopeHmacSeedKey } from '../../../shared/can/seedkey.js';
import { PackscopeError } from '../../../shared/errors.js';
import { FwStatusSchema, type FwStatus } from '../../../shared/image/fw-status.js';
import { toHex, utf8Decode } from '../../../shared/util/bytes.js';
import type { FirmwareTarget, UploadVerdict, UploadWriteOptions } from '../flasher/target.js';
import { UdsClient } from './uds-client.js';
import { waitForEcu, waitForEcuReset } from './uds-generic.js';

/**
 * The flasher's FirmwareTarget over UDS (ISO 14229) on CAN, so `flash --protocol uds` runs the same
 * image checks, resume logic, progress and test-boot verification as the native flasher:
 *   begin    → 10 02 programming session, 27 01/02 seed and key, 31 01 FF00 erase (the ECU
 *              prechecks the image's header and TLVs before erasing anything);
 *   write    → 34 request download (honouring maxNumberOfBlockLength), 36 transfer data with the
 *              block sequence counter (1 … FF, 00, …), 37 transfer exit;
 *   finish   → 31 01 FF01 check programming dependencies (the ECU's read-back hash);
 *   requestTest / confirm / revert → 31 01 FF02 / FF03 / FF04;  reset → 11 01, then waits for the
 *   ECU to answer again after its swap;  status → 22 FD00 (the bootloader's FW_STATUS document).
 */
export const REFUSAL_REASONS = [
  '',
  'hash_mismatch',
  'hash_missing',
  'missing_signature',
  'unknown_key',
  'bad_signature',
  'wrong_board',
  'security_counter_too_low',
  'too_large',
  'no_image',
  'testing',
  'no_session',
] as const;

export interface UdsTargetOptions {
  seedKey?: SeedKeyAlgorithm;
  /** Security access level (odd: request seed; the key goes to level + 1). */
  securityLevel?: number;
  /** How long to wait for the ECU to come back after a reset (its swap takes seconds). */
  resetTimeoutMs?: number;
  /**
   * Largest TransferData payload we send, whatever the ECU allows (default 64 KiB). Blocks above
   * 4093 bytes need ISO-TP's 32-bit first-frame length, which an ECU announcing such a
   * maxNumberOfBlockLength accepts by announcing it.
   */
  maxBlockPayload?: number;
  /** The firmware status read just before over the same ids (the bootloader probe): answers the first status() instead of a second read. */
  knownStatus?: FwStatus;
}

function routineFailure(what: string, status: Uint8Array): PackscopeError {
  const reason = REFUSAL_REASONS[status[1] ?? 0] || 'refused';
  return new PackscopeError('REFUSED', `${what} refused by the ECU: ${reason.replace(/_/g, ' ')}`, { reason });
}

export class UdsFirmwareTarget implements FirmwareTarget {
  readonly description: string;
  private unlocked = false;
  private erasedSlot = false;
  private slotSize = 0;
  private readonly seedKey: SeedKeyAlgorithm;
  private readonly level: number;
  private readonly resetTimeoutMs: number;
  private readonly maxBlockPayload: number;
  private knownStatus: FwStatus | null;
  /** Payload bytes per TransferData block the ECU accepts (from its maxNumberOfBlockLength). */
  blockPayload = 0;

  constructor(
    readonly uds: UdsClient,
    o: UdsTargetOptions = {},
  ) {
    this.seedKey = o.seedKey ?? packscopeHmacSeedKey();
    this.level = o.securityLevel ?? 1;
    this.resetTimeoutMs = o.resetTimeoutMs ?? 60_000;
    this.maxBlockPayload = o.maxBlockPayload ?? 64 * 1024;
    this.knownStatus = o.knownStatus ?? null;
    this.description = `UDS ECU 0x${uds.txId.toString(16).toUpperCase()}/0x${uds.rxId.toString(16).toUpperCase()}`;
  }

  async status(signal?: AbortSignal): Promise<FwStatus> {
    const known = this.knownStatus;
    this.knownStatus = null;
    if (known) {
      this.slotSize = known.slotSize;
      return known;
    }
    const r = await this.uds.request({ service: 'ReadDataByIdentifier', did: DID.firmwareStatus }, signal);
    let json: unknown;
    try {
      json = JSON.parse(utf8Decode(r.data));
    } catch {
      throw new PackscopeError('PROTOCOL', "the ECU's firmware status (DID FD00) is not JSON");
    }
    const parsed = FwStatusSchema.safeParse(json);
    if (!parsed.success) throw new PackscopeError('PROTOCOL', `the ECU's firmware status does not match the schema: ${parsed.error.issues[0]?.message ?? ''}`);
    this.slotSize = parsed.data.slotSize;
    return parsed.data;
  }

  /** Programming session and security access (once per ECU session). */
  private async unlock(signal?: AbortSignal): Promise<void> {
    if (this.unlocked) return;
    await this.uds.request({ service: 'DiagnosticSessionControl', session: SESSION.programming }, signal);
    const seedRes = await this.uds.request({ service: 'SecurityAccess', subFunction: this.level }, signal);
    if (seedRes.seed.length > 0 && !seedRes.seed.every((b) => b === 0)) {
      const key = await this.seedKey(seedRes.seed, this.level);
      await this.uds.request({ service: 'SecurityAccess', subFunction: this.level + 1, key }, signal);
    }
    this.unlocked = true;
  }

  async begin(meta: Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.unlock(signal);
    const r = await this.uds.request({ service: 'RoutineControl', control: 1, routineId: ROUTINE.eraseMemory, data: meta }, signal);
    if (r.status[0] !== 0) throw routineFailure('the image', r.status);
    this.erasedSlot = true;
  }

  /** Right after the erase routine the slot is erased: every piece reads as 0xFF. */
  async hashes(length: number, granule: number): Promise<Uint8Array[]> {
    if (!this.erasedSlot) throw new PackscopeError('INTERNAL', 'hashes() before begin()');
    const out: Uint8Array[] = [];
    for (let off = 0; off < length; off += granule) out.push(sha256(new Uint8Array(Math.min(granule, length - off)).fill(0xff)));
    return out;
  }

  async write(offset: number, data: Uint8Array, o: UploadWriteOptions): Promise<void> {
    await this.unlock(o.signal);
    const dl = await this.uds.request({ service: 'RequestDownload', dataFormat: 0, address: offset, size: data.length }, o.signal);
    // maxNumberOfBlockLength counts the whole TransferData request: SID and counter included.
    const payload = Math.min(dl.maxNumberOfBlockLength - 2, this.maxBlockPayload);
    if (payload < 1) throw new PackscopeError('PROTOCOL', `the ECU allows blocks of ${dl.maxNumberOfBlockLength} bytes, too small for any data`);
    this.blockPayload = payload;
    let seq = 1;
    for (let p = 0; p < data.length; p += payload) {
      const block = data.subarray(p, Math.min(data.length, p + payload));
      const r = await this.uds.request({ service: 'TransferData', sequence: seq, data: block }, o.signal);
      if (r.sequence !== seq) throw new PackscopeError('PROTOCOL', `ECU acknowledged block ${r.sequence}, expected ${seq}`);
      seq = (seq + 1) & 0xff;
      o.onProgress?.(p + block.length);
    }
    await this.uds.request({ service: 'RequestTransferExit', data: new Uint8Array(0) }, o.signal);
  }

  async finish(signal?: AbortSignal): Promise<UploadVerdict> {
    await this.unlock(signal);
    const r = await this.uds.request(
      { service: 'RoutineControl', control: 1, routineId: ROUTINE.checkProgrammingDependencies, data: new Uint8Array(0) },
      signal,
    );
    const valid = r.status[0] === 0;
    const reason = valid ? null : REFUSAL_REASONS[r.status[1] ?? 0] || 'refused';
    return { valid, reason, problems: reason ? [reason.replace(/_/g, ' ')] : [], hash: toHex(r.status.subarray(2, 34)) };
  }

  private async simpleRoutine(routineId: number, data: Uint8Array, what: string, signal?: AbortSignal): Promise<Uint8Array> {
    await this.unlock(signal);
    const r = await this.uds.request({ service: 'RoutineControl', control: 1, routineId, data }, signal);
    if (r.status[0] !== 0) throw routineFailure(what, r.status);
    return r.status;
  }

  async requestTest(signal?: AbortSignal): Promise<void> {
    await this.simpleRoutine(ROUTINE.activateImage, Uint8Array.of(0), 'activating the image', signal);
  }

  async confirm(signal?: AbortSignal): Promise<{ changed: boolean }> {
    const s = await this.simpleRoutine(ROUTINE.confirmImage, new Uint8Array(0), 'confirming the image', signal);
    return { changed: s[1] === 1 };
  }

  async revert(signal?: AbortSignal): Promise<{ mode: string }> {
    const s = await this.simpleRoutine(ROUTINE.revertImage, new Uint8Array(0), 'reverting', signal);
    return { mode: s[1] === 1 ? 'swap-back' : 'revert-test' };
  }

  /**
   * ECU reset, then wait until the ECU answers again (it is silent while it boots, and while a
   * swap bootloader copies). From the programming session the answer that proves the reset is
   * the default session (F186); otherwise tester present after a guard time.
   */
  async reset(signal?: AbortSignal): Promise<void> {
    await this.uds.request({ service: 'EcuReset', resetType: RESET.hard }, signal);
    const fromProgramming = this.unlocked;
    this.unlocked = false;
    this.erasedSlot = false;
    if (fromProgramming) await waitForEcuReset(this.uds, this.resetTimeoutMs, signal);
    else await waitForEcu(this.uds, this.resetTimeoutMs, signal);
  }
}
