import { sha256 } from '@noble/hashes/sha2.js';
import { PackscopeError } from '../../../shared/errors.js';
import {
  boardIdOf,
  checkSignature,
  decodeImageFile,
  encodeImageMeta,
  formatVersion,
  parseSpki,
  securityCounterOf,
  verifyImage,
  type FwStatus,
  type McubootImage,
  type TrustedKey,
} from '../../../shared/image/index.js';
import type { TransferProgress } from '../../../shared/types/domain.js';
import { bytesEqual, fromHex, toHex } from '../../../shared/util/bytes.js';
import { ProgressMeter } from '../util/progress.js';
import type { FirmwareTarget } from './target.js';

/**
 * The flasher: puts a signed image on a board without ever leaving it unbootable.
 *
 *  1. check — the image against the board (board id, a key the board trusts and a valid
 *     signature, security counter, size, integrity) before anything is erased; a refusal says which;
 *  2. resume — ask the board for the hash of every sector of its upload slot and send only the
 *     sectors that differ (an offset held by the host alone is never trusted);
 *  3. upload — windowed bulk transfer, optionally compressed;
 *  4. verify — the board hashes and checks the whole image (read-back hash, not read-back data);
 *  5. test boot — mark for test, reset, and check the board really runs the new image;
 *  6. confirm (optional) — otherwise the board reverts at its next reset.
 * Cancelling at any point leaves the running image untouched: uploads only ever go to the
 * secondary slot and nothing is marked for boot until the image has been verified.
 */
export interface FlashOptions {
  /** Keys the user expects the image to be signed with (--trust); the board's own list always applies. */
  trust?: TrustedKey[];
  confirm?: boolean;
  compress?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  /** One line per step, for humans (stderr). */
  log?: (line: string) => void;
  /**
   * Called once every check has passed and before anything is erased (not when the board
   * already runs the image): where the board's settings are backed up before a flash.
   */
  onChecked?: () => Promise<void>;
}

export interface ImageSummary {
  version: string;
  boardId: string | null;
  securityCounter: number | null;
  size: number;
  hash: string;
  keyHash: string | null;
}

export interface FlashReport {
  outcome: 'installed-test' | 'installed-confirmed' | 'already-running' | 'confirmed-running';
  image: ImageSummary;
  bytesTotal: number;
  bytesSent: number;
  bytesSkipped: number;
  uploadSeconds: number;
  /** Time the board spent erasing the upload slot before the transfer. */
  eraseSeconds: number;
  /** Image bytes delivered per second during the upload (compressed bytes count as what they expand to). */
  payloadRate: number;
  compressed: boolean;
  seconds: number;
  /** Wall time of each step, seconds (status: all status reads together). */
  phases: FlashPhases;
  status: FwStatus;
}

export interface FlashPhases {
  status: number;
  /** The board's precheck of the header and TLVs, and on UDS its erase of the upload slot. */
  begin: number;
  /** Erase ahead of the upload, where the target erases separately (native). */
  erase: number;
  upload: number;
  /** The board's complete check of the uploaded image (read-back hash). */
  verify: number;
  /** Marking the image for its test boot. */
  activate: number;
  /** Reset until the board answers again: its bootloader swaps the images meanwhile. */
  reset: number;
  confirm: number;
}

export type RefusalReason =
  | 'wrong_board'
  | 'unknown_key'
  | 'bad_signature'
  | 'missing_signature'
  | 'not_trusted_by_user'
  | 'security_counter_too_low'
  | 'too_large'
  | 'corrupt_image'
  | 'testing';

function refuse(reason: RefusalReason, message: string): never {
  throw new PackscopeError(reason === 'corrupt_image' ? 'VERIFY_FAILED' : 'REFUSED', message, { reason });
}

function aborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new PackscopeError('CANCELLED', 'cancelled; the board still runs its previous image');
}

export function summarize(img: McubootImage): ImageSummary {
  const keyHash = img.tlvs.find((t) => t.type === 0x01);
  return {
    version: formatVersion(img.version),
    boardId: boardIdOf(img),
    securityCounter: securityCounterOf(img),
    size: img.bytes.length,
    hash: toHex(sha256(img.bytes.subarray(0, img.hashedEnd))),
    keyHash: keyHash ? toHex(keyHash.value) : null,
  };
}

/** Everything checked on the host before the board is asked to erase anything. */
export function checkImageAgainstBoard(img: McubootImage, status: FwStatus, trust: TrustedKey[] = []): void {
  const boardKeys: TrustedKey[] = status.trustedKeys.map((k, i) => ({ key: parseSpki(fromHex(k)), name: `board key ${i + 1}` }));
  const local = verifyImage(img, { trustedKeys: boardKeys });
  if (local.hash.status !== 'ok') refuse('corrupt_image', `image refused: ${local.problems[0]}`);
  const board = boardIdOf(img);
  if (board !== status.boardId) {
    refuse(
      'wrong_board',
      board === null
        ? `image refused: it carries no board id, the connected board is '${status.boardId}' (sign it with --board ${status.boardId})`
        : `image refused: it is for board '${board}', the connected board is '${status.boardId}'`,
    );
  }
  const sig = local.signature;
  if (sig.status === 'missing') refuse('missing_signature', 'image refused: it is not signed');
  if (sig.status === 'unknown_key') {
    refuse(
      'unknown_key',
      `image refused: it is signed by an unknown key (${sig.keyType} key hash ${sig.keyHash?.slice(0, 16) ?? '?'}…); the board trusts ${boardKeys.length} key(s): ${boardKeys.map((k) => toHex(k.key.keyHash).slice(0, 16)).join(', ')}`,
    );
  }
  if (sig.status === 'bad_signature') refuse('bad_signature', 'image refused: its signature does not verify with the key it names');
  if (trust.length > 0 && checkSignature(img, trust).status !== 'valid') {
    refuse('not_trusted_by_user', `image refused: it is not signed by any of the ${trust.length} key(s) given with --trust`);
  }
  const counter = securityCounterOf(img) ?? 0;
  if (counter < status.securityCounter) {
    refuse(
      'security_counter_too_low',
      `image refused: its security counter ${counter} is lower than the board's ${status.securityCounter} (rollback to an older, possibly vulnerable image is blocked)`,
    );
  }
  if (img.bytes.length > status.slotSize) refuse('too_large', `image refused: ${img.bytes.length} bytes do not fit the ${status.slotSize}-byte slot`);
}

/** Byte ranges of `image` whose sectors the board does not already hold. */
export function rangesToSend(image: Uint8Array, boardHashes: Uint8Array[], granule: number): Array<{ offset: number; length: number }> {
  const out: Array<{ offset: number; length: number }> = [];
  for (let i = 0; i * granule < image.length; i++) {
    const off = i * granule;
    const piece = image.subarray(off, Math.min(image.length, off + granule));
    const same = boardHashes[i] !== undefined && bytesEqual(boardHashes[i]!, sha256(piece));
    if (same) continue;
    const last = out[out.length - 1];
    if (last && last.offset + last.length === off) last.length += piece.length;
    else out.push({ offset: off, length: piece.length });
  }
  return out;
}

export async function flashImage(target: FirmwareTarget, file: Uint8Array, o: FlashOptions = {}): Promise<FlashReport> {
  const t0 = performance.now();
  const phases: FlashPhases = { status: 0, begin: 0, erase: 0, upload: 0, verify: 0, activate: 0, reset: 0, confirm: 0 };
  const timed = async <T>(phase: keyof FlashPhases, work: Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await work;
    } finally {
      phases[phase] += (performance.now() - t) / 1000;
    }
  };
  const log = o.log ?? (() => {});
  const { image: img } = decodeImageFile(file);
  const image = img.bytes; // without slot padding: the trailer belongs to the board
  const summary = summarize(img);
  aborted(o.signal);
  let status = await timed('status', target.status(o.signal));
  checkImageAgainstBoard(img, status, o.trust);
  log(
    `image ${summary.version} for ${summary.boardId} (${image.length} bytes, counter ${summary.securityCounter ?? 0}, sha256 ${summary.hash.slice(0, 16)}…, signed by key ${summary.keyHash?.slice(0, 16) ?? '?'}…) accepted for ${status.boardId}`,
  );
  if (img.trailer?.imageOk === 1 && !o.confirm) {
    log(
      'note: the image file is padded with a trailer marked confirmed (imgtool --confirm); the trailer is not sent, the image runs in test mode first — pass --confirm to make it permanent',
    );
  }

  const base = { image: summary, bytesTotal: image.length, compressed: !!o.compress };
  if (status.primary.hash === summary.hash && status.running) {
    // Already there (e.g. a re-run after a power cut during the swap): just finish the job.
    let outcome: FlashReport['outcome'] = 'already-running';
    if (status.testing && o.confirm) {
      await timed('confirm', target.confirm(o.signal));
      outcome = 'confirmed-running';
      status = await timed('status', target.status(o.signal));
    }
    log(`the board already runs this image${status.testing ? ' (test mode)' : ''}`);
    return {
      ...base,
      outcome,
      bytesSent: 0,
      bytesSkipped: image.length,
      uploadSeconds: 0,
      eraseSeconds: 0,
      payloadRate: 0,
      seconds: (performance.now() - t0) / 1000,
      phases,
      status,
    };
  }
  if (status.testing) {
    refuse(
      'testing',
      'the board runs an unconfirmed test image: run `packscope fw confirm` or `fw revert` first (its secondary slot holds the fallback image)',
    );
  }

  await o.onChecked?.();
  aborted(o.signal);
  await timed('begin', target.begin(encodeImageMeta(img), o.signal));
  const granule = status.sectorSize;
  const boardHashes = await target.hashes(image.length, granule, o.signal);
  const ranges = rangesToSend(image, boardHashes, granule);
  const toSend = ranges.reduce((n, r) => n + r.length, 0);
  const skipped = image.length - toSend;
  if (skipped > 0) log(`resume: the board already holds ${skipped} of ${image.length} bytes (sector hashes match)`);

  let eraseSeconds = 0;
  if (target.erase && ranges.length) {
    // Erase exactly what will be written, ahead of the upload (block erases where the board can).
    const tE = performance.now();
    for (const r of ranges) {
      aborted(o.signal);
      await target.erase(r.offset, r.length, o.signal);
    }
    eraseSeconds = (performance.now() - tE) / 1000;
    phases.erase = eraseSeconds;
    log(`erased ${toSend} bytes of the upload slot in ${eraseSeconds.toFixed(2)} s`);
  }

  const tUp = performance.now();
  let sentBefore = 0;
  const meter = new ProgressMeter(toSend);
  const progress = (done: number, phase: string) => {
    if (o.onProgress) o.onProgress({ done: skipped + done, total: image.length, ...meter.measure(done), phase });
  };
  progress(0, 'upload');
  for (const r of ranges) {
    aborted(o.signal);
    await target.write(r.offset, image.subarray(r.offset, r.offset + r.length), {
      compress: !!o.compress,
      signal: o.signal,
      onProgress: (n) => progress(sentBefore + n, 'upload'),
    });
    sentBefore += r.length;
    progress(sentBefore, 'upload');
  }
  const uploadSeconds = (performance.now() - tUp) / 1000;
  phases.upload = uploadSeconds;

  aborted(o.signal);
  const verdict = await timed('verify', target.finish(o.signal));
  if (verdict.hash !== summary.hash) {
    throw new PackscopeError(
      'VERIFY_FAILED',
      `read-back hash mismatch: the board holds ${verdict.hash.slice(0, 16)}…, the image is ${summary.hash.slice(0, 16)}…; nothing was activated`,
    );
  }
  if (!verdict.valid) throw new PackscopeError('VERIFY_FAILED', `the board rejected the uploaded image: ${verdict.problems.join('; ')}`);
  log('read-back hash verified by the board');

  aborted(o.signal);
  await timed('activate', target.requestTest(o.signal));
  log('test boot: resetting the board');
  await timed('reset', target.reset(o.signal));
  // The board's own account after the reset is the proof that it runs the new image: read it.
  status = await timed('status', target.status(o.signal));
  if (status.primary.hash !== summary.hash || !status.running) {
    throw new PackscopeError(
      'VERIFY_FAILED',
      `the board did not start the new image (boot: ${status.lastEvent}${status.lastReason ? `, ${status.lastReason}` : ''}); it runs ${status.runningVersion ?? 'nothing'}`,
    );
  }
  let outcome: FlashReport['outcome'] = 'installed-test';
  if (o.confirm) {
    await timed('confirm', target.confirm(o.signal));
    // Confirming changes more than the test flag (the security counter rises, and with it the
    // fallback image in the secondary slot may stop being valid): report the board's own account.
    status = await timed('status', target.status(o.signal));
    outcome = 'installed-confirmed';
    log(`confirmed: ${summary.version} is permanent, security counter now ${status.securityCounter}`);
  } else {
    log(`${summary.version} runs in test mode: it reverts at the next reset unless confirmed (packscope fw confirm)`);
  }
  return {
    ...base,
    outcome,
    bytesSent: toSend,
    bytesSkipped: skipped,
    uploadSeconds,
    eraseSeconds,
    payloadRate: uploadSeconds > 0 ? toSend / uploadSeconds : 0,
    seconds: (performance.now() - t0) / 1000,
    phases,
    status,
  };
}
