import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createPackageFile } from '../../electron/host/evidence/package-file.js';
import { evidenceFromPort } from '../../electron/host/evidence/sources.js';
import { FileKeyStore } from '../../electron/host/evidence/keystore.js';
import { Session } from '../../electron/host/session.js';
import { validateClaim } from '../../shared/warranty/claim.js';
import { DEFAULT_POLICY } from '../../shared/warranty/default-policy.js';
import { ed25519OpenSsh, ed25519PublicKeyPem } from '../../shared/codec/ed25519-keys.js';
import { defaultClaimId, encodeTicketFile, signTicket, ticketNonce } from '../../shared/evidence/ticket.js';
import { openZip } from '../../shared/codec/zip.js';
import { writeZip } from '../../shared/codec/zip-write.js';
import { newPage, SCREENSHOTS, serveAndLaunch, shot } from './harness.js';
import { makePng } from '../unit/evidence/png.js';

let good: string;
let tampered: string;
let claimId: string;
const photo = makePng();

const app = serveAndLaunch(async ({ served }) => {
  // The supplier issues a claim ticket; the customer pulls the board's black box with it (a pack
  // discharged far above its rating: EXCLUDED), and packages it with one photo, the default
  // policy and the installation key of the customer's own PackScope.
  const work = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-verify-'));
  const port = `sim:?scenario=over-current&prefill=2&cells=8&seed=5&unpaced&state=${path.join(work, 'board')}`;
  const session = await Session.open(port);
  const { serial, model } = session.info!;
  await session.close();
  const supplierSecret = ed25519.utils.randomSecretKey();
  const supplier = { publicKey: ed25519.getPublicKey(supplierSecret), sign: (m: Uint8Array) => ed25519.sign(m, supplierSecret) };
  const issuedAt = new Date();
  claimId = defaultClaimId(issuedAt, ed25519.utils.randomSecretKey());
  const ticket = await signTicket(
    { claimId, serial, nonce: ed25519.utils.randomSecretKey().slice(0, 10), issuedAt, expiresAt: new Date(issuedAt.getTime() + 30 * 86_400_000) },
    supplier,
  );
  const parts = await evidenceFromPort(port, { nonce: ticketNonce(ticket) });
  const purchaseDate = new Date(Date.now() - 60 * 86_400_000).toISOString().slice(0, 10);
  const claim = validateClaim({
    customer: 'Erika Mustermann',
    contact: 'erika@example.org',
    model,
    serial,
    purchaseDate,
    description: 'The pack shuts off under load.',
    remedy: 'replacement',
  });
  good = path.join(served.dataDir, `claim-${serial}.psdiag`);
  await createPackageFile({
    parts,
    claim,
    policy: DEFAULT_POLICY,
    photos: [{ name: 'label.png', data: photo }],
    out: good,
    keyStore: new FileKeyStore(path.join(work, 'customer-config')),
    ticket: new TextEncoder().encode(encodeTicketFile(ticket)),
  });
  // What the supplier keeps: its root, its ticket key, its policy (a stricter discharge limit),
  // an edited copy that reuses the policy's id and version, and someone else's installation key.
  const put = (name: string, content: string) => {
    const p = path.join(served.dataDir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
  };
  put('keys/supplier-root.pem', readFileSync(path.join(work, 'board', 'manufacturing-root.pem'), 'utf8'));
  put('supplier/claims.pub.pem', ed25519PublicKeyPem(supplier.publicKey));
  const policy = structuredClone(DEFAULT_POLICY) as any;
  Object.assign(policy, { id: 'acme-lfp', version: 3, title: 'ACME warranty for LiFePO4 packs' });
  policy.voidConditions[0].thresholdC = 1.5;
  policy.voidConditions[0].title = 'Discharged above 1.5C for more than 10 s';
  put('supplier/acme-policy.json', JSON.stringify(policy, null, 2));
  put('supplier/acme-policy-edited.json', JSON.stringify({ ...policy, title: 'ACME warranty, edited' }, null, 2));
  put('supplier/someone-else.pub', ed25519OpenSsh(ed25519.getPublicKey(ed25519.utils.randomSecretKey()), 'packscope-install') + '\n');

  // The same package with the claim's purchase date moved a year later (a well-formed ZIP; only
  // the hashes and signatures can tell).
  const zip = openZip(new Uint8Array(readFileSync(good)));
  const files = new Map<string, Uint8Array>();
  for (const e of zip.entries) files.set(e.name, zip.read(e));
  const edited = JSON.parse(new TextDecoder().decode(files.get('claim.json')!));
  edited.purchaseDate = edited.purchaseDate.replace(/^(\d{4})/, (y: string) => String(Number(y) + 1));
  files.set('claim.json', new TextEncoder().encode(JSON.stringify(edited, null, 2) + '\n'));
  tampered = path.join(served.dataDir, 'claim-tampered.psdiag');
  writeFileSync(tampered, writeZip(files));
});

/** Picks a file from the host folder listing the screen shows: `folder/name`. */
async function pick(page: Page, rel: string): Promise<void> {
  const parts = rel.split('/');
  for (const p of parts) await page.getByRole('listitem').filter({ hasText: p }).click();
}

/** What the 1400×900 window shows (the full-page shots show the rest). */
const screen = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });

const text = async (page: Page, id: string) => (await page.getByTestId(id).textContent())?.trim() ?? '';

describe('Verify screen', () => {
  it('opens a package handed over by the OS, then decides with the supplier policy, ticket key and known keys', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.setViewportSize({ width: 1400, height: 900 });
    // A double-clicked .psdiag arrives as screen=verify&file=… (the Electron shell builds this URL).
    await page.goto(`${app.served.url}&screen=verify&file=${encodeURIComponent(good)}`);
    await page.getByRole('heading', { name: 'Verify a diagnosis package' }).waitFor();
    expect(await page.getByText(good).count()).toBe(1);
    // Nothing known yet: the policy store and the key list are empty.
    await page.getByTestId('known-keys-empty').waitFor();
    // The supplier root key, picked from the host's folders: verification starts at once.
    await pick(page, 'keys/supplier-root.pem');
    await page.getByTestId('verify-result').waitFor({ timeout: 30_000 });

    // Verdict first, then what it rests on, in plain words.
    expect(await text(page, 'verdict-banner')).toMatch(/^Not covered/);
    expect(await text(page, 'trust-policy')).toBe("⚠ Decided by PackScope's default policy — choose yours");
    expect(await text(page, 'trust-freshness')).toBe('⚠ Freshness not proven: the package carries a claim ticket but no ticket key was chosen to check it');
    expect(await text(page, 'trust-extent')).toMatch(/^✓ The board holds history from /);
    expect(await text(page, 'trust-key')).toMatch(/^⚠ No keys pinned: the signature proves integrity, not origin \(SHA256:/);
    expect(await text(page, 'verify-line')).toMatch(/^VERIFIED/);
    // The pack's health as the verifier recomputed it, with the board's signed lifetime counters.
    await page.getByTestId('verify-health-capacity').waitFor();
    expect(await text(page, 'verify-lifetime')).toMatch(/^Signed by the board with the checkpoint and consistent with the [\d,.]+ records of the log/);
    const checks = await text(page, 'checks');
    for (const title of [
      'File hashes',
      'Signature (OpenSSL)',
      'Signature (ssh-keygen)',
      'Manifest',
      'Device certificate',
      'Attested history',
      "The customer's evaluation",
    ])
      expect(checks).toContain(`✓ ${title}`);
    expect(checks).not.toContain('✗');
    const customer = await text(page, 'customer-saw');
    expect(customer).toContain('Not covered');
    expect(customer).toContain('packscope-default-lfp-1 — the same policy that decided here');
    // No command-line words anywhere on the screen.
    expect(await page.locator('main').textContent()).not.toMatch(/(^|\s)--[a-z]/);
    expect(await page.getByTestId('findings').locator('tbody tr').count()).toBeGreaterThan(0);
    // The customer's photo, as signed into the package.
    await page.getByRole('button', { name: 'Show photos/01-label.png' }).click();
    const img = page.getByAltText('Customer photo photos/01-label.png');
    await img.waitFor();
    expect(await img.evaluate((el) => [(el as HTMLImageElement).naturalWidth, (el as HTMLImageElement).naturalHeight])).toEqual([96, 64]);
    await page.getByTestId('time-chart').locator('canvas').first().waitFor();
    await shot(page, 'verify');

    // "Choose yours": back to the choices, package and root kept, the policy picker focused.
    await page.getByRole('button', { name: 'choose yours' }).click();
    const select = page.getByLabel('Policy that decides');
    await select.waitFor();
    expect(await select.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await page.getByText(good).count()).toBe(1);
    // The supplier's policy file joins the store and is chosen.
    await page.getByRole('button', { name: 'Add policy file…' }).click();
    await pick(page, 'supplier/acme-policy.json');
    await page.getByRole('status').filter({ hasText: 'Added acme-lfp (version 3) to your policies.' }).waitFor();
    expect(await select.locator('option:checked').textContent()).toBe('acme-lfp (version 3)');
    expect(await text(page, 'policy-title')).toMatch(/^ACME warranty for LiFePO4 packs · SHA-256 [0-9a-f]{16}…$/);
    // An edited copy under the same id and version is refused, and the message says why.
    await page.getByRole('button', { name: 'Add policy file…' }).click();
    await pick(page, 'supplier/acme-policy-edited.json');
    await page.getByRole('alert').filter({ hasText: 'policy "acme-lfp" version 3 is already stored with different content' }).waitFor();
    expect(await page.getByRole('alert').filter({ hasText: 'acme-lfp' }).textContent()).toContain('A changed policy needs a new version.');
    await screen(page, 'verify-policy-refused');
    // The ticket key proves the pull was made for the claim.
    await page.getByRole('button', { name: 'Choose ticket key file' }).click();
    await pick(page, 'supplier/claims.pub.pem');
    await page.getByTestId('verify-ticket').getByText('claims.pub.pem').waitFor();
    await page.getByTestId('verify-start').click();
    await page.getByTestId('trust-policy').filter({ hasText: 'Decided by your policy' }).waitFor({ timeout: 30_000 });
    expect(await text(page, 'trust-policy')).toBe('✓ Decided by your policy acme-lfp (version 3) — ACME warranty for LiFePO4 packs');
    expect(await text(page, 'trust-freshness')).toMatch(new RegExp(`^✓ Pulled for claim ticket ${claimId}, issued `));
    expect(await text(page, 'verdict-banner')).toMatch(/^Not covered/);
    expect(await text(page, 'verify-line')).toMatch(/^VERIFIED/);
    expect(await text(page, 'checks')).toContain('✓ Claim ticket');
    // What the customer saw: their verdict under their policy, and where it departs from the supplier's.
    expect(await text(page, 'customer-saw')).toContain('packscope-default-lfp-1 — differs from the deciding policy in');
    expect(await text(page, 'policy-differences')).toContain(
      "voidConditions[over-discharge-current].thresholdC: the package's policy has 2, the deciding policy 1.5",
    );
    await shot(page, 'verify-light');
    await screen(page, 'verify-light-screen');
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await page.locator('html[data-theme="dark"]').waitFor({ state: 'attached' });
    await shot(page, 'verify-dark');
    await screen(page, 'verify-dark-screen');
    await page.getByRole('button', { name: 'Switch to light theme' }).click();

    // Pinning someone else's key: this package's key is then unknown, and the package fails.
    await page.getByRole('button', { name: 'Change policy, ticket or keys' }).click();
    const keys = page.getByTestId('known-keys');
    await keys.getByLabel('Whose key').fill('Someone else');
    await keys.getByRole('button', { name: 'Add key from file…' }).click();
    await pick(page, 'supplier/someone-else.pub');
    await keys.getByRole('listitem').filter({ hasText: 'Someone else' }).waitFor();
    await screen(page, 'verify-setup-light');
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await page.locator('html[data-theme="dark"]').waitFor({ state: 'attached' });
    await screen(page, 'verify-setup-dark');
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    await page.getByTestId('verify-start').click();
    await page.getByTestId('trust-key').filter({ hasText: 'Unknown key' }).waitFor({ timeout: 30_000 });
    expect(await text(page, 'trust-key')).toMatch(/^✗ Unknown key: the package may come from anyone \(signed by SHA256:\S+, not one of your known keys\)$/);
    expect(await text(page, 'verdict-banner')).toBe('Do not trust this package: it failed verification');
    expect(await text(page, 'checks')).toContain('✗ Known installation key');

    // The customer's own key, pasted as the customer sent it: known, and the package verifies.
    const zip = openZip(new Uint8Array(readFileSync(good)));
    const customerKey = new TextDecoder().decode(zip.read(zip.entries.find((e) => e.name === 'keys/install.pub')!));
    await page.getByRole('button', { name: 'Change policy, ticket or keys' }).click();
    await keys.getByLabel('Whose key').fill('Erika Mustermann');
    await keys.getByLabel('Key to paste').fill(customerKey);
    await keys.getByRole('button', { name: 'Add pasted key' }).click();
    await keys.getByRole('listitem').filter({ hasText: 'Erika Mustermann' }).waitFor();
    await page.getByTestId('verify-start').click();
    await page.getByTestId('trust-key').filter({ hasText: 'is one you know' }).waitFor({ timeout: 30_000 });
    expect(await text(page, 'trust-key')).toMatch(/^✓ Key SHA256:\S+ is one you know \(Erika Mustermann\)$/);
    expect(await text(page, 'verify-line')).toMatch(/^VERIFIED/);

    // Forgetting both keys leaves none pinned.
    await page.getByRole('button', { name: 'Change policy, ticket or keys' }).click();
    await keys.getByRole('button', { name: 'Remove key Someone else' }).click();
    await keys.getByRole('button', { name: 'Remove key Erika Mustermann' }).click();
    await page.getByTestId('known-keys-empty').waitFor();
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  });

  it('says plainly not to trust a tampered package, and which check failed', async () => {
    const { page } = await newPage(app.browser);
    await page.goto(`${app.served.url}&screen=verify&file=${encodeURIComponent(tampered)}`);
    // A new browser context remembers no root key: pick it again.
    await pick(page, 'keys/supplier-root.pem');
    await page.getByTestId('verify-result').waitFor({ timeout: 30_000 });
    expect(await text(page, 'verdict-banner')).toBe('Do not trust this package: it failed verification');
    expect(await text(page, 'verify-line')).toMatch(/^FAILED/);
    expect(await text(page, 'checks')).toContain('✗ File hashes');
    await shot(page, 'verify-tampered');
    await page.context().close();
  });
});
