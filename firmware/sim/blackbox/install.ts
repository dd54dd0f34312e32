import { EVENTS } from '../../../shared/blackbox/events.js';
import { buildSchemaText, type RecordValues } from '../../../shared/blackbox/format.js';
import {
  BB_CERTIFICATE,
  BB_CHECKPOINT_REQ,
  BB_CHECKPOINT_RES,
  BB_CMD,
  BB_REGION,
  BB_REGION_NAME,
  BB_SEGMENTS_REQ,
  BB_SEGMENTS_RES,
  BB_STATUS,
  CHECKPOINT_SEAL_SIZE,
  NONE32,
  type SegmentListEntry,
} from '../../../shared/blackbox/messages.js';
import { encodeAttestation } from '../../../shared/blackbox/verify.js';
import { concatBytes } from '../../../shared/util/bytes.js';
import { ERR } from '../../../shared/protocol/constants.js';
import type { SimBoard } from '../board.js';
import { NativeError } from '../native/dispatcher.js';
import { createPackModel, temperatureSensorNames } from '../pack/index.js';
import type { PackState } from '../pack/types.js';
import { loadBlackBoxKeys } from './signing-keys.js';
import { BlackBoxRecorder, type CheckpointSnapshot } from './recorder.js';
import { FileRing, MemoryRing } from './ring.js';
import { LifetimeCounterStore } from './lifetime.js';

/** 64 MiB of 4 KiB segments: about 11 days of 1 Hz records for a 16-cell pack. */
export const DEFAULT_SLOT_COUNT = 16384;
export const SEGMENT_SIZE = 4096;
export const RECORD_INTERVAL_MS = 1000;

export interface BlackBoxBoardOptions {
  /** Ring size in segments (default 16384 = 64 MiB). */
  blackboxSlots?: number;
  /** False: a board of the first firmware, which keeps no lifetime counters (default true). */
  lifetimeCounters?: boolean;
}

export function recordValues(s: PackState, event: number): RecordValues {
  return {
    t: s.timeMs,
    packVoltage: s.packVoltage,
    current: s.current,
    soc: s.soc,
    cellVoltages: s.cellVoltages,
    temperatures: s.temperatures,
    status: s.status,
    alarms: s.alarms,
    event,
  };
}

/**
 * Synthesises `hours` of history ending at `endMs` with a second pack model running the board's
 * scenario: one record per second, plus one record per event. Segments are written whole, so a
 * day of history takes a couple of seconds.
 */
export function prefill(rec: BlackBoxRecorder, board: SimBoard, hours: number, endMs: number, lifetime: LifetimeCounterStore | null = null): number {
  const seconds = Math.round(hours * 3600);
  const cfg = board.pack.config;
  const model = createPackModel({ ...cfg, seed: (cfg.seed + 0x5eed) >>> 0, startTimeMs: endMs - seconds * 1000 });
  // The counters count the synthesised history too: the board lived through it.
  lifetime?.countingFrom(endMs - seconds * 1000);
  let n = 0;
  rec.batched(() => {
    rec.append(recordValues(model.state(), EVENTS.boot), 0);
    lifetime?.step(model.state(), 0);
    n++;
    for (let s = 1; s <= seconds; s++) {
      model.step(1);
      const st = model.state();
      lifetime?.step(st, 1);
      const events = model.takeEvents();
      if (events.length === 0) {
        rec.append(recordValues(st, 0), s * 1000);
        n++;
      }
      for (const e of events) {
        rec.append(recordValues(st, e), s * 1000);
        n++;
      }
    }
  });
  return n;
}

const RECORDERS = new WeakMap<SimBoard, BlackBoxRecorder>();
const LIFETIMES = new WeakMap<SimBoard, LifetimeCounterStore>();
/** The lifetime counters of a board (tests); undefined on a board without them. */
export function lifetimeOf(board: SimBoard): LifetimeCounterStore | undefined {
  return LIFETIMES.get(board);
}
/** The recorder of a board (tests, benchmarks, the demo device). */
export function blackBoxOf(board: SimBoard): BlackBoxRecorder | undefined {
  return RECORDERS.get(board);
}

/** Board subsystem: the black box (flash ring, recorder, native commands 0x02xx, regions 0x10/0x11). */
export async function installBlackBox(board: SimBoard): Promise<void> {
  const keys = loadBlackBoxKeys(board);
  const slots = (board.options as BlackBoxBoardOptions).blackboxSlots ?? DEFAULT_SLOT_COUNT;
  const ring = board.storage.dir ? new FileRing(board.storage.dir, slots, SEGMENT_SIZE) : new MemoryRing(slots, SEGMENT_SIZE);
  const cells = board.pack.config.cells;
  const schemaText = buildSchemaText(cells, temperatureSensorNames(cells));
  const rec = new BlackBoxRecorder(ring, {
    serial: board.identity.serial,
    schemaText,
    deviceKey: keys.deviceKey,
    bootCount: () => board.bootCount,
    uptimeMs: () => board.uptimeMs(),
  });
  RECORDERS.set(board, rec);
  let last = board.pack.state();
  const lifetime = (board.options as BlackBoxBoardOptions).lifetimeCounters === false ? null : new LifetimeCounterStore(board, last.timeMs);
  if (lifetime) LIFETIMES.set(board, lifetime);
  const hours = board.options.prefillHours ?? 0;
  if (rec.newest === null && hours > 0) prefill(rec, board, hours, last.timeMs, lifetime?.fresh ? lifetime : null);
  lifetime?.save(last.timeMs);
  rec.append(recordValues(last, EVENTS.boot));
  let lastRecordT = last.timeMs;

  let pending: number[] = [];
  const flush = () => {
    const codes = pending;
    pending = [];
    for (const c of codes) rec.append(recordValues(last, c));
  };
  board.onEvent((e) => {
    if (pending.length === 0) queueMicrotask(flush);
    pending.push(e.code);
  });
  board.onTick((state, _events, dt) => {
    last = state;
    lifetime?.step(state, dt);
    if (state.timeMs - lastRecordT >= RECORD_INTERVAL_MS) {
      lastRecordT = state.timeMs;
      rec.append(recordValues(state, 0));
    }
  });
  board.onReset(() => {
    lifetime?.restarted();
    rec.rebooted();
    rec.append(recordValues(last, EVENTS.boot));
  });
  board.onStop(() => {
    lifetime?.save(last.timeMs);
    ring.flush();
    ring.close();
  });

  let snapshot: CheckpointSnapshot | null = null;
  /** The lifetime counters signed with the snapshot (PROTOCOL.md 7.7); empty on a board without them. */
  let lifetimeStatement: Uint8Array = new Uint8Array(0);
  let sealed: Uint8Array | null = null;
  const schemaRecordSize = () => rec.open?.schema.recordSize ?? 0;
  board.native.register(BB_CMD.STATUS, () =>
    BB_STATUS.encode({
      segmentSize: SEGMENT_SIZE,
      slotCount: slots,
      ringRegion: BB_REGION.RING,
      checkpointRegion: BB_REGION.CHECKPOINT,
      oldestCounter: rec.oldest ?? NONE32,
      newestCounter: rec.newest ?? NONE32,
      openCounter: rec.open?.counter ?? NONE32,
      openRecords: rec.open?.recordCount ?? 0,
      recordSize: schemaRecordSize(),
      recordIntervalMs: RECORD_INTERVAL_MS,
      bootCount: board.bootCount,
      recordsWritten: rec.recordsInRing,
    }),
  );
  board.native.register(BB_CMD.CERTIFICATE, () => BB_CERTIFICATE.encode({ certificate: keys.certificate }));
  board.native.register(BB_CMD.CHECKPOINT, (payload) => {
    const { nonce } = BB_CHECKPOINT_REQ.decode(payload);
    if (nonce.length < 8 || nonce.length > 64) throw new NativeError(ERR.BAD_ARGUMENT, 'nonce must be 8 to 64 bytes');
    snapshot = rec.checkpoint(nonce, last.timeMs);
    sealed = null;
    const a = snapshot.attestation;
    lifetimeStatement = lifetime
      ? lifetime.sign(
          { counter: snapshot.counter, recordCount: snapshot.recordCount, nonce, boardTimeMs: a.boardTimeMs, bootCount: a.bootCount },
          keys.deviceKey,
        )
      : new Uint8Array(0);
    const res = BB_CHECKPOINT_RES.encode({
      counter: snapshot.counter,
      recordCount: snapshot.recordCount,
      length: snapshot.prefix.length,
      segmentSize: snapshot.segmentSize,
      newestCounter: snapshot.attestation.newestCounter,
      signature: null,
      attestation: null,
    });
    board.raiseEvent(EVENTS.log_exported);
    return res;
  });
  board.native.register(BB_CMD.SEGMENTS, (payload) => {
    const { from, max } = BB_SEGMENTS_REQ.decode(payload);
    const out: SegmentListEntry[] = [];
    if (rec.oldest !== null && rec.newest !== null) {
      for (let c = Math.max(from, rec.oldest); c <= rec.newest && out.length < Math.min(max, 256); c++) {
        const info = rec.segmentInfo(c);
        if (info) out.push(info);
      }
    }
    return BB_SEGMENTS_RES.encode({ segments: out });
  });
  board.native.registerRegion({
    id: BB_REGION.RING,
    name: BB_REGION_NAME.RING,
    size: () => ring.size,
    read: (offset, length) => ring.read(offset, length),
  });
  board.native.registerRegion({
    id: BB_REGION.CERTIFICATE,
    name: BB_REGION_NAME.CERTIFICATE,
    size: () => keys.certificate.length,
    read: (offset, length) => keys.certificate.slice(offset, offset + length),
  });
  board.native.registerRegion({
    id: BB_REGION.CHECKPOINT,
    name: BB_REGION_NAME.CHECKPOINT,
    // The frozen prefix, then its seal: signature and attestation (PROTOCOL.md 7.5), then the
    // signed lifetime counters (7.7).
    size: () => (snapshot ? snapshot.prefix.length + CHECKPOINT_SEAL_SIZE + lifetimeStatement.length : 0),
    read: (offset, length) => {
      if (!snapshot) throw new NativeError(ERR.NOT_FOUND, 'no checkpoint taken');
      sealed ??= concatBytes(snapshot.prefix, snapshot.signature, encodeAttestation(snapshot.attestation), lifetimeStatement);
      return sealed.slice(offset, offset + length);
    },
  });
}
