import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { makeDeskInbox, type DeskFixture } from '../support/desk-packages.js';
import { runCli } from '../integration/cli-process.js';
import { newPage, serveAndLaunch, shot } from './harness.js';

/**
 * The Claims screen as a supplier uses it: packages that arrived four days ago, six hours ago and
 * just now are ingested on the command line; the queue shows the overdue ones first (the
 * oldest escalated to management, then those still waiting for a first answer), a claim's
 * evidence is the verifier's own result, a denial is signed from the screen and the claim leaves
 * the open queue; the fleet view has its tables and chart; one more package is added from the
 * screen and joins the queue. The screen never tells the user to run a command.
 */
const H = 3_600_000;
let fx: DeskFixture;
let db: string;
const received = (i: number) => (i < 3 ? 100 : i < 6 ? 5 : 0);

const app = serveAndLaunch(async ({ served }) => {
  const now = Date.now();
  fx = await makeDeskInbox(path.join(served.dataDir, 'desk'), {
    count: 10,
    minutes: 20,
    forgeEvery: 0,
    duplicateEvery: 0,
    endMs: (i) => now - received(i) * H - 10 * 60_000,
  });
  db = path.join(served.dataDir, 'desk', 'claims.duckdb');
  for (const hours of [100, 5, 0]) {
    // The tenth package is left for the screen's "Add packages…".
    const files = fx.packages
      .slice(0, 9)
      .filter((_, i) => received(i) === hours)
      .map((p) => p.path);
    const at = hours ? ['--received-at', new Date(now - hours * H).toISOString()] : [];
    const r = await runCli(['desk', 'ingest', ...files, '--supplier', fx.supplier, '--db', db, '--jobs', '1', ...at]);
    if (r.code !== 0) throw new Error(`desk ingest failed (${r.code}): ${r.stdout}${r.stderr}`);
  }
});

async function typePath(page: Page, label: string, value: string): Promise<void> {
  const picker = page.getByLabel(label, { exact: true });
  await picker.getByLabel(`${label} path`).fill(value);
  await picker.getByRole('button', { name: 'Open' }).click();
}

const rows = (page: Page) => page.getByTestId('queue-row');

describe('Claims screen', () => {
  it('shows overdue claims first, the verifier’s evidence of one, and decides it from the screen', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(`${app.served.url}&screen=desk`);
    await page.getByRole('heading', { name: 'Claims desk' }).waitFor();
    const noCliWords = async () => expect(await page.locator('section.screen').innerText()).not.toMatch(/packscope /i);
    await noCliWords();
    await typePath(page, 'Supplier file', fx.supplier);
    await typePath(page, 'Claims database', db);
    await page.getByTestId('desk-open').click();
    await page.getByTestId('queue').waitFor();
    expect(await page.getByTestId('desk-supplier').textContent()).toContain('Example Batteries Ltd');

    // Most urgent first: the three received 100 h ago (past 72 h + 24 h: management's now), then
    // the three with no answer 5 h after arrival (4 h target), then the fresh ones.
    await expect.poll(() => rows(page).count()).toBe(9);
    const overdue = await rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-overdue')));
    expect(overdue).toEqual(['yes', 'yes', 'yes', 'yes', 'yes', 'yes', 'no', 'no', 'no']);
    const sla = await rows(page).evaluateAll((trs) => trs.map((tr) => tr.querySelector('td')!.textContent));
    for (const s of sla.slice(0, 3)) expect(s).toMatch(/^Overdue: Management/);
    for (const s of sla.slice(3, 6)) expect(s).toMatch(/^No answer yet: overdue/);
    for (const s of sla.slice(6)) expect(s).toMatch(/left$/);
    const ids = await rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-claim')));
    expect(ids.slice(0, 3).sort()).toEqual(['C-00000', 'C-00001', 'C-00002']);
    expect(await page.getByTestId('desk-digest').textContent()).toMatch(/6 awaiting a first answer past target · 3 overdue at Management/);
    await shot(page, 'desk-queue');

    // Filters: by verdict, by model.
    await page.getByLabel('Verdict excluded').check();
    await expect.poll(() => rows(page).count()).toBe(6);
    await page.getByLabel('Model').selectOption('PS-LFP-50');
    await expect.poll(() => rows(page).count()).toBe(2);
    await page.getByLabel('Model').selectOption('');
    await page.getByLabel('Minimum age').selectOption('72');
    await expect.poll(() => rows(page).count()).toBe(0);
    await page.getByLabel('Minimum age').selectOption('');
    await page.getByLabel('Verdict excluded').uncheck();
    await expect.poll(() => rows(page).count()).toBe(9);

    // One claim: the cold-charge pack that waits for its first answer.
    const claim = ids[3]!;
    await page.locator(`[data-testid="queue-row"][data-claim="${claim}"]`).click();
    await page.getByTestId('claim-panel').waitFor();
    expect(await page.getByTestId('claim-line').textContent()).toMatch(/^VERIFIED: EXCLUDED by clause cold-charge/);
    expect(await page.getByTestId('claim-checks').textContent()).toMatch(/device-certificate.*certified by the given root/);
    expect(await page.getByTestId('claim-findings').textContent()).toMatch(/Charged below 0 °C/);
    await shot(page, 'desk-claim');

    // Deny it with the clause, signed from the screen: it closes and leaves the top of the queue.
    await page.getByLabel('Decision').selectOption('denied');
    expect(await page.getByLabel('Clause').inputValue()).toBe('cold-charge');
    await page.getByLabel('Note').fill('The pack was charged at about -5 °C for 25 minutes.');
    await page.getByTestId('decide-sign').click();
    await page.getByTestId('decide-done').waitFor();
    expect(await page.getByTestId('decide-done').textContent()).toMatch(/\.psdecision/);
    await expect.poll(async () => (await page.getByTestId('claim-history').textContent()) ?? '').toMatch(/denied cold-charge: The pack was charged/);
    await expect.poll(() => rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-claim')).at(-1))).toBe(claim);
    await page.getByLabel('Open claims only').check();
    await expect.poll(() => rows(page).count()).toBe(8);

    // The fleet view.
    await page.getByTestId('desk-tab-fleet').click();
    await page.getByTestId('fleet-model').waitFor();
    expect(await page.getByTestId('fleet-model').textContent()).toMatch(/PS-LFP-100/);
    expect(await page.getByTestId('fleet-misuse').textContent()).toMatch(/cold-charge/);
    await page.getByTestId('fleet-chart').waitFor();
    await shot(page, 'desk-fleet');

    // One more package, added from the screen: it joins the open queue.
    await page.getByTestId('desk-tab-queue').click();
    await page.getByTestId('desk-add').click();
    await typePath(page, 'Package', fx.packages[9]!.path);
    await page.getByTestId('ingest-start').click();
    await page.getByTestId('ingest-result').waitFor();
    expect(await page.getByTestId('ingest-result').textContent()).toMatch(/^1 package added\.claim-0009\.psdiag: added as C-/);
    await expect.poll(() => rows(page).count()).toBe(9);
    await page.getByLabel('Open claims only').uncheck();
    await expect.poll(() => rows(page).count()).toBe(10);
    await noCliWords();
    expect(problems).toEqual([]);
  });
});
