import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSim, type RunningSim } from '../../firmware/sim/run.js';
import type { SlcanPersonality } from '../../firmware/sim/can/index.js';
import type { Stm32RomPersonality } from '../../firmware/sim/stm32rom/index.js';
import { Iso14229TestBootloader } from '../support/iso14229-bootloader.js';
import { BundleTrustStore } from '../../electron/host/bundle/trust.js';
import { certifyReleaseKey, createBundle } from '../../shared/bundle/bundle.js';
import { generateKey, parsePrivateKeyPem, parseVersion, signImage } from '../../shared/image/index.js';
import { bridgeCall, connectTo, newPage, serveAndLaunch, shot } from './harness.js';

/**
 * The Update screen as a customer uses it, in Chromium against `packscope serve` and the demo
 * board: pick the supplier's .psfw, read the notes and what will change, see the preconditions
 * hold on the live pack, apply, and follow test boot, self-test and confirm to the end. A bundle
 * for another board is explained and cannot be applied. A release for the whole pack also goes to
 * an ECU behind a CAN adapter (the ISO 14229 test bootloader on the simulated bus, adapter on a
 * pseudo-terminal) and to a co-processor in its STM32 ROM bootloader (another pseudo-terminal):
 * the screen asks for their ports and shows where each component went.
 */
const app = serveAndLaunch();
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-update-board-'));
const sims: RunningSim[] = [];
let ecu: Iso14229TestBootloader | null = null;
afterAll(async () => {
  ecu?.stop();
  for (const s of sims) await s.stop();
});

/** Root and release keys, trusted by the served app's installation. */
function supplier() {
  const root = generateKey('ed25519');
  const release = generateKey('ed25519');
  const cert = certifyReleaseKey(root, release.publicKey, {
    vendorId: 'acme',
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
  });
  new BundleTrustStore(path.join(app.served.dataDir, '.config', 'packscope')).addRoot(root.publicKey, 'acme root');
  return { release, cert };
}

describe('Update screen against the demo board', () => {
  it('shows notes, changes and live preconditions, then applies a release with test boot, self-test and confirm', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, `sim:?state=${stateDir}&soc=75`);
    const { device } = await bridgeCall(app.served, 'device.status', {});

    // The supplier's side: root and release keys, an image signed for this board, two bundles.
    const { release, cert } = supplier();
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
  });
  it('applies a release for the whole pack: the board, an ECU on CAN and an STM32 co-processor, each through its own port', async () => {
    const can = await runSim({
      personality: 'slcan',
      pty: true,
      baud: 1_000_000,
      seed: 5,
      stateDir: mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-update-can-')),
      can: { bitrate: 500_000, uds: false },
    });
    sims.push(can);
    ecu = new Iso14229TestBootloader((can.personality as SlcanPersonality).bus, { eraseMs: 100 });
    ecu.start();
    const rom = await runSim({
      personality: 'stm32-rom',
      pty: true,
      baud: 115200,
      subsystems: false,
      stateDir: mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-update-rom-')),
    });
    sims.push(rom);

    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, `sim:?state=${stateDir}&soc=75`);
    const { device } = await bridgeCall(app.served, 'device.status', {});
    const { release, cert } = supplier();
    const key = parsePrivateKeyPem(readFileSync(path.join(stateDir, 'firmware-signing-key.pem'), 'utf8'));
    const bms = signImage({
      payload: new Uint8Array(24 * 1024).map((_, i) => (i * 13 + 1) & 0xff),
      version: parseVersion('1.7.0'),
      key,
      securityCounter: 4,
      boardId: device.boardId,
    });
    const ecuImage = new Uint8Array(4000).map((_, i) => (i * 7 + 3) & 0xff);
    ecuImage.set(Buffer.from('ecu-4.2.0\0', 'ascii'));
    const afeImage = new Uint8Array(2048).map((_, i) => (i * 5 + 9) & 0xff);
    writeFileSync(
      path.join(app.served.dataDir, 'acme-pack-1.7.0.psfw'),
      createBundle({
        metadata: {
          schema: 1,
          sequence: 8,
          vendorId: 'acme',
          boards: [{ boardId: device.boardId, hardwareRevisions: [device.hardwareRevision] }],
          created: new Date(Date.now() - 3600_000).toISOString(),
          expires: new Date(Date.now() + 30 * 86_400_000).toISOString(),
          notes: 'Release 1.7.0 for the whole pack\nThe module controller and the balancer get matching firmware.',
          preconditions: { minSocPercent: 30 },
          components: [
            { name: 'bms', target: { kind: 'mcuboot', slot: 'secondary' }, format: 'mcuboot', version: '1.7.0', securityCounter: 4 },
            {
              name: 'module-ecu',
              target: { kind: 'uds', txId: 0x7e0, rxId: 0x7e8, profile: 'generic', address: 0x0800_8000 },
              format: 'bin',
              version: '4.2.0',
              securityCounter: 0,
            },
            { name: 'balancer', target: { kind: 'stm32-rom', address: 0x0800_0000, productId: 0x413 }, format: 'bin', version: '2.0', securityCounter: 0 },
          ],
        },
        images: [
          { name: 'bms', bytes: bms },
          { name: 'module-ecu', bytes: ecuImage },
          { name: 'balancer', bytes: afeImage },
        ],
        releaseKey: release,
        certificate: cert,
      }),
    );

    await page.getByTestId('nav-update').click();
    await page.getByRole('listitem').filter({ hasText: 'acme-pack-1.7.0.psfw' }).click();
    await page.getByTestId('update-targets').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('update-changes').textContent()).toMatch(
      /module-ecu.*4\.2\.0.*ECU 0x7E0\/0x7E8 \(profile generic\).*balancer.*STM32 ROM bootloader at 0x08000000/,
    );
    // Without the ports the update cannot start.
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid^=precondition-]')].every((li) => li.getAttribute('data-ok') === 'yes'), null, {
      timeout: 20_000,
    });
    expect(await page.getByTestId('update-apply').isDisabled()).toBe(true);
    await page.getByLabel('CAN adapter port').fill(can.path!);
    await page.getByLabel('STM32 ROM port').fill(rom.path!);
    await page.waitForFunction(() => !(document.querySelector('[data-testid=update-apply]') as HTMLButtonElement).disabled, null, { timeout: 20_000 });
    await shot(page, 'update-pack-ready');

    await page.getByTestId('update-apply').click();
    await page.getByTestId('update-result').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('update-result').textContent()).toMatch(/Done: the pack runs 1\.7\.0/);
    const rows = await page.getByTestId('update-components').locator('tr').allTextContents();
    expect(rows[0]).toMatch(/^module-ecu1\.0\.0→4\.2\.0ECU 0x7E0\/0x7E8 on .*installed$/);
    expect(rows[1]).toMatch(/^balancer—→2\.0STM32 ROM on .*installed$/);
    expect(rows[2]).toMatch(/^bms1\.6\.0(\+0)?→1\.7\.0(\+0)?the board \(native link\)installed$/);
    await shot(page, 'update-pack-done');

    expect(ecu.read(0x0800_8000, ecuImage.length)).toEqual(ecuImage);
    expect((rom.personality as Stm32RomPersonality).memory.flash.slice(0, afeImage.length)).toEqual(afeImage);
    expect(await bridgeCall(app.served, 'fw.status', {})).toMatchObject({ runningVersion: expect.stringMatching(/^1\.7\.0/), testing: false });
    expect(problems).toEqual([]);
  });
});
