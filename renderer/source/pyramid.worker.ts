/// <reference lib="webworker" />
import { buildChannelLevels, buildTimeAxis, levelLengths, type ChannelLevels, type TimeAxis } from './pyramid.js';

/**
 * Builds min/max pyramids off the UI thread: a 10-million-sample channel takes tens of
 * milliseconds to reduce, eight channels several hundred, which would otherwise freeze the window.
 *
 * One request carries the whole log, transferred (not copied). The time axis and its levels are
 * built once and shared by every channel. The channels on screen come back first, with the time
 * axis; the rest follow in a second message. They need only their values, so the 80 MB time axis
 * of a 10-million-sample log is never copied.
 */
export interface PyramidRequest {
  id: number;
  t: Float64Array;
  channels: Record<string, Float32Array>;
  /** Channels to answer first (the ones on screen). */
  first: string[];
}

export type PyramidResponse =
  | { id: number; part: 'first'; axis: TimeAxis; channels: Record<string, ChannelLevels>; ms: number }
  | { id: number; part: 'rest'; channels: Record<string, ChannelLevels> };

function buffersOf(channels: Record<string, ChannelLevels>): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const c of Object.values(channels)) out.push(c.v.buffer as ArrayBuffer, ...[...c.min, ...c.max].map((a) => a.buffer as ArrayBuffer));
  return out;
}

self.onmessage = (e: MessageEvent<PyramidRequest>) => {
  const started = performance.now();
  const { id, t, channels, first } = e.data;
  const axis = buildTimeAxis(t);
  // The level lengths are all the channels need of the axis, also once it has gone to the UI thread.
  const lengths = levelLengths(axis);
  const firstLevels: Record<string, ChannelLevels> = {};
  for (const name of first) if (channels[name]) firstLevels[name] = buildChannelLevels(channels[name], lengths);
  const axisBuffers = [t.buffer as ArrayBuffer, ...axis.levels.map((l) => l.t.buffer as ArrayBuffer)];
  const post = self as unknown as Worker;
  post.postMessage({ id, part: 'first', axis, channels: firstLevels, ms: performance.now() - started } satisfies PyramidResponse, [
    ...axisBuffers,
    ...buffersOf(firstLevels),
  ]);

  const rest: Record<string, ChannelLevels> = {};
  for (const [name, v] of Object.entries(channels)) if (!first.includes(name)) rest[name] = buildChannelLevels(v, lengths);
  post.postMessage({ id, part: 'rest', channels: rest } satisfies PyramidResponse, buffersOf(rest));
};
