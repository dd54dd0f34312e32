import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePrivateKeyPem, parseVersion, signImage } from '../../shared/image/index.js';
import { bridgeCall, connectTo, newPage, serveAndLaunch, shot } from './harness.js';

const app = serveAndLaunch();
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ps-e2e-board-'));

describe('Firmware screen against the demo board', () => {
  it('inspects before writing, refuses a foreign image, flashes with progress, then confirms', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, `sim:?state=${stateDir}`);
    const { device } = await bridgeCall(app.served, 'device.status', {});
    // Images signed with the board's supplier test key (the simulator keeps it in its state folder).
    const key = parsePrivateKeyPem(readFileSync(path.join(stateDir, 'firmware-signing-key.pem'), 'utf8'));
    const payload = new Uint8Array(48 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
    writeFileSync(
      path.join(app.served.dataDir, 'bms-1.5.0.img'),
      signImage({ payload, version: parseVersion('1.5.0'), key, securityCounter: 2, boardId: device.boardId }),
    );
    writeFileSync(
      path.join(app.served.dataDir, 'other-board-2.0.0.img'),
      signImage({ payload, version: parseVersion('2.0.0'), key, securityCounter: 2, boardId: 'other-board' }),
    );

    await page.getByTestId('nav-firmware').click();
    await page.getByTestId('fw-status').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('fw-status').textContent()).toContain('confirmed');

    // A foreign image: everything shown, nothing offered to write.
    await page.getByRole('listitem').filter({ hasText: 'other-board-2.0.0.img' }).click();
    await page.getByTestId('verdict').waitFor();
    expect(await page.getByTestId('verdict').textContent()).toContain("it is for board 'other-board'");
    expect(await page.getByTestId('flash').count()).toBe(0);
    await shot(page, 'firmware-refused');

    await page.getByRole('listitem').filter({ hasText: 'bms-1.5.0.img' }).click();
    await page.getByText('✓ the connected board').waitFor();
    const info = await page.getByTestId('image-info').textContent();
    expect(info).toContain('1.5.0');
    expect(info).toContain(device.boardId);
    expect(info).toContain('valid, by a key the board trusts');
    await shot(page, 'firmware-inspect');

    await page.getByTestId('flash').click();
    await page.getByTestId('progress').waitFor();
    await page.waitForFunction(() => /\d+(\.\d+)? KiB\/s/.test(document.querySelector('[data-testid=progress]')?.textContent ?? ''), null, { timeout: 30_000 });
    await shot(page, 'firmware-flashing');
    await page.getByTestId('flash-result').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('flash-result').textContent()).toMatch(/1\.5\.0(\+0)? installed and running in test mode/);
    // The board's settings were backed up into the data folder before anything was erased, and the flash left them alone.
    await page.getByTestId('flash-settings-unchanged').waitFor();
    const backupPath = (await page.getByTestId('flash-settings').locator('code').textContent())!;
    expect(path.dirname(backupPath)).toBe(path.join(app.served.dataDir, 'settings-backups'));
    expect(JSON.parse(readFileSync(backupPath, 'utf8'))).toMatchObject({ protocol: 'native', board: { serial: device.serial } });
    // The slots are read again after the flash: wait for that reading, not for a time.
    await page.waitForFunction(() => document.querySelector('[data-testid=fw-status]')?.textContent?.includes('in TEST mode'), null, { timeout: 60_000 });
    await shot(page, 'firmware-test-mode');

    await page.getByRole('button', { name: /^Confirm 1\.5\.0/ }).click();
    await page.waitForFunction(() => /running 1\.5\.0(\+0)?\s+confirmed/.test(document.querySelector('[data-testid=fw-status] h2')?.textContent ?? ''), null, {
      timeout: 60_000,
    });
    const status = await bridgeCall(app.served, 'fw.status', {});
    expect(status).toMatchObject({ runningVersion: expect.stringMatching(/^1\.5\.0/), testing: false, securityCounter: 2 });
    await shot(page, 'firmware-confirmed');
    // What the app shows of the board is read again after the flash, not kept from connect time:
    // the sidebar and the Connect screen name the new firmware without reconnecting.
    expect(device.firmwareVersion).not.toMatch(/^1\.5\.0/);
    await page.waitForFunction(() => /firmware 1\.5\.0/.test(document.querySelector('[data-testid=link-status]')?.textContent ?? ''), null, {
      timeout: 60_000,
    });
    await page.getByTestId('nav-connect').click();
    expect((await page.getByTestId('connected-firmware').textContent())?.trim()).toMatch(/^1\.5\.0/);
    expect(problems.filter((p) => !p.includes('favicon'))).toEqual([]);
  });
});
