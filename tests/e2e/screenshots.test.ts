import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bridgeCall, connectTo, SCREENSHOTS, serveAndLaunch } from './harness.js';

/**
 * Every screen at the two window sizes people use (1400×900 and a 1024×700 laptop), light and
 * dark, under a German locale, with a pack connected and a log on hand, saved as screenshots-<size>-<theme>-<screen>.png
 * under tests/artifacts/screenshots (kept as CI artifacts, not in git) to be looked at. Each shot
 * waits for its screen (current in the navigation, a heading shown), and for its chart where it has one.
 */

const SIZES = [
  { width: 1400, height: 900 },
  { width: 1024, height: 700 },
] as const;

const app = serveAndLaunch();

describe('screenshots of every screen', () => {
  it('at 1400×900 and 1024×700, light and dark', { timeout: 600_000 }, async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    let screens: string[] = [];
    for (const theme of ['light', 'dark'] as const) {
      for (const size of SIZES) {
        // A German locale: dates, times and numbers must follow it (no US formats), and German
        // number widths must not clip a label.
        const context = await app.browser.newContext({ viewport: size, colorScheme: theme, deviceScaleFactor: 1, locale: 'de-DE' });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(String(e)));
        await page.goto(app.served.url);
        await connectTo(page, 'sim:?prefill=1&seed=11&unpaced');
        if (!screens.length) {
          // A log on hand for Logs and Claim.
          await bridgeCall(app.served, 'log.pull', { opId: 'screenshots-pull' });
          screens = await page.locator('[data-testid^="nav-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!.slice(4)));
        }
        expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
        for (const s of screens) {
          await page.getByTestId(`nav-${s}`).click();
          await page.locator(`[data-testid="nav-${s}"][aria-current=page]`).waitFor();
          await page.locator('main :is(h1, h2)').first().waitFor();
          if (s === 'live')
            await page.waitForFunction(() => Number(document.querySelector('[data-testid=time-chart] .uplot')?.getAttribute('data-points')) > 0, null, {
              timeout: 30_000,
            });
          // Nothing still loading (a status line that says so) when the shot is taken.
          await page.waitForFunction(() => ![...document.querySelectorAll('[role=status]')].some((e) => /Loading/.test(e.textContent ?? '')));
          await page.screenshot({ path: path.join(SCREENSHOTS, `screenshots-${size.width}x${size.height}-${theme}-${s}.png`) });
          // On a 1024×700 laptop Live's chart is on the first screen: its plot area above the fold.
          if (s === 'live') {
            const box = (await page.locator('[data-testid=time-chart] .uplot').first().boundingBox())!;
            expect(box.y + Math.min(box.height, 200)).toBeLessThanOrEqual(size.height);
          }
        }
        expect(problems).toEqual([]);
        await context.close();
      }
    }
    expect(screens.length).toBeGreaterThanOrEqual(7);
  });
});
