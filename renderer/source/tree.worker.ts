/// <reference lib="webworker" />
import { treeFromColumns, type ChannelLevel, type TreeLevel } from '../../shared/series/summary-tree.js';

/**
 * Builds a recorded log's summary tree (shared/series/summary-tree.ts, the definition the host's
 * range reads use) off the UI thread, and hands the columns back with it: they are transferred
 * both ways, never copied.
 */
export interface TreeRequest {
  id: number;
  t: Float64Array;
  channels: Record<string, Float64Array>;
  leafSize: number;
}

export interface TreeResponse {
  id: number;
  t: Float64Array;
  channels: Record<string, Float64Array>;
  levels: TreeLevel[];
  tree: Array<[string, ChannelLevel[]]>;
  ms: number;
}

const arrays = (l: TreeLevel | ChannelLevel): ArrayBuffer[] => Object.values(l).map((a: Float64Array) => a.buffer as ArrayBuffer);

self.onmessage = (e: MessageEvent<TreeRequest>) => {
  const started = performance.now();
  const { id, t, channels, leafSize } = e.data;
  const tree = treeFromColumns(t, channels, leafSize);
  const chans = [...tree.channels];
  const reply: TreeResponse = { id, t, channels, levels: tree.levels, tree: chans, ms: performance.now() - started };
  (self as unknown as Worker).postMessage(reply, [
    t.buffer as ArrayBuffer,
    ...Object.values(channels).map((c) => c.buffer as ArrayBuffer),
    ...tree.levels.flatMap(arrays),
    ...chans.flatMap(([, ls]) => ls.flatMap(arrays)),
  ]);
};
