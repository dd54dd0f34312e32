import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { channelInfo, type Source } from '../source/source.js';
import type { Readout } from './readout.js';
import { TIME_TICK_SPACE, timeTickLabels } from './time-axis.js';
import { columnSpans, spanRects } from './column-spans.js';
import { valueTickLabels } from '../common/format.js';

/** What part of the source the chart shows. */
export type ChartView = { mode: 'follow'; windowMs: number } | { mode: 'range'; t0: number; t1: number };

/** The time range a view covers for a source ([t0, t1), ms), or null while the source is empty. */
export function viewRange(source: Source, view: ChartView): [number, number] | null {
  const span = source.span();
  if (!span) return null;
  return view.mode === 'follow' ? [span[1] - view.windowMs, span[1] + 1] : [view.t0, view.t1];
}

export interface TimeChartProps {
  source: Source;
  /** Channels drawn in this panel (one unit: they share the y axis). */
  channels: string[];
  colors: Record<string, string>;
  view: ChartView;
  /** Redraws are skipped while paused (the chart keeps its last picture). */
  paused?: boolean;
  height?: number;
  /** Panels with the same key share the cursor. */
  syncKey: string;
  /** Only the bottom panel of a stack shows the time axis. */
  timeAxis?: boolean;
  /** Drag-selecting a time range calls this (ms since epoch). */
  onSelect?: (t0: number, t1: number) => void;
  /** Vertical marker lines (events) at these times; labels only where `markerLabels`. */
  markers?: Array<{ t: number; label: string }>;
  markerLabels?: boolean;
  readout?: Readout;
  label: string;
}

export const COLORS = ['#2f7dd1', '#d9480f', '#2b8a3e', '#ae3ec9', '#e8590c', '#1098ad', '#5c7cfa', '#f08c00', '#c2255c', '#5f3dc4', '#087f5b', '#e67700'];

/** The current theme name; charts rebuild on a change because canvas colours are not CSS variables. */
function useTheme(): string {
  const [theme, setTheme] = useState(() => document.documentElement.dataset.theme ?? 'light');
  useEffect(() => {
    const mo = new MutationObserver(() => setTheme(document.documentElement.dataset.theme ?? 'light'));
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => mo.disconnect();
  }, []);
  return theme;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Fixed axis widths, so the plot areas of stacked panels line up and share one time scale. */
const Y_AXIS = 64;

/**
 * One chart panel (a small uPlot wrapper): each channel is a min/max envelope (two series, max
 * then min, equal at full resolution). Where the trace is dense — decimated columns, or at least
 * one raw sample per two pixels — it is drawn as one filled span per pixel column (see
 * column-spans.ts), so decimated and raw data look the same, no spike is lost between columns,
 * and the browser rasterises rectangles instead of a zig-zag polyline. Sparse raw samples are a
 * plain line; gaps (NaN points) break it. The cursor is shared with the other panels of its
 * stack and reports the values under it to the readout.
 */
export function TimeChart({
  source,
  channels,
  colors,
  view,
  paused,
  height = 200,
  syncKey,
  timeAxis = true,
  onSelect,
  markers,
  markerLabels,
  readout,
  label,
}: TimeChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const state = useRef({ view, paused, onSelect, markers, markerLabels, readout, channels });
  state.current = { view, paused, onSelect, markers, markerLabels, readout, channels };
  const theme = useTheme();

  useEffect(() => {
    const el = host.current!;
    const fg = cssVar('--fg', '#222');
    const grid = cssVar('--grid', '#ddd');
    const panel = cssVar('--panel', '#fff');
    const series: uPlot.Series[] = [{ label: 'Time' }];
    channels.forEach((ch) => {
      const color = colors[ch] ?? COLORS[0]!;
      const { label: name, unit } = channelInfo(source, ch);
      series.push({ label: `${name} (${unit})`, stroke: color, width: 1.5, points: { show: false }, scale: 'y', paths: envelopePaths(color) });
      // The min edge: it sets the y scale; the max series draws the envelope from both.
      series.push({ label: `${name} min`, stroke: color, width: 1, points: { show: false }, scale: 'y', paths: () => null });
    });
    const unit = channels.length ? channelInfo(source, channels[0]!).unit : '';
    const axes: uPlot.Axis[] = [
      {
        show: timeAxis,
        stroke: fg,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid, width: 1 },
        font: '13px system-ui, sans-serif',
        // Fixed height: tick labels switching between one and two lines would otherwise resize the
        // plot area and make uPlot lay out and draw again within the same update.
        size: timeAxis ? 52 : 0,
        space: TIME_TICK_SPACE,
        values: (_u: uPlot, splits: number[], _i: number, _space: number, incr: number) => timeTickLabels(splits, incr),
      },
      {
        scale: 'y',
        side: 3,
        label: unit,
        stroke: fg,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid, width: 1 },
        font: '13px system-ui, sans-serif',
        labelFont: '600 13px system-ui, sans-serif',
        size: Y_AXIS,
        labelSize: 18,
        // As many decimals as the tick step needs (no "52,88" twice), in the user's locale.
        values: (_u: uPlot, splits: number[], _i: number, _space: number, incr: number) => valueTickLabels(splits, incr),
      },
      // An empty right axis of fixed width: panels with and without one stay aligned.
      { scale: 'y', side: 1, show: true, size: 12, values: () => [], grid: { show: false }, ticks: { show: false } },
    ] as uPlot.Axis[];
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      series,
      axes,
      scales: { x: { time: true }, y: { auto: true } },
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, sync: { key: syncKey, setSeries: false }, points: { show: false } },
      hooks: {
        setSelect: [
          (u) => {
            const sel = u.select;
            if (sel.width > 4) {
              const t0 = u.posToVal(sel.left, 'x') * 1000;
              const t1 = u.posToVal(sel.left + sel.width, 'x') * 1000;
              state.current.onSelect?.(t0, t1);
            }
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
        setCursor: [(u) => report(u, state.current.readout, state.current.channels)],
        draw: [(u) => drawMarkers(u, state.current.markers, !!state.current.markerLabels, fg, panel)],
      },
    };
    const u = new uPlot(opts, emptyData(channels.length), el);
    plot.current = u;
    // The benchmark redraws the very arrays this chart drew with uPlot alone, as its baseline.
    (u.root as HTMLElement & { uplot?: uPlot }).uplot = u;
    const redraw = () => draw(u, source, channels, state.current.view);
    redraw();
    const offChange = source.onChange(() => {
      if (!state.current.paused) redraw();
    });
    const ro = new ResizeObserver(() => {
      u.setSize({ width: Math.max(200, el.clientWidth), height });
      redraw();
    });
    ro.observe(el);
    return () => {
      offChange();
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Channels define the plot's series; a new set rebuilds it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [source, channels.join(','), height, theme, syncKey, timeAxis]);

  // A new view (zoom, pan, window) redraws at once, even while paused.
  useEffect(() => {
    if (plot.current) draw(plot.current, source, channels, view);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [view.mode, view.mode === 'follow' ? view.windowMs : view.t0, view.mode === 'range' ? view.t1 : 0, markers]);

  return <div className="chart" ref={host} role="img" aria-label={label} data-testid="time-chart" />;
}

/** The values under the cursor, to the readout (nothing under it: the readout shows dashes). */
function report(u: uPlot, readout: Readout | undefined, channels: string[]): void {
  if (!readout) return;
  const idx = u.cursor.idx;
  const xs = u.data[0] as ArrayLike<number>;
  const ok = idx !== null && idx !== undefined && u.cursor.left !== undefined && u.cursor.left >= 0;
  readout.time(ok ? xs[idx]! * 1000 : null, u.root.dataset.full === '1');
  channels.forEach((ch, i) => {
    const max = ok ? (u.data[1 + 2 * i] as ArrayLike<number | null>)[idx] : null;
    const min = ok ? (u.data[2 + 2 * i] as ArrayLike<number | null>)[idx] : null;
    readout.value(ch, min, max);
  });
}

/**
 * Event lines across the plot; their labels inside the plot area only (never over an axis), drawn
 * after every line on a patch of the panel's colour, so later lines never run through a label and
 * labels that would overlap are left out (the event list names them all).
 */
function drawMarkers(u: uPlot, ms: Array<{ t: number; label: string }> | undefined, labels: boolean, fg: string, bg: string): void {
  if (!ms?.length) return;
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.strokeStyle = '#c92a2a';
  ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
  const [x0, x1] = [u.scales.x!.min!, u.scales.x!.max!];
  const shown: Array<{ x: number; label: string }> = [];
  for (const m of ms) {
    const s = m.t / 1000;
    if (s < x0 || s > x1) continue;
    const x = u.valToPos(s, 'x', true);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    if (labels) shown.push({ x, label: m.label });
  }
  const pad = 3 * devicePixelRatio;
  const lineH = 14 * devicePixelRatio;
  let lastEnd = -Infinity;
  for (const { x, label } of shown) {
    const w = ctx.measureText(label).width;
    // A label that would run past the plot's right edge goes to the left of its line.
    const tx = x + 4 + w > left + width ? x - 4 - w : x + 4;
    if (tx - pad <= lastEnd + 4 * devicePixelRatio) continue;
    ctx.fillStyle = bg;
    ctx.fillRect(tx - pad, top + 1, w + 2 * pad, lineH);
    ctx.fillStyle = fg;
    ctx.fillText(label, tx, top + 12 * devicePixelRatio);
    lastEnd = tx + w + pad;
  }
  ctx.restore();
}

const linearPaths = uPlot.paths.linear!();

/**
 * The path builder of a channel's max series (the min series follows it at index + 1): column
 * spans when the visible points are dense, uPlot's own line otherwise.
 */
function envelopePaths(color: string): uPlot.Series.PathBuilder {
  return (u, si, i0, i1) => {
    const n = i1 - i0 + 1;
    const cols = u.bbox.width;
    if (n < 2 || n < cols / devicePixelRatio / 2) return linearPaths(u, si, i0, i1);
    const xs = u.data[0] as ArrayLike<number>;
    const max = u.data[si] as ArrayLike<number | null>;
    const min = u.data[si + 1] as ArrayLike<number | null>;
    const scale = u.series[si]!.scale!;
    const X = new Float64Array(n);
    const A = new Float64Array(n);
    const B = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const k = i0 + j;
      const a = max[k];
      const b = min[k];
      X[j] = u.valToPos(xs[k]!, 'x', true);
      A[j] = a == null ? NaN : u.valToPos(a, scale, true);
      B[j] = b == null ? NaN : u.valToPos(b, scale, true);
    }
    const rects = spanRects(columnSpans(X, A, B, u.bbox.left, cols), u.bbox.left, 1.5 * devicePixelRatio);
    const fill = new Path2D();
    for (let r = 0; r < rects.length; r += 4) fill.rect(rects[r]!, rects[r + 1]!, rects[r + 2]!, rects[r + 3]!);
    // _fill/_width override the series' style for this path: filled, not stroked, and no
    // half-pixel offset (uPlot shifts odd-width strokes), so the rectangles stay on whole pixels.
    return { stroke: null, fill, clip: null, band: null, gaps: null, flags: 0, _fill: color, _width: 0 } as unknown as uPlot.Series.Paths;
  };
}

function emptyData(nChannels: number): uPlot.AlignedData {
  return [new Float64Array(0), ...Array.from({ length: nChannels * 2 }, () => new Float64Array(0))] as unknown as uPlot.AlignedData;
}

function draw(u: uPlot, source: Source, channels: string[], view: ChartView): void {
  const range = viewRange(source, view);
  if (!range) {
    u.setData(emptyData(channels.length));
    return;
  }
  performance.mark('chart-draw-start');
  const [t0, t1] = range;
  const buckets = Math.max(50, Math.floor(u.bbox.width / devicePixelRatio || u.width));
  const data: Array<ArrayLike<number | null>> = [];
  let times: Float64Array | null = null;
  let full = true;
  let stale = false;
  for (const ch of channels) {
    const d = source.series(ch, t0, t1, buckets);
    full &&= d.full;
    stale ||= !!d.stale;
    if (!times) {
      times = new Float64Array(d.t.length);
      for (let i = 0; i < d.t.length; i++) times[i] = d.t[i]! / 1000;
    }
    // Gaps are NaN points: null, which uPlot and the column spans both treat as a break.
    const n = times.length;
    const max = new Array<number | null>(n);
    const min = new Array<number | null>(n);
    for (let i = 0; i < n; i++) {
      const a = d.max[i];
      const b = d.min[i];
      max[i] = a === undefined || a !== a ? null : a;
      min[i] = b === undefined || b !== b ? null : b;
    }
    data.push(max, min);
  }
  u.batch(() => {
    u.setData([times ?? new Float64Array(0), ...data] as unknown as uPlot.AlignedData, false);
    u.setScale('x', { min: t0 / 1000, max: t1 / 1000 });
  });
  // How many points the chart holds and whether they are raw records: what tests check a chart against.
  u.root.dataset.points = String(times?.length ?? 0);
  u.root.dataset.full = full ? '1' : '0';
  // Still waiting for the range asked for (a recorded log read by range): the picture is the one before.
  u.root.dataset.stale = stale ? '1' : '0';
  u.root.dataset.range = `${t0},${t1}`;
  performance.measure('chart-draw', 'chart-draw-start');
}
