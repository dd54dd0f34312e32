/**
 * Time-weighted histograms over fixed bands (hours spent in each temperature, SOC or C-rate band),
 * the way a BMS utility shows where a pack has spent its life. Bands are half-open [from, to); the
 * first starts at -Infinity and the last ends at +Infinity, so every finite value lands in one.
 */
import { roundTo } from '../codec/canonical-json.js';
import type { Band, Histogram } from './report.js';

export type { Band, Histogram } from './report.js';

export class HistogramAccumulator {
  private readonly seconds: Float64Array;

  /** `edges` ascending: n edges make n + 1 bands. `label` names a band from its edges. */
  constructor(
    readonly quantity: string,
    readonly unit: string,
    private readonly edges: readonly number[],
    private readonly label: (from: number | null, to: number | null) => string,
  ) {
    for (let i = 1; i < edges.length; i++) if (!(edges[i]! > edges[i - 1]!)) throw new RangeError('histogram edges must ascend');
    this.seconds = new Float64Array(edges.length + 1);
  }

  /** Adds `dtS` seconds spent at `value` (NaN values are not counted). */
  add(value: number, dtS: number): void {
    if (Number.isNaN(value) || !(dtS > 0)) return;
    let i = 0;
    while (i < this.edges.length && value >= this.edges[i]!) i++;
    this.seconds[i] = this.seconds[i]! + dtS;
  }

  /** Seconds per band, lowest band first. */
  secondsPerBand(): Float64Array {
    return this.seconds.slice();
  }

  /** Continues from stored seconds per band (one per band). */
  setSeconds(seconds: readonly number[]): void {
    if (seconds.length !== this.seconds.length) throw new RangeError(`${this.seconds.length} bands, ${seconds.length} values given`);
    this.seconds.set(seconds);
  }

  /** Total seconds counted. */
  total(): number {
    let s = 0;
    for (const x of this.seconds) s += x;
    return s;
  }

  result(): Histogram {
    const bands: Band[] = [];
    for (let i = 0; i <= this.edges.length; i++) {
      const from = i === 0 ? null : this.edges[i - 1]!;
      const to = i === this.edges.length ? null : this.edges[i]!;
      bands.push({ from, to, label: this.label(from, to), hours: roundTo(this.seconds[i]! / 3600, 4) });
    }
    return { quantity: this.quantity, unit: this.unit, bands };
  }
}

/** Band label such as "10–20 °C", "below 0 °C", "45 °C and above". */
export function rangeLabel(unit: string) {
  const u = unit ? ` ${unit}` : '';
  return (from: number | null, to: number | null): string => {
    if (from === null) return `below ${to}${u}`;
    if (to === null) return `${from}${u} and above`;
    return `${from}–${to}${u}`;
  };
}
