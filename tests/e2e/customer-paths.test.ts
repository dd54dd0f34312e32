import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createPackageFile } from '../../electron/host/evidence/package-file.js';
import { evidenceFromPort } from '../../electron/host/evidence/sources.js';
import { FileKeyStore } from '../../electron/host/evidence/keystore.js';
import { Session } from '../../electron/host/session.js';
import { openZip } from '../../shared/codec/zip.js';
import { writeZip } from '../../shared/codec/zip-write.js';
import { validateClaim } from '../../shared/warranty/claim.js';
import { DEFAULT_POLICY } from '../../shared/warranty/default-policy.js';
import { makePng } from '../unit/evidence/png.js';
import { bridgeCall, connectTo, newPage, serveAndLaunch, shot } from './harness.js';

/**
 * The customer's and the supplier's paths through Claim, Self-check and Verify, as they click
 * them: a claim that survives leaving the screen and reloading, a form that says what is wrong
 * before anything is sent, a preview that is what gets signed, a decimal comma under a German
 * locale, a wrong root key that is the verifier's slip, a tampered claim with its fields flagged,
 * and files dropped on the window opening on their screen.
 */

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

let good: string;
let tampered: string;
let otherRoot: string;

const app = serveAndLaunch(async ({ served }) => {
  // A package as a customer made it (over-current: excluded), the supplier's root beside it, a
  // root of another manufacturer, and a copy whose purchase date was moved after signing.
  const work = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-customer-'));
  const port = `sim:?scenario=over-current&prefill=2&cells=8&seed=5&unpaced&state=${path.join(work, 'board')}`;
  const session = await Session.open(port);
  const { serial, model } = session.info!;
  await session.close();
  const parts = await evidenceFromPort(port);
  const claim = validateClaim({
    customer: 'Erika Mustermann',
    contact: 'erika@example.org',
    model,
    serial,
    purchaseDate: day(-60),
    failureDate: day(-3),
    description: 'The pack shuts off under load.',
    remedy: 'replacement',
  });
  good = path.join(served.dataDir, `claim-${serial}.psdiag`);
  await createPackageFile({ parts, claim, policy: DEFAULT_POLICY, photos: [], out: good, keyStore: new FileKeyStore(path.join(work, 'cfg')), ticket: null });
  writeFileSync(path.join(served.dataDir, 'supplier-root.pem'), readFileSync(path.join(work, 'board', 'manufacturing-root.pem')));
  otherRoot = path.join(served.dataDir, 'other-root.pem');
  writeFileSync(otherRoot, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
  const zip = openZip(new Uint8Array(readFileSync(good)));
  const files = new Map<string, Uint8Array>();
  for (const e of zip.entries) files.set(e.name, zip.read(e));
  const edited = JSON.parse(new TextDecoder().decode(files.get('claim.json')!));
  edited.purchaseDate = day(-10);
  files.set('claim.json', new TextEncoder().encode(JSON.stringify(edited, null, 2) + '\n'));
  tampered = path.join(served.dataDir, 'claim-tampered.psdiag');
  writeFileSync(tampered, writeZip(files));
});

const text = async (page: Page, id: string) => (await page.getByTestId(id).textContent())?.trim() ?? '';

/** Picks a file by name from the host folder listing on screen. */
const pick = (page: Page, name: string) => page.getByRole('listitem').filter({ hasText: name }).first().click();

async function fillClaim(page: Page, o: { purchase?: string; failure?: string; contact?: string } = {}) {
  const form = page.getByRole('form', { name: 'Claim form' });
  await form.getByLabel('Your name').fill('Erika Mustermann');
  await form.getByLabel('E-mail or phone').fill(o.contact ?? 'erika@example.org');
  await form.getByLabel('Purchase date').fill(o.purchase ?? day(-90));
  if (o.failure) await form.getByLabel('When did the problem start?').fill(o.failure);
  await form.getByLabel('What went wrong?').fill('The pack shuts off under light load.');
  await form.getByLabel('Replacement').check();
  return form;
}

describe('Claim: the customer never loses what they entered, and signs what they saw', () => {
  it('keeps the form and the photos through Go to Logs, another screen and a reload', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?prefill=1&seed=11&unpaced');
    writeFileSync(path.join(app.served.dataDir, 'label.png'), makePng());
    await page.getByTestId('nav-claim').click();
    const form = await fillClaim(page);
    await page.getByRole('button', { name: 'Add a photo' }).click();
    await pick(page, 'label.png');
    await page.getByTestId('claim-photos').getByText('label.png').waitFor();

    // The screen's own way to the log: Go to Logs, then back.
    await page.getByTestId('claim-go-logs').click();
    await page
      .getByRole('heading', { name: /Logs|black box/i })
      .first()
      .waitFor();
    await page.getByTestId('nav-claim').click();
    expect(await form.getByLabel('Your name').inputValue()).toBe('Erika Mustermann');
    expect(await form.getByLabel('What went wrong?').inputValue()).toBe('The pack shuts off under light load.');
    expect(await form.getByLabel('Replacement').isChecked()).toBe(true);
    await page.getByTestId('claim-photos').getByText('label.png').waitFor();

    // A reload (or a crash of the page) keeps it too: the draft lives in the host.
    await page.reload();
    await page.getByTestId('nav-claim').click();
    await page.getByTestId('claim-photos').getByText('label.png').waitFor();
    expect(await page.getByRole('form', { name: 'Claim form' }).getByLabel('E-mail or phone').inputValue()).toBe('erika@example.org');
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  });

  it('checks the form before anything is sent, in words next to the field', async () => {
    const { page } = await newPage(app.browser);
    await page.goto(app.served.url);
    await page.getByTestId('nav-claim').click();
    const form = await fillClaim(page, { purchase: day(30), contact: 'erika@example' });
    expect(await text(page, 'claim-purchase-error')).toBe('The purchase date is in the future. Check the year.');
    expect(await text(page, 'claim-contact-error')).toBe('This e-mail address is not complete: it looks like name@example.org.');
    expect(await page.getByTestId('claim-evaluate').isDisabled()).toBe(true);
    await shot(page, 'claim-validation');
    await form.getByLabel('Purchase date').fill(day(-30));
    await form.getByLabel('When did the problem start?').fill(day(-40));
    expect(await text(page, 'claim-failure-error')).toBe('The problem cannot have started before you bought the pack.');
    await form.getByLabel('E-mail or phone').fill('+49 30 1234567');
    await form.getByLabel('When did the problem start?').fill(day(-5));
    await page.getByTestId('claim-failure-error').waitFor({ state: 'detached' });
    expect(await page.getByTestId('claim-contact-error').count()).toBe(0);
    // Emptying a required field says which one, not a schema path.
    await form.getByLabel('Your name').fill('');
    expect(await text(page, 'claim-customer-error')).toBe('Enter your name.');
    expect(await page.locator('main').textContent()).not.toMatch(/params\.|claim\.\w+|invalid request/);
    await form.getByLabel('Your name').fill('Erika Mustermann');
    await page.context().close();
  });

  it('signs only what the preview showed: an edit after the preview asks for a new one', async () => {
    const { page } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?prefill=1&seed=11&unpaced');
    const pulled = await bridgeCall(app.served, 'log.pull', { opId: 'customer-pull' });
    await page.getByTestId('nav-claim').click();
    if (await page.getByRole('button', { name: 'Change the log file' }).isVisible()) await page.getByRole('button', { name: 'Change the log file' }).click();
    await pick(page, path.basename(pulled.path));
    const form = await fillClaim(page);
    await page.getByTestId('claim-evaluate').click();
    await page.getByTestId('claim-preview').waitFor({ timeout: 60_000 });
    // The customer changes the description after reading the preview.
    await form.getByLabel('What went wrong?').fill('It shuts off under load, and the display flickers.');
    await page.getByTestId('claim-preview-stale').waitFor();
    expect(await page.getByTestId('claim-create').count()).toBe(0);
    await shot(page, 'claim-preview-stale');
    // The host refuses a package whose claim differs from the preview it names.
    const claim = {
      customer: 'Erika Mustermann',
      contact: 'erika@example.org',
      model: 'x',
      serial: 'y',
      purchaseDate: day(-90),
      description: 'a',
      remedy: 'repair',
    };
    const preview = await bridgeCall(app.served, 'claim.evaluate', { logPath: pulled.path, claim });
    await expect(
      bridgeCall(app.served, 'package.create', { logPath: pulled.path, claim: { ...claim, description: 'b' }, previewId: preview.previewId }),
    ).rejects.toThrow(/changed since the preview/);
    // Preview again, then create twice: the second package of the day gets its own name.
    await page.getByTestId('claim-evaluate').click();
    await page.getByTestId('claim-preview').waitFor({ timeout: 60_000 });
    await page.getByTestId('claim-create').click();
    await page.getByTestId('claim-created').waitFor({ timeout: 60_000 });
    const first = /Saved (\/\S+\.psdiag)/.exec(await text(page, 'claim-created'))![1]!;
    await page.getByTestId('claim-create').click();
    await page.getByTestId('claim-created').filter({ hasNotText: first }).waitFor({ timeout: 60_000 });
    const second = /Saved (\/\S+\.psdiag)/.exec(await text(page, 'claim-created'))![1]!;
    expect(second).not.toBe(first);
    expect(existsSync(first) && existsSync(second)).toBe(true);
    // Save as: the customer names the file.
    await page.getByTestId('claim-save-as').click();
    await page.getByLabel('Package file name').fill(path.join(app.served.dataDir, 'for-my-dealer'));
    await page.getByRole('button', { name: 'Use this name' }).click();
    await page.getByTestId('claim-create').click();
    await page.getByTestId('claim-created').filter({ hasText: 'for-my-dealer.psdiag' }).waitFor({ timeout: 60_000 });
    expect(existsSync(path.join(app.served.dataDir, 'for-my-dealer.psdiag'))).toBe(true);
    await page.context().close();
  });
});

describe('Self-check for a customer', () => {
  it('reads "58,4" under a German locale, names the sensors, and fails a pack at 76 % health', async () => {
    const context = await app.browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'de-DE' });
    const page = await context.newPage();
    // The pack with a weak cell (about 76 % of its capacity left), not the one an earlier test left connected.
    await bridgeCall(app.served, 'device.disconnect', {});
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?scenario=weak-cell&seed=3');
    await page.getByTestId('nav-selfcheck').click();
    await page.getByLabel('Charger output voltage in volts').fill('58,4');
    await page.getByLabel('Charger output current in amperes').fill('20');
    expect(await page.getByTestId('sc-charger-v-error').count()).toBe(0);
    await page.getByLabel('Charger output current in amperes').fill('zwanzig');
    expect(await text(page, 'sc-charger-a-error')).toBe('Enter a number, for example 20.');
    expect(await page.getByTestId('sc-start').isDisabled()).toBe(true);
    await page.getByLabel('Charger output current in amperes').fill('20');
    await page.getByTestId('sc-start').click();
    const seen: Record<string, string> = {};
    for (;;) {
      await page.getByTestId('sc-step').waitFor();
      const title = (await page.locator('#sc-title').textContent())!;
      await page.getByTestId('sc-run').click();
      await page.getByTestId('sc-result').waitFor({ timeout: 60_000 });
      seen[title.replace(/^Step \d+ of \d+: /, '')] = (await text(page, 'sc-result'))!;
      if (await page.getByTestId('sc-finish').isVisible()) break;
      await page.getByTestId('sc-next').click();
    }
    // The charger the customer typed was read, not dropped.
    expect(seen['Charger against the pack limits']).toContain('charger rated 58.4 V / 20 A');
    expect(seen['Temperature sensors']).toMatch(/Cells 1 [\d.]+ °C/);
    expect(seen['Capacity (state of health)']).toMatch(/^✗ Problem found/);
    // A step that says "healthy" is not marked "needs attention".
    for (const r of Object.values(seen)) if (/Needs attention/.test(r)) expect(r).not.toMatch(/healthy|as it should/);
    await page.getByTestId('sc-finish').click();
    expect(await text(page, 'sc-conclusion')).toMatch(/^We found a problem/);
    expect(await text(page, 'sc-conclusion')).not.toMatch(/packscope|--/);
    await shot(page, 'selfcheck-problem-found');
    await page.getByTestId('sc-report-save').click();
    await page.getByTestId('sc-report-saved').waitFor();
    expect(await text(page, 'sc-report-saved')).toMatch(/selfcheck-.*\.html/);
    await page.getByTestId('sc-claim').click();
    await page.getByRole('heading', { name: 'Warranty claim' }).waitFor();
    await context.close();
  });
  it('after "No problem found" still offers the way on: a claim, and a report to keep', async () => {
    const { page } = await newPage(app.browser);
    await bridgeCall(app.served, 'device.disconnect', {});
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?scenario=idle&seed=4');
    await page.getByTestId('nav-selfcheck').click();
    await page.getByTestId('sc-start').click();
    for (;;) {
      await page.getByTestId('sc-run').click();
      await page.getByTestId('sc-result').waitFor({ timeout: 60_000 });
      // The charger step without a charger says where to enter it, in the app's words.
      if ((await page.locator('#sc-title').textContent())!.includes('Charger'))
        expect(await text(page, 'sc-result')).toContain('in the charger fields of the self-check');
      if (await page.getByTestId('sc-finish').isVisible()) break;
      await page.getByTestId('sc-next').click();
    }
    await page.getByTestId('sc-finish').click();
    expect(await text(page, 'sc-conclusion')).toMatch(/^No problem found/);
    expect(await text(page, 'sc-conclusion')).not.toMatch(/act on|\(/);
    await page.getByTestId('sc-report-save').click();
    await page.getByTestId('sc-report-download').waitFor();
    await shot(page, 'selfcheck-no-problem');
    await page.getByTestId('sc-claim-anyway').click();
    await page.getByRole('heading', { name: 'Warranty claim' }).waitFor();
    await page.context().close();
  });
});

describe('Verify for a supplier', () => {
  it('calls a wrong root key the verifier’s slip and does not remember it; the right one verifies', async () => {
    const { page } = await newPage(app.browser);
    await page.goto(`${app.served.url}&screen=verify&file=${encodeURIComponent(good)}`);
    await pick(page, 'other-root.pem');
    await page.getByTestId('verify-result').waitFor({ timeout: 30_000 });
    expect(await text(page, 'verdict-banner')).toMatch(/^Check your root key: it did not certify this board/);
    expect(await text(page, 'verify-wrong-root')).toContain('It has not been remembered.');
    expect(await page.evaluate(() => localStorage.getItem('packscope.verify.rootKey'))).toBeNull();
    await shot(page, 'verify-wrong-root');
    await page.getByRole('button', { name: 'Choose another root key' }).click();
    await pick(page, 'supplier-root.pem');
    await page
      .getByTestId('verify-line')
      .filter({ hasText: /^VERIFIED/ })
      .waitFor({ timeout: 30_000 });
    // Clause titles, the failure date and the remedy as the customer chose it.
    const banner = await text(page, 'verdict-banner');
    expect(banner).toMatch(/^Not covered: Discharged above 2C for more than 10 s/);
    expect(banner).not.toContain('over-discharge-current');
    expect(await text(page, 'claim-failureDate')).toBe(day(-3));
    expect(await text(page, 'claim-remedy')).toBe('Replacement');
    // The root chosen on Verify is the verifier's: the Logs screen keeps its own.
    expect(await page.evaluate(() => localStorage.getItem('packscope.logs.rootKey'))).toBeNull();
    // The verifier's report, saved where the supplier can open and print it.
    await page.getByTestId('verify-report-save').click();
    await page.getByTestId('verify-report-saved').waitFor();
    const report = /Saved (\S+\.html)/.exec(await text(page, 'verify-report-saved'))![1]!;
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('Discharged above 2C for more than 10 s');
    expect(html).toContain(day(-3));
    await page.getByTestId('verify-report-download').waitFor();
    await shot(page, 'verify-covered-report');
    await page.context().close();
  });

  it('flags the claim fields a tampered package does not prove, with what the signed data says', async () => {
    const { page } = await newPage(app.browser);
    await page.goto(`${app.served.url}&screen=verify&file=${encodeURIComponent(tampered)}`);
    await pick(page, 'supplier-root.pem');
    await page.getByTestId('verify-result').waitFor({ timeout: 30_000 });
    expect(await text(page, 'verdict-banner')).toBe('Do not trust this package: it failed verification');
    await page.getByTestId('claim-flagged').waitFor();
    expect(await text(page, 'claim-purchaseDate')).toBe(`${day(-10)} ⚠ altered: the signed data says ${day(-60)}`);
    expect(await text(page, 'claim-customer')).toContain('⚠ not verified');
    await page.getByTestId('claim-flagged').scrollIntoViewIfNeeded();
    await shot(page, 'verify-tampered-flags');
    await page.context().close();
  });
});

describe('Files dropped on the window', () => {
  it('opens a dropped .psdiag on Verify from any screen', async () => {
    const { page } = await newPage(app.browser);
    await page.goto(app.served.url);
    await page.getByTestId('nav-connect').click();
    const bytes = readFileSync(good).toString('base64');
    await page.evaluate(
      ({ b64, name }) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([data], name));
        const target = document.querySelector('.app')!;
        target.dispatchEvent(new DragEvent('dragenter', { bubbles: true, dataTransfer: dt }));
        target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
      },
      { b64: bytes, name: path.basename(good) },
    );
    await page.getByRole('heading', { name: 'Verify a diagnosis package' }).waitFor({ timeout: 30_000 });
    await page.getByText(path.join(app.served.dataDir, 'dropped', path.basename(good))).waitFor();
    await page.context().close();
  });
});
