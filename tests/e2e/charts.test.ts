import path from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticPslog } from '../support/synthetic-pslog.js';
import { connectTo, newPage, serveAndLaunch, shot } from './harness.js';

const RECORDS = 5_000_000;
const SPIKE_AT = 3_141_592;
const log = { t0: 0, file: '' };

const app = serveAndLaunch();

beforeAll(async () => {
  // Five million records at 1 Hz, the current quiet around ±20 A except for one 250 A spike two records long.
  log.file = path.join(app.served.dataDir, 'five-million.pslog');
  log.t0 = (await writeSyntheticPslog(log.file, { records: RECORDS, spike: { at: SPIKE_AT, length: 2, current: 250 } })).t0;
}, 600_000);

/** Where on screen the panel showing `channel` draws time `t` (ms), and the panel's middle height. */
async function pointAt(page: Page, panel: string, t: number): Promise<{ x: number; y: number }> {
  return page.evaluate(
    ([p, tt]) => {
      const root = document.querySelector(`[data-panel=${p}] .uplot`) as HTMLElement & { uplot: { valToPos(v: number, s: string): number } };
      root.scrollIntoView({ block: 'nearest' });
      const over = root.querySelector('.u-over')!.getBoundingClientRect();
      return { x: over.left + root.uplot.valToPos(tt / 1000, 'x'), y: over.top + over.height / 2 };
    },
    [panel, t] as const,
  );
}

/** Waits until every panel has drawn the range asked for (a recorded log's blocks have arrived). */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const roots = [...document.querySelectorAll('[data-testid=chart-stack] .uplot')] as HTMLElement[];
    return roots.length > 0 && roots.every((r) => r.dataset.stale === '0' && Number(r.dataset.points) > 0);
  }, null);
}

describe('charts people can read', () => {
  it('opens a 5 M-record .pslog and finds a single 2-record current spike on the whole-log view, reading it at the cursor', { timeout: 300_000 }, async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await page.getByTestId('nav-logs').click();
    await page.getByRole('listitem').filter({ hasText: 'five-million.pslog' }).click();
    await page.getByTestId('log-view').waitFor({ timeout: 240_000 });
    await settled(page);
    // Voltage, current and power: three aligned panels, one time axis (on the bottom one).
    expect(await page.locator('[data-testid=chart-stack] [data-panel]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.panel))).toEqual([
      'packVoltage',
      'current',
      'power',
    ]);
    const lefts = await page.locator('[data-testid=chart-stack] .u-over').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().left)));
    expect(new Set(lefts).size).toBe(1);
    await expect.poll(() => page.getByTestId('zoom-reset').isDisabled()).toBe(true);

    // The whole log on screen: point at the spike's column and read it.
    const spikeT = log.t0 + SPIKE_AT * 1000;
    const at = await pointAt(page, 'current', spikeT);
    await page.mouse.move(at.x, at.y);
    await expect.poll(() => page.getByTestId('readout-current').textContent()).toMatch(/… 250\.000 A$/);
    // The shared cursor reads the other panels at the same time.
    expect(await page.getByTestId('readout-packVoltage').textContent()).toMatch(/^\d+\.\d{3}( … \d+\.\d{3})? V$/);
    expect(await page.getByTestId('readout-time').textContent()).not.toBe('—');
    await shot(page, 'charts-spike-whole-log');

    // Zoom in around the spike with the wheel until the raw records are drawn: the spike is two records of 250 A.
    for (let i = 0; i < 80; i++) {
      const full = await page.locator('[data-panel=current] .uplot').getAttribute('data-full');
      if (full === '1') break;
      const p = await pointAt(page, 'current', spikeT);
      await page.mouse.move(p.x, p.y);
      await page.mouse.wheel(0, -400);
      await settled(page);
    }
    expect(await page.locator('[data-panel=current] .uplot').getAttribute('data-full')).toBe('1');
    const raw = await page.evaluate(() => {
      const u = (document.querySelector('[data-panel=current] .uplot') as HTMLElement & { uplot: { data: Array<Array<number | null>> } }).uplot;
      return u.data[1]!.filter((v) => v === 250).length;
    });
    expect(raw).toBe(2);
    const p = await pointAt(page, 'current', spikeT);
    await page.mouse.move(p.x, p.y);
    await expect.poll(() => page.getByTestId('readout-current').textContent()).toBe('250.000 A');
    expect(await page.getByTestId('zoom-reset').isEnabled()).toBe(true);
    await shot(page, 'charts-spike-raw');

    // Keyboard: Home shows everything again.
    await page.locator('.chart-panels').focus();
    await page.keyboard.press('Home');
    await expect.poll(() => page.getByTestId('zoom-reset').isDisabled()).toBe(true);
    expect(problems.filter((x) => !x.includes('favicon'))).toEqual([]);
  });

  it('picks single cells and named sensors, lists events by name with jump-to, and writes times the German way', async () => {
    const context = await app.browser.newContext({ viewport: { width: 1024, height: 700 }, locale: 'de-DE', deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(app.served.url);
    await page.getByTestId('nav-logs').click();
    await page.getByRole('listitem').filter({ hasText: 'five-million.pslog' }).click();
    await page.getByTestId('log-view').waitFor({ timeout: 240_000 });
    await settled(page);

    // The trace picker names every cell and each temperature sensor.
    await page.getByText(/^Traces \(\d+\)$/).click();
    await page.getByLabel('Cell 6', { exact: true }).check();
    await page.getByLabel('Temperature mosfet').check();
    await settled(page);
    expect(await page.locator('[data-testid=chart-stack] [data-panel]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.panel))).toEqual([
      'packVoltage',
      'current',
      'power',
      'cells',
      'temps',
    ]);
    await page.getByText(/^Traces \(\d+\)$/).click();
    // Closing the picker gives the charts more room: they redraw at the new size first.
    await settled(page);
    // Hover the cells chart as a person does: a value that is not there yet, the hand moves again.
    const hover = async () => {
      const at = await pointAt(page, 'cells', log.t0 + 1_000_000 * 1000);
      await page.mouse.move(at.x, at.y - 2);
      await page.mouse.move(at.x, at.y);
    };
    await hover();
    await shot(page, 'charts-de-traces');
    await expect
      .poll(async () => {
        const text = await page.getByTestId('readout-cell6').textContent();
        if (text === '—') await hover();
        return text;
      })
      .toMatch(/^\d,\d{3}( … \d,\d{3})? V$/); // German: a decimal comma
    await expect.poll(() => page.getByTestId('readout-temp:mosfet').textContent()).toMatch(/°C$/);
    // German dates: day.month.year, 24-hour time.
    expect(await page.getByTestId('readout-time').textContent()).toMatch(/^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}:\d{2}$/);

    // Events by name; Show moves the charts to one.
    const events = page.getByTestId('event-list');
    await events
      .getByRole('button', { name: /Charger (connected|disconnected)/ })
      .first()
      .waitFor();
    expect(await events.locator('h3').textContent()).toMatch(/Events in view \(\d+\)/);
    const before = await page.locator('[data-panel=current] .uplot').getAttribute('data-range');
    await events
      .getByRole('button', { name: /Charger connected/ })
      .first()
      .click();
    await expect.poll(() => page.locator('[data-panel=current] .uplot').getAttribute('data-range')).not.toBe(before);
    await settled(page);
    // At 1024×700 the first chart starts on the first screen.
    await shot(page, 'charts-de-1024');
    await context.close();
  });

  it('Live: the chart is above the fold at 1024×700 and reads values at the cursor', async () => {
    const context = await app.browser.newContext({ viewport: { width: 1024, height: 700 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(app.served.url);
    await connectTo(page, 'sim:');
    await page.getByTestId('nav-live').click();
    await page.getByRole('button', { name: 'Current & power' }).click();
    await page.waitForFunction(() => Number(document.querySelector('[data-panel=power] .uplot')?.getAttribute('data-points')) > 5, null, { timeout: 30_000 });
    const over = (await page.locator('[data-panel=current] .u-over').boundingBox())!;
    expect(over.y).toBeLessThan(700);
    await page.mouse.move(over.x + over.width * 0.8, over.y + over.height / 2);
    await expect.poll(() => page.getByTestId('readout-current').textContent()).toMatch(/^-?\d+\.\d{3}( … -?\d+\.\d{3})? A$/);
    expect(await page.getByTestId('readout-power').textContent()).toMatch(/ W$/);
    await shot(page, 'charts-live-1024');
    await context.close();
  });
});
