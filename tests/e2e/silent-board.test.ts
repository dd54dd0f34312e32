import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSim, stopChild, type SimProcess } from '../integration/cli-process.js';
import { connectTo, newPage, serveAndLaunch, shot } from './harness.js';

/**
 * A board that goes silent while no screen shows live data: the host's keep-alive notices it on
 * any screen, every screen says so and disables what needs the board, and an answer brings the
 * connection back; a board that is gone for good (its process killed) ends the connection.
 */
const app = serveAndLaunch();
let sim: SimProcess | null = null;
afterAll(async () => {
  if (!sim) return;
  try {
    process.kill(sim.pid, 'SIGCONT');
  } catch {
    // already gone: the test killed it
  }
  await stopChild(sim.child, 'SIGKILL');
});

const linkState = (page: Page, state: string) =>
  page.waitForFunction((s) => document.querySelector('[data-testid=link-status]')?.getAttribute('data-state') === s, state, { timeout: 30_000 });

describe('a silent board, noticed away from Live', () => {
  it('stale on Connect, Self-check, Logs and Firmware with actions disabled; back when it answers; gone when killed', async () => {
    sim = await spawnSim(['--state', mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-quiet-'))]);
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, sim.path);
    // Nothing holds telemetry: the user stays on Connect, then opens the self-check.
    await page.getByTestId('nav-selfcheck').click();
    expect(await page.getByTestId('sc-start').isDisabled()).toBe(false);

    process.kill(sim.pid, 'SIGSTOP');
    try {
      await linkState(page, 'stale');
      expect(await page.getByTestId('link-status').textContent()).toContain('not answering');
      expect(await page.getByTestId('board-missing').textContent()).toMatch(/^The board is not answering \(the board has not answered for \d+\.\d s\)/);
      expect(await page.getByTestId('sc-start').isDisabled()).toBe(true);
      await page.getByTestId('nav-connect').click();
      await page.getByTestId('board-missing').waitFor();
      await page.getByTestId('nav-logs').click();
      expect(await page.getByTestId('pull').isDisabled()).toBe(true);
      await page.getByTestId('nav-firmware').click();
      await page.getByTestId('board-missing').waitFor();
      await shot(page, 'silent-board-firmware');
    } finally {
      process.kill(sim.pid, 'SIGCONT');
    }
    // It answers again: connected without reconnecting, and the actions come back.
    await linkState(page, 'connected');
    await page.getByTestId('nav-selfcheck').click();
    expect(await page.getByTestId('sc-start').isDisabled()).toBe(false);
    expect(await page.getByTestId('board-missing').count()).toBe(0);

    // Gone for good: the keep-alive's next request finds the port dead, on any screen.
    process.kill(sim.pid, 'SIGKILL');
    await linkState(page, 'disconnected');
    await page.getByTestId('nav-live').click();
    await page.getByTestId('live-disconnected').waitFor();
    expect(await page.getByTestId('live-disconnected').textContent()).toMatch(/The connection ended: .*connect again/);
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  });
});
