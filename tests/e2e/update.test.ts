import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleTrustStore } from '../../electron/host/bundle/trust.js';
import { certifyReleaseKey, createBundle } from '../../shared/bundle/bundle.js';
import { generateKey, parsePrivateKeyPem, parseVersion, signImage } from '../../shared/image/index.js';
import { bridgeCall, connectTo, newPage, serveAndLaunch, shot } from './harness.js';

/**
 * The Update screen as a customer uses it, in Chromium against `packscope serve` and the demo
 * board: pick the supplier's .psfw, read the notes and what will change, see the preconditions
 * hold on the live pack, apply, and follow test boot, self-test and confirm to the end. A bundle
 * for another board is explained and cannot be applied.
 */
const app = serveAndLaunch();
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-update-board-'));

describe('Update screen against the demo board', () => {
  it('shows notes, changes and live preconditions, then applies a release with test boot, self-test and confirm', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, `sim:?state=${stateDir}&soc=75`);
    const { device } = await bridgeCall(app.served, 'device.status', {});

    // The supplier's side: root and release keys, an image signed for this board, two bundles.
    const root = generateKey('ed25519');
    const release = generateKey('ed25519');
    const cert = certifyReleaseKey(root, release.publicKey, {
      vendorId: 'acme',
      notBefore: new Date(Date.now() - 86_400_000),
      notAfter: new Date(Date.now() + 365 * 86_400_000),
    });
    new BundleTrustStore(path.join(app.served.dataDir, '.config', 'packscope')).addRoot(root.publicKey, 'acme root');
    const key = parsePrivateKeyPem(readFileSync(path.join(stateDir, 'firmware-signing-key.pem'), 'utf8'));
    const payload = new Uint8Array(40 * 1024).map((_, i) => (i * 17 + 3) & 0xff);
    const bundle = (name: string, boardId: string) => {
      const image = signImage({ payload, version: parseVersion('1.6.0'), key, securityCounter: 3, boardId: device.boardId });
      writeFileSync(
        path.join(app.served.dataDir, name),
        createBundle({
          metadata: {
            schema: 1,
            sequence: 7,
            vendorId: 'acme',
            boards: [{ boardId, hardwareRevisions: [device.hardwareRevision] }],
            created: new Date(Date.now() - 3600_000).toISOString(),
            expires: new Date(Date.now() + 30 * 86_400_000).toISOString(),
            notes: 'Release 1.6.0\nBalancing starts earlier on cold mornings.',
            preconditions: { minSocPercent: 30, maxCurrentA: 20, temperatureC: { min: -10, max: 55 } },
            components: [{ name: 'bms', target: { kind: 'mcuboot', slot: 'secondary' }, format: 'mcuboot', version: '1.6.0', securityCounter: 3 }],
          },
          images: [{ name: 'bms', bytes: image }],
          releaseKey: release,
          certificate: cert,
        }),
      );
    };
    bundle('acme-1.6.0.psfw', device.boardId);
    bundle('acme-other-board.psfw', 'PSB-OTHER');

    await page.getByTestId('nav-update').click();

    // Another board's release: explained, not offered.
    await page.getByRole('listitem').filter({ hasText: 'acme-other-board.psfw' }).click();
    await page.getByTestId('update-refusal').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('update-refusal').textContent()).toContain("the connected board is '" + device.boardId + "'");
    expect(await page.getByTestId('update-apply').isDisabled()).toBe(true);

    await page.getByRole('listitem').filter({ hasText: 'acme-1.6.0.psfw' }).click();
    await page.getByTestId('update-notes').filter({ hasText: 'Balancing starts earlier' }).waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('update-changes').textContent()).toMatch(/bms.*→1\.6\.0/);
    // The preconditions tick green from the live telemetry.
    await page.waitForFunction(
      () => {
        const items = [...document.querySelectorAll('[data-testid^=precondition-]')];
        return items.length === 3 && items.every((li) => li.getAttribute('data-ok') === 'yes');
      },
      null,
      { timeout: 20_000 },
    );
    expect(await page.getByTestId('precondition-soc').textContent()).toMatch(/state of charge ≥ 30 % — now \d+\.\d %/);
    await shot(page, 'update-ready');

    await page.getByTestId('update-apply').click();
    await page.getByTestId('update-progress').waitFor();
    await page.getByTestId('update-result').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('update-result').textContent()).toMatch(/Done: the pack runs 1\.6\.0(\+0)?, checked and kept/);
    // The settings were backed up before anything was erased, and the update left them alone.
    expect(await page.getByTestId('update-settings').textContent()).toContain('settings-backups');
    await page.getByTestId('update-settings-unchanged').waitFor();
    await shot(page, 'update-done');

    const fw = await bridgeCall(app.served, 'fw.status', {});
    expect(fw).toMatchObject({ runningVersion: expect.stringMatching(/^1\.6\.0/), testing: false, securityCounter: 3 });
    expect(problems).toEqual([]);
  }, 180_000);
});
