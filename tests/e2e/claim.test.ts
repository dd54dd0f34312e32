import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openZip } from '../../shared/evidence/zip.js';
import { makePng } from '../unit/evidence/png.js';
import { describe, expect, it } from 'vitest';
import { bridgeCall, connectTo, newPage, serveAndLaunch, shot } from './harness.js';

// The package is signed with this run's installation key (a fresh config folder).
const app = serveAndLaunch();

describe('Claim screen', () => {
  it('fills the claim, previews the evaluation with findings and charts, and writes the signed package', { timeout: 240_000 }, async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?prefill=1&seed=11');
    // The board's black box, downloaded as on the Logs screen.
    const pulled = await bridgeCall(app.served, 'log.pull', { opId: 'claim-pull' });
    expect(pulled.signaturesOk).toBe(true);

    await page.getByTestId('nav-claim').click();
    await page.getByRole('listitem').filter({ hasText: pulled.path.split('/').pop() }).click();
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
    await page.getByTestId('time-chart').waitFor();
    await page.waitForTimeout(500);
    await shot(page, 'claim-preview');

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
