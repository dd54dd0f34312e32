import { dataFrame, type CanFrame } from '../../../shared/can/frame.js';
import { IsoTpEndpoint } from '../../../shared/can/isotp.js';
import { createRealClock } from '../../../shared/util/clock.js';
import {
  DID,
  NRC,
  ROUTINE,
  SESSION,
  SID,
  decodeRequest,
  encodeResponse,
  nextBlockSequence,
  type SeedKeyAlgorithm,
  type UdsRequest,
  type UdsResponse,
} from '../../../shared/can/uds.js';
import { packscopeHmacSeedKey } from '../../../shared/can/seedkey.js';
import { isPackscopeError } from '../../../shared/errors.js';
import { fromHex, utf8Encode } from '../../../shared/util/bytes.js';
import { fwStatusOf } from '../boot/status.js';
import type { Random } from '../../../shared/util/random.js';
import { BootRefusal, REASON_CODES, type RefusalReason } from '../boot/bootloader.js';
import type { BusPort, CanBus } from './bus.js';
import type { BoardFirmware } from './flash-target.js';

/**
 * The board's UDS bootloader node (ISO 14229 over ISO-TP): physical request id 0x7E0, response
 * 0x7E8 by default. The flashing sequence it serves, and what it enforces:
 *   0x10 02 programming session (from default or extended); S3 = 5 s without a request drops back
 *        to the default session and locks security again;
 *   0x27 01/02 seed and key (pluggable algorithm); 3 wrong keys → exceedNumberOfAttempts and a
 *        10 s delay (requiredTimeDelayNotExpired);
 *   0x31 01 FF00 erase: the option record is the image's header and TLV areas; the bootloader
 *        prechecks them (trusted key, signature, board, security counter, size) and only then
 *        erases the secondary slot (status record: 00 ok, or 01 + refusal reason code). A swap
 *        bootloader erases the whole slot here; a dual-bank one its first sector, then each
 *        block's sectors just ahead of the download, and any the download skipped before FF01;
 *   0x34 request download into the erased secondary slot (address = offset in the slot, format 00;
 *        several downloads may follow one erase); answers maxNumberOfBlockLength = 16386 (16 KiB
 *        of data per block: ISO-TP messages above 4095 bytes use the 32-bit first-frame length of
 *        ISO 15765-2:2016; clients limited to 4095 simply send smaller blocks);
 *   0x36 transfer data with the block sequence counter (1, 2, … FF, 00, …); a repeated block is
 *        acknowledged without writing again, any other counter is wrongBlockSequenceCounter;
 *   0x37 transfer exit once every byte announced has arrived;
 *   0x31 01 FF01 check dependencies: verifies the complete image as the boot will; status record
 *        00|01, reason code, SHA-256 of the hashed region (the read-back hash);
 *   0x31 01 FF02 activate (option 00 test boot, 01 permanent), FF03 confirm, FF04 revert;
 *   0x11 01 reset: the board reboots, the bootloader swaps the image in or switches banks;
 *   0x22 F18C serial, F180 bootloader version, F181 running version, F186 active session,
 *        FD00 firmware status (JSON, the native FW_STATUS document);
 *   0x3E tester present.
 * Slow steps (erase, programming, verification) answer 0x78 responsePending first, as real
 * bootloaders do, so the client keeps waiting (P2* = 5 s, repeated).
 */
export interface UdsNodeOptions {
  requestId?: number;
  responseId?: number;
  seedKey?: SeedKeyAlgorithm;
  /** ms of silence after which a non-default session ends (S3server). */
  s3Ms?: number;
  /** maxNumberOfBlockLength announced in 0x74 (TransferData request size, SID and counter included). */
  maxBlockLength?: number;
  /** Frames the CAN controller's transmit queue holds (default 16, FDCAN/FlexCAN class). */
  txQueueDepth?: number;
}

/** The simulated ECU's clock: its timers never keep the process alive. */
const simClock = createRealClock({ background: true });
const P2_MS = 50;
const P2_STAR_MS = 5000;
const LOCKOUT_MS = 10_000;

interface Download {
  /** Slot offset the download starts at. */
  start: number;
  size: number;
  offset: number;
  /** Counter of the last block accepted (0 before the first). */
  lastSeq: number;
  lastLength: number;
  writing: Promise<void>;
  writeError: unknown;
}

class Negative extends Error {
  constructor(readonly nrc: number) {
    super(`NRC 0x${nrc.toString(16)}`);
  }
}

export class UdsBootloaderNode {
  readonly requestId: number;
  readonly responseId: number;
  private port: BusPort | null = null;
  private iso: IsoTpEndpoint | null = null;
  private session: number = SESSION.default;
  private unlocked = false;
  private seed: Uint8Array | null = null;
  private failedKeys = 0;
  private lockedUntil = 0;
  private erased = false;
  private download: Download | null = null;
  private busy = false;
  private offline = false;
  private cancelS3: (() => void) | null = null;
  /** Frames handed to the controller and not yet on the bus (oldest first). */
  private txInFlight: Array<Promise<void>> = [];
  private readonly txQueueDepth: number;
  private readonly seedKey: SeedKeyAlgorithm;
  private readonly s3Ms: number;
  private readonly bitrate: number;
  readonly maxBlockLength: number;

  constructor(
    private bus: CanBus,
    private firmware: () => Promise<BoardFirmware>,
    private rng: Random,
    options: UdsNodeOptions = {},
    private identity: { serial: string; bootloaderVersion: string } = { serial: '', bootloaderVersion: '' },
  ) {
    this.requestId = options.requestId ?? 0x7e0;
    this.responseId = options.responseId ?? 0x7e8;
    this.seedKey = options.seedKey ?? packscopeHmacSeedKey();
    this.s3Ms = options.s3Ms ?? 5000;
    this.maxBlockLength = options.maxBlockLength ?? 16 * 1024 + 2;
    this.bitrate = bus.bitrate;
    this.txQueueDepth = Math.max(1, options.txQueueDepth ?? 16);
  }

  start(): void {
    this.port = this.bus.attach({
      name: 'uds-bootloader',
      bitrate: () => this.bitrate,
      receive: (f) => this.onFrame(f),
    });
    const port = this.port;
    this.iso = new IsoTpEndpoint((data) => this.transmit(port, data), simClock, {
      padding: 0xcc,
      blockSize: 0,
      stMin: 0,
      nCrMs: 1000,
      nBsMs: 1000,
      maxLength: Math.max(4095, this.maxBlockLength),
    });
    this.iso.onMessage((msg) => void this.onRequest(msg));
  }

  stop(): void {
    this.cancelS3?.();
    this.port?.detach();
    this.port = null;
    this.iso = null;
  }

  /**
   * Hands a frame to the controller's transmit queue: ISO-TP may write the next frame as soon as
   * there is room, not only after the previous one has left, as firmware filling a hardware TX
   * queue from its interrupt does. (Waiting for each frame to complete would pace responses by the
   * simulator's ~1 ms timers instead of the bus: a 1 KB status answer took 130 ms instead of 30.)
   */
  private async transmit(port: BusPort, data: Uint8Array): Promise<void> {
    while (this.txInFlight.length >= this.txQueueDepth) await this.txInFlight[0];
    const sent: Promise<void> = port
      .transmit(dataFrame(this.responseId, data))
      .catch(() => undefined)
      .finally(() => {
        this.txInFlight = this.txInFlight.filter((p) => p !== sent);
      });
    this.txInFlight.push(sent);
  }

  private onFrame(f: CanFrame): void {
    if (this.offline || f.extended || f.remote || f.id !== this.requestId) return;
    this.iso?.handleFrame(f.data);
  }

  private send(r: UdsResponse): Promise<void> {
    return this.iso ? this.iso.send(encodeResponse(r)).catch(() => undefined) : Promise.resolve();
  }

  private toDefaultSession(): void {
    this.session = SESSION.default;
    this.unlocked = false;
    this.seed = null;
    this.download = null;
    this.erased = false;
  }

  private armS3(): void {
    this.cancelS3?.();
    this.cancelS3 = null;
    if (this.session === SESSION.default) return;
    this.cancelS3 = simClock.after(this.s3Ms, () => {
      if (!this.busy) this.toDefaultSession();
    });
  }

  private async onRequest(msg: Uint8Array): Promise<void> {
    const sid = msg[0] ?? 0;
    if (this.busy) {
      // Tester present keeps the session alive while a long step runs (answered unless
      // suppressed); anything else is asked to come again.
      if (sid === SID.TesterPresent) {
        this.armS3();
        if (msg.length === 2 && msg[1] === 0x00) await this.send({ service: 'TesterPresent' });
      } else await this.send({ service: 'negative', sid, nrc: 0x21 });
      return;
    }
    this.busy = true;
    let req: UdsRequest | null = null;
    let pendingTimer: (() => void) | null = null;
    try {
      try {
        req = decodeRequest(msg);
      } catch {
        throw new Negative(msg.length && [0x10, 0x11, 0x27, 0x31, 0x34, 0x36, 0x37, 0x3e].includes(sid) ? NRC.incorrectMessageLength : NRC.serviceNotSupported);
      }
      // Answer 0x78 when a step takes longer than P2, and again before P2* runs out.
      const pending = () => {
        void this.send({ service: 'negative', sid, nrc: NRC.responsePending });
        pendingTimer = simClock.after(P2_STAR_MS / 2, pending);
      };
      pendingTimer = simClock.after(P2_MS * 0.8, pending);
      const res = await this.handle(req);
      pendingTimer?.();
      pendingTimer = null;
      const suppress = 'suppressResponse' in req && req.suppressResponse;
      if (res && !suppress) await this.send(res.response);
      res?.after?.();
    } catch (e) {
      (pendingTimer as (() => void) | null)?.();
      const nrc = e instanceof Negative ? e.nrc : NRC.generalProgrammingFailure;
      await this.send({ service: 'negative', sid, nrc });
    } finally {
      this.busy = false;
      this.armS3();
    }
  }

  private requireProgramming(): void {
    if (this.session !== SESSION.programming) throw new Negative(NRC.serviceNotSupportedInActiveSession);
  }

  private requireUnlocked(): void {
    this.requireProgramming();
    if (!this.unlocked) throw new Negative(NRC.securityAccessDenied);
  }

  private async handle(req: UdsRequest): Promise<{ response: UdsResponse; after?: () => void } | null> {
    switch (req.service) {
      case 'DiagnosticSessionControl': {
        if (![SESSION.default, SESSION.programming, SESSION.extended].includes(req.session as 1 | 2 | 3)) throw new Negative(NRC.subFunctionNotSupported);
        if (req.session === SESSION.default) this.toDefaultSession();
        else if (req.session !== this.session) {
          this.unlocked = false;
          this.seed = null;
        }
        this.session = req.session;
        return { response: { service: 'DiagnosticSessionControl', session: req.session, p2Ms: P2_MS, p2StarMs: P2_STAR_MS } };
      }
      case 'TesterPresent':
        return { response: { service: 'TesterPresent' } };
      case 'ReadDataByIdentifier': {
        const fw = await this.firmware();
        let data: Uint8Array;
        if (req.did === DID.ecuSerialNumber) data = utf8Encode(this.identity.serial);
        else if (req.did === DID.bootSoftwareId) data = utf8Encode(this.identity.bootloaderVersion);
        else if (req.did === DID.applicationSoftwareId) data = utf8Encode(fw.target.runningVersion ?? '');
        else if (req.did === DID.activeDiagnosticSession) data = Uint8Array.of(this.session);
        else if (req.did === DID.firmwareStatus) data = utf8Encode(JSON.stringify(fwStatusOf(fw.target)));
        else throw new Negative(NRC.requestOutOfRange);
        if (data.length > 4092) throw new Negative(0x14); // responseTooLong
        return { response: { service: 'ReadDataByIdentifier', did: req.did, data } };
      }
      case 'SecurityAccess': {
        this.requireProgramming();
        if (req.subFunction !== 1 && req.subFunction !== 2) throw new Negative(NRC.subFunctionNotSupported);
        if (req.subFunction === 1) {
          if (simClock.now() < this.lockedUntil) throw new Negative(NRC.requiredTimeDelayNotExpired);
          if (this.unlocked) return { response: { service: 'SecurityAccess', subFunction: 1, seed: new Uint8Array(4) } };
          this.seed = Uint8Array.from({ length: 4 }, () => this.rng.int(256));
          if (this.seed.every((b) => b === 0)) this.seed[3] = 1; // an all-zero seed means "already unlocked"
          return { response: { service: 'SecurityAccess', subFunction: 1, seed: this.seed } };
        }
        if (!this.seed) throw new Negative(NRC.requestSequenceError);
        const expected = await this.seedKey(this.seed, 1);
        const key = req.key ?? new Uint8Array(0);
        this.seed = null;
        if (key.length !== expected.length || key.some((b, i) => b !== expected[i])) {
          if (++this.failedKeys >= 3) {
            this.failedKeys = 0;
            this.lockedUntil = simClock.now() + LOCKOUT_MS;
            throw new Negative(NRC.exceedNumberOfAttempts);
          }
          throw new Negative(NRC.invalidKey);
        }
        this.failedKeys = 0;
        this.unlocked = true;
        return { response: { service: 'SecurityAccess', subFunction: 2, seed: new Uint8Array(0) } };
      }
      case 'RoutineControl': {
        this.requireUnlocked();
        if (req.control !== 1) throw new Negative(NRC.subFunctionNotSupported);
        if (req.routineId === ROUTINE.eraseMemory) return { response: await this.erase(req.data) };
        if (req.routineId === ROUTINE.checkProgrammingDependencies) return { response: await this.checkDependencies() };
        if (req.routineId === ROUTINE.activateImage) return { response: await this.activate(req.data) };
        if (req.routineId === ROUTINE.confirmImage || req.routineId === ROUTINE.revertImage) return { response: await this.confirmOrRevert(req.routineId) };
        throw new Negative(NRC.requestOutOfRange);
      }
      case 'RequestDownload': {
        this.requireUnlocked();
        if (!this.erased) throw new Negative(NRC.conditionsNotCorrect);
        if (req.dataFormat !== 0) throw new Negative(NRC.requestOutOfRange);
        const fw = await this.firmware();
        if (req.size === 0 || req.address + req.size > fw.target.slotSize) throw new Negative(NRC.uploadDownloadNotAccepted);
        this.download = { start: req.address, size: req.size, offset: 0, lastSeq: 0, lastLength: 0, writing: Promise.resolve(), writeError: null };
        return { response: { service: 'RequestDownload', maxNumberOfBlockLength: this.maxBlockLength, lengthBytes: this.maxBlockLength > 0xffff ? 4 : 2 } };
      }
      case 'TransferData': {
        this.requireUnlocked();
        const d = this.download;
        if (!d) throw new Negative(NRC.requestSequenceError);
        if (d.writeError) throw new Negative(NRC.generalProgrammingFailure);
        const expected = nextBlockSequence(d.lastSeq);
        if (req.sequence === d.lastSeq && d.lastLength === req.data.length && d.offset > 0) {
          // The client did not hear our answer and sent the block again: acknowledge, do not rewrite.
          return { response: { service: 'TransferData', sequence: req.sequence, data: new Uint8Array(0) } };
        }
        if (req.sequence !== expected) throw new Negative(NRC.wrongBlockSequenceCounter);
        if (req.data.length === 0 || req.data.length > this.maxBlockLength - 2 || d.offset + req.data.length > d.size)
          throw new Negative(NRC.transferDataSuspended);
        // Double buffering: the previous block must be in flash before this one is acknowledged;
        // this one is programmed while the next arrives.
        await d.writing;
        if (d.writeError) throw new Negative(NRC.generalProgrammingFailure);
        const fw = await this.firmware();
        const offset = d.start + d.offset;
        const data = req.data;
        const end = d.start + d.size;
        d.writing = (async () => {
          await fw.target.writeSecondary(offset, data);
          // Erase ahead: the next block's sectors, while that block is on the bus (a dual-bank
          // bootloader erases as the download goes; after a whole-slot erase this finds nothing to do).
          const next = offset + data.length;
          if (next < end) await fw.target.eraseAhead(next, Math.min(data.length, end - next));
        })().catch((e: unknown) => {
          d.writeError = e;
        });
        d.offset += data.length;
        d.lastSeq = req.sequence;
        d.lastLength = data.length;
        return { response: { service: 'TransferData', sequence: req.sequence, data: new Uint8Array(0) } };
      }
      case 'RequestTransferExit': {
        this.requireUnlocked();
        const d = this.download;
        if (!d) throw new Negative(NRC.requestSequenceError);
        await d.writing;
        if (d.writeError) throw new Negative(NRC.generalProgrammingFailure);
        if (d.offset !== d.size) throw new Negative(NRC.requestSequenceError);
        this.download = null;
        return { response: { service: 'RequestTransferExit', data: new Uint8Array(0) } };
      }
      case 'EcuReset': {
        if (req.resetType !== 1 && req.resetType !== 3) throw new Negative(NRC.subFunctionNotSupported);
        return { response: { service: 'EcuReset', resetType: req.resetType }, after: () => void this.reboot() };
      }
    }
  }

  private statusFor(e: unknown): Uint8Array {
    if (e instanceof BootRefusal) return Uint8Array.of(0x01, REASON_CODES[e.reason as RefusalReason] ?? 0);
    if (isPackscopeError(e) && e.code === 'DECODE') return Uint8Array.of(0x01, 0);
    throw e;
  }

  private async erase(meta: Uint8Array): Promise<UdsResponse> {
    const fw = await this.firmware();
    this.erased = false;
    this.download = null;
    try {
      const m = fw.target.precheck(meta);
      await fw.target.eraseSecondary(m.totalSize);
    } catch (e) {
      if (e instanceof BootRefusal && e.reason === 'testing') throw new Negative(NRC.conditionsNotCorrect);
      return { service: 'RoutineControl', control: 1, routineId: ROUTINE.eraseMemory, status: this.statusFor(e) };
    }
    this.erased = true;
    return { service: 'RoutineControl', control: 1, routineId: ROUTINE.eraseMemory, status: Uint8Array.of(0) };
  }

  private routine(routineId: number, status: Uint8Array): UdsResponse {
    return { service: 'RoutineControl', control: 1, routineId, status };
  }

  private async checkDependencies(): Promise<UdsResponse> {
    const fw = await this.firmware();
    if (this.download) throw new Negative(NRC.requestSequenceError);
    let r;
    try {
      await fw.target.finishErase();
      r = fw.target.finishUpload();
    } catch (e) {
      return this.routine(ROUTINE.checkProgrammingDependencies, this.statusFor(e));
    }
    const code = r.valid ? 0 : r.reason ? (REASON_CODES[r.reason as RefusalReason] ?? 0) : 0;
    return this.routine(ROUTINE.checkProgrammingDependencies, Uint8Array.of(r.valid ? 0 : 1, code, ...fromHex(r.hash.computed ?? '')));
  }

  private async activate(option: Uint8Array): Promise<UdsResponse> {
    const fw = await this.firmware();
    if (this.download) throw new Negative(NRC.requestSequenceError);
    try {
      await fw.target.finishErase();
      if (option[0] === 1) await fw.target.requestPermanent();
      else await fw.target.requestTest();
    } catch (e) {
      return this.routine(ROUTINE.activateImage, this.statusFor(e));
    }
    this.erased = false;
    return this.routine(ROUTINE.activateImage, Uint8Array.of(0));
  }

  private async confirmOrRevert(routineId: number): Promise<UdsResponse> {
    const fw = await this.firmware();
    try {
      if (routineId === ROUTINE.confirmImage) {
        const { changed } = await fw.target.confirm();
        return this.routine(routineId, Uint8Array.of(0, changed ? 1 : 0));
      }
      const { mode } = await fw.target.revert();
      return this.routine(routineId, Uint8Array.of(0, mode === 'swap-back' ? 1 : 0));
    } catch (e) {
      return this.routine(routineId, this.statusFor(e));
    }
  }

  /** ECU reset: offline while the board reboots (the bootloader may swap images), then default session. */
  private async reboot(): Promise<void> {
    this.offline = true;
    this.toDefaultSession();
    try {
      const fw = await this.firmware();
      await fw.reboot();
    } finally {
      this.offline = false;
    }
  }
}
