import { SummaryTree } from '../../shared/series/summary-tree.js';
import type { ChannelInfo } from '../../shared/series/channels.js';
import type { TelemetryFrame } from '../../shared/types/domain.js';
import type { Decimated } from './decimate.js';
import { pointsOf, querySeries, type MemoryLog } from './series-points.js';
import { ChangeNotifier, channelInfo, type Source } from './source.js';
import type { TreeRequest, TreeResponse } from './tree.worker.js';

/** A recorded log in columns: one time axis, one array per channel. */
export interface RecordedColumns {
  t: Float64Array;
  channels: Record<string, Float64Array>;
  /** The last frame, for tiles and cell bars. */
  lastFrame: TelemetryFrame | null;
  /** Quiet periods: [last time before, first time after]. */
  gaps?: Array<[number, number]>;
}

/** Records per leaf of the tree: a range read decodes at most two leaves per column raw. */
const LEAF = 64;

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, (r: TreeResponse) => void>();

function treeWorker(): Worker {
  if (!worker) {
    worker = new Worker(new URL('./tree.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<TreeResponse>) => {
      waiting.get(e.data.id)?.(e.data);
      waiting.delete(e.data.id);
    };
  }
  return worker;
}

/**
 * A log a screen holds in memory (claim preview, package verification) as a Source: its summary
 * tree is built in a Worker, and ranges are answered by the same definition and the same reply
 * as the host's range reads of a .pslog (series-points.ts).
 */
export class RecordedSource implements Source {
  readonly kind = 'recorded' as const;
  readonly capabilities = { live: false, seek: true };
  private notifier = new ChangeNotifier();

  private constructor(
    private log: MemoryLog,
    private last: TelemetryFrame | null,
    /** Worker time spent building the tree, ms. */
    readonly buildMs: number,
  ) {}

  /** Sends the columns to the Worker (transferred: they leave this thread until the tree is back). */
  static fromColumns(cols: RecordedColumns): Promise<RecordedSource> {
    const id = nextId++;
    return new Promise((resolve) => {
      waiting.set(id, (r) => {
        const tree = SummaryTree.fromParts(r.levels, new Map(r.tree));
        resolve(new RecordedSource({ t: r.t, cols: r.channels, tree, leafSize: LEAF, gaps: cols.gaps ?? [] }, cols.lastFrame, r.ms));
      });
      const req: TreeRequest = { id, t: cols.t, channels: cols.channels, leafSize: LEAF };
      treeWorker().postMessage(req, [cols.t.buffer as ArrayBuffer, ...Object.values(cols.channels).map((c) => c.buffer as ArrayBuffer)]);
    });
  }

  span(): [number, number] | null {
    return this.log.tree.span();
  }

  count(): number {
    return this.log.t.length;
  }

  latest(): TelemetryFrame | null {
    return this.last;
  }

  channels(): ChannelInfo[] {
    return Object.keys(this.log.cols).map((id) => channelInfo(null, id));
  }

  series(channel: string, t0: number, t1: number, buckets: number): Decimated {
    return pointsOf(querySeries(this.log, [channel], t0, t1, buckets), channel);
  }

  onChange(listener: () => void): () => void {
    return this.notifier.on(listener);
  }
}
