import { readSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { EVENTS, eventInfo } from '../../../shared/blackbox/events.js';
import { createRecordView, readHeader, recordReader, type RecordSchema, type RecordView } from '../../../shared/blackbox/format.js';
import { parseSegment, type ParsedSegment } from '../../../shared/blackbox/segment.js';
import { checkpointSegment } from '../../../shared/blackbox/verify.js';
import { PackscopeError } from '../../../shared/errors.js';
import type { EventsReply, SeriesReply } from '../../../shared/api/series-schemas.js';
import { ChannelBuckets, columnsById, decimateInto, newCounts, type BucketGrid } from '../../../shared/series/buckets.js';
import { channelValuesInto, layoutChannels, type ChannelInfo } from '../../../shared/series/channels.js';
import { newChannelLevel, newTreeLevel, SummaryTree, type ChannelLevel } from '../../../shared/series/summary-tree.js';
import { openPslog } from './pslog.js';

/**
 * Range reads of a .pslog for charts (the Logs screen's recorded Source asks through log.series):
 * one pass over the file builds a summary tree (shared/series/summary-tree.ts) whose leaves are
 * runs of a few segments, with every channel — pack values, each cell, each named temperature
 * sensor — plus the log's gaps and events. A read then merges whole blocks and decodes only the
 * leaves straddling a column edge, straight from the file (a small cache keeps recent ones), so a
 * 10-million-record log costs tens of megabytes, not gigabytes, and no extreme is ever lost.
 */

/** Leaves a tree may have: more would cost memory, fewer would mean more records decoded per read. */
const MAX_LEAVES = 65_536;
/**
 * Cells of the time grid leaves are cut at, at most. A leaf never spans a multiple of the grid
 * width (a power of two of milliseconds, from the log's span), so a read whose columns are whole
 * multiples of it on the same grid — the renderer's blocks at every zoom above the finest few —
 * merges whole leaves and decodes nothing.
 */
const GRID_CELLS = 131_072;
/** Decoded leaves kept for reads that come back to them (panning, zooming around one place). */
const LEAF_CACHE = 8192;
/** Logs kept indexed (the one on screen and the one before it). */
const LOG_CACHE = 2;

interface LeafColumns {
  t: Float64Array;
  index0: number;
  /** Per channel id: values (NaN where a record has none). */
  cols: Map<string, Float64Array>;
}

/** A record layout's channels, worked out once per schema. */
const layouts = new WeakMap<RecordSchema, string[]>();
function layoutIds(schema: RecordSchema): string[] {
  let ids = layouts.get(schema);
  if (!ids) layouts.set(schema, (ids = layoutChannels(schema.cells, schema.tempLabels, schema.temps).map((c) => c.id)));
  return ids;
}

/** Records [from, to) of one parsed segment. */
interface SegmentPart {
  seg: ParsedSegment;
  from: number;
  to: number;
}

/**
 * Record times and the values of channels `want` of runs of parsed segments, numbered from index0
 * (NaN where a record has no such channel).
 */
function segmentColumns(parts: SegmentPart[], index0: number, want: readonly string[]): LeafColumns {
  let n = 0;
  for (const p of parts) n += Math.max(0, p.to - p.from);
  const t = new Float64Array(n);
  const cols = new Map<string, Float64Array>(want.map((id) => [id, new Float64Array(n).fill(NaN)]));
  let i = 0;
  for (const { seg, from: r0, to: r1 } of parts) {
    const schema = seg.header.schema;
    const ids = layoutIds(schema);
    // Positions of the wanted channels in this layout's values, and where they go.
    const from: number[] = [];
    const to: Float64Array[] = [];
    want.forEach((id) => {
      const c = ids.indexOf(id);
      if (c < 0) return;
      from.push(c);
      to.push(cols.get(id)!);
    });
    const reader = recordReader(schema);
    const view = createRecordView(schema);
    const vals = new Float64Array(ids.length);
    const { headerLen, recordSize, rtcMs } = seg.header;
    for (let r = r0; r < r1; r++, i++) {
      reader.view(seg.bytes, headerLen + r * recordSize, rtcMs, view);
      channelValuesInto(view, vals);
      t[i] = view.t;
      for (let c = 0; c < from.length; c++) to[c]![i] = vals[from[c]!]!;
    }
  }
  return { t, index0, cols };
}

/**
 * The grid width leaves are cut at: a power of two of milliseconds giving at most GRID_CELLS
 * cells (and about two per segment in a short log) over the span from the first segment's start
 * to the last's; Infinity (no cuts) when neither end can be read. A wrong guess, say a clock set
 * late in the log, only makes reads decode more: the cuts never decide what a read answers.
 */
async function gridWidth(fh: FileHandle, segmentsOffset: number, size: number, count: number): Promise<{ width: number; cells: number }> {
  const startOf = async (i: number) => {
    const b = new Uint8Array(size);
    const { bytesRead } = await fh.read(b, 0, size, segmentsOffset + i * size);
    try {
      return bytesRead === size ? readHeader(b).rtcMs : NaN;
    } catch {
      return NaN;
    }
  };
  let first = NaN;
  let last = NaN;
  for (let i = 0; i < Math.min(count, 8) && first !== first; i++) first = await startOf(i);
  for (let i = count - 1; i >= Math.max(0, count - 8) && last !== last; i--) last = await startOf(i);
  if (!(last >= first)) return { width: Infinity, cells: 0 };
  const span = Math.max(1, last - first);
  const width = 2 ** Math.max(0, Math.ceil(Math.log2(span / Math.min(GRID_CELLS, 2 * count))));
  return { width, cells: Math.ceil(span / width) + 1 };
}

class Growable {
  a = new Float64Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  get values(): Float64Array {
    return this.a.subarray(0, this.n);
  }
}

/** Gaps: a step between records longer than this many typical steps (and at least a second more). */
const GAP_FACTOR = 3;

export class SeriesIndex {
  private leafCache = new Map<number, LeafColumns>();
  /** Leaves decoded from the file so far (diagnostics, and what tests hold the grid to). */
  readonly stats = { leavesDecoded: 0 };

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    readonly tree: SummaryTree,
    readonly available: ChannelInfo[],
    /** Per leaf: positions (into segOffsets) of its first and last segment; −1 for the checkpoint leaf. */
    private leafSeg0: Float64Array,
    private leafSeg1: Float64Array,
    private segOffsets: Float64Array,
    /** Per stored segment: the log index of its first record. */
    private segFirst: Float64Array,
    private segmentSize: number,
    private checkpointLeaf: { seg: ParsedSegment; count: number } | null,
    readonly gaps: Float64Array,
    private eventCols: { t: Float64Array; code: Float64Array; index: Float64Array },
    /** File identity when indexed: a changed file is indexed again. */
    readonly stamp: string,
    /** The time grid leaves are cut at (ms; Infinity: none). */
    readonly gridMs: number,
  ) {}

  static async build(path: string): Promise<SeriesIndex> {
    const st = await stat(path).catch(() => null);
    const reader = await openPslog(path);
    const fh = await open(path, 'r');
    try {
      const segCount = reader.segmentCount;
      const { width: grid, cells } = await gridWidth(fh, reader.preamble.segmentsOffset, reader.preamble.segmentSize, segCount);
      // Where the grid cuts leaves, the segment limit is a bound for a clock that stood still or a
      // span guessed too long (a board whose clock was set late): leaves at most twice as long as without a grid.
      const perLeaf = Math.max(1, Math.ceil(segCount / MAX_LEAVES)) * (grid < Infinity ? 2 : 1);
      // Leaves: at most perLeaf segments, and never across a grid line. Arrays grow as leaves come.
      let cap = Math.ceil(segCount / perLeaf) + cells + 4;
      // A clock that jumps back and forth across grid lines would cut a leaf per record: past this many leaves, cuts stop.
      const maxGridLeaves = 2 * cap;
      let L = newTreeLevel(cap);
      const chans = new Map<string, ChannelLevel>();
      const infos = new Map<string, ChannelInfo>();
      let seg0 = new Float64Array(cap);
      let seg1 = new Float64Array(cap);
      const segOffsets = new Growable();
      const segFirst = new Growable();
      const gaps = new Growable();
      const ev = { t: new Growable(), code: new Growable(), index: new Growable() };
      // The typical step between records, from the first thousand; steps are judged against it.
      const firstSteps: number[] = [];
      const pending: Array<[number, number]> = [];
      let typical = NaN;
      let leaf = 0;
      let inLeaf = 0;
      let index = 0;
      let prevT = NaN;
      let cell = NaN;
      let cuts = grid < Infinity;
      let vals = new Float64Array(0);
      let view: RecordView | null = null;
      let lastSchema: RecordSchema | null = null;
      let arrays: ChannelLevel[] = [];

      const grow = () => {
        const n = Math.ceil(cap * 1.5);
        const more = <T extends Float64Array>(a: T, fill: number) => {
          const b = new Float64Array(n).fill(fill);
          b.set(a);
          return b as T;
        };
        L = { tMin: more(L.tMin, 0), tMax: more(L.tMax, 0), iFirst: more(L.iFirst, 0), iLast: more(L.iLast, 0), n: more(L.n, 0) };
        seg0 = more(seg0, 0);
        seg1 = more(seg1, 0);
        // The channel levels are grown in place: `arrays` holds the same objects.
        for (const c of chans.values()) {
          c.min = more(c.min, NaN);
          c.max = more(c.max, NaN);
          c.first = more(c.first, NaN);
          c.last = more(c.last, NaN);
        }
        cap = n;
      };
      // Steps longer than this are gaps (set once the typical step is known).
      let gapStep = NaN;
      const judge = (a: number, b: number) => {
        if (b - a <= gapStep || (gaps.n && gaps.a[gaps.n - 2] === a)) return;
        gaps.push(a);
        gaps.push(b);
      };
      const setTypical = (steps: number[]) => {
        typical = steps.sort((x, y) => x - y)[steps.length >> 1]!;
        gapStep = Math.max(GAP_FACTOR * typical, typical + 1000);
        for (const [a, b] of pending) judge(a, b);
      };
      /** Opens leaf `leaf` at record `first` in the segment at position `pos`. */
      const startLeaf = (first: number, pos: number) => {
        if (leaf >= cap) grow();
        L.tMin[leaf] = Infinity;
        L.tMax[leaf] = -Infinity;
        L.iFirst[leaf] = first;
        L.iLast[leaf] = first - 1;
        L.n[leaf] = 0;
        seg0[leaf] = pos;
        seg1[leaf] = pos;
      };
      // A run of records' extremes per channel, gathered in small local arrays and merged into the
      // leaf once per run (a segment, or its part on one side of a grid line): the per-record loop
      // touches nothing else (it is most of an open).
      let segMin = new Float64Array(0);
      let segMax = new Float64Array(0);
      let segFirst_ = new Float64Array(0);
      let segLast = new Float64Array(0);
      /** A run of n records (the last is `last`, in the segment at `pos`, times lo…hi) into the leaf. */
      const flush = (last: number, pos: number, n: number, lo: number, hi: number) => {
        if (!n) return;
        if (lo < L.tMin[leaf]!) L.tMin[leaf] = lo;
        if (hi > L.tMax[leaf]!) L.tMax[leaf] = hi;
        const mn = segMin;
        const mx = segMax;
        const fi = segFirst_;
        const la = segLast;
        for (let c = 0; c < arrays.length; c++) {
          if (mn[c] === Infinity) continue;
          const a = arrays[c]!;
          if (!(a.min[leaf]! <= mn[c]!)) a.min[leaf] = mn[c]!;
          if (!(a.max[leaf]! >= mx[c]!)) a.max[leaf] = mx[c]!;
          if (a.first[leaf]! !== a.first[leaf]!) a.first[leaf] = fi[c]!;
          a.last[leaf] = la[c]!;
        }
        L.n[leaf] += n;
        L.iLast[leaf] = last;
        seg1[leaf] = pos;
        mn.fill(Infinity);
        mx.fill(-Infinity);
        fi.fill(NaN);
        la.fill(NaN);
      };
      const addSegment = (seg: ParsedSegment, count: number, pos: number, cutAtGrid: boolean) => {
        const schema = seg.header.schema;
        if (schema !== lastSchema) {
          lastSchema = schema;
          const list = layoutChannels(schema.cells, schema.tempLabels, schema.temps);
          arrays = list.map((c) => {
            if (!infos.has(c.id)) infos.set(c.id, c);
            let a = chans.get(c.id);
            if (!a) chans.set(c.id, (a = newChannelLevel(cap)));
            return a;
          });
          vals = new Float64Array(list.length);
          segMin = new Float64Array(list.length).fill(Infinity);
          segMax = new Float64Array(list.length).fill(-Infinity);
          segFirst_ = new Float64Array(list.length).fill(NaN);
          segLast = new Float64Array(list.length).fill(NaN);
          view = createRecordView(schema);
        }
        const r = recordReader(schema);
        const v = view!;
        const x0 = vals;
        const mn = segMin;
        const mx = segMax;
        const fi = segFirst_;
        const la = segLast;
        const C = arrays.length;
        const { headerLen, recordSize, rtcMs } = seg.header;
        let p = prevT;
        let i0 = index;
        let runN = 0;
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < count; i++, i0++) {
          r.view(seg.bytes, headerLen + i * recordSize, rtcMs, v);
          const t = v.t;
          if (cutAtGrid) {
            // A record past a grid line starts a new leaf (a power-of-two width: the division is exact).
            const g = Math.floor(t / grid);
            if (g !== cell) {
              cell = g;
              if (runN || L.n[leaf]) {
                flush(i0 - 1, pos, runN, lo, hi);
                runN = 0;
                lo = Infinity;
                hi = -Infinity;
                leaf++;
                startLeaf(i0, pos);
                inLeaf = 1;
                if (leaf > maxGridLeaves) cutAtGrid = cuts = false;
              }
            }
          }
          channelValuesInto(v, x0);
          if (t < lo) lo = t;
          if (t > hi) hi = t;
          for (let c = 0; c < C; c++) {
            const x = x0[c]!;
            if (x !== x) continue;
            if (x < mn[c]!) mn[c] = x;
            if (x > mx[c]!) mx[c] = x;
            if (fi[c] !== fi[c]) fi[c] = x;
            la[c] = x;
          }
          runN++;
          const event = v.event;
          if (event) {
            // A desktop recording marks the first record after a quiet link: an explicit gap.
            if (event === EVENTS.recording_gap && p === p) {
              gaps.push(p);
              gaps.push(t);
            }
            ev.t.push(t);
            ev.code.push(event);
            ev.index.push(i0);
          }
          if (p === p) {
            if (gapStep === gapStep) {
              if (t - p > gapStep) judge(p, t);
            } else {
              firstSteps.push(t - p);
              pending.push([p, t]);
              if (firstSteps.length === 1000) setTypical(firstSteps);
            }
          }
          p = t;
        }
        flush(i0 - 1, pos, runN, lo, hi);
        prevT = p;
        index = i0;
      };

      startLeaf(0, 0);
      for await (const it of reader.segments()) {
        if (!('segment' in it)) continue;
        const pos = segOffsets.n;
        if (inLeaf === perLeaf && L.n[leaf]) {
          leaf++;
          startLeaf(index, pos);
          inLeaf = 0;
        }
        segOffsets.push(it.offset);
        segFirst.push(index);
        if (!L.n[leaf]) seg0[leaf] = pos;
        addSegment(it.segment, it.segment.recordCount, pos, cuts);
        inLeaf++;
      }
      if (L.n[leaf]) leaf++;
      // The checkpointed open segment: its own leaf, decoded once and kept.
      let checkpointLeaf: { seg: ParsedSegment; count: number } | null = null;
      if (reader.checkpoint && reader.checkpoint.recordCount > 0) {
        let seg: ParsedSegment | null = null;
        try {
          seg = checkpointSegment(reader.checkpoint);
        } catch {
          seg = null;
        }
        if (seg) {
          startLeaf(index, -1);
          addSegment(seg, reader.checkpoint.recordCount, -1, false);
          checkpointLeaf = { seg, count: reader.checkpoint.recordCount };
          leaf++;
        }
      }
      if (!(typical === typical) && firstSteps.length) setTypical(firstSteps);
      // Copies where the arrays have much room to spare (a view would keep all of it).
      const trim = <T extends Float64Array>(a: T) => (leaf > 0.9 * cap ? a.subarray(0, leaf) : a.slice(0, leaf)) as T;
      const leaves = { tMin: trim(L.tMin), tMax: trim(L.tMax), iFirst: trim(L.iFirst), iLast: trim(L.iLast), n: trim(L.n) };
      const leafChans = new Map([...chans].map(([k, c]) => [k, { min: trim(c.min), max: trim(c.max), first: trim(c.first), last: trim(c.last) }]));
      const tree = SummaryTree.build(leaves, leafChans);
      const order = layoutChannels(0, []).map((c) => c.id);
      const available = [...infos.values()].sort((a, b) => rank(a, order) - rank(b, order));
      return new SeriesIndex(
        path,
        fh,
        tree,
        available,
        trim(seg0),
        trim(seg1),
        segOffsets.values.slice(),
        segFirst.values.slice(),
        reader.preamble.segmentSize,
        checkpointLeaf,
        gaps.values.slice(),
        { t: ev.t.values.slice(), code: ev.code.values.slice(), index: ev.index.values.slice() },
        st ? `${st.size}:${st.mtimeMs}` : '',
        cuts ? grid : Infinity,
      );
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    } finally {
      await reader.close();
    }
  }

  /**
   * A leaf's records, decoded. The read is synchronous on purpose: a range read needs up to a few
   * thousand 4 KiB reads from the page cache, each microseconds long, where a round trip through
   * the I/O thread pool costs far more than the read itself.
   */
  private leafColumns(leaf: number, want: readonly string[]): LeafColumns {
    const hit = this.leafCache.get(leaf);
    if (hit && want.every((id) => hit.cols.has(id))) {
      this.leafCache.delete(leaf);
      this.leafCache.set(leaf, hit);
      return hit;
    }
    // Channels asked for before stay with the leaf (the trace picker adds and removes some at a time).
    const ids = hit ? [...new Set([...hit.cols.keys(), ...want])] : want;
    const s0 = this.leafSeg0[leaf]!;
    const s1 = this.leafSeg1[leaf]!;
    const first = this.tree.levels[0]!.iFirst[leaf]!;
    const end = this.tree.levels[0]!.iLast[leaf]! + 1;
    let cols: LeafColumns;
    if (s0 < 0 && this.checkpointLeaf) cols = segmentColumns([{ seg: this.checkpointLeaf.seg, from: 0, to: this.checkpointLeaf.count }], first, ids);
    else {
      const size = this.segmentSize;
      const start = this.segOffsets[s0]!;
      const buf = new Uint8Array(this.segOffsets[s1]! + size - start);
      readSync(this.fh.fd, buf, 0, buf.length, start);
      const parts: SegmentPart[] = [];
      for (let s = s0; s <= s1; s++) {
        const o = this.segOffsets[s]! - start;
        const seg = parseSegment(buf.subarray(o, o + size));
        // A leaf may begin or end inside a segment (at a grid line).
        const f = this.segFirst[s]!;
        parts.push({ seg, from: Math.max(0, first - f), to: Math.min(seg.recordCount, end - f) });
      }
      cols = segmentColumns(parts, first, ids);
    }
    this.stats.leavesDecoded++;
    this.leafCache.delete(leaf);
    this.leafCache.set(leaf, cols);
    if (this.leafCache.size > LEAF_CACHE) this.leafCache.delete(this.leafCache.keys().next().value!);
    return cols;
  }

  /** series(t0, t1, buckets, channels): see shared/api/series-schemas.ts for the reply. */
  async series(req: { t0?: number | undefined; t1?: number | undefined; buckets: number; channels: string[] }): Promise<SeriesReply> {
    const span = this.tree.span();
    const t0 = req.t0 ?? span?.[0] ?? 0;
    // The whole log ends just after its last record (the range is half-open).
    const t1 = req.t1 ?? (span ? span[1] + 1 : 1);
    const ids = req.channels;
    const base = { t0, t1, buckets: req.buckets, records: this.tree.records, span, available: this.available, gaps: this.gapsIn(t0, t1) };
    // Raw records when there are at most two per column: drawn as they are, they look the same.
    const rawLeaves = this.tree.leavesIn(t0, t1, 2 * req.buckets);
    if (rawLeaves) {
      const parts = rawLeaves.map((l) => this.leafColumns(l, ids));
      const t: number[] = [];
      const v = ids.map(() => [] as Array<number | null>);
      for (const p of parts) {
        const cols = ids.map((id) => p.cols.get(id));
        for (let i = 0; i < p.t.length; i++) {
          const x = p.t[i]!;
          if (!(x >= t0 && x < t1)) continue;
          t.push(x);
          for (let c = 0; c < ids.length; c++) {
            const y = cols[c]?.[i] ?? NaN;
            v[c]!.push(y === y ? y : null);
          }
        }
      }
      if (t.length <= 2 * req.buckets) return { ...base, mode: 'raw', t, counts: [], channels: Object.fromEntries(ids.map((id, c) => [id, { v: v[c]! }])) };
    }
    const g: BucketGrid = { t0, t1, buckets: req.buckets };
    const out = ids.map(() => new ChannelBuckets(req.buckets));
    const counts = newCounts(g);
    const raw = this.tree.query(g, ids, out, counts);
    for (const p of raw.map((l) => this.leafColumns(l, ids))) {
      // Every wanted channel was decoded (NaN where the leaf's layout lacks it).
      const cols = ids.map((id) => p.cols.get(id)!);
      decimateInto(g, p.t, cols, out, counts, 0, p.t.length, p.index0);
    }
    return {
      ...base,
      mode: 'buckets',
      t: [],
      counts: Array.from(counts),
      channels: columnsById(ids, out),
    };
  }

  /** The gaps touching [t0, t1), ascending, each once (a gap both noted and judged from the step). */
  gapsIn(t0: number, t1: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.gaps.length; i += 2) if (this.gaps[i + 1]! >= t0 && this.gaps[i]! < t1) out.push([this.gaps[i]!, this.gaps[i + 1]!]);
    out.sort((a, b) => a[0] - b[0]);
    return out.filter((g, i) => i === 0 || g[0] !== out[i - 1]![0]);
  }

  /** Events in [t0, t1) from position `from` (in the range's own order), `limit` per page. */
  events(req: { t0?: number | undefined; t1?: number | undefined; from?: number | undefined; limit: number }): EventsReply {
    const { t, code, index } = this.eventCols;
    const t0 = req.t0 ?? -Infinity;
    const t1 = req.t1 ?? Infinity;
    const inRange: number[] = [];
    for (let i = 0; i < t.length; i++) if (t[i]! >= t0 && t[i]! < t1) inRange.push(i);
    const from = req.from ?? 0;
    const page = inRange.slice(from, from + req.limit).map((i) => {
      const info = eventInfo(code[i]!);
      return { t: t[i]!, code: code[i]!, name: info.name, label: info.description, index: index[i]! };
    });
    return { events: page, total: inRange.length, next: from + page.length < inRange.length ? from + page.length : null };
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

function rank(c: ChannelInfo, base: string[]): number {
  const b = base.indexOf(c.id);
  if (b >= 0) return b;
  if (c.group === 'cell') return 1000 + Number(c.id.slice(4));
  return 100_000;
}

/** The indexed logs, by path; a file that changed on disk is indexed again. */
export class SeriesIndexCache {
  private logs = new Map<string, Promise<SeriesIndex>>();
  /** Range reads on their way, and background passes waiting for them to be answered. */
  private reading = 0;
  private waiting: Array<() => void> = [];

  /** A range read (log.series), counted while on its way so that background passes let it go first. */
  async series(path: string, range: Parameters<SeriesIndex['series']>[0]): Promise<SeriesReply> {
    this.reading++;
    try {
      return await (await this.get(path)).series(range);
    } finally {
      if (--this.reading === 0) for (const w of this.waiting.splice(0)) w();
    }
  }

  /**
   * Lets range reads go first: resolves once the reads that have arrived are answered. A pass
   * over a whole log (log.open's verification, seconds long) awaits this every few segments, so
   * a chart's zoom and pan never queue behind it.
   */
  async yieldToReads(): Promise<void> {
    // Requests that came in while the pass held the thread are read in the poll phase: let it run.
    await new Promise<void>((r) => setImmediate(r));
    if (this.reading) await new Promise<void>((r) => this.waiting.push(r));
  }

  async get(path: string): Promise<SeriesIndex> {
    const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
      throw new PackscopeError(e.code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `cannot read ${path}: ${e.message}`);
    });
    const stamp = `${st.size}:${st.mtimeMs}`;
    const have = this.logs.get(path);
    if (have) {
      const idx = await have.catch(() => null);
      if (idx && idx.stamp === stamp) {
        this.logs.delete(path);
        this.logs.set(path, have);
        return idx;
      }
      this.logs.delete(path);
      void idx?.close();
    }
    const p = SeriesIndex.build(path);
    this.logs.set(path, p);
    p.catch(() => this.logs.delete(path));
    while (this.logs.size > LOG_CACHE) {
      const [k, old] = this.logs.entries().next().value!;
      this.logs.delete(k);
      void old.then((i) => i.close()).catch(() => undefined);
    }
    return p;
  }

  async closeAll(): Promise<void> {
    const all = [...this.logs.values()];
    this.logs.clear();
    await Promise.all(all.map((p) => p.then((i) => i.close()).catch(() => undefined)));
  }
}
