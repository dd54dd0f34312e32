import { expect } from 'vitest';
import type { SimBoard } from '../../../firmware/sim/board.js';
import { blackBoxOf } from '../../../firmware/sim/blackbox/index.js';
import type { NativeSession } from '../../../firmware/sim/native/dispatcher.js';
import { BB_CHECKPOINT_REQ, BB_CHECKPOINT_RES, BB_CMD, splitCheckpointRegion, type Checkpoint } from '../../../shared/blackbox/index.js';
import { MSG } from '../../../shared/protocol/constants.js';
import { decodeFrame } from '../../../shared/protocol/frame.js';
import { concatByteList } from '../../../shared/util/bytes.js';

/** Native requests to an in-process simulated board, and a checkpoint taken as a current host takes it. */
const session = (): NativeSession => ({
  emit: () => undefined,
  link: { backlog: 0, settings: { baudRate: 115200 } } as never,
  data: new Map(),
  onClose: () => undefined,
  onDamagedFrame: () => undefined,
  closed: false,
});

export async function call(board: SimBoard, cmd: number, payload: Uint8Array): Promise<Uint8Array> {
  const out = await board.native.dispatch({ version: 1, type: MSG.REQUEST, seq: 11, cmd, payload }, session());
  const f = decodeFrame(out!.subarray(0, -1));
  expect(f.type).toBe(MSG.RESPONSE);
  return f.payload;
}

/** BB_CHECKPOINT, then the whole checkpoint region (the lifetime counters follow the seal). */
export async function takeCheckpoint(board: SimBoard, nonce: Uint8Array): Promise<Checkpoint> {
  const res = BB_CHECKPOINT_RES.decode(await call(board, BB_CMD.CHECKPOINT, BB_CHECKPOINT_REQ.encode({ nonce })));
  const region = board.native.region(0x11);
  const sealed = splitCheckpointRegion(await region.read(0, region.size()), res.length);
  return { counter: res.counter, recordCount: res.recordCount, nonce, segmentSize: res.segmentSize, ...sealed };
}

/** The closed segments the board's ring holds, oldest to newest, as one pull would store them. */
export function ringSegments(board: SimBoard): Uint8Array[] {
  const rec = blackBoxOf(board)!;
  const out: Uint8Array[] = [];
  for (let c = rec.oldest!; c <= rec.newest!; c++) out.push(rec.ring.readSlot(rec.slotOf(c)));
  return out;
}

export const concatSegments = (board: SimBoard): Uint8Array => concatByteList(ringSegments(board));
