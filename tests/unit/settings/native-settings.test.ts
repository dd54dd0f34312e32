import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../shared/util/clock.js';
import { Session } from '../../../electron/host/session.js';
import { NativeSettingsAccess } from '../../../electron/host/settings/native-access.js';
import { applySettings, restoreBackup, SettingsValidationError, takeBackup } from '../../../electron/host/settings/service.js';
import { verifySettingsEvidence } from '../../../shared/settings/evidence.js';
import { decodeCertificate } from '../../../shared/blackbox/certificate.js';
import { EVENTS } from '../../../shared/blackbox/events.js';
import { fromHex } from '../../../shared/util/bytes.js';

/**
 * Settings on the native board, host and simulated board in-process on one virtual clock: the
 * change path (validated before sending, written, read back), the board's own refusal with its
 * stored value, the signed journal and snapshot, and backup → change → restore → backup.
 */
let clock: VirtualClock;
const open: Session[] = [];
beforeEach(() => {
  clock = new VirtualClock();
});
afterEach(async () => {
  await clock.run(Promise.all(open.splice(0).map((s) => s.close())));
});

async function board(): Promise<{ s: Session; access: NativeSettingsAccess }> {
  const s = await clock.run(Session.open('sim:?seed=7', { baud: 921600, clock }));
  open.push(s);
  return { s, access: new NativeSettingsAccess(s.native!) };
}

const TOOL = 'packscope test; operator bench-3';

describe('native settings', () => {
  it('reads every parameter in catalogue units with the board’s limits', async () => {
    const { access } = await board();
    const r = await clock.run(access.read());
    expect(r.protocol).toBe('native');
    expect(r.values).toMatchObject({ cell_ov_protect: 3.75, cell_uv_protect: 2.3, charge_oc_protect: 150, design_capacity: 100 });
    expect(r.limits.get('cell_ov_protect')).toEqual({ min: 3, max: 4.4, writable: true });
    expect(r.limits.get('design_capacity')!.writable).toBe(false);
    expect(r.deviceSnapshot!.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses an out-of-range value before anything is sent', async () => {
    const { s, access } = await board();
    const before = s.stats().framesOut;
    const current = await clock.run(access.read());
    const sent = s.stats().framesOut;
    expect(sent).toBeGreaterThan(before);
    const err = await clock.run(applySettings(access, { cell_ov_protect: 4.6, charge_oc_protect: 150.004 }, { tool: TOOL, current })).catch((e) => e);
    expect(err).toBeInstanceOf(SettingsValidationError);
    expect((err as SettingsValidationError).issues.map((i) => i.id).sort()).toEqual(['cell_ov_protect', 'charge_oc_protect']);
    expect(s.stats().framesOut).toBe(sent);
  });

  it('reports the board’s own refusal with the value it holds, and writes nothing of that request', async () => {
    const { access } = await board();
    await clock.run(access.read());
    // Straight to the board, past the host's checks: the board decides for itself.
    const out = await clock.run(access.write({ cell_ov_protect: 4.6, balance_start: 3.45 }, { tool: TOOL }));
    expect(out).toEqual([
      { id: 'cell_ov_protect', requested: 4.6, result: 'refused', stored: 3.75, reason: 'the board refused: outside its limits' },
      expect.objectContaining({ id: 'balance_start', result: 'not_applied', stored: 3.4 }),
    ]);
    expect((await clock.run(access.read())).values['balance_start']).toBe(3.4);
  });

  it('signs every accepted change with old and new value and the tool, and raises params_changed', async () => {
    const { s, access } = await board();
    const rep = await clock.run(applySettings(access, { cell_ov_protect: 3.7, cell_ov_release: 3.4 }, { tool: TOOL }));
    expect(rep.outcomes.map((o) => [o.id, o.result, o.stored])).toEqual([
      ['cell_ov_protect', 'written', 3.7],
      ['cell_ov_release', 'written', 3.4],
    ]);
    expect(rep.mismatches).toEqual([]);
    const events = await clock.run(s.native!.events());
    expect(events.filter((e) => e.code === EVENTS.params_changed)).toHaveLength(1);
    const cert = decodeCertificate(await clock.run(s.native!.request(0x0201)).then((b) => b.subarray(2)));
    const ev = verifySettingsEvidence(await clock.run(access.evidence(fromHex('00112233445566778899aabbccddeeff'))), cert.devicePublicKey);
    expect(ev.problems).toEqual([]);
    expect(ev.verified).toBe(true);
    expect(ev.journalCount).toBe(2);
    expect(ev.changes.map((c) => [c.seq, c.setting, c.oldValue, c.newValue, c.tool])).toEqual([
      [1, 'cell_ov_protect', 3.75, 3.7, TOOL],
      [2, 'cell_ov_release', 3.45, 3.4, TOOL],
    ]);
    expect(ev.values['cell_ov_protect']).toBe(3.7);
    expect(ev.nonce).toBe('00112233445566778899aabbccddeeff');
  });

  it('backup → change a protection limit → read back → restore → an identical backup', async () => {
    const { access } = await board();
    const b1 = await clock.run(takeBackup(access, { tool: TOOL, now: new Date(0) }));
    const rep = await clock.run(applySettings(access, { discharge_oc_protect: 250 }, { tool: TOOL }));
    expect(rep.after['discharge_oc_protect']).toBe(250);
    const restored = await clock.run(restoreBackup(access, b1, { tool: TOOL }));
    expect(restored.outcomes.map((o) => [o.id, o.result])).toEqual([['discharge_oc_protect', 'written']]);
    expect(restored.remaining).toEqual([]);
    const b2 = await clock.run(takeBackup(access, { tool: TOOL, now: new Date(1000) }));
    expect(b2.digest).toBe(b1.digest);
    expect(b2.values).toEqual(b1.values);
  });

  it('the protection logic uses the stored limits', async () => {
    const { s, access } = await board();
    const fetOn = async () => (await clock.run(s.native!.readTelemetry())).status & (1 << 4);
    expect(await fetOn()).not.toBe(0);
    // The cells rest near 3.29 V at 50 % SOC: an under-voltage limit of 3.35 V opens the discharge FET.
    await clock.run(applySettings(access, { cell_uv_protect: 3.35, cell_uv_release: 3.5 }, { tool: TOOL }));
    await clock.advance(2000);
    expect(await fetOn()).toBe(0);
    expect((await clock.run(s.native!.events())).some((e) => e.code === EVENTS.discharge_fet_off)).toBe(true);
    // Back to the factory limits: the FET closes again after its 30 s recovery.
    await clock.run(applySettings(access, { cell_uv_protect: 2.3, cell_uv_release: 2.9 }, { tool: TOOL }));
    await clock.advance(35_000);
    expect(await fetOn()).not.toBe(0);
  });
});
