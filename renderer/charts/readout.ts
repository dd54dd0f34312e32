import { dateTime } from './time-axis.js';
import { fmt } from '../common/format.js';

/**
 * Values at the cursor, written straight into their cells (no React render per mouse move or per
 * live frame): each chart panel reports its channels' values where the shared cursor stands.
 */
export class Readout {
  private cells = new Map<string, HTMLElement>();
  private timeEl: HTMLElement | null = null;
  private units = new Map<string, { unit: string; digits: number }>();

  bindTime(el: HTMLElement | null): void {
    this.timeEl = el;
  }

  bind(id: string, el: HTMLElement | null, unit: string, digits: number): void {
    if (el) this.cells.set(id, el);
    else this.cells.delete(id);
    this.units.set(id, { unit, digits });
  }

  /** The cursor's time (ms) and whether the chart shows raw records (then milliseconds count). */
  time(t: number | null, raw: boolean): void {
    if (!this.timeEl) return;
    const text = t === null ? '—' : dateTime(t, undefined, raw);
    if (this.timeEl.textContent !== text) this.timeEl.textContent = text;
  }

  /** One channel's value at the cursor: a column's min and max, or one sample (min = max). */
  value(id: string, min: number | null | undefined, max: number | null | undefined): void {
    const el = this.cells.get(id);
    if (!el) return;
    const u = this.units.get(id)!;
    let text = '—';
    if (min != null && max != null && min === min && max === max) {
      // In the user's locale ("3,305 V" in German), like the time beside it.
      text = min === max ? `${fmt(min, u.digits)} ${u.unit}` : `${fmt(min, u.digits)} … ${fmt(max, u.digits)} ${u.unit}`;
    }
    if (el.textContent !== text) el.textContent = text;
  }
}

/** Digits that show what a unit's sensors resolve (cells in mV, current in mA, power in W). */
export function digitsFor(unit: string): number {
  return unit === 'V' || unit === 'A' ? 3 : unit === 'W' ? 0 : 1;
}
