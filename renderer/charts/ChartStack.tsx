import { useEffect, useId, useMemo, useRef } from 'react';
import { channelInfo, type Source } from '../source/source.js';
import './charts.css';
import { digitsFor, Readout } from './readout.js';
import { COLORS, TimeChart, viewRange, type ChartView } from './TimeChart.js';

/**
 * Charts people can read (in the manner of Betaflight's Blackbox Explorer and VESC Tool): one
 * panel per kind of quantity — pack voltage, current, power, cells, temperatures, state of
 * charge — stacked on one time axis with one shared cursor, and a readout of every visible
 * channel's value where the cursor stands. Zoom and pan with the wheel (Shift or a sideways
 * wheel pans), the keyboard (+ − ← → Home) or by dragging across a panel.
 */
export interface Panel {
  key: string;
  title: string;
  channels: string[];
}

const PANEL_ORDER = ['packVoltage', 'current', 'power', 'cells', 'temps', 'soc'] as const;
const PANEL_TITLES: Record<(typeof PANEL_ORDER)[number], string> = {
  packVoltage: 'Pack voltage',
  current: 'Current',
  power: 'Power',
  cells: 'Cells',
  temps: 'Temperatures',
  soc: 'State of charge',
};

function panelOf(id: string): (typeof PANEL_ORDER)[number] {
  if (id === 'packVoltage' || id === 'current' || id === 'power' || id === 'soc') return id;
  if (id === 'cellMin' || id === 'cellMax' || /^cell\d+$/.test(id)) return 'cells';
  return 'temps';
}

/** The panels for a set of channels: voltage, current and power never share a panel (or an axis). */
export function panelsFor(channels: readonly string[]): Panel[] {
  const by = new Map<string, string[]>();
  for (const c of channels) {
    const k = panelOf(c);
    by.set(k, [...(by.get(k) ?? []), c]);
  }
  return PANEL_ORDER.filter((k) => by.has(k)).map((k) => ({ key: k, title: PANEL_TITLES[k], channels: by.get(k)! }));
}

/** Colours by position among the channels shown, so no two visible traces share one. */
export function colorsFor(channels: readonly string[]): Record<string, string> {
  return Object.fromEntries(channels.map((c, i) => [c, COLORS[i % COLORS.length]!]));
}

/** Narrowest range a zoom reaches, ms. */
const MIN_SPAN_MS = 20;

/** The view after zooming by `factor` (< 1 zooms in) around the time at fraction `at` of the view. */
export function zoomView(source: Source, view: ChartView, factor: number, at = 0.5): ChartView | null {
  const r = viewRange(source, view);
  const span = source.span();
  if (!r || !span) return null;
  const [t0, t1] = r;
  const w = Math.max(MIN_SPAN_MS, (t1 - t0) * factor);
  const pivot = t0 + (t1 - t0) * at;
  return clamp(source, pivot - w * at, pivot - w * at + w);
}

/** The view moved by `frac` of its width (negative: back in time). */
export function panView(source: Source, view: ChartView, frac: number): ChartView | null {
  const r = viewRange(source, view);
  if (!r) return null;
  const d = (r[1] - r[0]) * frac;
  return clamp(source, r[0] + d, r[1] + d);
}

/** The whole recording. */
export function wholeView(source: Source): ChartView | null {
  const span = source.span();
  return span ? { mode: 'range', t0: span[0], t1: span[1] + 1 } : null;
}

function clamp(source: Source, t0: number, t1: number): ChartView {
  const span = source.span()!;
  const lo = span[0];
  const hi = span[1] + 1;
  const w = Math.min(t1 - t0, hi - lo);
  if (t0 < lo) t0 = lo;
  if (t0 + w > hi) t0 = hi - w;
  return { mode: 'range', t0, t1: t0 + w };
}

export function ChartStack({
  source,
  channels,
  view,
  onView,
  paused,
  markers,
  panelHeight = 170,
  label,
}: {
  source: Source;
  channels: string[];
  view: ChartView;
  onView: (v: ChartView) => void;
  paused?: boolean;
  markers?: Array<{ t: number; label: string }>;
  panelHeight?: number;
  label: string;
}) {
  const syncKey = useId();
  const readout = useMemo(() => new Readout(), []);
  const panels = useMemo(() => panelsFor(channels), [channels]);
  const colors = useMemo(() => colorsFor(channels), [channels]);
  const box = useRef<HTMLDivElement>(null);
  const state = useRef({ view, onView, source });
  state.current = { view, onView, source };

  // Wheel: zoom around the pointer; Shift+wheel or a sideways wheel pans. Not passive: the page
  // must not scroll while the wheel zooms the chart.
  useEffect(() => {
    const el = box.current!;
    const onWheel = (e: WheelEvent) => {
      const over = (e.target as HTMLElement).closest('.uplot')?.querySelector('.u-over')?.getBoundingClientRect();
      if (!over) return;
      e.preventDefault();
      const { view: v, onView: set, source: s } = state.current;
      const sideways = Math.abs(e.deltaX) > Math.abs(e.deltaY);
      const next =
        e.shiftKey || sideways
          ? panView(s, v, (sideways ? e.deltaX : e.deltaY) > 0 ? 0.1 : -0.1)
          : zoomView(s, v, e.deltaY > 0 ? 1.25 : 0.8, Math.min(1, Math.max(0, (e.clientX - over.left) / over.width)));
      if (next) set(next);
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, []);

  const onKey = (e: React.KeyboardEvent) => {
    const step = e.shiftKey ? 0.5 : 0.1;
    const next =
      e.key === '+' || e.key === '='
        ? zoomView(source, view, 0.5)
        : e.key === '-'
          ? zoomView(source, view, 2)
          : e.key === 'ArrowLeft'
            ? panView(source, view, -step)
            : e.key === 'ArrowRight'
              ? panView(source, view, step)
              : e.key === 'Home'
                ? wholeView(source)
                : undefined;
    if (next === undefined) return;
    e.preventDefault();
    if (next) onView(next);
  };

  return (
    <div className="chart-stack" data-testid="chart-stack">
      <div
        className="chart-panels"
        ref={box}
        tabIndex={0}
        onKeyDown={onKey}
        aria-label={`${label}: wheel or + and − to zoom, Shift+wheel or arrow keys to pan, Home for everything`}
      >
        {panels.map((p, i) => (
          <div className="chart-panel" key={p.key} data-panel={p.key}>
            <div className="panel-title">{p.title}</div>
            <TimeChart
              source={source}
              channels={p.channels}
              colors={colors}
              view={view}
              paused={paused}
              height={panelHeight + (i === panels.length - 1 ? 52 : 0)}
              syncKey={syncKey}
              timeAxis={i === panels.length - 1}
              onSelect={(t0, t1) => onView({ mode: 'range', t0, t1 })}
              markers={markers}
              markerLabels={i === 0}
              readout={readout}
              label={`${p.title} over time`}
            />
          </div>
        ))}
      </div>
      <table className="readout" data-testid="cursor-readout" aria-label="Values at the cursor">
        <thead>
          <tr>
            <th scope="col">At the cursor</th>
            <th scope="col" ref={(el) => readout.bindTime(el)} data-testid="readout-time">
              —
            </th>
          </tr>
        </thead>
        <tbody>
          {channels.map((c) => {
            const info = channelInfo(source, c);
            return (
              <tr key={c}>
                <th scope="row">
                  <span className="swatch" style={{ background: colors[c] }} />
                  {info.label}
                </th>
                <td ref={(el) => readout.bind(c, el, info.unit, digitsFor(info.unit))} data-testid={`readout-${c}`}>
                  —
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
