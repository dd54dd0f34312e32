import path from 'node:path';
import type { Params, Res } from '../../../shared/api/contract.js';
import { PackscopeError } from '../../../shared/errors.js';
import { formatCandump } from '../../../shared/can/frame.js';
import {
  decodePayloadFile,
  generateKey,
  parseImage,
  parsePrivateKeyPem,
  parseVersion,
  privateKeyToPem,
  publicKeyToPem,
  signImage,
  writeIntelHex,
  type KeyType,
} from '../../../shared/image/index.js';
import { toHex } from '../../../shared/util/bytes.js';
import { closeCanChannel, openCanChannel } from '../can/open.js';
import type { ReceivedFrame } from '../can/slcan-channel.js';
import { readInputFile, readTextFile } from '../flasher/files.js';
import { summarize } from '../flasher/flasher.js';
import { writeFileAtomic } from '../util/files.js';
import type { HostEvents } from './events.js';

/**
 * The R&D bench in the app: sign a firmware payload into an MCUboot image, make a lab signing key,
 * and watch a CAN bus through an SLCAN adapter. The same host services as `packscope image sign`,
 * `image keygen` and `can monitor`, with typed requests instead of command-line options.
 */
export function signImageFile(req: Params<'image.sign'>): Res<'image.sign'> {
  const key = parsePrivateKeyPem(readTextFile(req.keyPath, 'key'));
  let version;
  try {
    version = parseVersion(req.version);
  } catch (e) {
    throw new PackscopeError('USAGE', `The version ${req.version} is not of the form 1.2.3 or 1.2.3+4: ${(e as Error).message}`);
  }
  const { payload, address } = decodePayloadFile(readInputFile(req.input, 'input'), req.input);
  const image = signImage({ payload, version, key, boardId: req.boardId, securityCounter: req.securityCounter });
  const hex = /\.hex$/i.test(req.out);
  const headerSize = 0x200;
  writeFileAtomic(req.out, hex ? writeIntelHex([{ address: Math.max(0, (address ?? 0) - headerSize), data: image }]) : image, { exclusive: !req.overwrite });
  const s = summarize(parseImage(image));
  return { path: req.out, version: s.version, boardId: s.boardId, size: s.size, hash: s.hash, securityCounter: s.securityCounter, keyType: key.type };
}

export function makeSigningKey(req: Params<'image.keygen'>): Res<'image.keygen'> {
  const pub = /\.pem$/i.test(req.out) ? req.out.replace(/\.pem$/i, '.pub.pem') : `${req.out}.pub.pem`;
  const key = generateKey(req.type as KeyType);
  writeFileAtomic(req.out, privateKeyToPem(key), { mode: 0o600, exclusive: true });
  writeFileAtomic(pub, publicKeyToPem(key.publicKey), { mode: 0o644, exclusive: true });
  return { privateKey: req.out, publicKey: pub, keyHash: toHex(key.publicKey.keyHash), name: path.basename(req.out) };
}

/** Frames are sent to screens in batches, at most this often (a busy bus has thousands per second). */
const BATCH_MS = 100;
const MAX_BATCH = 500;

/** Watches a CAN bus until cancelled; frames go out as 'can-frames' events tagged with the job id. */
export async function monitorCan(
  req: Params<'can.monitor'>,
  events: HostEvents,
  signal: AbortSignal,
  progress: (frames: number, seconds: number) => void,
): Promise<Res<'can.monitor'>> {
  const channel = await openCanChannel(req.port, { bitrate: req.bitrate, listenOnly: req.listenOnly, timestamps: false });
  const t0 = Date.now();
  let batch: Res<'can.monitor'>['last'] = [];
  let total = 0;
  const flush = () => {
    if (batch.length) events.emit('can-frames', { opId: req.opId, frames: batch });
    batch = [];
    progress(total, (Date.now() - t0) / 1000);
  };
  let last: Res<'can.monitor'>['last'] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const onFrame = (rf: ReceivedFrame) => {
        total++;
        const f = { t: rf.t, id: rf.frame.id, extended: rf.frame.extended, dlc: rf.frame.dlc, data: toHex(rf.frame.data), text: formatCandump(rf.frame) };
        if (batch.length < MAX_BATCH) batch.push(f);
        last = [...last.slice(-49), f];
      };
      const offFrame = channel.onFrame(onFrame);
      const offClose = channel.onClose((why) => {
        cleanup();
        reject(new PackscopeError('DISCONNECTED', `The CAN adapter on ${req.port} went away (${why}).`));
      });
      const timer = setInterval(flush, BATCH_MS);
      const onAbort = () => (cleanup(), resolve());
      signal.addEventListener('abort', onAbort, { once: true });
      function cleanup() {
        offFrame();
        offClose();
        clearInterval(timer);
        signal.removeEventListener('abort', onAbort);
      }
    });
  } finally {
    flush();
    await closeCanChannel(channel).catch(() => undefined);
  }
  const s = channel.stats;
  return {
    frames: total,
    seconds: (Date.now() - t0) / 1000,
    overruns: s.overruns,
    busErrors: s.busErrors,
    last,
    hint:
      total === 0
        ? `No frames arrived: check the bitrate (${req.bitrate} bit/s now; Pylontech packs use 500000), the CAN-H/CAN-L wiring and the 120 Ω termination.`
        : null,
  };
}
