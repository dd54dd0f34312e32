import { readSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { EVENTS, eventInfo } from '../../../shared/blackbox/events.js';
import { createRecordView, recordReader, type RecordSchema, type RecordView } from '../../../shared/blackbox/format.js';
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

/**
 * Record times and the values of channels `want` of parsed segments, numbered from index0 (NaN
 * where a record has no such channel).
 */
function segmentColumns(segs: ParsedSegment[], index0: number, want: readonly string[], limits?: number[]): LeafColumns {
  let n = 0;
  segs.forEach((s, k) => (n += Math.min(s.recordCount, limits?.[k] ?? Infinity)));
  const t = new Float64Array(n);
  const cols = new Map<string, Float64Array>(want.map((id) => [id, new Float64Array(n).fill(NaN)]));
  let i = 0;
  segs.forEach((seg, k) => {
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
    const count = Math.min(seg.recordCount, limits?.[k] ?? Infinity);
    for (let r = 0; r < count; r++, i++) {
      reader.view(seg.bytes, headerLen + r * recordSize, rtcMs, view);
      channelValuesInto(view, vals);
      t[i] = view.t;
      for (let c = 0; c < from.length; c++) to[c]![i] = vals[from[c]!]!;
    }
  });
  return { t, index0, cols };
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

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    readonly tree: SummaryTree,
    readonly available: ChannelInfo[],
    /** Per leaf: file offsets of its segments ([start, end) into segOffsets), or −1 for the checkpoint leaf. */
    private leafSegs: Uint32Array,
    private segOffsets: Float64Array,
    private segmentSize: number,
    private checkpointLeaf: { seg: ParsedSegment; count: number } | null,
    readonly gaps: Float64Array,
    private eventCols: { t: Float64Array; code: Float64Array; index: Float64Array },
    /** File identity when indexed: a changed file is indexed again. */
    readonly stamp: string,
  ) {}

  static async build(path: string): Promise<SeriesIndex> {
    const st = await stat(path).catch(() => null);
    const reader = await openPslog(path);
    try {
      const segCount = reader.segmentCount;
      const perLeaf = Math.max(1, Math.ceil(segCount / MAX_LEAVES));
      const maxLeaves = Math.ceil(segCount / perLeaf) + 2;
      const L = newTreeLevel(maxLeaves);
      const chans = new Map<string, ChannelLevel>();
      const infos = new Map<string, ChannelInfo>();
      const leafSegs = new Uint32Array(maxLeaves + 1);
      const segOffsets = new Growable();
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
      let vals = new Float64Array(0);
      let view: RecordView | null = null;
      let lastSchema: RecordSchema | null = null;
      let arrays: ChannelLevel[] = [];

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
      const startLeaf = () => {
        L.tMin[leaf] = Infinity;
        L.tMax[leaf] = -Infinity;
        L.iFirst[leaf] = index;
        L.iLast[leaf] = index - 1;
        L.n[leaf] = 0;
      };
      // One segment's extremes per channel, gathered in small local arrays and merged into the
      // leaf once per segment: the per-record loop touches nothing else (it is most of an open).
      let segMin = new Float64Array(0);
      let segMax = new Float64Array(0);
      let segFirst = new Float64Array(0);
      let segLast = new Float64Array(0);
      const addSegment = (seg: ParsedSegment, count: number) => {
        const schema = seg.header.schema;
        if (schema !== lastSchema) {
          lastSchema = schema;
          const list = layoutChannels(schema.cells, schema.tempLabels, schema.temps);
          arrays = list.map((c) => {
            if (!infos.has(c.id)) infos.set(c.id, c);
            let a = chans.get(c.id);
            if (!a) chans.set(c.id, (a = newChannelLevel(maxLeaves)));
            return a;
          });
          vals = new Float64Array(list.length);
          segMin = new Float64Array(list.length);
          segMax = new Float64Array(list.length);
          segFirst = new Float64Array(list.length);
          segLast = new Float64Array(list.length);
          view = createRecordView(schema);
        }
        const r = recordReader(schema);
        const v = view!;
        const x0 = vals;
        const mn = segMin.fill(Infinity);
        const mx = segMax.fill(-Infinity);
        const fi = segFirst.fill(NaN);
        const la = segLast.fill(NaN);
        const C = arrays.length;
        const { headerLen, recordSize, rtcMs } = seg.header;
        let tMin = Infinity;
        let tMax = -Infinity;
        let p = prevT;
        let i0 = index;
        for (let i = 0; i < count; i++, i0++) {
          r.view(seg.bytes, headerLen + i * recordSize, rtcMs, v);
          channelValuesInto(v, x0);
          const t = v.t;
          if (t < tMin) tMin = t;
          if (t > tMax) tMax = t;
          for (let c = 0; c < C; c++) {
            const x = x0[c]!;
            if (x !== x) continue;
            if (x < mn[c]!) mn[c] = x;
            if (x > mx[c]!) mx[c] = x;
            if (fi[c] !== fi[c]) fi[c] = x;
            la[c] = x;
          }
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
        prevT = p;
        index = i0;
        if (tMin < L.tMin[leaf]!) L.tMin[leaf] = tMin;
        if (tMax > L.tMax[leaf]!) L.tMax[leaf] = tMax;
        for (let c = 0; c < C; c++) {
          if (mn[c] === Infinity) continue;
          const a = arrays[c]!;
          if (!(a.min[leaf]! <= mn[c]!)) a.min[leaf] = mn[c]!;
          if (!(a.max[leaf]! >= mx[c]!)) a.max[leaf] = mx[c]!;
          if (a.first[leaf]! !== a.first[leaf]!) a.first[leaf] = fi[c]!;
          a.last[leaf] = la[c]!;
        }
        L.n[leaf] += count;
        L.iLast[leaf] = index - 1;
      };

      startLeaf();
      leafSegs[0] = 0;
      for await (const it of reader.segments()) {
        if (!('segment' in it)) continue;
        if (inLeaf === perLeaf) {
          leaf++;
          leafSegs[leaf] = segOffsets.n;
          inLeaf = 0;
          startLeaf();
        }
        segOffsets.push(it.offset);
        addSegment(it.segment, it.segment.recordCount);
        inLeaf++;
      }
      if (inLeaf > 0) leaf++;
      leafSegs[leaf] = segOffsets.n;
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
          const index0 = index;
          startLeaf();
          addSegment(seg, reader.checkpoint.recordCount);
          checkpointLeaf = { seg, count: reader.checkpoint.recordCount };
          void index0;
          leaf++;
          leafSegs[leaf] = segOffsets.n;
        }
      }
      if (!(typical === typical) && firstSteps.length) setTypical(firstSteps);
      const trim = <T extends Float64Array>(a: T) => a.subarray(0, leaf) as T;
      const leaves = { tMin: trim(L.tMin), tMax: trim(L.tMax), iFirst: trim(L.iFirst), iLast: trim(L.iLast), n: trim(L.n) };
      const leafChans = new Map([...chans].map(([k, c]) => [k, { min: trim(c.min), max: trim(c.max), first: trim(c.first), last: trim(c.last) }]));
      const tree = SummaryTree.build(leaves, leafChans);
      const fh = await open(path, 'r');
      const order = layoutChannels(0, []).map((c) => c.id);
      const available = [...infos.values()].sort((a, b) => rank(a, order) - rank(b, order));
      return new SeriesIndex(
        path,
        fh,
        tree,
        available,
        leafSegs.slice(0, leaf + 1),
        segOffsets.values.slice(),
        reader.preamble.segmentSize,
        checkpointLeaf,
        gaps.values.slice(),
        { t: ev.t.values.slice(), code: ev.code.values.slice(), index: ev.index.values.slice() },
        st ? `${st.size}:${st.mtimeMs}` : '',
      );
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
    const s0 = this.leafSegs[leaf]!;
    const s1 = this.leafSegs[leaf + 1]!;
    const index0 = this.tree.levels[0]!.iFirst[leaf]!;
    let cols: LeafColumns;
    if (s0 === s1 && this.checkpointLeaf) cols = segmentColumns([this.checkpointLeaf.seg], index0, ids, [this.checkpointLeaf.count]);
    else {
      const size = this.segmentSize;
      const start = this.segOffsets[s0]!;
      const end = this.segOffsets[s1 - 1]! + size;
      const buf = new Uint8Array(end - start);
      readSync(this.fh.fd, buf, 0, buf.length, start);
      const segs: ParsedSegment[] = [];
      for (let s = s0; s < s1; s++) {
        const o = this.segOffsets[s]! - start;
        segs.push(parseSegment(buf.subarray(o, o + size)));
      }
      cols = segmentColumns(segs, index0, ids);
    }
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
