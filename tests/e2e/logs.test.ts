import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectTo, newPage, serveAndLaunch, shot } from './harness.js';

const app = serveAndLaunch();

describe('Logs screen against the demo board', () => {
  it('downloads the black box with progress, cancels, resumes, then shows the verified log, its events and segments, and exports CSV', { timeout: 240_000 }, async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    // A board with hours of history in its black box.
    await connectTo(page, 'sim:?prefill=1&seed=7');
    await page.getByTestId('nav-logs').click();
    await page.getByTestId('pull').click();
    await page.getByTestId('progress').waitFor();
    await page.waitForFunction(() => /KiB of/.test(document.querySelector('[data-testid=progress]')?.textContent ?? ''), null, { timeout: 30_000 });
    await shot(page, 'logs-pulling');
    await page.getByTestId('cancel-pull').click();
    await page.getByTestId('pull-cancelled').waitFor({ timeout: 15_000 });
    await page.getByTestId('resume').click();
    await page.getByTestId('pull-result').waitFor({ timeout: 180_000 });
    const pulled = await page.getByTestId('pull-result').textContent();
    expect(pulled).toMatch(/segments kept from the earlier attempt/);
    expect(pulled).toContain('signatures valid');

    await page.getByTestId('log-view').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('log-verification').textContent()).toMatch(/Every segment's signature and the chain verify/);
    await page.getByTestId('time-chart').waitFor();
    expect(await page.getByTestId('segments').locator('tbody tr').count()).toBeGreaterThan(1);
    expect(await page.getByTestId('segments').textContent()).toContain('✓ valid');
    await page.waitForTimeout(500);
    await shot(page, 'logs-open');
    // The channels on screen at open come with the first pyramids; the others follow from the
    // Worker in the background and must draw too.
    const points = () => page.getByTestId('time-chart').locator('.uplot').getAttribute('data-points').then(Number);
    expect(await points()).toBeGreaterThan(100);
    await page.getByRole('button', { name: 'Temperatures' }).click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=time-chart] .uplot')?.getAttribute('data-points')) > 100, null, { timeout: 10_000 });
    await page.getByRole('button', { name: 'Voltage & current' }).click();
    expect(await points()).toBeGreaterThan(100);

    await page.getByTestId('export-all').click();
    await page.getByTestId('export-result').waitFor({ timeout: 60_000 });
    const all = await page.getByTestId('export-result').textContent();
    const allRecords = Number(/Wrote ([\d,]+) records/.exec(all!)![1]!.replace(/,/g, ''));
    const allPath = /to (\/.*\.csv)$/.exec(all!)![1]!;
    expect(existsSync(allPath)).toBe(true);
    expect(readFileSync(allPath, 'utf8').split('\n')[0]).toMatch(/^index,segment,time_utc,time_ms,pack_voltage_V,current_A,soc_pct,cell1_V/);

    // Zoom into the middle of the chart, then export just that range.
    const box = (await page.getByTestId('time-chart').locator('.u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.getByTestId('zoom-reset').waitFor({ state: 'visible' });
    expect(await page.getByTestId('zoom-reset').isEnabled()).toBe(true);
    await page.waitForTimeout(300);
    await shot(page, 'logs-zoomed');
    await page.getByTestId('export-range').click();
    await page.waitForFunction((n) => {
      const m = /Wrote ([\d,]+) records/.exec(document.querySelector('[data-testid=export-result]')?.textContent ?? '');
      return m && Number(m[1]!.replace(/,/g, '')) !== n;
    }, allRecords, { timeout: 60_000 });
    const part = await page.getByTestId('export-result').textContent();
    const partRecords = Number(/Wrote ([\d,]+) records/.exec(part!)![1]!.replace(/,/g, ''));
    expect(partRecords).toBeGreaterThan(0);
    expect(partRecords).toBeLessThan(allRecords * 0.5);
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
  });
});
