import { crc32 } from '../../../shared/protocol/crc32.js';
import { seedKeyAlgorithm } from '../../../shared/can/seedkey.js';
import { DID, SESSION, UdsNegativeResponseError, NRC, addressAndLengthRecord, uintBytes, type SeedKeyAlgorithm } from '../../../shared/can/uds.js';
import type { UdsProfile } from '../../../shared/can/uds-profile.js';
import { PackscopeError } from '../../../shared/errors.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { toHex, utf8Decode } from '../../../shared/util/bytes.js';
import { ProgressMeter } from '../util/progress.js';
import type { UdsClient } from './uds-client.js';

/**
 * Flashing an ordinary ISO 14229 bootloader, step by step as its target profile
 * (shared/can/uds-profile.ts) says, with standard services only:
 *   identifiers (22, default session) → sessions (10 03, 10 02; the ECU's P2/P2* adopted) →
 *   security access (27 level / level+1, when the profile names one) → per segment: erase routine
 *   (31 01 FF00 with address and length), request download (34; maxNumberOfBlockLength honoured,
 *   SID and counter included), transfer data (36; block sequence counter 01 … FF, 00, 01 …; a block
 *   that got no answer is sent once more with the same counter, which ISO 14229 makes idempotent),
 *   request transfer exit (37) → check routine (31 01 FF01, optionally with the CRC-32 of the data)
 *   → ECU reset (11 01), wait until it answers again, identifiers again.
 * Response-pending (7F xx 78) is waited out by the client (P2*, repeatedly); ISO-TP flow control
 * (block size, STmin, WAIT) by the ISO-TP layer. Nothing here knows PackScope's bootloader.
 */
export interface UdsSegment {
  address: number;
  data: Uint8Array;
}

export interface UdsProfileFlashOptions {
  /** Overrides the profile's seed-to-key algorithm (a name in SEED_KEY_ALGORITHMS or a function). */
  seedKey?: string | SeedKeyAlgorithm;
  /** How long to wait for the ECU to answer after its reset (default 30 s). */
  resetTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress & { phase: 'erase' | 'write' | 'verify' }) => void;
  log?: (line: string) => void;
}

export interface EcuIdentity {
  softwareVersion: string | null;
  serial: string | null;
}

export interface UdsProfileFlashReport {
  profile: string;
  ecu: string;
  before: EcuIdentity;
  /** Read after the reset; null when the profile does not reset the ECU. */
  after: EcuIdentity | null;
  segments: Array<{ address: number; size: number }>;
  bytesTotal: number;
  /** TransferData requests sent (retransmissions not counted). */
  blocks: number;
  /** Data bytes per TransferData request, from the ECU's maxNumberOfBlockLength. */
  blockPayload: number;
  maxNumberOfBlockLength: number;
  /** Times the block sequence counter wrapped from FF to 00. */
  sequenceWraps: number;
  /** Blocks sent a second time after the ECU did not answer. */
  retransmissions: number;
  /** Response-pending answers the ECU gave. */
  responsePending: number;
  /** CRC-32 of the data, segment after segment (hex). */
  crc32: string;
  /** The check routine's verdict (null: the profile has none). */
  checked: boolean | null;
  reset: boolean;
  eraseSeconds: number;
  uploadSeconds: number;
  seconds: number;
  /** Data bytes per second during the transfers. */
  payloadRate: number;
}

function cancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled');
}

/** Reads a data identifier as text; an identifier the ECU does not have is null (not an error). */
async function readIdentifier(uds: UdsClient, did: number | null, signal?: AbortSignal): Promise<string | null> {
  if (did === null) return null;
  try {
    const r = await uds.request({ service: 'ReadDataByIdentifier', did }, signal);
    const text = utf8Decode(r.data).replace(/\0+$/, '');
    return /^[\x20-\x7e]*$/.test(text) ? text.trim() : toHex(r.data);
  } catch (e) {
    if (e instanceof UdsNegativeResponseError) return null;
    throw e;
  }
}

export async function readEcuIdentity(uds: UdsClient, profile: UdsProfile, signal?: AbortSignal): Promise<EcuIdentity> {
  return {
    softwareVersion: await readIdentifier(uds, profile.identifiers.softwareVersion, signal),
    serial: await readIdentifier(uds, profile.identifiers.serial, signal),
  };
}

/**
 * After the positive answer to EcuReset an ECU still needs a moment to go down; a probe answered
 * within it would come from the ECU before its reset. Real ECUs reset within milliseconds.
 */
export const RESET_GUARD_MS = 100;
/**
 * How long one tester-present probe waits while the ECU restarts. Short, so the ECU is seen back
 * within this much of its first answer (waiting the full P2 per probe cost up to 2.5 s); a link
 * slower than this only costs more probes, never a false timeout: the overall limit is `timeoutMs`.
 */
export const RESET_POLL_MS = 100;

/** Tester present until the ECU answers again after a reset (it is silent while it restarts); resolves to the ms waited. */
export async function waitForEcu(uds: Pick<UdsClient, 'request' | 'clock'>, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const clock = uds.clock;
  const start = clock.now();
  await clock.sleep(RESET_GUARD_MS, signal);
  for (;;) {
    if (signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled while the ECU restarts');
    try {
      await uds.request({ service: 'TesterPresent' }, signal, { timeoutMs: RESET_POLL_MS });
      return clock.now() - start;
    } catch (e) {
      if ((e as PackscopeError).code !== 'TIMEOUT') throw e;
      if (clock.now() - start > timeoutMs) throw new PackscopeError('TIMEOUT', `the ECU did not answer within ${timeoutMs / 1000} s after its reset`);
    }
  }
}

/** Between two session reads that still find the ECU before its reset. */
export const RESET_SESSION_POLL_MS = 5;
/**
 * How long one session read waits while the ECU boots. Shorter than RESET_POLL_MS because an
 * answer is proof whenever it comes: one that arrives after its read gave up is taken by the
 * next read (same service, same identifier), so a slow link costs reads, never a wrong verdict.
 */
export const RESET_SESSION_PROBE_MS = 20;

/**
 * After EcuReset, for an ECU that was in a non-default session: waits until it answers in the
 * default session (ISO 14229 puts an ECU there after every reset), read from the standard active
 * session identifier F186. That is proof the reset happened, so no fixed guard time is spent; an
 * answer still naming the old session means the ECU has not reset yet and is asked again shortly.
 * An ECU without F186 (a negative response) is waited for as waitForEcu does, guard included.
 * Resolves to the ms waited.
 */
export async function waitForEcuReset(uds: Pick<UdsClient, 'request' | 'clock'>, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const clock = uds.clock;
  const start = clock.now();
  for (;;) {
    if (signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled while the ECU restarts');
    try {
      const r = await uds.request({ service: 'ReadDataByIdentifier', did: DID.activeDiagnosticSession }, signal, { timeoutMs: RESET_SESSION_PROBE_MS });
      if (r.data.length === 1 && r.data[0] === SESSION.default) return clock.now() - start;
      await clock.sleep(RESET_SESSION_POLL_MS, signal);
    } catch (e) {
      if (e instanceof UdsNegativeResponseError) {
        const spent = clock.now() - start;
        return spent + (await waitForEcu(uds, Math.max(0, timeoutMs - spent), signal));
      }
      if ((e as PackscopeError).code !== 'TIMEOUT') throw e;
    }
    if (clock.now() - start > timeoutMs) throw new PackscopeError('TIMEOUT', `the ECU did not answer within ${timeoutMs / 1000} s after its reset`);
  }
}

function routineVerdict(status: Uint8Array): boolean {
  // ISO 14229 leaves routineStatusRecord to the manufacturer; the common convention (and
  // AUTOSAR's) is a first byte of 00 for "correct". A positive answer without a record is success.
  return status.length === 0 || status[0] === 0;
}

export async function flashWithProfile(
  uds: UdsClient,
  profile: UdsProfile,
  segments: UdsSegment[],
  o: UdsProfileFlashOptions = {},
): Promise<UdsProfileFlashReport> {
  if (profile.extensions === 'packscope') throw new PackscopeError('INTERNAL', "the 'packscope' profile runs through the MCUboot flasher");
  if (segments.length === 0 || segments.some((s) => s.data.length === 0)) throw new PackscopeError('USAGE', 'nothing to flash: the image has no data');
  const t0 = performance.now();
  const log = o.log ?? (() => undefined);
  const signal = o.signal;
  const pendingBefore = uds.pendingSeen;
  const total = segments.reduce((n, s) => n + s.data.length, 0);
  const ecu = `ECU 0x${uds.txId.toString(16).toUpperCase()}/0x${uds.rxId.toString(16).toUpperCase()}`;

  const before = await readEcuIdentity(uds, profile, signal);
  log(`${ecu}: software ${before.softwareVersion ?? '(not readable)'}, serial ${before.serial ?? '(not readable)'} — profile '${profile.name}'`);

  for (const s of [...profile.preSessions, profile.programmingSession]) {
    cancelled(signal);
    const r = await uds.request({ service: 'DiagnosticSessionControl', session: s }, signal);
    uds.adoptTiming(r.p2Ms, r.p2StarMs);
  }
  log(`programming session 0x${profile.programmingSession.toString(16).padStart(2, '0')} (ECU P2* ${uds.timing.p2StarMs} ms with margin)`);

  if (profile.securityAccess) {
    const level = profile.securityAccess.level;
    const algo = typeof o.seedKey === 'function' ? o.seedKey : seedKeyAlgorithm(o.seedKey ?? profile.securityAccess.algorithm);
    const seed = await uds.request({ service: 'SecurityAccess', subFunction: level }, signal);
    // An all-zero seed means the level is already unlocked (ISO 14229-1 9.4).
    if (seed.seed.length > 0 && !seed.seed.every((b) => b === 0)) {
      const key = await algo(seed.seed, level);
      await uds.request({ service: 'SecurityAccess', subFunction: level + 1, key }, signal);
    }
    log(`security access level 0x${level.toString(16).padStart(2, '0')} granted`);
  }

  const { addressBytes, sizeBytes, dataFormat } = profile.memory;
  let eraseSeconds = 0;
  let uploadSeconds = 0;
  let blocks = 0;
  let wraps = 0;
  let retransmissions = 0;
  let blockPayload = 0;
  let maxBlockLength = 0;
  let crc = 0;
  let doneBefore = 0;
  const meter = new ProgressMeter(total);
  const progress = (done: number, phase: 'erase' | 'write' | 'verify') => o.onProgress?.({ done, total, ...meter.measure(done), phase });

  for (const seg of segments) {
    const size = seg.data.length;
    const record = addressAndLengthRecord(seg.address, size, addressBytes, sizeBytes);
    if (profile.erase) {
      cancelled(signal);
      progress(doneBefore, 'erase');
      const tE = performance.now();
      const data = profile.erase.record === 'address-and-length' ? record : new Uint8Array(0);
      const r = await uds.request({ service: 'RoutineControl', control: 1, routineId: profile.erase.routineId, data }, signal);
      if (!routineVerdict(r.status)) {
        throw new PackscopeError(
          'DEVICE',
          `the ECU's erase routine 0x${profile.erase.routineId.toString(16)} reported failure (status ${toHex(r.status, ' ')})`,
        );
      }
      eraseSeconds += (performance.now() - tE) / 1000;
      log(`erased ${size} bytes at 0x${seg.address.toString(16)} in ${((performance.now() - tE) / 1000).toFixed(2)} s`);
    }
    cancelled(signal);
    const dl = await uds.request({ service: 'RequestDownload', dataFormat, address: seg.address, size, addressBytes, sizeBytes }, signal);
    maxBlockLength = dl.maxNumberOfBlockLength;
    // maxNumberOfBlockLength counts the whole TransferData request: SID and counter included.
    const payload = Math.min(dl.maxNumberOfBlockLength - 2, profile.maxBlockPayload ?? 64 * 1024);
    if (payload < 1) throw new PackscopeError('PROTOCOL', `the ECU allows blocks of ${dl.maxNumberOfBlockLength} bytes, too small for any data`);
    blockPayload = payload;
    const tU = performance.now();
    let seq = 1;
    for (let p = 0; p < size; p += payload) {
      cancelled(signal);
      const block = seg.data.subarray(p, Math.min(size, p + payload));
      let r;
      try {
        r = await uds.request({ service: 'TransferData', sequence: seq, data: block }, signal);
      } catch (e) {
        if ((e as PackscopeError).code !== 'TIMEOUT') throw e;
        // The request or its answer was lost: the same counter again (the ECU acknowledges a repeat without writing twice).
        retransmissions++;
        log(`block ${seq} got no answer; sending it again`);
        r = await uds.request({ service: 'TransferData', sequence: seq, data: block }, signal);
      }
      if (r.sequence !== seq) throw new PackscopeError('PROTOCOL', `the ECU acknowledged block ${r.sequence}, expected ${seq}`);
      blocks++;
      if (seq === 0xff) wraps++;
      seq = (seq + 1) & 0xff;
      progress(doneBefore + p + block.length, 'write');
    }
    try {
      await uds.request({ service: 'RequestTransferExit', data: new Uint8Array(0) }, signal);
    } catch (e) {
      if (e instanceof UdsNegativeResponseError && e.nrc === NRC.requestSequenceError) {
        throw new PackscopeError('DEVICE', `the ECU ended the download of 0x${seg.address.toString(16)} as incomplete (requestSequenceError)`);
      }
      throw e;
    }
    uploadSeconds += (performance.now() - tU) / 1000;
    crc = crc32(seg.data, crc);
    doneBefore += size;
    log(`wrote ${size} bytes at 0x${seg.address.toString(16)} in ${blocks} block(s) of up to ${payload} bytes`);
  }

  let checked: boolean | null = null;
  if (profile.check) {
    cancelled(signal);
    progress(total, 'verify');
    const data = profile.check.record === 'crc32' ? Uint8Array.of(...uintBytes(crc >>> 0, 4, 'CRC')) : new Uint8Array(0);
    const r = await uds.request({ service: 'RoutineControl', control: 1, routineId: profile.check.routineId, data }, signal);
    checked = routineVerdict(r.status);
    if (!checked) {
      throw new PackscopeError(
        'VERIFY_FAILED',
        `the ECU's check routine 0x${profile.check.routineId.toString(16)} rejected the download (status ${toHex(r.status, ' ')}); it will stay in its bootloader`,
      );
    }
    log(`check routine 0x${profile.check.routineId.toString(16)} passed`);
  }

  let after: EcuIdentity | null = null;
  if (profile.reset) {
    cancelled(signal);
    await uds.request({ service: 'EcuReset', resetType: profile.reset.type }, signal);
    await waitForEcu(uds, o.resetTimeoutMs ?? 30_000, signal);
    after = await readEcuIdentity(uds, profile, signal);
    log(`ECU reset; it now reports software ${after.softwareVersion ?? '(not readable)'}`);
  }
  return {
    profile: profile.name,
    ecu,
    before,
    after,
    segments: segments.map((s) => ({ address: s.address, size: s.data.length })),
    bytesTotal: total,
    blocks,
    blockPayload,
    maxNumberOfBlockLength: maxBlockLength,
    sequenceWraps: wraps,
    retransmissions,
    responsePending: uds.pendingSeen - pendingBefore,
    crc32: (crc >>> 0).toString(16).padStart(8, '0'),
    checked,
    reset: !!profile.reset,
    eraseSeconds,
    uploadSeconds,
    seconds: (performance.now() - t0) / 1000,
    payloadRate: uploadSeconds > 0 ? total / uploadSeconds : 0,
  };
}
