import { createHash } from 'node:crypto';
import { alarmClearedEvent, alarmRaisedEvent, EVENTS, EVENT_NONE } from '../../../shared/blackbox/events.js';
import {
  buildSchemaText,
  DEFAULT_SEGMENT_SIZE,
  hashedRange,
  parseSchema,
  recordCapacity,
  SIGNATURE_SIZE,
  TRAILER_FLAG,
  writeHeader,
  writeRecord,
  writeTrailerHead,
  writeTrailerSeal,
  type RecordSchema,
} from '../../../shared/blackbox/format.js';
import { ALARM_FLAGS, STATUS_FLAGS, type ProtocolId, type StatusFlag, type TelemetryFrame } from '../../../shared/types/domain.js';

/**
 * Desktop recordings in the black box's own segment format (shared/blackbox/format.ts), so the
 * decoder, CSV export, log viewer and evidence engine read them exactly like a pulled log.
 *
 * What differs from a board's segments, and why this is visibly weaker evidence:
 *  - the signature field is all zeros: these boards have no device key, so nothing is signed;
 *  - the hash chain (prevHash = SHA-256 of the previous segment) is still computed, which detects
 *    accidental damage or a removed segment but proves nothing against deliberate editing, since
 *    anyone can recompute it;
 *  - the serial is what the host was told (often empty for JBD/Daly), the RTC is the host clock,
 *    and bootCount is 0.
 * The .pslog container marks the whole file as an unsigned desktop recording on top of this.
 */
export const UNSIGNED_SIGNATURE = new Uint8Array(SIGNATURE_SIZE);

/** Temperature labels per protocol, in the order its driver reports temperatures. */
export function desktopTemperatureLabels(protocol: ProtocolId, count: number): string[] {
  if (protocol === 'jk' && count >= 2) {
    return [...Array.from({ length: count - 1 }, (_, i) => `cells${i + 1}`), 'mosfet'];
  }
  return Array.from({ length: count }, (_, i) => `${protocol === 'native' ? 't' : 'ntc'}${i + 1}`);
}

export interface DesktopSegmentOptions {
  serial: string;
  protocol: ProtocolId;
  segmentSize?: number;
  /** Counter of the first segment (continuing an earlier recording). */
  firstCounter?: number;
  prevHash?: Uint8Array;
}

const STATUS_EVENTS: Array<[StatusFlag, number, number]> = [
  ['charger_connected', EVENTS.charger_connected, EVENTS.charger_disconnected],
  ['charge_fet_on', EVENTS.charge_fet_on, EVENTS.charge_fet_off],
  ['discharge_fet_on', EVENTS.discharge_fet_on, EVENTS.discharge_fet_off],
  ['balancing', EVENTS.balancing_started, EVENTS.balancing_stopped],
];

/** The event a record carries: the first status or alarm change since the previous frame. */
export function eventFor(prev: TelemetryFrame | null, f: TelemetryFrame): number {
  if (!prev) return EVENT_NONE;
  for (let i = 0; i < ALARM_FLAGS.length; i++) {
    const was = (prev.alarms >>> i) & 1;
    const is = (f.alarms >>> i) & 1;
    if (!was && is) return alarmRaisedEvent(i);
    if (was && !is) return alarmClearedEvent(i);
  }
  for (const [flag, on, off] of STATUS_EVENTS) {
    const bit = STATUS_FLAGS.indexOf(flag);
    const was = (prev.status >>> bit) & 1;
    const is = (f.status >>> bit) & 1;
    if (was !== is) return is ? on : off;
  }
  return EVENT_NONE;
}

interface OpenSegment {
  bytes: Uint8Array;
  schema: RecordSchema;
  headerLen: number;
  capacity: number;
  rtcMs: number;
  count: number;
}

/**
 * Packs telemetry frames into closed, chained, unsigned segments. add() returns the segments it
 * closed (a segment closes when full, when the cell/sensor layout changes, or when the record
 * time offset would overflow); finish() closes the last one.
 */
export class DesktopSegmentBuilder {
  private open: OpenSegment | null = null;
  private counter: number;
  private prevHash: Uint8Array;
  private prev: TelemetryFrame | null = null;
  private readonly size: number;
  // The layout of the last frame, so a run of same-shaped frames builds its schema text once and
  // every segment of one layout shares one parsed schema (and so one compiled record writer).
  private layout = { cells: -1, temps: -1, text: '' };
  private readonly schemas = new Map<string, RecordSchema>();
  records = 0;
  segments = 0;

  constructor(private opts: DesktopSegmentOptions) {
    this.counter = opts.firstCounter ?? 0;
    this.prevHash = opts.prevHash ?? new Uint8Array(32);
    this.size = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  }

  /** SHA-256 of the last closed segment (to continue a chain). */
  get lastHash(): Uint8Array {
    return this.prevHash;
  }

  get nextCounter(): number {
    return this.counter;
  }

  /** Adds a frame; `event` overrides the status/alarm event it would carry (a gap marker). */
  add(frame: TelemetryFrame, event?: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const schemaText = this.schemaTextFor(frame);
    const o = this.open;
    // dt is a u32 of milliseconds; a clock stepping back also starts a new segment.
    if (o && (o.schema.text !== schemaText || o.count >= o.capacity || frame.t < o.rtcMs || frame.t - o.rtcMs > 0xfffffff0)) {
      out.push(this.close(o.count >= o.capacity || o.schema.text !== schemaText ? TRAILER_FLAG.CLOSED : TRAILER_FLAG.CLOSED | TRAILER_FLAG.CLOSED_EARLY));
    }
    if (!this.open) this.open = this.start(frame.t, schemaText);
    const seg = this.open!;
    writeRecord(seg.bytes, seg.headerLen + seg.count * seg.schema.recordSize, seg.schema, seg.rtcMs, { ...frame, event: event ?? eventFor(this.prev, frame) });
    seg.count++;
    this.records++;
    this.prev = frame;
    return out;
  }

  /** Closes the open segment, if any. */
  finish(): Uint8Array[] {
    return this.open ? [this.close(TRAILER_FLAG.CLOSED)] : [];
  }

  private schemaTextFor(frame: TelemetryFrame): string {
    const cells = frame.cellVoltages.length;
    const temps = frame.temperatures.length;
    const l = this.layout;
    if (l.cells !== cells || l.temps !== temps) {
      this.layout = { cells, temps, text: buildSchemaText(cells, desktopTemperatureLabels(this.opts.protocol, temps)) };
    }
    return this.layout.text;
  }

  private start(t: number, schemaText: string): OpenSegment {
    const bytes = new Uint8Array(this.size).fill(0xff);
    let schema = this.schemas.get(schemaText);
    if (!schema) this.schemas.set(schemaText, (schema = parseSchema(schemaText)));
    const headerLen = writeHeader(bytes, {
      segmentSize: this.size,
      counter: this.counter,
      bootCount: 0,
      rtcMs: t,
      uptimeMs: 0,
      prevHash: this.prevHash,
      serial: this.opts.serial,
      schemaText,
    });
    return { bytes, schema, headerLen, capacity: recordCapacity(this.size, headerLen, schema.recordSize), rtcMs: t, count: 0 };
  }

  private close(flags: number): Uint8Array {
    const seg = this.open!;
    this.open = null;
    writeTrailerHead(seg.bytes, seg.count, flags);
    const sha = new Uint8Array(createHash('sha256').update(hashedRange(seg.bytes)).digest());
    writeTrailerSeal(seg.bytes, sha, UNSIGNED_SIGNATURE);
    this.prevHash = sha;
    this.counter++;
    this.segments++;
    return seg.bytes;
  }
}
