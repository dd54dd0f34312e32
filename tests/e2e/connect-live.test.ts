import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bridgeCall, newPage, serveAndLaunch, shot, startServe } from './harness.js';

const app = serveAndLaunch();

describe('Connect and Live against the built-in demo pack', () => {
  it('connects with protocol detection, shows live tiles, cell bars and a chart, pauses, flags stale data', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await page.getByRole('heading', { name: 'Connect to a pack' }).waitFor();
    await page.getByText('Demo pack (simulated, built in)').waitFor();
    await shot(page, 'connect');

    await page.getByTestId('connect').click();
    const connected = page.getByTestId('connected');
    await connected.waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('answered').textContent()).toBe('native answered');
    expect(await connected.textContent()).toContain('native ✓ answered');
    await shot(page, 'connect-connected');

    await page.getByRole('button', { name: 'Show live data' }).click();
    await page.getByRole('heading', { name: /^Live/ }).waitFor();
    await page.getByLabel('Telemetry rate').selectOption('20');
    // Real numbers from the simulated pack, with units.
    await page.waitForFunction(() => !document.querySelector('[data-testid=tile-voltage] .tile-value')?.textContent?.startsWith('—'), null, {
      timeout: 15_000,
    });
    const volts = await page.getByTestId('tile-voltage').textContent();
    expect(volts).toMatch(/Pack voltage\d{2}\.\d{2}V/);
    const v = Number(/(\d+\.\d+)V/.exec(volts!)![1]);
    expect(v).toBeGreaterThan(40); // 16 LFP cells
    expect(v).toBeLessThan(60);
    expect(await page.getByTestId('tile-soc').textContent()).toMatch(/\d+\.\d%/);
    expect(await page.getByTestId('tile-temp').textContent()).toMatch(/°C/);
    expect(await page.locator('.bar').count()).toBe(16);
    expect(await page.locator('.bar.min').count()).toBe(1);
    expect(await page.locator('.bar.max').count()).toBe(1);
    expect(await page.getByTestId('cell-spread').textContent()).toMatch(/spread \d+ mV/);
    // Let the chart gather a few seconds of data.
    await page.waitForTimeout(3000);
    const points = await page.evaluate(() => document.querySelectorAll('.chart canvas').length);
    expect(points).toBe(1);
    await page.getByRole('button', { name: 'Cell min/max' }).click();
    await page.waitForTimeout(500);
    await shot(page, 'live');

    // Pause freezes the chart; resume continues.
    await page.getByTestId('pause').click();
    expect(await page.getByTestId('pause').getAttribute('aria-pressed')).toBe('true');
    await page.getByTestId('pause').click();
    expect(await page.getByTestId('pause').getAttribute('aria-pressed')).toBe('false');

    // Keyboard reachable: the navigation answers Tab + Enter.
    await page.getByTestId('nav-connect').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('connected').waitFor();
    await page.getByTestId('nav-live').click();

    // The link goes quiet (telemetry stopped behind the page's back): the screen flags it (after
    // about 1 s of silence; the bound is not timed here, a loaded machine delays timers).
    await page.getByTestId('tile-voltage').waitFor();
    await bridgeCall(app.served, 'telemetry.stop', {});
    await page.getByTestId('stale').waitFor({ timeout: 30_000 });
    await shot(page, 'live-stale');
    // The banner offers the way back.
    await page.getByRole('button', { name: 'Restart telemetry' }).click();
    await page.getByTestId('stale').waitFor({ state: 'detached', timeout: 30_000 });

    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  });

  it('reads well in the dark theme', async () => {
    const { page } = await newPage(app.browser, 'dark');
    await page.goto(app.served.url + '&screen=live');
    await page.getByRole('heading', { name: /^Live/ }).waitFor();
    await page.waitForFunction(() => !document.querySelector('[data-testid=tile-voltage] .tile-value')?.textContent?.startsWith('—'), null, {
      timeout: 15_000,
    });
    await page.waitForTimeout(2500);
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await shot(page, 'live-dark');
    await page.context().close();
  });

  it('explains a permission error on a serial port with the fix', async () => {
    const unpriv = await startServe([], {}, { unprivileged: true });
    let holder: ChildProcess | undefined;
    try {
      // A real terminal device the unprivileged app may not open: a pseudo-terminal owned by
      // root with mode 0600, as a USB serial adapter is for a user outside the dialout group.
      holder = spawn(
        'python3',
        ['-u', '-c', 'import os, pty, sys, time\nm, s = pty.openpty()\nn = os.ttyname(s)\nos.chmod(n, 0o600)\nprint(n)\nsys.stdin.read()'],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const port = await new Promise<string>((resolve, reject) => {
        holder!.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
        holder!.once('exit', (code) => reject(new Error(`pty holder exited with ${code}`)));
      });
      const { page } = await newPage(app.browser);
      await page.goto(unpriv.url);
      await page.getByLabel('Port path').fill(port);
      await page.getByLabel('Protocol').selectOption('native');
      await page.getByTestId('connect').click();
      const fix = page.getByTestId('eacces-fix');
      await fix.waitFor({ timeout: 15_000 });
      expect(await page.getByRole('alert').textContent()).toContain('permission denied');
      expect(await fix.textContent()).toContain('sudo usermod -aG dialout $USER');
      expect(await fix.textContent()).toContain('99-packscope.rules');
      await shot(page, 'connect-eacces');
      await page.context().close();
    } finally {
      holder?.kill();
      await unpriv.stop();
    }
  });
});
