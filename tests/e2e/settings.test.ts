import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bridgeCall, connectTo, newPage, serveAndLaunch, shot } from './harness.js';

/**
 * The Settings screen as a bench engineer uses it, in Chromium against `packscope serve` and the
 * demo board: read the settings by group, back them up to a file, see an out-of-range value
 * refused before anything is sent, change two limits after reviewing them, read the board's
 * answer, compare with a profile and with the backup, and restore the backup after confirming its
 * differences; the board ends where it started. On a JK board (which keeps currents in whole
 * amperes) a fraction is refused in the form before anything can be sent, and the discharge MOSFET
 * switched off there opens the pack's FET, as the Live telemetry shows.
 */
const app = serveAndLaunch();

describe('Settings screen against the demo board', () => {
  it('reads, backs up, validates, writes, compares and restores', async () => {
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:');
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-group-cell-protection').waitFor({ timeout: 30_000 });
    const start = await bridgeCall(app.served, 'settings.read', {});
    expect(await page.getByTestId('settings-group-cell-protection').textContent()).toContain('Cell over-voltage protection');
    expect(await page.getByTestId('setting-value-cell_ov_protect').textContent()).toBe(`${start.values.cell_ov_protect.toFixed(3)} V`);

    // A backup to a file in the data folder.
    await page.getByTestId('settings-backup').click();
    const saved = page.getByTestId('settings-backup-saved');
    await saved.waitFor();
    const backupPath = (await saved.locator('code').textContent())!;
    const backup = JSON.parse(readFileSync(backupPath, 'utf8'));
    expect(backup.values).toEqual(start.values);

    // Outside the board's range: refused on the spot, nothing can be sent.
    const ov = page.getByTestId('setting-input-cell_ov_protect');
    await ov.fill('9');
    await page.getByTestId('setting-issue-cell_ov_protect').waitFor();
    expect(await page.getByTestId('setting-issue-cell_ov_protect').textContent()).toMatch(/outside the allowed range/);
    expect(await page.getByTestId('settings-review').isDisabled()).toBe(true);
    // A release above its protection: refused by the order rule.
    await ov.fill('3.400');
    expect(await page.getByTestId('setting-issue-cell_ov_protect').textContent()).toMatch(/release must be below/);

    // Two valid changes, reviewed, then written; the board's answer per setting.
    const newOv = Number((start.values.cell_ov_protect - 0.05).toFixed(3));
    await ov.fill(newOv.toFixed(3));
    await page.getByTestId('setting-input-charge_oc_delay').fill(String(start.values.charge_oc_delay + 2));
    expect(await page.getByTestId('settings-pending').textContent()).toContain(`${newOv.toFixed(3)} V`);
    await page.getByTestId('settings-review').click();
    await page.getByTestId('settings-confirm').click();
    await page.getByTestId('settings-outcomes').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('outcome-cell_ov_protect').getAttribute('data-result')).toBe('written');
    expect(await page.getByTestId('outcome-cell_ov_protect').textContent()).toContain(`${newOv.toFixed(3)} V`);
    expect(await page.getByTestId('settings-outcome-summary').textContent()).toMatch(/took all 2 changes; the read-back matches/);
    await page
      .getByTestId('setting-value-cell_ov_protect')
      .filter({ hasText: `${newOv.toFixed(3)} V` })
      .waitFor();
    const changed = await bridgeCall(app.served, 'settings.read', {});
    expect(changed.values.cell_ov_protect).toBe(newOv);
    expect(changed.values.charge_oc_delay).toBe(start.values.charge_oc_delay + 2);
    await shot(page, 'settings-written');

    // Against the LFP profile: what differs is listed and marked in the table.
    await page.getByTestId('settings-compare-profile').click();
    await page.getByTestId('settings-differences').waitFor();
    const profileDiffs = Number(await page.getByTestId('settings-differences').getAttribute('data-count'));
    expect(profileDiffs).toBeGreaterThan(0);
    expect(await page.locator('tr[data-differs=yes]').count()).toBe(profileDiffs);

    // Against the backup: exactly the two changes; restore after confirming them.
    await page
      .getByRole('listitem')
      .filter({ hasText: backupPath.split('/').pop()! })
      .click();
    await page.getByTestId('difference-charge_oc_delay').waitFor();
    expect(await page.getByTestId('settings-differences').getAttribute('data-count')).toBe('2');
    await page.getByTestId('settings-restore').click();
    expect(await page.getByTestId('settings-restore-confirm').textContent()).toContain(
      `cell_ov_protect ${newOv.toFixed(3)} V → ${start.values.cell_ov_protect.toFixed(3)} V`,
    );
    await page.getByTestId('settings-restore-go').click();
    await page.getByTestId('settings-identical').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('settings-outcome-summary').textContent()).toMatch(/read-back matches/);
    const end = await bridgeCall(app.served, 'settings.read', {});
    expect(end.values).toEqual(start.values);
    await shot(page, 'settings-restored');
    expect(problems).toEqual([]);
  });

  it('on a JK board: refuses a fraction of a whole-ampere field, and the MOSFET switch opens the FET', async () => {
    await bridgeCall(app.served, 'device.disconnect', {});
    const { page, problems } = await newPage(app.browser);
    await page.goto(app.served.url);
    await connectTo(page, 'sim:?personality=jk');
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-group-current').waitFor({ timeout: 30_000 });
    const start = await bridgeCall(app.served, 'settings.read', {});
    expect(start.protocol).toBe('jk');

    // 150.5 A is inside every range, but the board keeps whole amperes: refused on the spot.
    const oc = page.getByTestId('setting-input-charge_oc_protect');
    await oc.fill(`${start.values.charge_oc_protect}.5`);
    await page.getByTestId('setting-issue-charge_oc_protect').waitFor();
    expect(await page.getByTestId('setting-issue-charge_oc_protect').textContent()).toMatch(/keeps it in whole units \(A\).*never rounds/);
    expect(await page.getByTestId('settings-review').isDisabled()).toBe(true);
    await oc.fill(String(start.values.charge_oc_protect));

    // The discharge MOSFET switched off: written, and the FET opens.
    await page.getByTestId('setting-input-discharge_mosfet').selectOption('off');
    await page.getByTestId('settings-review').click();
    await page.getByTestId('settings-confirm').click();
    await page.getByTestId('settings-outcomes').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('outcome-discharge_mosfet').getAttribute('data-result')).toBe('written');
    // On the Live screen the pack says so: the charge FET still on, the discharge FET no longer.
    await page.getByTestId('nav-live').click();
    await page.waitForFunction(
      () => {
        const chips = [...document.querySelectorAll('.chip')].map((c) => c.textContent);
        return chips.includes('Charge FET on') && !chips.includes('Discharge FET on');
      },
      null,
      { timeout: 30_000 },
    );
    await shot(page, 'settings-jk-mosfet-off');

    await page.getByTestId('nav-settings').click();
    await page.getByTestId('setting-input-discharge_mosfet').selectOption('on');
    await page.getByTestId('settings-review').click();
    await page.getByTestId('settings-confirm').click();
    await expect.poll(async () => (await bridgeCall(app.served, 'settings.read', {})).values.discharge_mosfet).toBe(1);
    expect(problems).toEqual([]);
  });
});
