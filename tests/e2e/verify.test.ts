import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPackageFile } from '../../electron/host/evidence/package-file.js';
import { FileKeyStore } from '../../electron/host/evidence/keystore.js';
import { DEFAULT_POLICY } from '../../shared/evidence/default-policy.js';
import { openZip } from '../../shared/evidence/zip.js';
import { writeZip } from '../../shared/evidence/zip-write.js';
import { makeDeviceLog, values } from '../unit/evidence/device-log.js';
import { CLAIM, stream } from '../unit/evidence/stream.js';
import { newPage, serveAndLaunch, shot } from './harness.js';
import { makePng } from '../unit/evidence/png.js';

let good: string;
let tampered: string;
let rootPem: string;
const photo = makePng();

const app = serveAndLaunch(async ({ served }) => {
  // A real package: a board-signed black box (discharge far above the policy's limit for 30 s),
  // the claim with one photo, the default policy, signed with an installation key.
  const log = makeDeviceLog(values(stream(600, (r, i) => { if (i > 200 && i < 230) r.current = -250; })));
  good = path.join(served.dataDir, 'claim-SN-0001.psdiag');
  const photos = [{ name: 'label.png', data: photo }];
  await createPackageFile({ parts: log, claim: CLAIM, policy: DEFAULT_POLICY, photos, out: good, keyStore: new FileKeyStore(path.join(served.dataDir, 'config')), createdAt: new Date('2026-06-03T10:00:00Z') });
  rootPem = path.join(served.dataDir, 'keys', 'supplier-root.pem');
  mkdirSync(path.dirname(rootPem), { recursive: true });
  writeFileSync(rootPem, log.ca.pem);
  // The same package with the claim's purchase date moved a year later (a well-formed ZIP; only
  // the hashes and signatures can tell).
  const zip = openZip(new Uint8Array(readFileSync(good)));
  const files = new Map<string, Uint8Array>();
  for (const e of zip.entries) files.set(e.name, zip.read(e));
  const claim = JSON.parse(new TextDecoder().decode(files.get('claim.json')!));
  claim.purchaseDate = claim.purchaseDate.replace(/^(\d{4})/, (y: string) => String(Number(y) + 1));
  files.set('claim.json', new TextEncoder().encode(JSON.stringify(claim, null, 2) + '\n'));
  tampered = path.join(served.dataDir, 'claim-tampered.psdiag');
  writeFileSync(tampered, writeZip(files));
});

describe('Verify screen', () => {
  it('opens a package handed over by the OS: verdict first, then signatures, device, findings and charts', async () => {
    const { page, problems } = await newPage(app.browser);
    // A double-clicked .psdiag arrives as screen=verify&file=… (the Electron shell builds this URL).
    await page.goto(`${app.served.url}&screen=verify&file=${encodeURIComponent(good)}`);
    await page.getByRole('heading', { name: 'Verify a diagnosis package' }).waitFor();
    expect(await page.getByText(good).count()).toBe(1);
    // The supplier root key, picked from the host's folders.
    await page.getByRole('listitem').filter({ hasText: 'keys' }).click();
    await page.getByRole('listitem').filter({ hasText: 'supplier-root.pem' }).click();
    await page.getByTestId('verify-result').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('verdict-banner').textContent()).toMatch(/^Not covered/);
    expect(await page.getByTestId('verify-line').textContent()).toMatch(/^VERIFIED/);
    const checks = await page.getByTestId('checks').textContent();
    for (const id of ['hashes', 'signature-raw', 'signature-ssh', 'manifest', 'device-certificate', 'evaluation']) expect(checks).toContain(`✓ ${id}`);
    expect(checks).not.toContain('✗');
    expect(await page.getByTestId('findings').locator('tbody tr').count()).toBeGreaterThan(0);
    // The customer's photo, as signed into the package.
    await page.getByRole('button', { name: 'Show photos/01-label.png' }).click();
    const img = page.getByAltText('Customer photo photos/01-label.png');
    await img.waitFor();
    expect(await img.evaluate((el) => [(el as HTMLImageElement).naturalWidth, (el as HTMLImageElement).naturalHeight])).toEqual([96, 64]);
    await page.getByTestId('time-chart').waitFor();
    await page.waitForTimeout(500);
    await shot(page, 'verify');
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  });

  it('says plainly not to trust a tampered package, and which check failed', async () => {
    const { page } = await newPage(app.browser);
    await page.goto(`${app.served.url}&screen=verify&file=${encodeURIComponent(tampered)}`);
    // The root key is remembered from the previous run in this app.browser profile? New context: pick it again.
    await page.getByRole('listitem').filter({ hasText: 'keys' }).click();
    await page.getByRole('listitem').filter({ hasText: 'supplier-root.pem' }).click();
    await page.getByTestId('verify-result').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('verdict-banner').textContent()).toBe('Do not trust this package: it failed verification');
    expect(await page.getByTestId('verify-line').textContent()).toMatch(/^FAILED/);
    expect(await page.getByTestId('checks').textContent()).toContain('✗ hashes');
    await shot(page, 'verify-tampered');
    await page.context().close();
  });
});
