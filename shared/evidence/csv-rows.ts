/**
 * Rows of data/records.csv written as ASCII bytes straight from a segment's raw records, without a
 * LogRecord, a string or a float in between. Package creation and verification format every record
 * of a log this way, so on a long log this is where most of their time would otherwise go
 * (Number.toFixed, template strings, UTF-8 encoding).
 *
 * The bytes are exactly those of csvRow() (shared/blackbox/export.ts) for the same record. The
 * record fields are integers with a decimal scale (0.001 V, 0.01 %, 0.1 °C): the double csvRow
 * formats, raw × scale, lies within a few ulps of raw / 10^k, so toFixed rounds it back to the
 * same integer and the text is the integer with the decimal point placed. A layout whose scale is
 * not such a power of ten, or a time outside years 1970–9999, takes csvRow itself (property-tested
 * to agree: tests/unit/evidence/csv-rows.test.ts).
 */
import { ALARM_FLAGS, STATUS_FLAGS, flagNames } from '../types/domain.js';
import { csvRow } from '../blackbox/export.js';
import { eventName } from '../blackbox/events.js';
import { recordReader, type RecordSchema, type SchemaField } from '../blackbox/format.js';
import type { ParsedSegment } from '../blackbox/segment.js';
import { encodeText } from '../util/text.js';

const COMMA = 0x2c;
const DOT = 0x2e;
const MINUS = 0x2d;
const COLON = 0x3a;
const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00Z: toISOString's years switch to six digits with a sign here. */
const YEAR_10000_MS = 253_402_300_800_000;

/** Digits after the decimal point csvRow prints for each field (toFixed). */
const DECIMALS = { pack: 3, current: 3, soc: 2, cell: 3, temp: 1 } as const;

/** How many decimals `scale` is (1 → 0, 0.1 → 1, …, 0.001 → 3), when it is exactly such a power of ten. */
function decimalPlaces(scale: number): number | null {
  for (let k = 0; k <= 3; k++) if (scale === Number(`1e-${k}`)) return k;
  return null;
}

/** The integer multiplier that turns a raw value of `f` into units of 10^-digits, or null if not exact. */
function multiplier(f: SchemaField, digits: number): number | null {
  const k = decimalPlaces(f.scale);
  return k === null || k > digits ? null : 10 ** (digits - k);
}

interface Layout {
  dt: number;
  pack: { o: number; signed: boolean; w: number; m: number };
  current: { o: number; signed: boolean; w: number; m: number };
  soc: { o: number; signed: boolean; w: number; m: number };
  status: { o: number; signed: boolean; w: number };
  alarms: { o: number; signed: boolean; w: number };
  event: { o: number; signed: boolean; w: number };
  cells: { o: number; n: number; m: number };
  temps: { o: number; n: number; w: number; m: number };
  /** The text tables of cell voltages and 16-bit temperatures, made when the first row needs them. */
  cellText?: FieldTable;
  tempText?: FieldTable;
}

const WIDTH: Record<string, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4 };

const layouts = new WeakMap<RecordSchema, Layout | null>();

/** Where each field sits and how it scales, or null when this layout must take csvRow. */
function layoutOf(schema: RecordSchema): Layout | null {
  if (layouts.has(schema)) return layouts.get(schema)!;
  const f = (n: string) => schema.fields.find((x) => x.name === n)!;
  const int = (x: SchemaField) => ({ o: x.offset, signed: x.type.startsWith('i'), w: WIDTH[x.type]! });
  const scaled = (x: SchemaField, digits: number) => {
    const m = multiplier(x, digits);
    return m === null ? null : { ...int(x), m };
  };
  const dt = f('dt');
  const pack = scaled(f('pack_v'), DECIMALS.pack);
  const current = scaled(f('current'), DECIMALS.current);
  const soc = scaled(f('soc'), DECIMALS.soc);
  const cellF = f('cell_v');
  const tempF = f('temp');
  const cellM = multiplier(cellF, DECIMALS.cell);
  const tempM = multiplier(tempF, DECIMALS.temp);
  const st = [f('status'), f('alarms'), f('event')];
  const ok =
    dt.type === 'u32' &&
    dt.scale === 1 &&
    pack &&
    current &&
    soc &&
    cellM !== null &&
    cellF.type === 'u16' &&
    tempM !== null &&
    (tempF.type === 'i16' || tempF.type === 'i8') &&
    st.every((x) => x.scale === 1);
  const layout: Layout | null = ok
    ? {
        dt: dt.offset,
        pack: pack!,
        current: current!,
        soc: soc!,
        status: int(st[0]!),
        alarms: int(st[1]!),
        event: int(st[2]!),
        cells: { o: cellF.offset, n: cellF.count, m: cellM },
        temps: { o: tempF.offset, n: tempF.count, w: WIDTH[tempF.type]!, m: tempM },
      }
    : null;
  layouts.set(schema, layout);
  return layout;
}

function readInt(b: Uint8Array, o: number, w: number, signed: boolean): number {
  if (w === 1) return signed ? (b[o]! << 24) >> 24 : b[o]!;
  if (w === 2) {
    const v = b[o]! | (b[o + 1]! << 8);
    return signed ? (v << 16) >> 16 : v;
  }
  const v = b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
  return signed ? v : v >>> 0;
}

const flagBytes = new Map<number, Uint8Array>();
/** "charging|balancing" for status bits (kind 0) or alarm bits (kind 1), as bytes, cached. */
function flags(bits: number, kind: 0 | 1): Uint8Array {
  const key = bits * 2 + kind;
  let b = flagBytes.get(key);
  if (b === undefined) {
    b = encodeText(flagNames(kind ? ALARM_FLAGS : STATUS_FLAGS, bits).join('|'));
    if (flagBytes.size < 4096) flagBytes.set(key, b);
  }
  return b;
}

const eventBytes = new Map<number, Uint8Array>();
function eventText(code: number): Uint8Array {
  let b = eventBytes.get(code);
  if (b === undefined) eventBytes.set(code, (b = encodeText(eventName(code))));
  return b;
}

/** "000" to "999" as ASCII, three bytes each. */
const DIGITS3 = (() => {
  const t = new Uint8Array(3000);
  for (let i = 0; i < 1000; i++) {
    t[i * 3] = 0x30 + Math.floor(i / 100);
    t[i * 3 + 1] = 0x30 + (Math.floor(i / 10) % 10);
    t[i * 3 + 2] = 0x30 + (i % 10);
  }
  return t;
})();

/** Bytes reserved per field when sizing a row: the longest number csvRow can print (sign, 16 digits, point). */
const FIELD_MAX = 24;

/**
 * The text of a 16-bit field, comma first, for every raw value: a row has 16 or more cell
 * voltages and several temperatures, and copying their text from a table (two or four aligned
 * 32-bit words written at once, then the length added) is several times quicker than placing
 * digits one by one. Words past the text are junk the next field overwrites; rows reserve
 * FIELD_MAX bytes per field, more than the 16 a table entry spans.
 */
interface FieldTable {
  words: Uint32Array;
  /** Words per entry: 2 or 4. */
  stride: number;
  len: Uint8Array;
}

const fieldTables = new Map<string, FieldTable>();

/** The table for raw 16-bit values (`signed`: i16) times `m`, printed with `digits` decimals. */
function fieldTable(signed: boolean, m: number, digits: number): FieldTable {
  const key = `${signed}:${m}:${digits}`;
  let t = fieldTables.get(key);
  if (t) return t;
  // Every entry formatted by the writer itself, one after the other in one buffer.
  let all: Uint8Array = new Uint8Array(0);
  const w = new CsvRowWriter((b) => void (all = b), 0x10000 * (FIELD_MAX + 1));
  const ends = new Uint32Array(0x10000);
  for (let raw = 0; raw < 0x10000; raw++) ends[raw] = w.field((signed ? (raw << 16) >> 16 : raw) * m, digits);
  w.flush();
  const len = new Uint8Array(0x10000);
  let longest = 0;
  for (let raw = 0; raw < 0x10000; raw++) longest = Math.max(longest, (len[raw] = ends[raw]! - (raw ? ends[raw - 1]! : 0)));
  const stride = longest <= 8 ? 2 : 4;
  const bytes = new Uint8Array(0x10000 * stride * 4);
  for (let raw = 0; raw < 0x10000; raw++) bytes.set(all.subarray(ends[raw]! - len[raw]!, ends[raw]), raw * stride * 4);
  t = { words: new Uint32Array(bytes.buffer), stride, len };
  fieldTables.set(key, t);
  return t;
}

/**
 * Appends CSV rows to a byte buffer and hands full buffers on. Each buffer handed to `out` is the
 * receiver's to keep (a fresh one is started), so a writer may queue it; a receiver that is done
 * with the bytes when `out` returns (a comparison) says `transient`, and the one buffer is reused.
 */
export class CsvRowWriter {
  private buf: Uint8Array;
  private n = 0;
  private day = NaN;
  private readonly dayText = new Uint8Array(11);
  /** The same bytes as `buf`, for writing a table entry's words. */
  private view: DataView;

  constructor(
    private readonly out: (bytes: Uint8Array) => void,
    private readonly size = 256 * 1024,
    private readonly transient = false,
  ) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /** Hands what is buffered to `out`. */
  flush(): void {
    if (this.n === 0) return;
    const full = this.buf.subarray(0, this.n);
    this.n = 0;
    if (this.transient) return this.out(full);
    this.buf = new Uint8Array(this.size);
    this.view = new DataView(this.buf.buffer);
    this.out(full);
  }

  private room(k: number): void {
    if (this.n + k > this.buf.length) {
      this.flush();
      if (k > this.buf.length) {
        this.buf = new Uint8Array(Math.max(k, this.size));
        this.view = new DataView(this.buf.buffer);
      }
    }
  }

  /** ",", then `v` units of 10^-digits as toFixed prints them (what a FieldTable holds); returns the bytes buffered. */
  field(v: number, digits: number): number {
    this.room(FIELD_MAX + 1);
    this.ch(COMMA);
    this.fixed(v, digits);
    return this.n;
  }

  /** A table entry: the text of raw value `raw`, comma first. */
  private entry(t: FieldTable, raw: number): void {
    const k = raw * t.stride;
    const w = t.words;
    const view = this.view;
    const n = this.n;
    view.setUint32(n, w[k]!, true);
    view.setUint32(n + 4, w[k + 1]!, true);
    if (t.stride === 4) {
      view.setUint32(n + 8, w[k + 2]!, true);
      view.setUint32(n + 12, w[k + 3]!, true);
    }
    this.n = n + t.len[raw]!;
  }

  /** Text (a header, or a row csvRow formatted). */
  text(s: string): void {
    const b = encodeText(s);
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }

  private ch(c: number): void {
    this.buf[this.n++] = c;
  }

  /** Bytes of any length (flag and event names): room is made first, for them and the short fields after them. */
  private bytes(b: Uint8Array): void {
    this.room(b.length + FIELD_MAX * 3);
    this.buf.set(b, this.n);
    this.n += b.length;
  }

  /** A non-negative safe integer in decimal. */
  private uint(v: number): void {
    const buf = this.buf;
    if (v < 1000) {
      // Most fields: three digits from the table, leading zeros dropped.
      const d = v * 3;
      if (v >= 100) buf[this.n++] = DIGITS3[d]!;
      if (v >= 10) buf[this.n++] = DIGITS3[d + 1]!;
      buf[this.n++] = DIGITS3[d + 2]!;
      return;
    }
    let len = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) len++;
    let p = this.n + len;
    this.n = p;
    if (v < 0x80000000) {
      do {
        const q = (v / 10) | 0;
        buf[--p] = 0x30 + (v - q * 10);
        v = q;
      } while (v > 0);
      return;
    }
    do {
      const q = Math.floor(v / 10);
      buf[--p] = 0x30 + (v - q * 10);
      v = q;
    } while (v > 0);
  }

  /** An integer count of 10^-digits units as toFixed(digits) prints the value. */
  private fixed(v: number, digits: number): void {
    const buf = this.buf;
    if (v < 0) {
      buf[this.n++] = MINUS;
      v = -v;
    }
    if (digits === 0) return this.uint(v);
    const unit = digits === 3 ? 1000 : digits === 2 ? 100 : 10;
    const whole = Math.floor(v / unit);
    const frac = (v - whole * unit) * 3;
    this.uint(whole);
    buf[this.n++] = DOT;
    if (digits === 3) buf[this.n++] = DIGITS3[frac]!;
    if (digits >= 2) buf[this.n++] = DIGITS3[frac + 1]!;
    buf[this.n++] = DIGITS3[frac + 2]!;
  }

  private two(v: number): void {
    const q = Math.floor(v / 10);
    this.buf[this.n++] = 0x30 + q;
    this.buf[this.n++] = 0x30 + (v - q * 10);
  }

  /** 2026-06-01T12:00:00.000Z for a time in [1970, 10000): the day's text cached, the rest by arithmetic. */
  private iso(t: number): void {
    const day = Math.floor(t / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.dayText.set(encodeText(new Date(day * DAY_MS).toISOString().slice(0, 11)));
    }
    this.bytes(this.dayText);
    let ms = t - day * DAY_MS;
    const h = Math.floor(ms / 3_600_000);
    ms -= h * 3_600_000;
    const m = Math.floor(ms / 60_000);
    ms -= m * 60_000;
    const s = Math.floor(ms / 1000);
    ms -= s * 1000;
    const buf = this.buf;
    this.two(h);
    buf[this.n++] = COLON;
    this.two(m);
    buf[this.n++] = COLON;
    this.two(s);
    buf[this.n++] = DOT;
    buf[this.n++] = 0x30 + Math.floor(ms / 100);
    this.two(ms % 100);
    buf[this.n++] = 0x5a; // Z
  }

  /**
   * The rows of records `from`…`from + count - 1` of a segment, numbered from `firstIndex` (the
   * records DeviceEvidenceStream hands on with the segment).
   */
  segment(seg: ParsedSegment, firstIndex: number, count: number): void {
    const { schema, headerLen, recordSize, rtcMs, counter } = seg.header;
    const L = layoutOf(schema);
    const b = seg.bytes;
    const reader = L ? null : recordReader(schema);
    const rowMax = FIELD_MAX * (12 + schema.cells + schema.temps);
    for (let i = 0; i < count; i++) {
      const o = headerLen + i * recordSize;
      const t = L ? rtcMs + readInt(b, o + L.dt, 4, false) : 0;
      if (!L || !(t >= 0 && t < YEAR_10000_MS) || !Number.isInteger(t) || !Number.isSafeInteger(counter)) {
        this.text(csvRow((reader ?? recordReader(schema)).record(b, o, rtcMs, firstIndex + i, counter)));
        continue;
      }
      this.room(rowMax);
      this.uint(firstIndex + i);
      this.ch(COMMA);
      this.uint(counter);
      this.ch(COMMA);
      this.iso(t);
      this.ch(COMMA);
      this.uint(t);
      this.ch(COMMA);
      const { pack, current, soc, cells, temps } = L;
      this.fixed(readInt(b, o + pack.o, pack.w, pack.signed) * pack.m, DECIMALS.pack);
      this.ch(COMMA);
      this.fixed(readInt(b, o + current.o, current.w, current.signed) * current.m, DECIMALS.current);
      this.ch(COMMA);
      this.fixed(readInt(b, o + soc.o, soc.w, soc.signed) * soc.m, DECIMALS.soc);
      const cellText = L.cellText ?? (L.cellText = fieldTable(false, cells.m, DECIMALS.cell));
      for (let c = 0, p = o + cells.o; c < cells.n; c++, p += 2) this.entry(cellText, b[p]! | (b[p + 1]! << 8));
      if (temps.w === 2) {
        const tempText = L.tempText ?? (L.tempText = fieldTable(true, temps.m, DECIMALS.temp));
        for (let c = 0, p = o + temps.o; c < temps.n; c++, p += 2) this.entry(tempText, b[p]! | (b[p + 1]! << 8));
      } else {
        for (let c = 0, p = o + temps.o; c < temps.n; c++, p += temps.w) {
          this.ch(COMMA);
          this.fixed(readInt(b, p, temps.w, true) * temps.m, DECIMALS.temp);
        }
      }
      const status = readInt(b, o + L.status.o, L.status.w, L.status.signed);
      const alarms = readInt(b, o + L.alarms.o, L.alarms.w, L.alarms.signed);
      const event = readInt(b, o + L.event.o, L.event.w, L.event.signed);
      this.ch(COMMA);
      this.int(status);
      this.ch(COMMA);
      this.int(alarms);
      this.ch(COMMA);
      if (status !== 0) this.bytes(flags(status, 0));
      this.ch(COMMA);
      if (alarms !== 0) this.bytes(flags(alarms, 1));
      this.ch(COMMA);
      if (event !== 0) {
        this.int(event);
        this.ch(COMMA);
        this.bytes(eventText(event));
      } else this.ch(COMMA);
      this.ch(0x0a);
    }
  }

  /** A signed integer as `${v}` prints it. */
  private int(v: number): void {
    if (v < 0) {
      this.buf[this.n++] = MINUS;
      v = -v;
    }
    this.uint(v);
  }
}
