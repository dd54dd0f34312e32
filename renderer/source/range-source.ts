import type { PackscopeApi } from '../../shared/api/contract.js';
import type { ChannelInfo } from '../../shared/series/channels.js';
import type { SeriesReply } from '../../shared/api/series-schemas.js';
import type { TelemetryFrame } from '../../shared/types/domain.js';
import { EMPTY, PointList, type Decimated } from './decimate.js';
import { pushPoints } from './series-points.js';
import { ChangeNotifier, type Source } from './source.js';

/** Columns per block: a view of ~1000 pixel columns needs four to eight blocks. */
export const TILE_BUCKETS = 256;
/** Blocks kept (a few screens' worth at several zoom levels). */
const TILE_CACHE = 600;

interface Tile {
  /** Channels answered so far; the time side (mode, t, counts, gaps) is the same for every channel. */
  reply: SeriesReply | null;
  waiting: Set<string>;
  inFlight: boolean;
  /** The read failed: not asked again (the chart shows the error). */
  failed: boolean;
  /** A view is waiting for it (an answer only asked for ahead redraws nothing). */
  needed: boolean;
}

const newTile = (): Tile => ({ reply: null, waiting: new Set(), inFlight: false, failed: false, needed: false });

/** How many times coarser a block of raw records may be and still serve a view (its records are the view's, and more). */
const RAW_REUSE = 2 ** 10;

/**
 * A .pslog on the host as a Source, read by range (the block loader of the Logs screen): a view
 * asks log.series for fixed blocks — TILE_BUCKETS columns of a power-of-two width, aligned on
 * multiples of their own span — so panning reuses the blocks already here and only the blocks
 * entering the view are asked for, and zooming in or out asks for the blocks of the new width.
 * While blocks are on their way the chart keeps what it drew before; each answer redraws it. Deep
 * in, the host answers with the raw records.
 */
export class PslogSource implements Source {
  readonly kind = 'recorded' as const;
  readonly capabilities = { live: false, seek: true };
  private notifier = new ChangeNotifier();
  private tiles = new Map<string, Tile>();
  private lastDrawn = new Map<string, Decimated>();
  private flushQueued = false;
  /** Blocks for the next zoom step are asked for once the first view is there. */
  private ahead = false;
  /** Requests answered and their total host round trip (for the benchmark and diagnostics). */
  stats = { requests: 0, ms: 0 };
  /** The last error of a read (shown by the chart). */
  error: string | null = null;

  private constructor(
    private api: PackscopeApi,
    readonly path: string,
    private info: { records: number; span: [number, number] | null; available: ChannelInfo[] },
  ) {}

  /** Opens a log by its first range read: the whole log, for the channels on screen (so the first paint needs nothing more). */
  static async open(api: PackscopeApi, path: string, first: string[], buckets: number): Promise<PslogSource> {
    const r = await api.call('log.series', { path, buckets: 1, channels: [] });
    const s = new PslogSource(api, path, { records: r.records, span: r.span, available: r.available });
    if (r.span) {
      // The blocks of the whole-log view, fetched before the source is handed to a chart.
      s.series(first[0] ?? 'packVoltage', r.span[0], r.span[1] + 1, buckets);
      for (const c of first.slice(1)) s.series(c, r.span[0], r.span[1] + 1, buckets);
      await s.settled();
    }
    s.ahead = true;
    return s;
  }

  span(): [number, number] | null {
    return this.info.span;
  }

  count(): number {
    return this.info.records;
  }

  latest(): TelemetryFrame | null {
    return null;
  }

  channels(): ChannelInfo[] {
    return this.info.available;
  }

  /** Resolves once no block is on its way. */
  async settled(): Promise<void> {
    while ([...this.tiles.values()].some((t) => t.inFlight || t.waiting.size)) await new Promise((r) => setTimeout(r, 5));
  }

  series(channel: string, t0: number, t1: number, buckets: number): Decimated {
    if (!(t1 > t0) || buckets < 1) return EMPTY;
    const w = 2 ** Math.ceil(Math.log2((t1 - t0) / buckets));
    const span = w * TILE_BUCKETS;
    const k0 = Math.floor(t0 / span);
    const k1 = Math.floor((t1 - 1e-9) / span);
    const tiles: SeriesReply[] = [];
    let missing = false;
    for (let k = k0; k <= k1; k++) {
      const key = `${w}:${k}`;
      let tile = this.tiles.get(key);
      if (!tile) this.tiles.set(key, (tile = newTile()));
      else {
        // Recently used blocks go to the back of the eviction order.
        this.tiles.delete(key);
        this.tiles.set(key, tile);
      }
      if (tile.reply && channel in tile.reply.channels) tiles.push(tile.reply);
      else missing = true;
    }
    // Deep in, the raw records of a coarser block are this view's records: no need to wait for the finer blocks.
    const raw = missing ? this.rawCover(channel, w, t0, t1) : null;
    if (missing && !raw) {
      for (let k = k0; k <= k1; k++) {
        const tile = this.tiles.get(`${w}:${k}`)!;
        if (tile.reply && channel in tile.reply.channels) continue;
        tile.needed = true;
        if (!tile.failed) tile.waiting.add(channel);
      }
      this.scheduleFetch();
      const before = this.lastDrawn.get(channel);
      return before ? { ...before, stale: true } : { ...EMPTY, stale: true };
    }
    const use = raw ?? tiles;
    // Nothing finer than the records themselves: raw blocks serve every deeper zoom.
    if (this.ahead && !use.every((r) => r.mode === 'raw')) this.prefetch(channel, w, t0, t1);
    const gaps = use.flatMap((r) => r.gaps).sort((a, b) => a[0] - b[0]);
    const out = new PointList(gaps.filter((g, i) => i === 0 || g[0] !== gaps[i - 1]![0]));
    for (const r of use) pushPoints(r, channel, out);
    const d = out.done(use.every((r) => r.mode === 'raw'));
    this.lastDrawn.set(channel, d);
    return d;
  }

  /** Blocks of raw records of a coarser width that together cover [t0, t1), or null. */
  private rawCover(channel: string, w: number, t0: number, t1: number): SeriesReply[] | null {
    for (let width = 2 * w; width <= w * RAW_REUSE; width *= 2) {
      const span = width * TILE_BUCKETS;
      const k0 = Math.floor(t0 / span);
      const k1 = Math.floor((t1 - 1e-9) / span);
      const out: SeriesReply[] = [];
      for (let k = k0; k <= k1; k++) {
        const r = this.tiles.get(`${width}:${k}`)?.reply;
        if (!r || r.mode !== 'raw' || !(channel in r.channels)) break;
        out.push(r);
      }
      if (out.length === k1 - k0 + 1) return out;
    }
    return null;
  }

  /**
   * Asks ahead for the blocks zooming in will need: half the width over the whole view (a zoom
   * step around any point inside it), and a quarter of it over the middle half (the step after a
   * keyboard zoom, or a wheel's near the middle), so the host works one step ahead of the user
   * and a step is drawn from blocks already here. Zooming out finds the coarser blocks it passed
   * on the way in.
   */
  private prefetch(channel: string, w: number, t0: number, t1: number): void {
    const want = (width: number, a: number, b: number) => {
      if (width < 1) return;
      const span = width * TILE_BUCKETS;
      const k0 = Math.floor(a / span);
      const k1 = Math.floor((b - 1e-9) / span);
      // From the middle of the view outwards: the host answers in order, and a zoom step (the
      // keyboard's, or the wheel's near the middle) needs the middle blocks first.
      const mid = Math.floor((k0 + k1) / 2);
      for (let j = 0; j <= k1 - k0; j++) {
        const k = j % 2 ? mid + (j + 1) / 2 : mid - j / 2;
        if (k < k0 || k > k1) continue;
        const key = `${width}:${k}`;
        let tile = this.tiles.get(key);
        if (!tile) this.tiles.set(key, (tile = newTile()));
        if (!tile.failed && !(tile.reply && channel in tile.reply.channels)) tile.waiting.add(channel);
      }
    };
    want(w / 2, t0, t1);
    const q = (t1 - t0) / 4;
    want(w / 4, t0 + q, t1 - q);
    this.scheduleFetch();
  }

  private scheduleFetch(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      for (const [key, tile] of this.tiles) if (tile.waiting.size && !tile.inFlight) void this.fetch(key, tile);
      this.evict();
    });
  }

  private async fetch(key: string, tile: Tile): Promise<void> {
    const [w, k] = key.split(':').map(Number) as [number, number];
    const channels = [...tile.waiting];
    tile.waiting.clear();
    tile.inFlight = true;
    const started = performance.now();
    try {
      const t0 = k * w * TILE_BUCKETS;
      const r = await this.api.call('log.series', { path: this.path, t0, t1: t0 + w * TILE_BUCKETS, buckets: TILE_BUCKETS, channels });
      this.stats.requests++;
      this.stats.ms += performance.now() - started;
      tile.reply = tile.reply ? { ...tile.reply, channels: { ...tile.reply.channels, ...r.channels } } : r;
      this.error = null;
    } catch (e) {
      this.error = (e as Error).message;
      tile.failed = true;
    } finally {
      tile.inFlight = false;
    }
    if (tile.waiting.size) this.scheduleFetch();
    // Only a block a view waits for (or a failure it must show) redraws the charts.
    if (tile.needed || tile.failed) {
      tile.needed = false;
      this.notifier.notify();
    }
  }

  private evict(): void {
    for (const [key, tile] of this.tiles) {
      if (this.tiles.size <= TILE_CACHE) break;
      if (!tile.inFlight && !tile.waiting.size) this.tiles.delete(key);
    }
  }

  onChange(listener: () => void): () => void {
    return this.notifier.on(listener);
  }
}
