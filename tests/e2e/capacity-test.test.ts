import { describe, expect, it } from 'vitest';
import { connectTo, newPage, serveAndLaunch } from './harness.js';

/**
 * A bench engineer runs the guided capacity test from the Health screen on a connected board (the
 * simulator, its pack running thousands of times faster than real time): the test is a host job,
 * so it goes on while they look at another screen, and its result waits on the Health screen.
 */
const app = serveAndLaunch();

describe('Capacity test on the Health screen', () => {
  it('runs as a job that survives navigation and shows the measured capacity', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?timescale=5000&unpaced=1&seed=11');
    await page.getByTestId('nav-health').click();
    const card = page.getByTestId('capacity-test');
    await card.waitFor();
    // Settings are checked as typed.
    await page.getByTestId('ct-current').fill('much');
    expect(await card.getByText('The discharge current must be a positive number of amperes.').count()).toBe(1);
    expect(await page.getByTestId('ct-start').isDisabled()).toBe(true);
    await page.getByTestId('ct-current').fill('50');
    await page.getByTestId('ct-rest').fill('5');
    await page.getByTestId('ct-start').click();
    // The job shows in the sidebar; leave the screen while it runs, then come back.
    await page.getByTestId('job-capacity-test').or(page.getByTestId('ct-result')).first().waitFor({ timeout: 60_000 });
    await page.getByTestId('nav-live').click();
    await page.getByTestId('nav-health').click();
    await page.getByTestId('ct-result').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('ct-capacity').textContent()).toMatch(/^\d+\.\d\d Ah$/);
    const ah = Number((await page.getByTestId('ct-capacity').textContent())!.replace(/[^\d.]/g, ''));
    expect(ah).toBeGreaterThan(90);
    expect(ah).toBeLessThan(101);
    expect(await page.getByTestId('ct-result').textContent()).toMatch(/% of the rated 100 Ah/);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
