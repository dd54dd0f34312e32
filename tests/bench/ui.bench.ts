/**
 * UI benchmark, run in Debian's Chromium (headless) against `packscope serve`, through the app:
 *  - Live: the app connected to the demo pack streaming 16 cells at 50 Hz, every cell on the chart
 *    and the pointer on it (the cursor readout updates every frame); render work per updated frame
 *    (p50/p95/max) against the 16 ms budget.
 *  - Logs: a real .pslog of LOG_RECORDS records (10 M by default) opened on the Logs screen through
 *    the host and the bridge, click to painted charts, next to what a user does instead in the
 *    same run: pandas.read_csv of the log's CSV export plus a matplotlib line plot of one channel
 *    saved to PNG (target: at most 0.2 × that). Then zoom steps (×2 with the keyboard, from the
 *    whole log down to the raw records) to painted charts, next to uPlot redrawing the very same
 *    visible arrays directly (target: at most 2 ×).
 * Usage: npm run bench -- ui   (LIVE_SECONDS, LOG_RECORDS, ZOOM_STEPS override the sizes)
 * Debian packages for the comparison: python3-pandas, python3-matplotlib.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'vite';
import { bridgeCall, launch, ROOT, startServe } from '../e2e/harness.js';
import { writeSyntheticPslog } from '../support/synthetic-pslog.js';

const LIVE_SECONDS = Number(process.env.LIVE_SECONDS ?? 60);
const LOG_RECORDS = Number(process.env.LOG_RECORDS ?? 10_000_000);
const ZOOM_STEPS = Number(process.env.ZOOM_STEPS ?? 20);
const RATE_HZ = 50;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

// The page side, as strings: tsx's transform would inject helpers the page does not have.
const PAGE_HELPERS = `
  window.__nextPaint = () => new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)));
  window.__roots = () => [...document.querySelectorAll('[data-testid=chart-stack] .uplot')];
  window.__drawn = () => { const rs = window.__roots(); return rs.length > 0 && rs.every((r) => r.dataset.stale === '0' && Number(r.dataset.points) > 0); };
  window.__until = async (f) => { while (!f()) await new Promise((r) => setTimeout(r, 0)); };
`;

const outDir = mkdtempSync(path.join(os.tmpdir(), 'ps-ui-bench-'));
await build({
  configFile: path.join(ROOT, 'renderer/vite.config.ts'),
  root: path.join(ROOT, 'renderer'),
  logLevel: 'warn',
  build: { outDir, emptyOutDir: true },
});

const served = await startServe(['--renderer', outDir]);
const browser = await launch();
const results: Record<string, unknown> = {};
try {
  // ---- Live ----
  if (LIVE_SECONDS > 0) {
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(served.url);
    await page.getByTestId('connect').click();
    await page.getByTestId('connected').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Show live data' }).click();
    await page.getByLabel('Telemetry rate').selectOption(String(RATE_HZ));
    await page.getByRole('button', { name: 'Cell min/max' }).click();
    await page.waitForFunction(() => Number(document.querySelector('[data-panel=cells] .uplot')?.getAttribute('data-points')) > 0, null, { timeout: 30_000 });
    // Every cell on the chart.
    await page.getByText(/^Traces \(\d+\)$/).click();
    for (let c = 1; c <= 16; c++) await page.getByLabel(`Cell ${c}`, { exact: true }).check();
    await page.getByText(/^Traces \(\d+\)$/).click();
    await page.waitForTimeout(3000);
    // The pointer on the chart: the readout follows the newest data at the cursor every frame.
    const over = (await page.locator('[data-panel=cells] .u-over').boundingBox())!;
    await page.mouse.move(over.x + over.width * 0.7, over.y + over.height / 2);
    await page.waitForFunction(() => /V$/.test(document.querySelector('[data-testid="readout-cell16"]')?.textContent ?? ''), null, { timeout: 10_000 });
    const before = await bridgeCall(served, 'device.status', {});
    const live = (await page.evaluate(`(async (seconds) => {
      performance.clearMeasures();
      const intervals = [];
      let last = performance.now();
      const end = last + seconds * 1000;
      await new Promise((resolve) => {
        const tick = (now) => {
          intervals.push(now - last);
          last = now;
          if (now < end) requestAnimationFrame(tick);
          else resolve();
        };
        requestAnimationFrame(tick);
      });
      const draws = performance.getEntriesByName('chart-draw').map((e) => e.duration);
      const work = performance.getEntriesByName('frame-work').map((e) => e.duration);
      return { intervals: intervals.slice(1), draws, work };
    })(${LIVE_SECONDS})`)) as { intervals: number[]; draws: number[]; work: number[] };
    const after = await bridgeCall(served, 'device.status', {});
    const readout = await page.getByTestId('readout-cell16').textContent();
    const frames = after.stats.framesIn - before.stats.framesIn;
    results.live = {
      seconds: LIVE_SECONDS,
      rateHz: RATE_HZ,
      traces: 18,
      readout,
      framesPerSecond: frames / LIVE_SECONDS,
      updatedFrames: live.work.length,
      workP50Ms: pct(live.work, 50),
      workP95Ms: pct(live.work, 95),
      workMaxMs: Math.max(...live.work),
      frameP50Ms: pct(live.intervals, 50),
      frameP95Ms: pct(live.intervals, 95),
      chartDraws: live.draws.length,
      drawP95Ms: pct(live.draws, 95),
    };
    await bridgeCall(served, 'device.disconnect', {}).catch(() => undefined);
    await ctx.close();
  }

  // ---- Logs: a real .pslog through the host and the bridge ----
  if (LOG_RECORDS > 0) {
    const file = path.join(served.dataDir, 'bench.pslog');
    const g0 = performance.now();
    await writeSyntheticPslog(file, { records: LOG_RECORDS, spike: { at: Math.floor(LOG_RECORDS * 0.61), length: 2, current: 250 } });
    const genS = (performance.now() - g0) / 1000;
    const bytes = statSync(file).size;
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(served.url);
    await page.evaluate(PAGE_HELPERS);
    await page.getByTestId('nav-logs').click();
    const item = page.getByRole('listitem').filter({ hasText: 'bench.pslog' });
    await item.waitFor();
    await page.evaluate(`window.__t0 = performance.now()`);
    await item.click();
    const firstPaintMs = (await page.evaluate(
      `(async () => { await window.__until(window.__drawn); return (await window.__nextPaint()) - window.__t0; })()`,
      undefined,
    )) as number;
    const spikeSeen = (await page.evaluate(
      `Math.max(...document.querySelector('[data-panel=current] .uplot').uplot.data[1].filter((v) => v !== null))`,
    )) as number;

    // Zoom steps in the app, each next to uPlot redrawing the same arrays.
    const z = (await page.evaluate(`(async (steps) => {
      const el = document.querySelector('.chart-panels');
      el.focus();
      const app = [], direct = [], full = [];
      for (let i = 0; i < steps; i++) {
        const before = window.__roots()[0].dataset.range;
        const t0 = performance.now();
        el.dispatchEvent(new KeyboardEvent('keydown', { key: '+', bubbles: true }));
        await window.__until(() => window.__roots().every((r) => r.dataset.range !== before) && window.__drawn());
        app.push((await window.__nextPaint()) - t0);
        full.push(window.__roots()[0].dataset.full === '1');
        const t1 = performance.now();
        for (const r of window.__roots()) r.uplot.setData(r.uplot.data, false);
        direct.push((await window.__nextPaint()) - t1);
      }
      return { app, direct, full };
    })(${ZOOM_STEPS})`)) as { app: number[]; direct: number[]; full: boolean[] };

    // What a user does instead: the CSV export, read with pandas, one channel plotted to PNG.
    await ctx.close();
    const csv = path.join(served.dataDir, 'bench.csv');
    const e0 = performance.now();
    const exported = await bridgeCall(served, 'log.export', { path: file, out: csv, opId: 'bench-export' });
    const exportS = (performance.now() - e0) / 1000;
    const png = path.join(served.dataDir, 'bench.png');
    const script = [
      'import sys, time',
      't = time.perf_counter()',
      'import pandas as pd, matplotlib',
      "matplotlib.use('Agg')",
      'import matplotlib.pyplot as plt',
      'i = time.perf_counter()',
      'df = pd.read_csv(sys.argv[1])',
      'r = time.perf_counter()',
      'fig, ax = plt.subplots(figsize=(13.6, 4))',
      "ax.plot(pd.to_datetime(df['time_ms'], unit='ms'), df['current_A'], linewidth=0.5)",
      'fig.savefig(sys.argv[2], dpi=100)',
      'p = time.perf_counter()',
      'print(f"{i - t} {r - i} {p - r} {len(df)}")',
    ].join('\n');
    const p0 = performance.now();
    // Debian's own interpreter, where python3-pandas and python3-matplotlib install to.
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const py = spawnSync(python, ['-c', script, csv, png], { encoding: 'utf8' });
    const pandasS = (performance.now() - p0) / 1000;
    if (py.status !== 0) throw new Error(`pandas/matplotlib failed (apt-get install python3-pandas python3-matplotlib): ${py.stderr}`);
    const [importS, readS, plotS, rows] = py.stdout.trim().split(' ').map(Number) as [number, number, number, number];
    results.logs = {
      records: LOG_RECORDS,
      bytes,
      generateS: genS,
      firstPaintMs,
      spikeSeen,
      zoomAppMs: z.app,
      zoomDirectMs: z.direct,
      zoomRaw: z.full,
      csvBytes: exported.bytes,
      exportS,
      pandas: { wallS: pandasS, importS, readS, plotS, rows },
    };
    rmSync(csv, { force: true });
  }
} finally {
  await browser.close();
  await served.stop();
  rmSync(outDir, { recursive: true, force: true });
}

const f = (x: number, d = 1) => x.toFixed(d);
console.log('| measure | value | compared with | ratio | target |');
console.log('| --- | --- | --- | --- | --- |');
const l = results.live as Record<string, number> | undefined;
if (l) {
  console.log(`| Live: telemetry delivered (16 cells) | ${f(l.framesPerSecond)} frames/s | ${RATE_HZ} frames/s | ${f(l.framesPerSecond / RATE_HZ, 2)} | 1 |`);
  console.log(
    `| Live: render work per updated frame, 18 traces, cursor readout active: p50 / p95 / max (${l.updatedFrames} frames in ${l.seconds} s) | ${f(l.workP50Ms)} / ${f(l.workP95Ms)} / ${f(l.workMaxMs)} ms | 16 ms budget | ${f(l.workP95Ms / 16, 2)} | p95 < 16 ms |`,
  );
  console.log(
    `| Live: frame interval p50 / p95 (vsync 16.7 ms); chart draw p95 | ${f(l.frameP50Ms)} / ${f(l.frameP95Ms)} ms; ${f(l.drawP95Ms)} ms | — | — | — |`,
  );
}
const g = results.logs as
  | {
      records: number;
      bytes: number;
      firstPaintMs: number;
      spikeSeen: number;
      zoomAppMs: number[];
      zoomDirectMs: number[];
      zoomRaw: boolean[];
      csvBytes: number;
      exportS: number;
      pandas: Record<string, number>;
    }
  | undefined;
if (g) {
  const M = (g.records / 1e6).toFixed(0);
  const py = g.pandas;
  console.log(
    `| Logs: open a ${M} M-record .pslog (${f(g.bytes / 2 ** 20, 0)} MiB) in the app → charts painted (spike of 250 A drawn: ${g.spikeSeen === 250 ? 'yes' : 'NO'}) | ${f(g.firstPaintMs / 1000, 2)} s | pandas.read_csv of its CSV (${f(g.csvBytes / 2 ** 30, 2)} GiB) + matplotlib plot to PNG: ${f(py.wallS!, 1)} s (import ${f(py.importS!)} s, read ${f(py.readS!)} s, plot ${f(py.plotS!)} s) | ${f(g.firstPaintMs / 1000 / py.wallS!, 3)} | ≤ 0.2 |`,
  );
  const a50 = pct(g.zoomAppMs, 50);
  const d50 = pct(g.zoomDirectMs, 50);
  console.log(
    `| Logs: zoom step ×2 → painted, p50 / p95 of ${g.zoomAppMs.length} (whole log down to raw records: ${g.zoomRaw.filter(Boolean).length} raw) | ${f(a50)} / ${f(pct(g.zoomAppMs, 95))} ms | uPlot redrawing the same arrays: ${f(d50)} / ${f(pct(g.zoomDirectMs, 95))} ms | ${f(a50 / d50, 2)} (p95 ${f(pct(g.zoomAppMs, 95) / pct(g.zoomDirectMs, 95), 2)}) | ≤ 2 |`,
  );
}
mkdirSync(path.join(ROOT, 'tests/artifacts/bench'), { recursive: true });
writeFileSync(path.join(ROOT, 'tests/artifacts/bench/ui.json'), JSON.stringify(results, null, 2));
process.exit(0);
