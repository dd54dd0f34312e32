/// <reference lib="webworker" />
import { buildPyramid, type Pyramid } from './pyramid.js';

/**
 * Builds min/max pyramids off the UI thread: a 10-million-sample channel takes a few hundred
 * milliseconds to reduce, which would otherwise freeze the window. Columns arrive transferred
 * (not copied) and go back the same way with their levels.
 */
export interface PyramidRequest {
  id: number;
  t: Float64Array;
  channels: Record<string, Float32Array>;
}

export interface PyramidResponse {
  id: number;
  pyramids: Record<string, Pyramid>;
  ms: number;
}

self.onmessage = (e: MessageEvent<PyramidRequest>) => {
  const t0 = performance.now();
  const { id, t, channels } = e.data;
  const pyramids: Record<string, Pyramid> = {};
  const transfer: ArrayBuffer[] = [t.buffer as ArrayBuffer];
  for (const [name, v] of Object.entries(channels)) {
    const p = buildPyramid(t, v);
    pyramids[name] = p;
    transfer.push(v.buffer as ArrayBuffer);
    for (const l of p.levels) transfer.push(l.t.buffer as ArrayBuffer, l.min.buffer as ArrayBuffer, l.max.buffer as ArrayBuffer);
  }
  const msg: PyramidResponse = { id, pyramids, ms: performance.now() - t0 };
  (self as unknown as Worker).postMessage(msg, transfer);
};
