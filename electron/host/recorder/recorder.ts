import type { DeviceInfo, TelemetryFrame } from '../../../shared/types/domain.js';
import { EVENTS } from '../../../shared/blackbox/events.js';
import { DesktopSegmentBuilder } from './desktop-segments.js';

/**
 * Records live telemetry from any driver (native, JBD, Daly, JK, Pylontech CAN) as a desktop
 * recording: frames become unsigned, chained black-box segments (desktop-segments.ts) handed to a
 * sink, which writes the .pslog container. Stale periods, pauses and the disconnect are kept as
 * gaps, so a reader sees that the recording has holes instead of inferring it from timestamps
 * alone: the summary lists them, and in the file the first record after each gap carries the
 * `recording_gap` event. Frames further apart than the stream's own rate allows are a gap too,
 * whatever caused the silence.
 */
export interface RecordingGap {
  /** Host time the last frame before the gap was received, ms since epoch. */
  fromMs: number;
  /** Host time the next frame arrived (null: the recording ended inside the gap). */
  toMs: number | null;
  reason: string;
}

export interface RecordingSummary {
  records: number;
  segments: number;
  firstMs: number | null;
  lastMs: number | null;
  gaps: RecordingGap[];
  /** Why the recording ended: stopped by the user/duration, or the device went away. */
  ended: 'stopped' | 'disconnected';
}

export interface RecordingSink {
  /** Appends one closed segment; called in order, one at a time. */
  append(segment: Uint8Array): Promise<void>;
  /** Completes the file (identity, summary, index) and makes it visible under its final name. */
  finish(device: DeviceInfo, summary: RecordingSummary): Promise<void>;
  /** Gives up: closes the temporary file (kept when it holds data, so nothing recorded is lost). */
  abort(): Promise<void>;
}

export class TelemetryRecorder {
  private builder: DesktopSegmentBuilder;
  private writes: Promise<void> = Promise.resolve();
  private writeError: unknown = null;
  private firstMs: number | null = null;
  private lastMs: number | null = null;
  private gaps: RecordingGap[] = [];
  private openGap: RecordingGap | null = null;
  private ended: RecordingSummary['ended'] = 'stopped';
  private done = false;

  /** Frames further apart than this are a gap even if nobody announced one (null: never). */
  private maxIntervalMs: number | null;

  constructor(
    private device: DeviceInfo,
    private sink: RecordingSink,
    options: { segmentSize?: number; rateHz?: number } = {},
  ) {
    // The session's own stale rule: a second, or two and a half frame periods at slow rates.
    this.maxIntervalMs = options.rateHz ? Math.max(1000, 2500 / options.rateHz) : null;
    this.builder = new DesktopSegmentBuilder({
      serial: device.serial,
      protocol: device.protocol,
      ...(options.segmentSize ? { segmentSize: options.segmentSize } : {}),
    });
  }

  /** One telemetry frame (call from the session's telemetry event). */
  push(frame: TelemetryFrame): void {
    if (this.done) return;
    if (!this.openGap && this.lastMs !== null && this.maxIntervalMs !== null && frame.t - this.lastMs > this.maxIntervalMs) {
      this.gap(`no telemetry for ${((frame.t - this.lastMs) / 1000).toFixed(1)} s`);
    }
    let marker: number | undefined;
    if (this.openGap) {
      this.openGap.toMs = frame.t;
      this.openGap = null;
      marker = EVENTS.recording_gap;
    }
    this.firstMs ??= frame.t;
    this.lastMs = frame.t;
    for (const seg of this.builder.add(frame, marker)) this.enqueue(seg);
  }

  /** The session went stale (no frames): open a gap that the next frame closes. */
  gap(reason: string): void {
    if (this.done || this.openGap || this.lastMs === null) return;
    this.openGap = { fromMs: this.lastMs, toMs: null, reason };
    this.gaps.push(this.openGap);
  }

  disconnected(reason: string): void {
    this.gap(`device disconnected: ${reason}`);
    this.ended = 'disconnected';
  }

  get records(): number {
    return this.builder.records;
  }

  get gapCount(): number {
    return this.gaps.length;
  }

  /** Closes the last segment and completes the file; rejects (and removes the file) on a write error. */
  async stop(): Promise<RecordingSummary> {
    if (this.done) throw new Error('recording already stopped');
    this.done = true;
    for (const seg of this.builder.finish()) this.enqueue(seg);
    await this.writes;
    if (this.writeError) {
      await this.sink.abort().catch(() => undefined);
      throw this.writeError;
    }
    const summary: RecordingSummary = {
      records: this.builder.records,
      segments: this.builder.segments,
      firstMs: this.firstMs,
      lastMs: this.lastMs,
      gaps: this.gaps.map((g) => ({ ...g })),
      ended: this.ended,
    };
    await this.sink.finish(this.device, summary);
    return summary;
  }

  async abort(): Promise<void> {
    this.done = true;
    await this.writes.catch(() => undefined);
    await this.sink.abort();
  }

  private enqueue(seg: Uint8Array): void {
    this.writes = this.writes.then(async () => {
      if (this.writeError) return;
      try {
        await this.sink.append(seg);
      } catch (e) {
        this.writeError = e;
      }
    });
  }
}

/** Wires a recorder to a session-like event source (Session.on). Returns the unsubscriber. */
export function recordFrom(
  source: {
    on(event: 'telemetry', l: (f: TelemetryFrame) => void): () => void;
    on(event: 'stale', l: (ms: number) => void): () => void;
    on(event: 'disconnect', l: (why: string) => void): () => void;
  },
  recorder: TelemetryRecorder,
  /** Pauses announced by the host (a download or flash has the link), noted as gaps with their reason. */
  pauses?: (listener: (reason: string) => void) => () => void,
): () => void {
  const offs = [
    source.on('telemetry', (f) => recorder.push(f)),
    source.on('stale', (ms) => recorder.gap(`no telemetry for ${(ms / 1000).toFixed(1)} s`)),
    source.on('disconnect', (why) => recorder.disconnected(why)),
    ...(pauses ? [pauses((why) => recorder.gap(why))] : []),
  ];
  return () => offs.forEach((o) => o());
}
