import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Session } from '../../../electron/host/session.js';
import { backupBeforeFlash, settingsSinceBackup } from '../../../electron/host/settings/flash-backup.js';
import { applySettings, restoreBackup, settingsAccess } from '../../../electron/host/settings/service.js';
import { parseBackup } from '../../../shared/settings/backup.js';
import { VirtualClock } from '../../../shared/util/clock.js';

/**
 * Settings across a firmware update, on the simulated native board in process: the backup taken
 * before the install is a valid backup file, a setting changed meanwhile is reported against it,
 * and restoring it brings the board back; a board without settings gets no backup.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'ps-flash-backup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('settings backup before a flash', () => {
  it('backs up, reports what changed since, and restores', async () => {
    const clock = new VirtualClock();
    const s = await clock.run(Session.open('sim:?seed=4', { protocol: 'native', clock }));
    try {
      const b = (await clock.run(backupBeforeFlash(s, dir, new Date('2026-12-07T12:00:00Z'))))!;
      expect(path.basename(b.path)).toMatch(/^before-update-.*2026-12-07T12-00-00-000Z\.json$/);
      expect(parseBackup(readFileSync(b.path, 'utf8')).digest).toBe(b.digest);
      expect(await clock.run(settingsSinceBackup(s, b))).toEqual([]);

      const access = await settingsAccess(s);
      await clock.run(applySettings(access, { balance_start: 3.5 }, { tool: 'new firmware defaults' }));
      expect(await clock.run(settingsSinceBackup(s, b))).toEqual([{ id: 'balance_start', left: 3.5, right: b.backup.values['balance_start'] }]);

      const r = await clock.run(restoreBackup(access, b.backup, { tool: 't' }));
      expect(r.remaining).toEqual([]);
      expect(await clock.run(settingsSinceBackup(s, b))).toEqual([]);
    } finally {
      await clock.run(s.close());
    }
  });

  it('takes none on a board whose protocol carries no settings', async () => {
    const clock = new VirtualClock();
    const s = await clock.run(Session.open('sim:?personality=pylontech-rs485&seed=4', { protocol: 'pylontech-rs485', clock }));
    try {
      expect(await clock.run(backupBeforeFlash(s, dir, new Date()))).toBeNull();
    } finally {
      await clock.run(s.close());
    }
  });
});
