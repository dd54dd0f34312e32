import { flushSync } from 'react-dom';
import type { TelemetryFrame } from '../../shared/types/domain.js';
import { Emitter } from '../../shared/util/emitter.js';
import type { Decimated } from './decimate.js';
import { BASE_CHANNELS, cellChannel, tempChannel, type ChannelInfo } from '../../shared/series/channels.js';

export type { ChannelInfo };

/**
 * One Source for live and recorded data (ARCHITECTURE.md section 1): the live dashboard and the
 * log viewer draw the same charts from it. A live source grows and has no seek; a recorded
 * source is complete and answers any range at any zoom.
 */
export const CHANNELS = {
  packVoltage: { label: 'Pack voltage', unit: 'V' },
  current: { label: 'Current', unit: 'A' },
  power: { label: 'Power', unit: 'W' },
  soc: { label: 'State of charge', unit: '%' },
  cellMin: { label: 'Lowest cell', unit: 'V' },
  cellMax: { label: 'Highest cell', unit: 'V' },
  tempMin: { label: 'Coolest sensor', unit: '°C' },
  tempMax: { label: 'Hottest sensor', unit: '°C' },
} as const;
/** The channels every source has; sources add one per cell (`cell3`) and per sensor (`temp:mosfet`). */
export type Channel = keyof typeof CHANNELS;
export const CHANNEL_NAMES = Object.keys(CHANNELS) as Channel[];

export interface SourceCapabilities {
  live: boolean;
  seek: boolean;
}

export interface Source {
  readonly kind: 'live' | 'recorded';
  readonly capabilities: SourceCapabilities;
  /** Time span held, ms since epoch; null while empty. */
  span(): [number, number] | null;
  /** Number of samples held. */
  count(): number;
  /** The newest frame (live) or the frame at the cursor (recorded). */
  latest(): TelemetryFrame | null;
  /** The channels this source can draw (base channels, each cell, each named sensor). */
  channels(): ChannelInfo[];
  /**
   * Min/max of one channel over [t0, t1) in `buckets` columns (raw samples when few enough).
   * Every channel of one source answers the same times for the same range; NaN marks a gap.
   */
  series(channel: string, t0: number, t1: number, buckets: number): Decimated;
  /** Fires when data was added or the source changed state; at most once per animation frame. */
  onChange(listener: () => void): () => void;
}

/** What to call a channel and in what unit, for any source. */
export function channelInfo(source: Source | null, id: string): ChannelInfo {
  const known = source?.channels().find((c) => c.id === id) ?? BASE_CHANNELS.find((c) => c.id === id);
  if (known) return known;
  if (/^cell\d+$/.test(id)) return cellChannel(Number(id.slice(4)) - 1);
  if (id.startsWith('temp:')) return tempChannel(id.slice(5), 0);
  return { id, label: id, unit: '', group: 'pack' };
}

/**
 * Coalesces change notifications to one per animation frame (50 Hz data, 60 Hz screen). The
 * listeners (charts, tiles) run inside flushSync, so new data is rendered in the frame that
 * announced it, and the whole per-frame cost is one 'frame-work' measure (the UI benchmark's
 * frame time).
 */
export class ChangeNotifier {
  private changes = new Emitter();
  private scheduled = false;
  on(listener: () => void): () => void {
    return this.changes.on(listener);
  }
  notify(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      const start = performance.now();
      flushSync(() => {
        this.changes.emit();
      });
      performance.measure('frame-work', { start, end: performance.now() });
    });
  }
}
