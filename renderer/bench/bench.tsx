import { createRoot } from 'react-dom/client';
import { flushSync } from 'react-dom';
import { TimeChart, type ChartView } from '../charts/TimeChart.js';
import { RecordedSource } from '../source/recorded-source.js';
import { CHANNEL_NAMES, type Channel } from '../source/source.js';
import '../theme.css';

/**
 * The log-viewer benchmark page (tests/bench/ui.bench.ts drives it in Chromium): a synthetic
 * log of N samples goes through the same path a real one does — columns transferred to the
 * pyramid Worker, a RecordedSource, the uPlot chart — and the page reports first paint and the
 * render time of zoom steps.
 */
const root = createRoot(document.getElementById('root')!);

function nextPaint(): Promise<number> {
  // The frame that presents the new content runs its rAF callbacks, paints, then runs tasks:
  // a task queued from rAF therefore runs just after that paint.
  return new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)));
}

/** A pack voltage that drifts through charge/discharge cycles with noise and rare spikes. */
function synth(n: number): { t: Float64Array; channels: Record<Channel, Float32Array> } {
  const t = new Float64Array(n);
  const channels = Object.fromEntries(CHANNEL_NAMES.map((c) => [c, new Float32Array(n)])) as Record<Channel, Float32Array>;
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i++) {
    t[i] = start + i * 1000;
    const phase = Math.sin(i / 20000);
    const v = 52 + 2.5 * phase + (rnd() - 0.5) * 0.05 + (rnd() < 1e-5 ? -3 : 0);
    const a = 40 * Math.cos(i / 20000) + (rnd() - 0.5);
    channels.packVoltage[i] = v;
    channels.current[i] = a;
    channels.power[i] = v * a;
    channels.soc[i] = 50 + 45 * phase;
    channels.cellMin[i] = v / 16 - 0.01;
    channels.cellMax[i] = v / 16 + 0.01;
    channels.tempMin[i] = 22 + 3 * phase;
    channels.tempMax[i] = 25 + 4 * phase;
  }
  return { t, channels };
}

let view: ChartView = { mode: 'range', t0: 0, t1: 1 };
let source: RecordedSource | null = null;

function render(): void {
  flushSync(() =>
    root.render(source ? <TimeChart source={source} channels={['packVoltage', 'current']} view={view} label="bench" height={420} /> : <p>empty</p>),
  );
}

const bench = {
  /** Builds an N-sample log, then times open → first painted chart. */
  async logsFirstPaint(n: number) {
    const data = synth(n);
    (globalThis as { gc?: () => void }).gc?.();
    await nextPaint();
    const t0 = performance.now();
    source = await RecordedSource.fromColumns({ ...data, lastFrame: null }, ['packVoltage', 'current']);
    const built = performance.now();
    const [a, b] = source.span()!;
    view = { mode: 'range', t0: a, t1: b };
    render();
    const rendered = performance.now();
    const painted = await nextPaint();
    // The other channels' pyramids finish in the background; zooming is measured after that.
    await source.complete;
    (globalThis as { gc?: () => void }).gc?.();
    return {
      samples: n,
      firstPaintMs: painted - t0,
      pyramidMs: source.buildMs,
      toSourceMs: built - t0,
      renderMs: rendered - built,
      paintWaitMs: painted - rendered,
    };
  },
  /** Zooms in by `factor` per step around the middle, timing each step to its paint. */
  async zoomSteps(steps: number, factor = 4) {
    const out: number[] = [];
    const raf: number[] = [];
    performance.clearMeasures();
    for (let i = 0; i < steps; i++) {
      if (view.mode !== 'range') break;
      const mid = (view.t0 + view.t1) / 2;
      const half = (view.t1 - view.t0) / factor / 2;
      const t0 = performance.now();
      view = { mode: 'range', t0: mid - half, t1: mid + half };
      render();
      const rendered = performance.now();
      const rafAt = await new Promise<number>((r) => requestAnimationFrame((x) => r(x)));
      raf.push(rafAt - rendered);
      out.push(performance.now() - t0);
    }
    return { paint: out, raf, draw: performance.getEntriesByName('chart-draw').map((e) => e.duration) };
  },
};

(window as unknown as { __bench: typeof bench }).__bench = bench;
document.title = 'bench ready';
