import { afterAll, describe, expect, it } from 'vitest';
import { spawnSim, stopChild, type SimProcess } from '../integration/cli-process.js';
import { newPage, serveAndLaunch, shot } from './harness.js';

/**
 * Four Pylontech modules on one simulated RS485 bus (a pty): the user finds them on the Packs
 * screen, watches them side by side, sees the module 20 SOC points apart flagged as unsafe to join
 * in parallel, leaves the screen and finds the watch still running, then stops it.
 */
const app = serveAndLaunch();
let sim: SimProcess | null = null;
afterAll(async () => {
  if (sim) await stopChild(sim.child, 'SIGKILL');
});

describe('packs on one bus', () => {
  it('finds four modules, shows a row each with totals and the parallel warning, and keeps watching across navigation', async () => {
    sim = await spawnSim(['--personality', 'pylontech-rs485', '--packs', '4', '--pack-soc', '60,60,80,61']);
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await page.getByTestId('nav-packs').click();
    await page.getByLabel('Bus port').fill(sim.path);
    await page.getByTestId('bus-scan').click();
    await page.getByTestId('bus-found').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('bus-found').textContent()).toMatch(
      /^4 pack\(s\) answered: module address \d+, module address \d+, module address \d+, module address \d+\./,
    );
    await page.getByTestId('bus-watch').click();
    await page.getByTestId('bus-table').waitFor({ timeout: 60_000 });
    const rows = page.locator('[data-testid^=bus-pack-]');
    expect(await rows.count()).toBe(4);
    for (let i = 0; i < 4; i++) {
      expect(await rows.nth(i).getByTestId('soc').textContent()).toMatch(/^\d+\.\d %$/);
      expect(await rows.nth(i).getByTestId('voltage').textContent()).toMatch(/^\d+\.\d\d V$/);
    }
    expect(await page.getByTestId('bus-totals').textContent()).toMatch(/^All 4/);
    const warning = page.getByTestId('bus-parallel');
    await warning.waitFor();
    expect(await warning.textContent()).toMatch(
      /^Not safe to join module address \d+ and module address \d+ in parallel: .*SOC differs by \d+\.\d points, more than 10/,
    );
    await shot(page, 'packs-bus');

    // Leaving the screen does not stop the watch: back on Packs the rounds go on.
    await page.getByTestId('nav-connect').click();
    await page.getByTestId('job-bus-monitor').waitFor();
    await page.getByTestId('nav-packs').click();
    const seen = Number(await page.getByTestId('bus-view').getAttribute('data-round'));
    await page.waitForFunction((r) => Number(document.querySelector('[data-testid=bus-view]')?.getAttribute('data-round')) > r, seen, { timeout: 30_000 });
    await page.getByTestId('bus-stop').click();
    await page.getByText('Not watching now: the last round read.').waitFor({ timeout: 30_000 });
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  });
});
