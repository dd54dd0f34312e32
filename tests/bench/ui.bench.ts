/**
 * UI benchmark, run in Debian's Chromium (headless) against `packscope serve`:
 *  - Live: the real app connected to the demo pack streaming 16 cells at 50 Hz for 60 s;
 *    frame time = interval between animation frames (p50/p95/max), plus chart draw time.
 *  - Logs: a 10-million-sample log through the real log-viewer path (pyramids built in a Worker,
 *    RecordedSource, uPlot chart): time from open to first paint, and zoom steps to paint.
 * Targets (issue 7): p95 frame < 16 ms; first paint < 1 s; zoom step < 50 ms.
 * Usage: npm run bench -- ui   (LIVE_SECONDS / LOG_SAMPLES override the sizes)
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'vite';
import WebSocket from 'ws';
import { launch, ROOT, startServe } from '../e2e/harness.js';

const LIVE_SECONDS = Number(process.env.LIVE_SECONDS ?? 60);
const LOG_SAMPLES = Number(process.env.LOG_SAMPLES ?? 10_000_000);
const RATE_HZ = 50;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function bridgeCall(url: string, port: number, method: string, params: unknown): Promise<any> {
  const token = new URL(url).hash.replace('#token=', '');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/rpc`, { origin: `http://127.0.0.1:${port}` });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  ws.send(JSON.stringify({ t: 'call', id: 1, method, params, token }));
  const reply = await new Promise<any>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
  ws.close();
  return reply.value;
}

// One build holding the app and the bench page.
const outDir = mkdtempSync(path.join(os.tmpdir(), 'ps-ui-bench-'));
await build({
  configFile: path.join(ROOT, 'renderer/vite.config.ts'),
  root: path.join(ROOT, 'renderer'),
  logLevel: 'warn',
  build: {
    outDir,
    emptyOutDir: true,
    rollupOptions: { input: { main: path.join(ROOT, 'renderer/index.html'), bench: path.join(ROOT, 'renderer/bench/index.html') } },
  },
});

const served = await startServe(['--renderer', outDir]);
// gc exposed so the synthetic log's construction garbage is collected before the clock starts.
const browser = await launch(['--js-flags=--expose-gc']);
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
    await page.waitForTimeout(3000);
    const before = await bridgeCall(served.url, served.port, 'device.status', {});
    // A string, not a function: tsx's transform would inject helpers the page does not have.
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
    const after = await bridgeCall(served.url, served.port, 'device.status', {});
    const frames = after.stats.framesIn - before.stats.framesIn;
    results.live = {
      seconds: LIVE_SECONDS,
      rateHz: RATE_HZ,
      cells: 16,
      telemetryFramesReceived: frames,
      framesPerSecond: frames / LIVE_SECONDS,
      animationFrames: live.intervals.length,
      updatedFrames: live.work.length,
      workP50Ms: pct(live.work, 50),
      workP95Ms: pct(live.work, 95),
      workMaxMs: Math.max(...live.work),
      frameP50Ms: pct(live.intervals, 50),
      frameP95Ms: pct(live.intervals, 95),
      frameMaxMs: Math.max(...live.intervals),
      chartDraws: live.draws.length,
      drawP95Ms: pct(live.draws, 95),
    };
    await ctx.close();
  }

  // ---- Logs ----
  const ctx2 = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const bench = await ctx2.newPage();
  await bench.goto(served.url.replace(/\/#/, '/bench/index.html#'));
  await bench.waitForFunction("document.title === 'bench ready'");
  const first = (await bench.evaluate(`window.__bench.logsFirstPaint(${LOG_SAMPLES})`)) as any;
  const z = (await bench.evaluate('window.__bench.zoomSteps(20, 2)')) as { paint: number[]; draw: number[] };
  const zooms = z.paint;
  results.logs = {
    ...first,
    zoomStepsMs: zooms,
    zoomP50Ms: pct(zooms, 50),
    zoomP95Ms: pct(zooms, 95),
    zoomMaxMs: Math.max(...zooms),
    zoomDrawMs: z.draw,
    zoomRafMs: (z as any).raf,
  };
  await ctx2.close();
} finally {
  await browser.close();
  await served.stop();
}

const l = (results.live ?? null) as any;
const g = results.logs as any;
const f = (x: number) => x.toFixed(1);
console.log('| measure | value | target | ratio to target |');
console.log('| --- | --- | --- | --- |');
if (l)
  console.log(
    `| Live: telemetry delivered (16 cells) | ${f(l.framesPerSecond)} frames/s | ${RATE_HZ} frames/s | ${(l.framesPerSecond / RATE_HZ).toFixed(2)} |`,
  );
if (l)
  console.log(
    `| Live: frame time (render work per updated frame) p50 / p95 / max, ${l.updatedFrames} frames in ${l.seconds} s | ${f(l.workP50Ms)} / ${f(l.workP95Ms)} / ${f(l.workMaxMs)} ms | p95 < 16 ms | ${(l.workP95Ms / 16).toFixed(2)} |`,
  );
if (l) console.log(`| Live: frame interval p50 / p95 (vsync 16.7 ms) | ${f(l.frameP50Ms)} / ${f(l.frameP95Ms)} ms | — | — |`);
if (l) console.log(`| Live: chart draw p95 (${l.chartDraws} draws) | ${f(l.drawP95Ms)} ms | — | — |`);
console.log(
  `| Logs: ${(g.samples / 1e6).toFixed(0)} M samples, open → first paint | ${f(g.firstPaintMs)} ms (columns to Worker and back ${f(g.toSourceMs)} ms, of which pyramids ${f(g.pyramidMs)} ms; chart ${f(g.renderMs)} ms; paint ${f(g.paintWaitMs)} ms) | < 1000 ms | ${(g.firstPaintMs / 1000).toFixed(2)} |`,
);
console.log(
  `| Logs: zoom step ×2 → paint, p50 / p95 / max of ${g.zoomStepsMs.length} (whole log down to raw records) | ${f(g.zoomP50Ms)} / ${f(g.zoomP95Ms)} / ${f(g.zoomMaxMs)} ms | < 50 ms | ${(g.zoomP95Ms / 50).toFixed(2)} |`,
);
mkdirSync(path.join(ROOT, 'tests/artifacts/bench'), { recursive: true });
writeFileSync(path.join(ROOT, 'tests/artifacts/bench/ui.json'), JSON.stringify(results, null, 2));
