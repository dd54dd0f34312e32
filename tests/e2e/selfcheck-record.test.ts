import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectTo, newPage, serveAndLaunch, shot } from './harness.js';

const app = serveAndLaunch();

describe('Self-check wizard and live recording', () => {
  it('walks a non-engineer through every step to a plain conclusion', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?scenario=weak-cell&seed=3');
    await page.getByTestId('nav-selfcheck').click();
    await page.getByLabel('Charger output voltage in volts').fill('58.4');
    await page.getByLabel('Charger output current in amperes').fill('20');
    await page.getByTestId('sc-start').click();
    for (let i = 0; i < 8; i++) {
      await page.getByTestId('sc-step').waitFor();
      await page.getByTestId('sc-run').click();
      await page.getByTestId('sc-result').waitFor({ timeout: 60_000 });
      const text = await page.getByTestId('sc-result').textContent();
      expect(text).toMatch(/Normal|Needs attention|Problem found|Not checked/);
      expect(text).toContain('Measured');
      if (i === 2) await shot(page, 'selfcheck-step');
      if (i < 7) await page.getByTestId('sc-next').click();
    }
    await page.getByTestId('sc-finish').click();
    await page.getByTestId('sc-conclusion').waitFor();
    expect(await page.getByTestId('sc-conclusion').textContent()).toMatch(/^(We found a problem|No problem found)/);
    await shot(page, 'selfcheck-result');
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  });

  it('keeps the check where it stands across leaving the screen and reloading the page', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?scenario=weak-cell&seed=3');
    await page.getByTestId('nav-selfcheck').click();
    // A check concluded earlier on this pack is still shown: the customer starts a new one.
    const again = page.getByTestId('sc-check-again');
    await again.or(page.getByTestId('sc-start')).first().waitFor();
    if (await again.isVisible()) await again.click();
    await page.getByLabel('Charger output voltage in volts').fill('58.4');
    await page.getByLabel('Charger output current in amperes').fill('20');
    await page.getByTestId('sc-start').click();
    await page.getByTestId('sc-run').click();
    await page.getByTestId('sc-result').waitFor({ timeout: 60_000 });
    await page.getByTestId('sc-next').click();
    await page.locator('#sc-title', { hasText: /^Step 2 of 8/ }).waitFor();
    // Step 2 starts, and the customer leaves for Live before its result is shown.
    await page.getByTestId('sc-run').click();
    await page.getByTestId('nav-live').click();
    await page.locator('[data-testid="nav-live"][aria-current=page]').waitFor();
    await page.getByTestId('nav-selfcheck').click();
    // Back on the same page of the same check: step 1's result kept, step 2's arriving from the host.
    await page.locator('#sc-title', { hasText: /^Step 2 of 8/ }).waitFor();
    await page.getByTestId('sc-result').waitFor({ timeout: 60_000 });
    expect(await page.locator('.stepper li.done').count()).toBe(1);

    // A reload (or another window) finds it too, with the job in the sidebar.
    await page.reload();
    await page.getByTestId('nav-selfcheck').click();
    await page.locator('#sc-title', { hasText: /^Step 2 of 8/ }).waitFor();
    await page.getByTestId('sc-result').waitFor();
    const job = page.getByTestId('job-selfcheck').filter({ hasText: 'Self-check of' });
    await job.waitFor();
    expect(await job.getByTestId('job-progress').textContent()).toBe('25 %');
    for (let i = 2; i < 8; i++) {
      await page.getByTestId('sc-next').click();
      await page.locator('#sc-title', { hasText: new RegExp(`^Step ${i + 1} of 8`) }).waitFor();
      if (i === 6) expect(await page.getByLabel('Charger output voltage in volts').inputValue()).toBe('58.4');
      await page.getByTestId('sc-run').click();
      await page.getByTestId('sc-result').waitFor({ timeout: 60_000 });
    }
    await page.getByTestId('sc-finish').click();
    await page.getByTestId('sc-conclusion').waitFor();
    const verdict = await page.getByTestId('sc-conclusion').textContent();
    await page.getByTestId('nav-connect').click();
    await page.getByTestId('nav-selfcheck').click();
    expect(await page.getByTestId('sc-conclusion').textContent()).toBe(verdict);
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  });

  it('records live telemetry to a .pslog that the Logs screen opens as a desktop recording', async () => {
    const { page } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:');
    await page.getByTestId('nav-live').click();
    await page.getByTestId('record').click();
    await page.getByTestId('recording-path').waitFor();
    await page.waitForFunction(
      () =>
        /\((\d+) records\)/.test(document.querySelector('[data-testid=record]')?.textContent ?? '') &&
        Number(/\((\d+) records\)/.exec(document.querySelector('[data-testid=record]')!.textContent!)![1]) >= 20,
      null,
      { timeout: 30_000 },
    );
    await shot(page, 'live-recording');
    await page.getByTestId('record').click();
    await page.getByTestId('recording-saved').waitFor();
    const saved = await page.getByTestId('recording-saved').textContent();
    const file = /to (\/\S+\.pslog)/.exec(saved!)![1]!;
    expect(existsSync(file)).toBe(true);
    await page.getByTestId('nav-logs').click();
    await page
      .getByRole('listitem')
      .filter({ hasText: file.split('/').pop()! })
      .click();
    await page.getByTestId('log-view').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('log-verification').textContent()).toContain('Desktop recording');
    await page.context().close();
  });
});
