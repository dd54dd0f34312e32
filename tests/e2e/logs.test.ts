import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { encodeTicketFile, signTicket, ticketCode } from '../../shared/evidence/ticket.js';
import { bridgeCall, connectTo, newPage, serveAndLaunch, shot } from './harness.js';

const app = serveAndLaunch();

describe('Logs screen against the demo board', () => {
  it(
    'downloads the black box with progress, cancels, resumes, then shows the verified log, its events and segments, and exports CSV',
    { timeout: 240_000 },
    async () => {
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
      await page.getByTestId('time-chart').first().waitFor();
      expect(await page.getByTestId('segments').locator('tbody tr').count()).toBeGreaterThan(1);
      expect(await page.getByTestId('segments').textContent()).toContain('✓ valid');
      await page.waitForTimeout(500);
      await shot(page, 'logs-open');
      // The channels on screen at open come with the first pyramids; the others follow from the
      // Worker in the background and must draw too.
      const points = () => page.getByTestId('time-chart').first().locator('.uplot').getAttribute('data-points').then(Number);
      expect(await points()).toBeGreaterThan(100);
      await page.getByRole('button', { name: 'Temperatures' }).click();
      await page.waitForFunction(() => Number(document.querySelector('[data-testid=time-chart] .uplot')?.getAttribute('data-points')) > 100, null, {
        timeout: 10_000,
      });
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
      await page.getByTestId('time-chart').first().scrollIntoViewIfNeeded();
      const box = (await page.getByTestId('time-chart').first().locator('.u-over').boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      await page.getByTestId('zoom-reset').waitFor({ state: 'visible' });
      expect(await page.getByTestId('zoom-reset').isEnabled()).toBe(true);
      await page.waitForTimeout(300);
      await shot(page, 'logs-zoomed');
      await page.getByTestId('export-range').click();
      await page.waitForFunction(
        (n) => {
          const m = /Wrote ([\d,]+) records/.exec(document.querySelector('[data-testid=export-result]')?.textContent ?? '');
          return m && Number(m[1]!.replace(/,/g, '')) !== n;
        },
        allRecords,
        { timeout: 60_000 },
      );
      const part = await page.getByTestId('export-result').textContent();
      const partRecords = Number(/Wrote ([\d,]+) records/.exec(part!)![1]!.replace(/,/g, ''));
      expect(partRecords).toBeGreaterThan(0);
      expect(partRecords).toBeLessThan(allRecords * 0.5);
      expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    },
  );
});

describe('Logs screen with a claim ticket', () => {
  it('refuses a ticket for another pack before reading anything and catches a mistyped code by its check character', async () => {
    await bridgeCall(app.served, 'device.disconnect', {});
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?prefill=0.2&seed=3&unpaced');
    const serial: string = (await bridgeCall(app.served, 'device.status', {})).device.serial;
    const secret = ed25519.utils.randomSecretKey();
    const supplier = { publicKey: ed25519.getPublicKey(secret), sign: (m: Uint8Array) => ed25519.sign(m, secret) };
    const now = Date.now();
    const other = await signTicket(
      {
        claimId: 'C-20260601-0a0b0c',
        serial: 'PS-OTHER-0001',
        nonce: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        issuedAt: new Date(now - 60_000),
        expiresAt: new Date(now + 86_400_000),
      },
      supplier,
    );
    writeFileSync(path.join(app.served.dataDir, 'other-pack.psticket'), encodeTicketFile(other));
    await page.getByTestId('nav-logs').click();

    // A ticket the supplier issued for another pack: refused by name, nothing is downloaded.
    await page.getByRole('button', { name: 'I have a ticket file instead' }).click();
    await page.getByRole('listitem').filter({ hasText: 'other-pack.psticket' }).click();
    await page.getByTestId('ticket-chosen').getByText('other-pack.psticket').waitFor();
    await page.getByTestId('pull').click();
    const refusal = page.getByRole('alert').filter({ hasText: 'This ticket is for pack' });
    await refusal.waitFor({ timeout: 30_000 });
    expect(await refusal.locator('strong').textContent()).toBe(
      `This ticket is for pack PS-OTHER-0001, the connected pack is ${serial}. Nothing was read from the pack: connect the pack the ticket names, or ask your supplier for a ticket for pack ${serial}.`,
    );
    expect(await page.getByTestId('pull-result').count()).toBe(0);
    expect(await page.getByTestId('progress').count()).toBe(0);
    await shot(page, 'logs-ticket-other-pack');

    // A code with one character mistyped: its check character says so when the field is left,
    // and Download does not start.
    await page.getByRole('button', { name: 'Remove the ticket file' }).click();
    const code = ticketCode(other);
    const typo = code.replace(/^(.)/, (c) => (c === '7' ? '8' : '7'));
    await page.getByLabel('Claim code').fill(typo);
    await page.getByLabel('Claim code').press('Tab');
    const problem = page.getByTestId('ticket-code-problem');
    await problem.waitFor();
    expect(await problem.textContent()).toBe(
      'The claim code does not match its check character: a character was mistyped or two were swapped. Check it against what your supplier gave you.',
    );
    expect(await page.getByLabel('Claim code').getAttribute('aria-invalid')).toBe('true');
    await shot(page, 'logs-ticket-typo');
    await page.getByTestId('pull').click();
    expect(await page.getByTestId('progress').count()).toBe(0);
    // Typed right, the problem goes away.
    await page.getByLabel('Claim code').fill(code);
    await problem.waitFor({ state: 'detached' });
    expect(await page.locator('body').textContent()).not.toMatch(/--[a-z]/);
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
  });
});
