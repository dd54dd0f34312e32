import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../electron/host/cli/main.js';
import { newPage, serveAndLaunch, shot } from './harness.js';

/**
 * A bench engineer opens a pulled black box on the Health screen: the capacity with its
 * uncertainty, each cell with what stands out (the weak cell of the weak-cell pack, by resistance
 * and self-discharge, highlighted), and the hours by temperature, SOC and C-rate.
 */
const app = serveAndLaunch(async ({ served }) => {
  const out = path.join(served.dataDir, 'weak-cell.pslog');
  const lines: string[] = [];
  const code = await main(['health', '--port', 'sim:?scenario=weak-cell&prefill=12&unpaced=1&seed=5', '--keep', out, '--json'], {
    out: () => undefined,
    err: (l) => lines.push(l),
    signal: new AbortController().signal,
    isTTY: false,
  });
  expect(code, lines.join('\n')).toBe(0);
});

describe('Health screen', () => {
  it('opens a log and shows capacity, the weak cell and the histograms', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url + '&screen=health');
    await page.getByRole('heading', { name: 'Health' }).waitFor();
    await page.getByRole('listitem').filter({ hasText: 'weak-cell.pslog' }).click();
    await page.getByTestId('health-report').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('health-verified').textContent()).toMatch(/verifies/);
    expect(await page.getByTestId('health-capacity').textContent()).toMatch(/Remaining capacity/);
    const flagged = page.locator('[data-testid=health-cells] tr.flagged');
    expect(await flagged.count()).toBe(1);
    expect(await flagged.textContent()).toMatch(/internal resistance .* × the other cells'/);
    await expect
      .poll(() =>
        page
          .getByRole('figure', { name: /Hours by state of charge/ })
          .locator('.hist-row')
          .count(),
      )
      .toBeGreaterThan(3);
    await shot(page, 'health');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('refuses a rated capacity that is not a number, in words', async () => {
    const { page } = await newPage(app.browser);
    await page.goto(app.served.url + '&screen=health');
    await page.getByTestId('health-rated').fill('lots');
    expect(await page.getByText('The rated capacity must be a positive number of ampere-hours.').count()).toBe(1);
    await page.getByTestId('health-rated').fill('100,5');
    expect(await page.getByText('The rated capacity must be a positive number').count()).toBe(0);
    await page.context().close();
  });
});
