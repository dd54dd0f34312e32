import { flushSync } from 'react-dom';
import type { TelemetryFrame } from '../../shared/types/domain.js';
import { Emitter } from '../../shared/util/emitter.js';
import type { Decimated } from './decimate.js';

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
  /** Min/max of one channel over [t0, t1] in `buckets` columns (raw samples when few enough). */
  series(channel: Channel, t0: number, t1: number, buckets: number): Decimated;
  /** Fires when data was added or the source changed state; at most once per animation frame. */
  onChange(listener: () => void): () => void;
}

/** Values of every channel for one frame. */
export function channelValues(f: {
  packVoltage: number;
  current: number;
  soc: number;
  cellVoltages: number[];
  temperatures: number[];
}): Record<Channel, number> {
  let cmin = Infinity;
  let cmax = -Infinity;
  for (const c of f.cellVoltages) {
    if (c < cmin) cmin = c;
    if (c > cmax) cmax = c;
  }
  let tmin = Infinity;
  let tmax = -Infinity;
  for (const c of f.temperatures) {
    if (c < tmin) tmin = c;
    if (c > tmax) tmax = c;
  }
  return {
    packVoltage: f.packVoltage,
    current: f.current,
    power: f.packVoltage * f.current,
    soc: f.soc,
    cellMin: f.cellVoltages.length ? cmin : NaN,
    cellMax: f.cellVoltages.length ? cmax : NaN,
    tempMin: f.temperatures.length ? tmin : NaN,
    tempMax: f.temperatures.length ? tmax : NaN,
  };
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
