import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { CHANNELS, type Channel, type Source } from '../source/source.js';
import { columnSpans, spanRects } from './column-spans.js';

/** What part of the source the chart shows. */
export type ChartView = { mode: 'follow'; windowMs: number } | { mode: 'range'; t0: number; t1: number };

export interface TimeChartProps {
  source: Source;
  channels: Channel[];
  view: ChartView;
  /** Redraws are skipped while paused (the chart keeps its last picture). */
  paused?: boolean;
  height?: number;
  /** Drag-selecting a time range calls this (ms since epoch). */
  onZoom?: (t0: number, t1: number) => void;
  /** Vertical labels (events) drawn at these times. */
  markers?: Array<{ t: number; label: string }>;
  label: string;
}

const COLORS = ['#2f7dd1', '#d9480f', '#2b8a3e', '#ae3ec9', '#e8590c', '#1098ad', '#5c7cfa', '#f08c00'];

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

/**
 * A small uPlot wrapper: each channel is a min/max envelope (two series, max then min, equal at
 * full resolution). Where the trace is dense — decimated columns, or at least one raw sample per
 * two pixels — it is drawn as one filled span per pixel column (see column-spans.ts), so
 * decimated and raw data look the same, no spike is lost between columns, and the browser
 * rasterises rectangles instead of a zig-zag polyline. Sparse raw samples are a plain line.
 */
export function TimeChart({ source, channels, view, paused, height = 260, onZoom, markers, label }: TimeChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const state = useRef({ view, paused, onZoom, markers });
  state.current = { view, paused, onZoom, markers };
  const theme = useTheme();

  useEffect(() => {
    const el = host.current!;
    const fg = cssVar('--fg', '#222');
    const grid = cssVar('--grid', '#ddd');
    const series: uPlot.Series[] = [{ label: 'Time' }];
    channels.forEach((ch, i) => {
      const color = COLORS[i % COLORS.length]!;
      const { label: name, unit } = CHANNELS[ch];
      series.push({ label: `${name} (${unit})`, stroke: color, width: 1.5, points: { show: false }, scale: unit, paths: envelopePaths(color) });
      // The min edge: it sets the y scale; the max series draws the envelope from both.
      series.push({ label: `${name} min`, stroke: color, width: 1, points: { show: false }, scale: unit, paths: () => null });
    });
    const units = [...new Set(channels.map((c) => CHANNELS[c].unit))];
    const axes: uPlot.Axis[] = [
      // Fixed height: tick labels switching between one and two lines would otherwise resize the
      // plot area and make uPlot lay out and draw again within the same update.
      { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '13px system-ui, sans-serif', size: 52 },
      ...units.map((u, i) => ({
        scale: u,
        side: i === 0 ? 3 : 1,
        label: u,
        stroke: fg,
        grid: { show: i === 0, stroke: grid, width: 1 },
        ticks: { stroke: grid, width: 1 },
        font: '13px system-ui, sans-serif',
        labelFont: '600 13px system-ui, sans-serif',
        size: 64,
      })),
    ] as uPlot.Axis[];
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      series,
      axes,
      scales: { x: { time: true } },
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        setSelect: [
          (u) => {
            const sel = u.select;
            if (sel.width > 4) {
              const t0 = u.posToVal(sel.left, 'x') * 1000;
              const t1 = u.posToVal(sel.left + sel.width, 'x') * 1000;
              state.current.onZoom?.(t0, t1);
            }
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
        draw: [
          (u) => {
            const ms = state.current.markers;
            if (!ms?.length) return;
            const ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = '#c92a2a';
            ctx.fillStyle = fg;
            ctx.font = `${12 * devicePixelRatio}px sans-serif`;
            const [x0, x1] = [u.scales.x!.min!, u.scales.x!.max!];
            let lastX = -Infinity;
            for (const m of ms) {
              const s = m.t / 1000;
              if (s < x0 || s > x1) continue;
              const x = u.valToPos(s, 'x', true);
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              if (x - lastX > 90 * devicePixelRatio) {
                ctx.fillText(m.label, x + 3, u.bbox.top + 14 * devicePixelRatio);
                lastX = x;
              }
            }
            ctx.restore();
          },
        ],
      },
    };
    const u = new uPlot(opts, emptyData(channels.length), el);
    plot.current = u;
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
  }, [source, channels.join(','), height, theme]);

  // A new view (zoom, window) redraws at once, even while paused.
  useEffect(() => {
    if (plot.current) draw(plot.current, source, channels, view);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [view.mode, view.mode === 'follow' ? view.windowMs : view.t0, view.mode === 'range' ? view.t1 : 0, markers]);

  return (
    <div className="chart-wrap">
      <div className="chart" ref={host} role="img" aria-label={label} data-testid="time-chart" />
      <ul className="legend" aria-hidden>
        {channels.map((ch, i) => (
          <li key={ch}>
            <span className="swatch" style={{ background: COLORS[i % COLORS.length] }} />
            {CHANNELS[ch].label} ({CHANNELS[ch].unit})
          </li>
        ))}
        <li className="muted small">each pixel column spans the min–max of the samples it covers</li>
      </ul>
    </div>
  );
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

function draw(u: uPlot, source: Source, channels: Channel[], view: ChartView): void {
  const span = source.span();
  if (!span) {
    u.setData(emptyData(channels.length));
    return;
  }
  performance.mark('chart-draw-start');
  const [t0, t1] = view.mode === 'follow' ? [span[1] - view.windowMs, span[1]] : [view.t0, view.t1];
  const buckets = Math.max(50, Math.floor(u.bbox.width / devicePixelRatio || u.width));
  const data: ArrayLike<number>[] = [];
  let times: Float64Array | null = null;
  for (const ch of channels) {
    const d = source.series(ch, t0, t1, buckets);
    if (!times) {
      times = new Float64Array(d.t.length);
      for (let i = 0; i < d.t.length; i++) times[i] = d.t[i]! / 1000;
    }
    data.push(d.max, d.min);
  }
  u.batch(() => {
    u.setData([times!, ...data] as unknown as uPlot.AlignedData, false);
    u.setScale('x', { min: t0 / 1000, max: t1 / 1000 });
  });
  // How many points the chart holds: what end-to-end tests check a chart against.
  u.root.dataset.points = String(times!.length);
  performance.measure('chart-draw', 'chart-draw-start');
}
