import type { TelemetryFrame } from '../../shared/types/domain.js';
import type { Decimated } from './decimate.js';
import { assemblePyramid, queryPyramid, type ChannelLevels, type Pyramid, type TimeAxis } from './pyramid.js';
import type { PyramidRequest, PyramidResponse } from './pyramid.worker.js';
import { CHANNEL_NAMES, ChangeNotifier, type Channel, type Source } from './source.js';

/** A recorded log in columns: one time axis, one Float32Array per channel. */
export interface RecordedColumns {
  t: Float64Array;
  channels: Record<Channel, Float32Array>;
  /** The last frame, for tiles and cell bars (cells are not charted per cell). */
  lastFrame: TelemetryFrame | null;
}

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, (r: PyramidResponse) => void>();

function pyramidWorker(): Worker {
  if (!worker) {
    worker = new Worker(new URL('./pyramid.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<PyramidResponse>) => waiting.get(e.data.id)?.(e.data);
  }
  return worker;
}

export interface BuiltPyramids {
  /** Pyramids of the `first` channels. */
  pyramids: Record<string, Pyramid>;
  /** Worker time for them, ms. */
  ms: number;
  /** Pyramids of the other channels, built after the first ones. */
  rest: Promise<Record<string, Pyramid>>;
}

/**
 * Sends the columns to the pyramid Worker (transferring them: they leave this thread) and resolves
 * once the `first` channels' pyramids are back; the rest follow on `rest`.
 */
export function buildPyramidsInWorker(t: Float64Array, channels: Record<string, Float32Array>, first: string[]): Promise<BuiltPyramids> {
  const id = nextId++;
  const w = pyramidWorker();
  return new Promise((resolve) => {
    // The 'first' answer always comes before 'rest' and brings the axis both share.
    let axis!: TimeAxis;
    let restDone!: (p: Record<string, Pyramid>) => void;
    const rest = new Promise<Record<string, Pyramid>>((r) => (restDone = r));
    const assemble = (chs: Record<string, ChannelLevels>) => Object.fromEntries(Object.entries(chs).map(([k, c]) => [k, assemblePyramid(axis, c)]));
    waiting.set(id, (r) => {
      if (r.part === 'first') {
        axis = r.axis;
        resolve({ pyramids: assemble(r.channels), ms: r.ms, rest });
      } else {
        waiting.delete(id);
        restDone(assemble(r.channels));
      }
    });
    const req: PyramidRequest = { id, t, channels, first };
    w.postMessage(req, [t.buffer as ArrayBuffer, ...Object.values(channels).map((c) => c.buffer as ArrayBuffer)]);
  });
}

/**
 * A recorded log as a Source: complete, seekable, any range at any zoom. Queries are answered
 * from the pyramids (coarse levels for the whole log, raw samples once zoomed in far enough).
 */
export class RecordedSource implements Source {
  readonly kind = 'recorded' as const;
  readonly capabilities = { live: false, seek: true };
  private notifier = new ChangeNotifier();
  /** Resolves when every channel's pyramid is built (the first ones are there from the start). */
  complete: Promise<void> = Promise.resolve();

  private constructor(
    private pyramids: Partial<Record<Channel, Pyramid>>,
    private last: TelemetryFrame | null,
    /** Worker time spent building the first pyramids (those needed for the first paint), ms. */
    readonly buildMs: number,
  ) {}

  /**
   * Builds the pyramids of `first` (the channels on screen) before resolving, so the first paint
   * waits for them only; the other channels follow in the background and announce themselves
   * through onChange.
   */
  static async fromColumns(cols: RecordedColumns, first: Channel[] = CHANNEL_NAMES): Promise<RecordedSource> {
    const r = await buildPyramidsInWorker(cols.t, cols.channels, first);
    const source = new RecordedSource(r.pyramids as Partial<Record<Channel, Pyramid>>, cols.lastFrame, r.ms);
    source.complete = r.rest.then((more) => {
      if (!Object.keys(more).length) return;
      Object.assign(source.pyramids, more);
      source.notifier.notify();
    });
    return source;
  }

  private anyPyramid(): Pyramid | undefined {
    return Object.values(this.pyramids)[0];
  }

  span(): [number, number] | null {
    const t = this.anyPyramid()?.t;
    return t && t.length ? [t[0]!, t[t.length - 1]!] : null;
  }

  count(): number {
    return this.anyPyramid()?.t.length ?? 0;
  }

  latest(): TelemetryFrame | null {
    return this.last;
  }

  series(channel: Channel, t0: number, t1: number, buckets: number): Decimated {
    const p = this.pyramids[channel];
    // Not built yet (background channel): nothing to draw until onChange says it is there.
    if (!p) return { t: new Float64Array(0), min: new Float64Array(0), max: new Float64Array(0), full: true };
    return queryPyramid(p, t0, t1, buckets);
  }

  onChange(listener: () => void): () => void {
    return this.notifier.on(listener);
  }
}
