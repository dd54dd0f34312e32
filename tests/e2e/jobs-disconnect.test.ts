import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePrivateKeyPem, parseVersion, signImage } from '../../shared/image/index.js';
import { spawnSim, stopChild, type SimProcess } from '../integration/cli-process.js';
import { bridgeCall, newPage, serveAndLaunch, shot } from './harness.js';

/**
 * A simulated board on a pseudo-terminal is killed in the middle of a flash and of a black-box
 * download, then started again from its saved state: what the app says, what it allows, and what
 * it shows after reconnecting. Every wait is for a condition, never for a length of time.
 */
const app = serveAndLaunch();
const sims: SimProcess[] = [];
afterAll(async () => {
  for (const s of sims) await stopChild(s.child, 'SIGKILL');
});

async function startBoard(stateDir: string, extra: string[] = []): Promise<SimProcess> {
  const sim = await spawnSim(['--state', stateDir, ...extra]);
  sims.push(sim);
  return sim;
}

function kill(sim: SimProcess): void {
  process.kill(sim.pid, 'SIGKILL');
}

async function connect(page: Page, port: string): Promise<void> {
  await page.getByTestId('nav-connect').click();
  await page.getByRole('heading', { name: 'Connect to a pack' }).waitFor();
  // The host may still hold the board of an earlier test: let go of it first.
  if (await page.getByTestId('connected').isVisible()) {
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByLabel('Port path').waitFor({ timeout: 30_000 });
  }
  await page.getByLabel('Port path').fill(port);
  await page.getByTestId('connect').click();
  await page.getByTestId('connected').waitFor({ timeout: 60_000 });
}

/** Waits until the sidebar's job of `kind` has reached `percent`. */
async function jobAt(page: Page, kind: string, percent: number): Promise<void> {
  await page.waitForFunction(
    ([k, p]) => {
      const t = document.querySelector(`[data-testid=job-${k}] [data-testid=job-progress]`)?.textContent ?? '';
      const m = /^(\d+) %/.exec(t);
      return m !== null && Number(m[1]) >= (p as number);
    },
    [kind, percent] as const,
    { timeout: 120_000 },
  );
}

describe('a board that goes away during a job', () => {
  it('flash: plain words, disabled actions, greyed slots; after reconnecting the slots and the version are read again', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-flashkill-'));
    let sim = await startBoard(stateDir);
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connect(page, sim.path);
    const { device } = await bridgeCall(app.served, 'device.status', {});
    const key = parsePrivateKeyPem(readFileSync(path.join(stateDir, 'firmware-signing-key.pem'), 'utf8'));
    // Random bytes do not compress: at 15 % the rest of the upload still takes seconds on the
    // 115200-baud line, time enough for the kill to land in the middle of it.
    writeFileSync(
      path.join(app.served.dataDir, 'bms-1.6.0.img'),
      signImage({ payload: new Uint8Array(randomBytes(96 * 1024)), version: parseVersion('1.6.0'), key, securityCounter: 3, boardId: device.boardId }),
    );

    await page.getByTestId('nav-firmware').click();
    await page.getByTestId('fw-status').waitFor({ timeout: 30_000 });
    await page.getByRole('listitem').filter({ hasText: 'bms-1.6.0.img' }).click();
    await page.getByText('✓ the connected board').waitFor({ timeout: 30_000 });
    await page.getByTestId('flash').click();
    await jobAt(page, 'flash', 5);

    // Leaving Firmware does not lose the flash: back on the screen, its progress and Cancel are there.
    await page.getByTestId('nav-live').click();
    await page.getByTestId('job-flash').waitFor();
    await page.getByTestId('nav-firmware').click();
    await page.getByTestId('cancel-flash').waitFor();
    await page.getByTestId('progress').waitFor();
    await jobAt(page, 'flash', 15);

    kill(sim);
    const alert = page.getByRole('alert').filter({ hasText: 'The connection to the board was lost while the firmware was being written' });
    await alert.waitFor({ timeout: 60_000 });
    expect(await alert.textContent()).toContain('Check the cable and the pack power, then connect again.');
    expect(await alert.textContent()).not.toMatch(/check the values you entered/i);
    // Everything that needs the board says why it is unavailable, and nothing pretends to be current.
    await page.waitForFunction(() => document.querySelector('[data-testid=link-status]')?.getAttribute('data-state') === 'disconnected', null, {
      timeout: 30_000,
    });
    expect(await page.getByTestId('flash').isDisabled()).toBe(true);
    expect(await page.getByTestId('flash-disabled-reason').textContent()).toMatch(/^No board is connected: the board or its cable went away.*connect again\.$/);
    expect(await page.getByTestId('fw-status').getAttribute('data-stale')).toBe('true');
    expect(await page.getByTestId('fw-status-stale').textContent()).toContain('the board is not connected now');
    expect(await page.getByTestId('verdict').getAttribute('data-stale')).toBe('true');
    expect(await page.locator('body').textContent()).not.toMatch(/--[a-z]/);
    await shot(page, 'firmware-board-lost');
    const readBefore = Number(await page.getByTestId('fw-status').getAttribute('data-read-at'));

    // The board comes back (its flash and counters as they were): the slots are read again first.
    sim = await startBoard(stateDir);
    await connect(page, sim.path);
    await page.getByTestId('nav-firmware').click();
    await page.waitForFunction(
      (before) => {
        const el = document.querySelector('[data-testid=fw-status]');
        return el?.getAttribute('data-stale') === 'false' && Number(el.getAttribute('data-read-at')) > before;
      },
      readBefore,
      { timeout: 30_000 },
    );
    const status = await bridgeCall(app.served, 'fw.status', {});
    expect(await page.getByTestId('fw-status').locator('h2').textContent()).toContain(`running ${status.runningVersion}`);
    await page.getByTestId('verdict').waitFor();
    expect(await page.getByTestId('verdict').getAttribute('data-stale')).toBe('false');

    // Flash again: it completes, and every place that shows the version shows the new one. A
    // failure ends the wait at once, with the app's words for it.
    await page.getByTestId('flash').click();
    await page.getByTestId('cancel-flash').waitFor();
    await page.getByTestId('flash-result').or(page.getByTestId('flash-error-when')).waitFor({ timeout: 240_000 });
    expect(await page.getByTestId('flash-error-when').count(), (await page.getByRole('alert').allTextContents()).join(' | ')).toBe(0);
    expect(await page.getByTestId('flash-result').textContent()).toMatch(/1\.6\.0(\+0)? installed and running in test mode/);
    await page.waitForFunction(() => /firmware 1\.6\.0/.test(document.querySelector('[data-testid=link-status]')?.textContent ?? ''), null, {
      timeout: 30_000,
    });
    await page.getByTestId('nav-connect').click();
    expect(await page.getByTestId('connected-firmware').textContent()).toMatch(/^1\.6\.0/);
    const after = await bridgeCall(app.served, 'device.status', {});
    expect(after.device.firmwareVersion).toMatch(/^1\.6\.0/);
    // Keeping the trial firmware says what happened.
    await page.getByTestId('nav-firmware').click();
    await page.getByRole('button', { name: /^Confirm 1\.6\.0/ }).click();
    await page.getByTestId('fw-act-result').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('fw-act-result').textContent()).toMatch(/^1\.6\.0(\+0)? is confirmed: the board keeps it from now on\.$/);
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  }, 600_000);

  it('a board that stops answering: the sidebar and the screens say so, and it recovers when the board answers again', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-silent-'));
    const sim = await startBoard(stateDir);
    const { page } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connect(page, sim.path);
    await page.getByRole('button', { name: 'Show live data' }).click();
    await page.waitForFunction(() => !document.querySelector('[data-testid=tile-voltage] .tile-value')?.textContent?.startsWith('—'), null, {
      timeout: 60_000,
    });
    // The board freezes (powered down behind a USB adapter that stays plugged in).
    process.kill(sim.pid, 'SIGSTOP');
    try {
      await page.waitForFunction(() => document.querySelector('[data-testid=link-status]')?.getAttribute('data-state') === 'stale', null, { timeout: 60_000 });
      expect(await page.getByTestId('link-status').textContent()).toContain('not answering');
      await page.getByTestId('nav-logs').click();
      expect(await page.getByTestId('pull').isDisabled()).toBe(true);
    } finally {
      process.kill(sim.pid, 'SIGCONT');
    }
    await page.getByTestId('nav-live').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=link-status]')?.getAttribute('data-state') === 'connected', null, {
      timeout: 60_000,
    });
    expect(await page.getByTestId('pull').count()).toBe(0);
    await page.getByTestId('nav-logs').click();
    expect(await page.getByTestId('pull').isDisabled()).toBe(false);
    await page.context().close();
  }, 300_000);

  it('download: cut by the board going away, listed with Resume, resumed from the app after reconnecting', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-pullkill-'));
    let sim = await startBoard(stateDir, ['--prefill-hours', '1']);
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connect(page, sim.path);
    await page.getByTestId('nav-logs').click();
    await page.getByTestId('pull').click();
    await jobAt(page, 'pull', 20);

    kill(sim);
    const alert = page.getByRole('alert').filter({ hasText: 'The connection to the board was lost during the download' });
    await alert.waitFor({ timeout: 60_000 });
    const partial = page.getByTestId('partial');
    await partial.waitFor({ timeout: 30_000 });
    // Without a board, Resume says why it cannot run yet.
    expect(await partial.getByTestId('resume-partial').isDisabled()).toBe(true);
    expect(await partial.textContent()).toContain('No board is connected');
    expect(await page.locator('body').textContent()).not.toMatch(/--[a-z]/);
    await shot(page, 'logs-download-cut');

    // After a reload (the renderer starting afresh) the cut download is still listed.
    await page.reload();
    await page.getByTestId('nav-logs').click();
    await page.getByTestId('partial').waitFor({ timeout: 30_000 });

    sim = await startBoard(stateDir);
    await connect(page, sim.path);
    await page.getByTestId('nav-logs').click();
    await page.getByTestId('resume-partial').click();
    await page.getByTestId('pull-result').waitFor({ timeout: 300_000 });
    const pulled = (await page.getByTestId('pull-result').textContent())!;
    expect(pulled).toMatch(/\d+ segments kept from the earlier attempt/);
    expect(pulled).toContain('signatures valid');
    await page.getByTestId('log-view').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('partial').count()).toBe(0);
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  }, 600_000);
});
