import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import type { Finding } from '../../../shared/warranty/evaluation.js';
import { decodeDeviceEvidence } from '../../../shared/evidence/blackbox-evidence.js';
import { DEVICE_DIR } from '../../../shared/evidence/package.js';
import { readZipFiles } from '../../../shared/codec/zip.js';
import { decodeCertificate } from '../../../shared/blackbox/certificate.js';
import { verifySettingsEvidence } from '../../../shared/settings/evidence.js';
import { EVENTS } from '../../../shared/blackbox/events.js';
import { fromHex } from '../../../shared/util/bytes.js';
import { openPslog } from '../../../electron/host/blackbox/index.js';
import { hostSignatureVerifier } from '../../../electron/host/evidence/fast-verify.js';
import { cli } from '../../unit/evidence/cli-harness.js';
import { requirePython } from '../cli-process.js';

/**
 * Acceptance: a protection limit changed on the native board over a real pseudo-terminal shows in
 * the next log pull and in the diagnosis package as a device-signed change record (old value, new
 * value, the tool), next to the params_changed record in the signed black box; the package
 * verifies; and the supplier's clause "protection settings outside the allowed ranges" fires on
 * it, pointing at the records that prove it.
 */
const dir = mkdtempSync(join(tmpdir(), 'packscope-settings-ev-'));
process.env.PACKSCOPE_CONFIG_DIR = join(dir, 'config');
const sims: RunningSim[] = [];
afterAll(async () => {
  for (const s of sims) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const POLICY = {
  ...DEFAULT_POLICY,
  id: 'supplier-settings-1',
  voidConditions: [
    ...DEFAULT_POLICY.voidConditions,
    {
      id: 'settings-tampered',
      title: "Protection settings outside the supplier's allowed ranges",
      kind: 'protection_settings_outside_range',
      ranges: { cell_ov_protect: { min: 3.5, max: 3.8 }, discharge_oc_protect: { max: 450 } },
    },
  ],
};

describe('settings changes as evidence', () => {
  it('a change beyond the allowed range is a signed record in the pull and the package, and the clause fires', async () => {
    requirePython();
    const sim = await runSim({ pty: true, unpaced: true, prefillHours: 1, cells: 8, seed: 21, stateDir: join(dir, 'board') });
    sims.push(sim);
    const port = sim.path!;
    const set = await cli('settings', 'set', '--port', port, 'cell_ov_protect=3.95', '--operator', 'bench-7', '--json');
    expect(set.code, set.err + set.out).toBe(0);

    // The next pull carries the signed change record and the params_changed record.
    const log = join(dir, 'after.pslog');
    const pulled = await cli('log', 'pull', '--port', port, '--out', log);
    expect(pulled.code, pulled.err).toBe(0);
    const reader = await openPslog(log);
    const cert = decodeCertificate(fromHex(reader.meta.certificate));
    const ev = verifySettingsEvidence(fromHex(reader.meta.settings!), cert.devicePublicKey);
    await reader.close();
    expect(ev.problems).toEqual([]);
    expect(ev.changes).toEqual([
      expect.objectContaining({
        seq: 1,
        setting: 'cell_ov_protect',
        oldValue: 3.75,
        newValue: 3.95,
        tool: expect.stringMatching(/^packscope .*; operator bench-7$/),
      }),
    ]);
    expect(ev.values['cell_ov_protect']).toBe(3.95);

    // The package keeps it; the supplier's policy excludes the claim on it.
    const claim = join(dir, 'claim.json');
    writeFileSync(
      claim,
      JSON.stringify({
        customer: 'Jane Doe',
        contact: 'jane@example.org',
        model: sim.board.identity.model,
        serial: sim.board.identity.serial,
        purchaseDate: new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10),
        description: 'Does not charge fully.',
        remedy: 'repair',
      }),
    );
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify(POLICY));
    const out = join(dir, 'claim.psdiag');
    const r = await cli('package', 'create', '--log', log, '--claim', claim, '--policy', policy, '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out) as { verdict: string; excludedBy: string[]; findings: Finding[] };
    expect(res.verdict).toBe('excluded');
    expect(res.excludedBy).toEqual(['settings-tampered']);
    const f = res.findings.find((x) => x.clause === 'settings-tampered')!;
    expect(f.measured).toEqual({ quantity: 'setting cell_ov_protect', value: 3.95, unit: 'V' });
    expect(f.threshold).toEqual({ value: 3.8, unit: 'V', comparison: 'above' });
    expect(f.setting).toMatchObject({
      id: 'cell_ov_protect',
      source: 'change',
      seq: 1,
      previous: 3.75,
      record: ev.changes[0]!.hash,
      snapshot: ev.snapshotDigest,
    });

    // The record it names is the board's params_changed record, inside the signed segments.
    const files = readZipFiles(new Uint8Array(readFileSync(out)));
    expect(files.has(`${DEVICE_DIR}settings.bin`)).toBe(true);
    const root = join(dir, 'root.pem');
    writeFileSync(root, sim.board.storage.read('manufacturing-root.pem')!);
    const device = new Map([...files].filter(([n]) => n.startsWith(DEVICE_DIR)).map(([n, b]) => [n.slice(DEVICE_DIR.length), b]));
    const decoded = decodeDeviceEvidence(device, { rootPublicKeyPem: readFileSync(root, 'utf8') }, hostSignatureVerifier());
    expect(decoded.checks.find((c) => c.id === 'settings-signatures')).toMatchObject({ ok: true });
    const rec = decoded.records.find((x) => x.index === f.records.first)!;
    expect(rec.event).toBe(EVENTS.params_changed);
    expect(Math.abs(rec.t - ev.changes[0]!.t)).toBeLessThanOrEqual(5000);

    // The supplier's verification recomputes the same verdict from the signed records.
    const v = await cli('package', 'verify', out, '--root', root, '--policy', policy);
    expect(v.code, v.out).toBe(0);
    expect(v.out.split('\n')[0]).toMatch(/^VERIFIED: EXCLUDED/);

    // An altered change record fails the settings check (and with it the package).
    const altered = new Map(device);
    const bytes = altered.get('settings.bin')!.slice();
    bytes[bytes.length - 80] ^= 0x01;
    altered.set('settings.bin', bytes);
    const broken = decodeDeviceEvidence(altered, { rootPublicKeyPem: readFileSync(root, 'utf8') }, hostSignatureVerifier());
    expect(broken.checks.find((c) => c.id === 'settings-signatures')).toMatchObject({ ok: false });
  });
});
