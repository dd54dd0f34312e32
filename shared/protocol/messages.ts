import { DecodeError } from '../errors.js';
import type { Chemistry } from '../types/domain.js';
import type { ByteReader, ByteWriter } from './bytes-io.js';
import { codec, type Codec } from './codec.js';

/**
 * Payload codecs of the core (0x00xx) and bulk-transfer (0x01xx) commands, one per message, each
 * an encode/decode pair. Layouts are PROTOCOL.md §5 and §6. Physical values travel as integers in
 * fixed units (mV, mA, 0.01 %, 0.1 °C), so both sides agree to the bit.
 */
export type { Codec } from './codec.js';

export const EMPTY: Codec<Record<string, never>> = codec(
  'empty',
  () => undefined,
  () => ({}),
);

// ---------------------------------------------------------------- identity

export const CAPABILITY_BITS = ['identity', 'telemetry', 'params', 'blackbox', 'firmware', 'bulk'] as const;

export interface IdentityPayload {
  protocolVersion: number;
  model: string;
  serial: string;
  boardId: string;
  hardwareRevision: string;
  firmwareVersion: string;
  bootloaderVersion: string;
  cellCount: number;
  chemistry: Chemistry | 'unknown';
  /** mAh. */
  nominalCapacityMah: number;
  /** Bitfield over CAPABILITY_BITS. */
  capabilities: number;
  /** Largest frame payload the board accepts. */
  maxPayload: number;
  bootCount: number;
  uptimeMs: number;
}

const CHEM: Array<Chemistry | 'unknown'> = ['unknown', 'lfp', 'nmc'];

export const IDENTITY = codec<IdentityPayload>(
  'identity',
  (w, v) => {
    w.u8(v.protocolVersion).str8(v.model).str8(v.serial).str8(v.boardId).str8(v.hardwareRevision);
    w.str8(v.firmwareVersion)
      .str8(v.bootloaderVersion)
      .u8(v.cellCount)
      .u8(Math.max(0, CHEM.indexOf(v.chemistry)));
    w.u32(v.nominalCapacityMah).u16(v.capabilities).u16(v.maxPayload).u32(v.bootCount).u32(v.uptimeMs);
  },
  (r) => {
    const protocolVersion = r.u8('protocolVersion');
    const model = r.str8('model');
    const serial = r.str8('serial');
    const boardId = r.str8('boardId');
    const hardwareRevision = r.str8('hardwareRevision');
    const firmwareVersion = r.str8('firmwareVersion');
    const bootloaderVersion = r.str8('bootloaderVersion');
    const cellCount = r.u8('cellCount');
    const chemistry = CHEM[r.u8('chemistry')] ?? 'unknown';
    return {
      protocolVersion,
      model,
      serial,
      boardId,
      hardwareRevision,
      firmwareVersion,
      bootloaderVersion,
      cellCount,
      chemistry,
      nominalCapacityMah: r.u32('nominalCapacity'),
      capabilities: r.u16('capabilities'),
      maxPayload: r.u16('maxPayload'),
      bootCount: r.u32('bootCount'),
      uptimeMs: r.u32('uptimeMs'),
    };
  },
);

/**
 * DEVICE_KEY answer: the device public key as DER SubjectPublicKeyInfo (empty when the board has
 * none). Kept out of IDENTITY so each answer stays short enough to cross a noisy line whole.
 */
export const DEVICE_KEY = codec<{ publicKey: Uint8Array }>(
  'device-key',
  (w, v) => w.blob16(v.publicKey),
  (r) => ({ publicKey: r.blob16('publicKey').slice() }),
);

// ---------------------------------------------------------------- telemetry

/** Integer form of a telemetry sample (what crosses the wire). */
export interface TelemetryPayload {
  /** Board RTC, ms since epoch. */
  t: number;
  packMv: number;
  currentMa: number;
  /** 0.01 %. */
  socCenti: number;
  sohCenti: number;
  status: number;
  alarms: number;
  cellMv: number[];
  /** 0.1 °C. */
  tempDeci: number[];
}

export const TELEMETRY = codec<TelemetryPayload>(
  'telemetry',
  (w, v) => {
    w.u64(v.t).u32(v.packMv).i32(v.currentMa).u16(v.socCenti).u16(v.sohCenti).u16(v.status).u32(v.alarms);
    w.u8(v.cellMv.length);
    for (const c of v.cellMv) w.u16(c);
    w.u8(v.tempDeci.length);
    for (const t of v.tempDeci) w.i16(t);
  },
  (r) => {
    const t = r.u64('t');
    const packMv = r.u32('packMv');
    const currentMa = r.i32('currentMa');
    const socCenti = r.u16('soc');
    const sohCenti = r.u16('soh');
    const status = r.u16('status');
    const alarms = r.u32('alarms');
    const nc = r.u8('cellCount');
    const cellMv: number[] = [];
    for (let i = 0; i < nc; i++) cellMv.push(r.u16('cellMv'));
    const nt = r.u8('tempCount');
    const tempDeci: number[] = [];
    for (let i = 0; i < nt; i++) tempDeci.push(r.i16('temp'));
    return { t, packMv, currentMa, socCenti, sohCenti, status, alarms, cellMv, tempDeci };
  },
);

/** TELEMETRY_START: requested rate in millihertz (1 = one frame per 1000 s … 100 000 = 100 Hz). */
export const TELEMETRY_START = codec<{ rateMilliHz: number }>(
  'telemetry-start',
  (w, v) => w.u32(v.rateMilliHz),
  (r) => ({ rateMilliHz: r.u32('rateMilliHz') }),
);

// ---------------------------------------------------------------- params

export interface ParamInfo {
  id: number;
  writable: boolean;
  min: number;
  max: number;
  value: number;
  name: string;
  unit: string;
}

export const PARAM_LIST = codec<{ params: ParamInfo[] }>(
  'param-list',
  (w, v) => {
    w.u8(v.params.length);
    for (const p of v.params)
      w.u16(p.id)
        .u8(p.writable ? 1 : 0)
        .f32(p.min)
        .f32(p.max)
        .f32(p.value)
        .str8(p.name)
        .str8(p.unit);
  },
  (r) => {
    const n = r.u8('count');
    const params: ParamInfo[] = [];
    for (let i = 0; i < n; i++) {
      params.push({
        id: r.u16('id'),
        writable: (r.u8('flags') & 1) === 1,
        min: r.f32('min'),
        max: r.f32('max'),
        value: r.f32('value'),
        name: r.str8('name'),
        unit: r.str8('unit'),
      });
    }
    return { params };
  },
);

export const PARAM_ID = codec<{ id: number }>(
  'param-get',
  (w, v) => w.u16(v.id),
  (r) => ({ id: r.u16('id') }),
);
export const PARAM_VALUE = codec<{ id: number; value: number }>(
  'param-value',
  (w, v) => w.u16(v.id).f32(v.value),
  (r) => ({ id: r.u16('id'), value: r.f32('value') }),
);

// ---------------------------------------------------------------- faults, events, time, reset

export const FAULTS = codec<{ status: number; activeAlarms: number; latchedAlarms: number }>(
  'faults',
  (w, v) => w.u16(v.status).u32(v.activeAlarms).u32(v.latchedAlarms),
  (r) => ({ status: r.u16('status'), activeAlarms: r.u32('activeAlarms'), latchedAlarms: r.u32('latchedAlarms') }),
);

export const EVENTS_QUERY = codec<{ since: number; max: number }>(
  'events-query',
  (w, v) => w.u32(v.since).u8(v.max),
  (r) => ({ since: r.u32('since'), max: r.u8('max') }),
);

export interface BoardEvent {
  /** Monotonic event number on this board. */
  seq: number;
  t: number;
  /** Event code (shared/blackbox events table). */
  code: number;
}

export const EVENTS_LIST = codec<{ next: number; events: BoardEvent[] }>(
  'events-list',
  (w, v) => {
    w.u32(v.next).u8(v.events.length);
    for (const e of v.events) w.u32(e.seq).u64(e.t).u16(e.code);
  },
  (r) => {
    const next = r.u32('next');
    const n = r.u8('count');
    const events: BoardEvent[] = [];
    for (let i = 0; i < n; i++) events.push({ seq: r.u32('seq'), t: r.u64('t'), code: r.u16('code') });
    return { next, events };
  },
);

export const BOARD_EVENT = codec<BoardEvent>(
  'board-event',
  (w, v) => w.u32(v.seq).u64(v.t).u16(v.code),
  (r) => ({ seq: r.u32('seq'), t: r.u64('t'), code: r.u16('code') }),
);

export const TIME = codec<{ t: number }>(
  'time',
  (w, v) => w.u64(v.t),
  (r) => ({ t: r.u64('t') }),
);

export const RESET_MODES = ['application', 'bootloader'] as const;
export const RESET = codec<{ mode: (typeof RESET_MODES)[number] }>(
  'reset',
  (w, v) => w.u8(RESET_MODES.indexOf(v.mode)),
  (r) => {
    const m = RESET_MODES[r.u8('mode')];
    if (!m) throw new DecodeError('reset: unknown mode');
    return { mode: m };
  },
);

// ---------------------------------------------------------------- errors

export const ERROR = codec<{ code: number; message: string }>(
  'error',
  (w, v) => w.u16(v.code).str8(v.message.length > 200 ? v.message.slice(0, 200) : v.message),
  (r) => ({ code: r.u16('code'), message: r.str8('message') }),
);

// ---------------------------------------------------------------- bulk transfer

export const REGION_FLAG = { READ: 1, WRITE: 2, HASH: 4, ERASE: 8 } as const;
/** `written` value of a region that does not track a write high-water mark. */
export const WRITTEN_UNKNOWN = 0xffffffff;

export interface RegionInfo {
  id: number;
  flags: number;
  size: number;
  /** Bytes contiguously written from offset 0 since the last erase (WRITTEN_UNKNOWN if untracked). */
  written: number;
  name: string;
}

function writeRegion(w: ByteWriter, v: RegionInfo): void {
  w.u8(v.id).u8(v.flags).u32(v.size).u32(v.written).str8(v.name);
}
function readRegion(r: ByteReader): RegionInfo {
  return { id: r.u8('id'), flags: r.u8('flags'), size: r.u32('size'), written: r.u32('written'), name: r.str8('name') };
}

export const REGION_LIST = codec<{ regions: RegionInfo[] }>(
  'region-list',
  (w, v) => {
    w.u8(v.regions.length);
    for (const x of v.regions) writeRegion(w, x);
  },
  (r) => {
    const n = r.u8('count');
    const regions: RegionInfo[] = [];
    for (let i = 0; i < n; i++) regions.push(readRegion(r));
    return { regions };
  },
);

export const REGION_ID = codec<{ region: number }>(
  'region-id',
  (w, v) => w.u8(v.region),
  (r) => ({ region: r.u8('region') }),
);
export const REGION_INFO = codec<RegionInfo>('region-info', writeRegion, readRegion);

export const REGION_RANGE = codec<{ region: number; offset: number; length: number }>(
  'region-range',
  (w, v) => w.u8(v.region).u32(v.offset).u32(v.length),
  (r) => ({ region: r.u8('region'), offset: r.u32('offset'), length: r.u32('length') }),
);

export const REGION_HASH = codec<{ offset: number; length: number; sha256: Uint8Array }>(
  'region-hash',
  (w, v) => w.u32(v.offset).u32(v.length).bytes(v.sha256),
  (r) => ({ offset: r.u32('offset'), length: r.u32('length'), sha256: r.bytes(32, 'sha256').slice() }),
);

/**
 * BULK_*_OPEN flags: COMPRESS allows per-chunk deflate; CONTEXT (with COMPRESS) allows deflating a
 * chunk with the transfer's preceding bytes as its dictionary (PROTOCOL.md §6.3); NAK: the
 * receiver names chunks that arrived damaged (BULK_NAK) and the sender sends them again at once.
 * A board grants only the flags it knows, so a board without one answers with its bit clear.
 */
export const BULK_FLAG = { COMPRESS: 1, CONTEXT: 2, NAK: 4 } as const;
/** BULK_DATA chunk flags. Bit 1 is reserved; CONTEXT marks a DEFLATE chunk with a preset dictionary. */
export const CHUNK_FLAG = { DEFLATE: 1, CONTEXT: 4 } as const;
/** Bytes of a transfer before a CONTEXT chunk that form its dictionary (fewer at the transfer's start). */
export const CONTEXT_BYTES = 4096;
/** Largest window of a board that knows only the one-word SACK (every board grants at least this much). */
export const MAX_WINDOW = 32;
/**
 * Largest window a board MAY grant (PROTOCOL.md §6.2): a granted window above 32 makes every
 * BULK_ACK of the transfer carry ceil(window / 32) − 1 more SACK words after the first.
 */
export const MAX_WINDOW_WIDE = 128;
/** SACK words a BULK_ACK of a transfer with this window carries. */
export function sackWords(window: number): number {
  return Math.max(1, Math.ceil(window / 32));
}
export const MAX_CHUNK = 8192;

export interface BulkOpen {
  transferId: number;
  region: number;
  flags: number;
  offset: number;
  length: number;
  chunkSize: number;
  window: number;
}

/** BULK_READ_OPEN / BULK_WRITE_OPEN request, and the board's answer (same layout, values as granted). */
export const BULK_OPEN = codec<BulkOpen>(
  'bulk-open',
  (w, v) => w.u16(v.transferId).u8(v.region).u8(v.flags).u32(v.offset).u32(v.length).u16(v.chunkSize).u8(v.window),
  (r) => ({
    transferId: r.u16('transferId'),
    region: r.u8('region'),
    flags: r.u8('flags'),
    offset: r.u32('offset'),
    length: r.u32('length'),
    chunkSize: r.u16('chunkSize'),
    window: r.u8('window'),
  }),
);

export const BULK_CLOSE = codec<{ transferId: number }>(
  'bulk-close',
  (w, v) => w.u16(v.transferId),
  (r) => ({ transferId: r.u16('transferId') }),
);
export const BULK_CLOSED = codec<{ transferId: number; committed: number }>(
  'bulk-closed',
  (w, v) => w.u16(v.transferId).u32(v.committed),
  (r) => ({ transferId: r.u16('transferId'), committed: r.u32('committed') }),
);

export interface BulkData {
  transferId: number;
  offset: number;
  flags: number;
  data: Uint8Array;
}

export const BULK_DATA = codec<BulkData>(
  'bulk-data',
  (w, v) => w.u16(v.transferId).u32(v.offset).u8(v.flags).bytes(v.data),
  (r) => ({ transferId: r.u16('transferId'), offset: r.u32('offset'), flags: r.u8('flags'), data: r.rest() }),
);

/** Encodes BULK_DATA without an intermediate writer: this is the hot path of every transfer. */
export function encodeBulkData(transferId: number, offset: number, flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(7 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, transferId, true);
  dv.setUint32(2, offset, true);
  out[6] = flags;
  out.set(data, 7);
  return out;
}

export interface BulkAck {
  transferId: number;
  /** Absolute region offset below which everything is received (reads) or committed (writes). */
  cumulative: number;
  /** Bit i: the chunk starting at cumulative + i × chunkSize has been received. */
  sack: number;
  /** Windows above 32: word k, bit i covers the chunk at cumulative + (32·(k+1) + i) × chunkSize. */
  more?: number[];
}

export const BULK_ACK = codec<BulkAck>(
  'bulk-ack',
  (w, v) => {
    w.u16(v.transferId).u32(v.cumulative).u32(v.sack);
    for (const m of v.more ?? []) w.u32(m);
  },
  (r) => {
    const a: BulkAck = { transferId: r.u16('transferId'), cumulative: r.u32('cumulative'), sack: r.u32('sack') };
    // Further SACK words of a wide window; a trailing partial word is ignored like any unknown tail.
    const more: number[] = [];
    while (r.remaining >= 4 && more.length < sackWords(MAX_WINDOW_WIDE) - 1) more.push(r.u32('sack'));
    if (more.length) a.more = more;
    return a;
  },
);

/** BULK_NAK (PROTOCOL.md §6.3): the chunk at `offset` arrived damaged; send it again. */
export const BULK_NAK = codec<{ transferId: number; offset: number }>(
  'bulk-nak',
  (w, v) => w.u16(v.transferId).u32(v.offset),
  (r) => ({ transferId: r.u16('transferId'), offset: r.u32('offset') }),
);

export const BULK_ABORT = codec<{ transferId: number; code: number; message: string }>(
  'bulk-abort',
  (w, v) =>
    w
      .u16(v.transferId)
      .u16(v.code)
      .str8(v.message.length > 200 ? v.message.slice(0, 200) : v.message),
  (r) => ({ transferId: r.u16('transferId'), code: r.u16('code'), message: r.str8('message') }),
);
