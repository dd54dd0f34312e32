import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSim, stopChild, type SimProcess } from '../integration/cli-process.js';
import { newPage, serveAndLaunch, shot } from './harness.js';

/**
 * The R&D bench of the Firmware screen, as an engineer uses it: sign a payload in the app, flash
 * it over UDS/CAN through an SLCAN adapter, watch the bus, and recover a board over the STM32 ROM
 * bootloader, each against the simulated board on a pseudo-terminal.
 */
const app = serveAndLaunch();
const sims: SimProcess[] = [];
afterAll(async () => {
  for (const s of sims) await stopChild(s.child, 'SIGKILL');
});

function pick(page: Page, section: string, picker: string, name: string) {
  return page.getByTestId(section).locator(`[aria-label="${picker}"]`).getByRole('listitem').filter({ hasText: name }).click();
}

describe('the R&D bench', () => {
  it('signs an image, flashes it over UDS/CAN, monitors the bus, and recovers over the STM32 ROM bootloader', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-can-'));
    const can = await spawnSim(['--personality', 'slcan', '--state', stateDir]);
    sims.push(can);
    const data = app.served.dataDir;
    writeFileSync(path.join(data, 'app-payload.bin'), new Uint8Array(randomBytes(24 * 1024)));
    copyFileSync(path.join(stateDir, 'firmware-signing-key.pem'), path.join(data, 'bench-key.pem'));

    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await page.getByTestId('nav-firmware').click();

    // Sign: payload, key, version, board; the signed image lands beside the payload.
    await page.getByTestId('image-signing').locator('summary').click();
    await pick(page, 'image-signing', 'Firmware payload', 'app-payload.bin');
    await pick(page, 'image-signing', 'Signing key', 'bench-key.pem');
    await page.getByLabel('Image version').fill('3.0.1');
    await page.getByLabel('Board id').fill('PSB-16S-LFP-A');
    await page.getByLabel('Security counter').fill('3');
    await page.getByTestId('sign').click();
    await page.getByTestId('sign-result').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('sign-result').textContent()).toContain('version 3.0.1');

    // Flash it over UDS/CAN: every option is a field.
    await page.getByTestId('other-links').locator('summary').click();
    // The image signed a moment ago, by its path (as pasted from the result above).
    const picker = page.getByTestId('other-links').locator('[aria-label="Signed image"]');
    await picker.getByLabel('Signed image path').fill(path.join(data, 'app-payload-3.0.1.img'));
    await picker.getByRole('button', { name: 'Open' }).click();
    await page.getByLabel('CAN adapter port').fill(can.path);
    await page.getByLabel('CAN bitrate').selectOption('500000');
    await page.getByTestId('flash-other').click();
    await page.getByTestId('job-flash').waitFor({ timeout: 30_000 });
    // Whichever comes first, the outcome or a refusal: a refusal fails the test at once, with its words.
    await page.locator('[data-testid=flash-result], [role=alert]').first().waitFor({ timeout: 300_000 });
    expect(await page.locator('main').textContent()).toMatch(/3\.0\.1(\+0)? installed and running in test mode/);
    await shot(page, 'firmware-uds-flashed');

    // The bus: the pack's Pylontech broadcasts arrive in the monitor, until Stop.
    await page.getByLabel('Monitor adapter port').fill(can.path);
    await page.getByRole('button', { name: /^Listen/ }).click();
    await page.waitForFunction(() => /\b35[15]\b/.test(document.querySelector('[aria-label="CAN frames"]')?.textContent ?? ''), null, { timeout: 60_000 });
    await page.getByRole('button', { name: /^Stop/ }).click();
    await page.getByRole('button', { name: /^Listen/ }).waitFor({ timeout: 30_000 });

    // Recovery over the STM32 ROM bootloader: raw firmware, read back and compared.
    const rom = await spawnSim(['--personality', 'stm32-rom']);
    sims.push(rom);
    await page.getByRole('button', { name: 'STM32 ROM recovery' }).click();
    await pick(page, 'other-links', 'Firmware file', 'app-payload.bin');
    await page.getByLabel('Board port').fill(rom.path);
    await page.getByTestId('flash-other').click();
    await page.waitForFunction(
      () =>
        /read back identical/.test(document.querySelector('[data-testid=flash-result]')?.textContent ?? '') || document.querySelector('[role=alert]') !== null,
      null,
      { timeout: 300_000 },
    );
    expect(await page.getByTestId('flash-result').textContent()).toContain('24.0 KiB written');
    expect(await page.locator('body').textContent()).not.toMatch(/--[a-z]/);
    await shot(page, 'firmware-rom-recovered');
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
    await page.context().close();
  }, 900_000);
});
