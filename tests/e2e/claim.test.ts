import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Browser, Page } from 'playwright-core';
import { verifyPackageBytes } from '../../electron/host/evidence/package-file.js';
import { defaultClaimId, encodeTicketFile, signTicket, ticketCode } from '../../shared/evidence/ticket.js';
import { openZip } from '../../shared/codec/zip.js';
import { makePng } from '../unit/evidence/png.js';
import { describe, expect, it } from 'vitest';
import { bridgeCall, connectTo, newPage, SCREENSHOTS, serveAndLaunch, shot } from './harness.js';

/** The chart on screen has drawn its points (the screenshot shows it, not an empty frame). */
async function chartDrawn(page: Page, within = 'body'): Promise<void> {
  await page.waitForFunction((sel) => Number(document.querySelector(`${sel} [data-testid=time-chart] .uplot`)?.getAttribute('data-points')) > 0, within, {
    timeout: 30_000,
  });
}

/** A page at 1400×900 for the screenshots that are looked at, in the theme given. */
async function widePage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'light', deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(String(e)));
  return { page, problems };
}

/** Screenshots of what is in view, light and dark (the theme switch in the sidebar), back to light after. */
async function shotBothThemes(page: Page, name: string, settle: () => Promise<void> = async () => undefined): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const theme of ['light', 'dark'] as const) {
    if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== theme)
      await page.getByRole('button', { name: `Switch to ${theme} theme` }).click();
    await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
    await settle();
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${theme}.png`) });
  }
  await page.getByRole('button', { name: 'Switch to light theme' }).click();
}

// The package is signed with this run's installation key (a fresh config folder).
const app = serveAndLaunch();

describe('Claim screen', () => {
  it('fills the claim, previews the evaluation with findings and charts, and writes the signed package', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?prefill=1&seed=11');
    // The board's black box, downloaded as on the Logs screen.
    const pulled = await bridgeCall(app.served, 'log.pull', { opId: 'claim-pull' });
    expect(pulled.signaturesOk).toBe(true);

    await page.getByTestId('nav-claim').click();
    await page
      .getByRole('listitem')
      .filter({ hasText: pulled.path.split('/').pop() })
      .click();
    const form = page.getByRole('form', { name: 'Claim form' });
    await form.getByLabel('Your name').fill('Erika Mustermann');
    await form.getByLabel('E-mail or phone').fill('erika@example.org');
    await form.getByLabel('Purchase date').fill('2026-03-01');
    await form.getByLabel('What went wrong?').fill('The pack shuts off under light load.');
    await form.getByLabel('Replacement').check();
    // Photos: a file that only claims to be a JPEG is refused next to the picker; a real PNG is
    // attached (the host checks content, not names).
    const png = makePng();
    writeFileSync(path.join(app.served.dataDir, 'label.png'), png);
    writeFileSync(path.join(app.served.dataDir, 'notes.jpg'), 'not a picture\n');
    await page.getByRole('button', { name: 'Add a photo' }).click();
    await page.getByRole('listitem').filter({ hasText: 'notes.jpg' }).click();
    await page.getByRole('alert').filter({ hasText: 'not a JPEG, PNG, WebP or HEIC image' }).waitFor();
    await page.getByRole('listitem').filter({ hasText: 'label.png' }).click();
    await page.getByTestId('claim-photos').getByText('label.png').waitFor();
    expect(await page.getByTestId('claim-photos').textContent()).toContain('PNG');
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.getByTestId('claim-evaluate').click();
    await page.getByTestId('claim-preview').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('verdict-banner').textContent()).toMatch(/^(Covered by the warranty|Not covered|Inconclusive)/);
    await chartDrawn(page, '[data-testid=claim-preview]');
    await shot(page, 'claim-preview');

    // packscope serve has no keyring: the screen says where the signing key is and what that means.
    const keyNote = page.getByTestId('key-protection');
    await keyNote.waitFor();
    expect(await keyNote.getAttribute('data-kind')).toBe('file');
    expect(await keyNote.textContent()).toMatch(/packscope serve.*mode 0600.*not encrypted/);
    await page.getByTestId('claim-create').click();
    await page.getByTestId('claim-created').waitFor({ timeout: 60_000 });
    const created = await page.getByTestId('claim-created').textContent();
    const file = /Saved (\/\S+\.psdiag)/.exec(created!)![1]!;
    expect(existsSync(file)).toBe(true);
    const zip = openZip(new Uint8Array(readFileSync(file)));
    const photo = zip.entries.find((e) => e.name.startsWith('photos/'));
    expect(photo?.name).toBe('photos/01-label.png');
    expect(Buffer.from(zip.read(photo!)).equals(Buffer.from(png))).toBe(true);
    expect(await page.getByText('your claim, 1 photo, the policy').count()).toBe(1);
    await shot(page, 'claim-created');
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
  });
});

describe('Claim with a ticket from the supplier', () => {
  it(
    'types the ticket code on Logs, attaches the ticket file on the Claim screen, and the supplier verifies the ticket; a log pulled without it is caught and downloaded again',
    { timeout: 300_000 },
    async () => {
      // The demo pack, with its state (and so its manufacturing root) in a folder the test can read.
      await bridgeCall(app.served, 'device.disconnect', {});
      const { page, problems } = await widePage(app.browser);
      await page.goto(app.served.url);
      const state = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-claim-ticket-'));
      await connectTo(page, `sim:?prefill=1&seed=11&unpaced&state=${state}`);
      const serial: string = (await bridgeCall(app.served, 'device.status', {})).device.serial;
      // A log downloaded before the claim was opened (no ticket).
      const early = await bridgeCall(app.served, 'log.pull', { opId: 'early-pull' });

      // The supplier opens claim C-… for this pack and gives the customer the code and the file.
      const supplierSecret = ed25519.utils.randomSecretKey();
      const supplier = { publicKey: ed25519.getPublicKey(supplierSecret), sign: (m: Uint8Array) => ed25519.sign(m, supplierSecret) };
      const issuedAt = new Date();
      const claimId = defaultClaimId(issuedAt, ed25519.utils.randomSecretKey());
      const ticket = await signTicket(
        { claimId, serial, nonce: ed25519.utils.randomSecretKey().slice(0, 10), issuedAt, expiresAt: new Date(issuedAt.getTime() + 30 * 86_400_000) },
        supplier,
      );
      const ticketBytes = encodeTicketFile(ticket);
      writeFileSync(path.join(app.served.dataDir, `${claimId}.psticket`), ticketBytes);
      const code = ticketCode(ticket);

      // Logs: the customer types the code read out over the phone (lower case, no hyphens).
      await page.getByTestId('nav-logs').click();
      await page.getByLabel('Claim code').fill(code.replace(/-/g, '').toLowerCase());
      await page.getByTestId('pull').click();
      await page.getByTestId('pull-ticket').waitFor({ timeout: 180_000 });
      expect(await page.getByTestId('pull-ticket').textContent()).toContain(`Sealed for the claim code ${code}.`);
      expect(await page.getByTestId('pull-result').textContent()).toContain('signatures valid');
      await page.getByTestId('log-view').waitFor({ timeout: 60_000 });
      await chartDrawn(page, '[data-testid=log-view]');
      await shotBothThemes(page, 'logs-ticket-code', () => chartDrawn(page, '[data-testid=log-view]'));

      // Claim: the downloaded log comes along; the customer attaches the ticket file.
      await page.getByTestId('use-for-claim').click();
      const pulledLog = (await page.getByTestId('claim-log').locator('code').textContent())!;
      expect(pulledLog).toMatch(/\.pslog$/);
      expect(pulledLog).not.toBe(early.path);
      const form = page.getByRole('form', { name: 'Claim form' });
      await form.getByLabel('Your name').fill('Erika Mustermann');
      await form.getByLabel('E-mail or phone').fill('erika@example.org');
      await form.getByLabel('Purchase date').fill(new Date(Date.now() - 90 * 86_400_000).toISOString().slice(0, 10));
      await form.getByLabel('What went wrong?').fill('The pack shuts off under light load.');
      expect(await form.getByLabel('Serial number (on the label)').inputValue()).toBe(serial);
      await page.getByRole('button', { name: 'Choose the ticket file…' }).click();
      await page
        .getByRole('listitem')
        .filter({ hasText: `${claimId}.psticket` })
        .click();
      await page.getByTestId('ticket-chosen').getByText(`${claimId}.psticket`).waitFor();
      await shotBothThemes(page, 'claim-ticket-form');
      await page.getByTestId('claim-evaluate').click();
      await page.getByTestId('claim-ticket-state').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('claim-ticket-state').textContent()).toContain(`✓ Claim ticket ${claimId}: the log was downloaded with it.`);
      await chartDrawn(page, '[data-testid=claim-preview]');
      await page.getByTestId('claim-ticket-state').scrollIntoViewIfNeeded();
      await shotBothThemes(page, 'claim-ticket', () => chartDrawn(page, '[data-testid=claim-preview]'));
      await page.getByTestId('claim-create').click();
      await page.getByTestId('claim-created').waitFor({ timeout: 60_000 });
      const created = (await page.getByTestId('claim-created').textContent())!;
      expect(created).toContain(`with claim ticket ${claimId}`);
      const file = /Saved (\/\S+\.psdiag)/.exec(created)![1]!;

      // The supplier checks the package with its root and its ticket key: the pull followed the ticket.
      const zip = new Uint8Array(readFileSync(file));
      const carried = openZip(zip).entries.find((e) => e.name === 'ticket.psticket');
      expect(new TextDecoder().decode(openZip(zip).read(carried!))).toBe(ticketBytes);
      const v = await verifyPackageBytes(zip, { rootPem: readFileSync(path.join(state, 'manufacturing-root.pem'), 'utf8'), ticketKey: supplier.publicKey });
      expect(v.checks.find((c) => c.id === 'ticket')).toMatchObject({ ok: true, detail: expect.stringContaining(`claim ${claimId} for ${serial}`) });
      expect(v.freshness.proven).toBe(true);
      expect(
        v.ok,
        v.checks
          .filter((c) => !c.ok)
          .map((c) => `${c.id}: ${c.detail}`)
          .join('\n'),
      ).toBe(true);

      // The log downloaded before the claim was opened does not carry the ticket: the screen says
      // so and offers to download it again with the ticket, keeping what the customer entered.
      await page.getByRole('button', { name: 'Change the log file' }).click();
      await page
        .getByRole('listitem')
        .filter({ hasText: path.basename(early.path) })
        .click();
      await page.getByTestId('claim-evaluate').click();
      await page.getByTestId('claim-ticket-state').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('claim-ticket-state').textContent()).toContain(`This log was not downloaded with claim ticket ${claimId}`);
      expect(await page.getByTestId('claim-create').isDisabled()).toBe(true);
      await page.getByTestId('claim-ticket-state').scrollIntoViewIfNeeded();
      await shotBothThemes(page, 'claim-ticket-mismatch', () => chartDrawn(page, '[data-testid=claim-preview]'));
      await page.getByTestId('claim-pull-again').click();
      await page.getByTestId('ticket-chosen').getByText(`${claimId}.psticket`).waitFor();
      await page.getByTestId('pull').click();
      // The earlier download's result stays on screen until this one ends: wait for this one's.
      await page
        .getByTestId('pull-ticket')
        .filter({ hasText: `Sealed for claim ${claimId}` })
        .waitFor({ timeout: 180_000 });
      expect(await page.getByTestId('pull-ticket').textContent()).toContain(`Sealed for claim ${claimId} (ticket file for pack ${serial}).`);
      await shotBothThemes(page, 'logs-ticket-file', () => chartDrawn(page, '[data-testid=log-view]'));
      await page.getByTestId('use-for-claim').click();
      expect(await form.getByLabel('Your name').inputValue()).toBe('Erika Mustermann');
      await page.getByTestId('ticket-chosen').getByText(`${claimId}.psticket`).waitFor();
      await page.getByTestId('claim-evaluate').click();
      await page.getByTestId('claim-ticket-state').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('claim-ticket-state').textContent()).toContain(`✓ Claim ticket ${claimId}`);
      expect(await page.getByTestId('claim-create').isEnabled()).toBe(true);

      // The customer never reads the command line's words.
      expect(await page.locator('body').textContent()).not.toMatch(/--[a-z]/);
      expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    },
  );
});
