import { afterAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { spawnSim, stopChild, type SimProcess } from '../integration/cli-process.js';
import { bridgeCall, connectTo, newPage, serveAndLaunch } from './harness.js';

/**
 * A recording is a host job: leaving Live, visiting other screens and reloading the page never
 * stops it, and the file it writes has no hole for the time the user was away.
 */
const app = serveAndLaunch();
const sims: SimProcess[] = [];
afterAll(async () => {
  for (const s of sims) await stopChild(s.child);
});

/** The records the running recording has written, as the job indicator in the sidebar shows them. */
async function recordsShown(page: Page): Promise<number> {
  const text = (await page.getByTestId('job-recording').getByTestId('job-progress').textContent()) ?? '';
  return Number(/([\d,]+) records/.exec(text)?.[1]?.replace(/,/g, '') ?? '0');
}

async function waitForRecords(page: Page, atLeast: number): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const t = document.querySelector('[data-testid=job-recording] [data-testid=job-progress]')?.textContent ?? '';
      return Number(/([\d,]+) records/.exec(t)?.[1]?.replace(/,/g, '') ?? '0') >= n;
    },
    atLeast,
    { timeout: 120_000 },
  );
}

describe('recording while using other screens', () => {
  it('keeps recording when the user leaves Live and reloads, and the file has no hole', async () => {
    const sim = await spawnSim([]);
    sims.push(sim);
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, sim.path);
    await page.getByRole('button', { name: 'Show live data' }).click();
    await page.getByRole('heading', { name: /^Live/ }).waitFor();
    await page.getByLabel('Telemetry rate').selectOption('10');
    await page.getByTestId('record').click();
    await page.getByTestId('recording-path').waitFor({ timeout: 30_000 });
    // The job is visible from every screen, with its count.
    await waitForRecords(page, 10);

    // Away from Live: the Logs screen, then a reload of the page, then Firmware.
    await page.getByTestId('nav-logs').click();
    await page.getByRole('heading', { name: 'Logs' }).waitFor();
    const away = await recordsShown(page);
    await waitForRecords(page, away + 40);
    await page.reload();
    await page.getByTestId('job-recording').waitFor({ timeout: 30_000 });
    await page.getByTestId('nav-firmware').click();
    await waitForRecords(page, away + 80);
    // The page warns before it is closed while the recording runs.
    const warned = await page.evaluate(() => {
      const e = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(e);
      return e.defaultPrevented;
    });
    expect(warned).toBe(true);

    await page.getByTestId('nav-live').click();
    await page.getByTestId('record').click();
    await page.getByTestId('recording-saved').waitFor({ timeout: 30_000 });
    const saved = (await page.getByTestId('recording-saved').textContent())!;
    expect(saved).toContain('No gaps.');
    const file = /to (\S+\.pslog)\./.exec(saved)![1]!;

    // The file: one record every 100 ms from start to stop, no gap marked or found.
    const log = await bridgeCall(app.served, 'log.open', { path: file });
    const t: number[] = log.series.t;
    expect(t.length).toBeGreaterThanOrEqual(away + 80);
    let widest = 0;
    for (let i = 1; i < t.length; i++) widest = Math.max(widest, t[i]! - t[i - 1]!);
    expect(widest).toBeLessThan(1000);
    expect(log.series.gaps).toEqual([]);
    expect(log.series.events.filter((e: { label: string }) => e.label === 'recording_gap')).toEqual([]);
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  }, 300_000);
});
