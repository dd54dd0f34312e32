import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import type { ScenarioName } from '../../../firmware/sim/pack/types.js';
import { decodeDeviceEvidence } from '../../../shared/evidence/blackbox-evidence.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import type { Finding } from '../../../shared/warranty/evaluation.js';
import { DEVICE_DIR } from '../../../shared/evidence/package.js';
import { readZipFiles } from '../../../shared/codec/zip.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import { cli } from '../../unit/evidence/cli-harness.js';
import { requirePython } from '../cli-process.js';
import { hostSignatureVerifier } from '../../../electron/host/evidence/fast-verify.js';

/**
 * Acceptance: for each simulator scenario, a package made from a log pulled over a real
 * pseudo-terminal gets the expected verdict, every finding points at records that show it, and
 * the package verifies against the board's manufacturing root.
 */
const dir = mkdtempSync(join(tmpdir(), 'packscope-scen-'));
process.env.PACKSCOPE_CONFIG_DIR = join(dir, 'config');
const sims: RunningSim[] = [];
afterAll(async () => {
  for (const s of sims) await s.stop();
});

/** The records of a finding's run satisfy its clause, and the extreme record carries the measured value. */
function checkFinding(f: Finding, byIndex: Map<number, LogRecord>, capacityAh: number): void {
  const clause = [...DEFAULT_POLICY.voidConditions, ...DEFAULT_POLICY.defectIndicators].find((c) => c.id === f.clause)!;
  const ext = byIndex.get(f.records.extreme)!;
  expect(ext, `record ${f.records.extreme}`).toBeDefined();
  const run: LogRecord[] = [];
  for (let i = f.records.first; i <= f.records.last; i++) run.push(byIndex.get(i)!);
  expect((run[run.length - 1]!.t - run[0]!.t) / 1000).toBeCloseTo(f.durationS, 3);
  const every = (p: (r: LogRecord) => boolean) => expect(run.every(p), `${f.clause} holds on records ${f.records.first}–${f.records.last}`).toBe(true);
  switch (clause.kind) {
    case 'discharge_current_above_c':
      every((r) => -r.current > clause.thresholdC * capacityAh);
      expect(-ext.current).toBeCloseTo(f.measured.value, 1);
      break;
    case 'charge_current_above_c':
      every((r) => r.current > clause.thresholdC * capacityAh);
      break;
    case 'charge_below_temperature':
      every((r) => r.current > clause.minChargeCurrentA && Math.min(...r.temperatures) < clause.thresholdCelsius);
      expect(Math.min(...ext.temperatures)).toBeCloseTo(f.measured.value, 1);
      break;
    case 'temperature_above':
      every((r) => Math.max(...r.temperatures) > clause.thresholdCelsius);
      break;
    case 'cell_voltage_below':
      every((r) => Math.min(...r.cellVoltages) < clause.thresholdV);
      expect(ext.cellVoltages[f.measured.cell!]).toBeCloseTo(f.measured.value, 3);
      break;
    case 'cell_voltage_above':
      every((r) => Math.max(...r.cellVoltages) > clause.thresholdV);
      break;
    case 'cell_drift_at_rest':
      every((r) => Math.abs(r.current) <= clause.restCurrentA);
      break;
    case 'bms_fault':
      every((r) => r.alarms !== 0 || r.event !== 0);
      break;
    case 'capacity_fade':
      expect(f.records.last).toBeGreaterThan(f.records.first);
      break;
  }
}

// Hours of history each board synthesises: enough for the scenario's story, no more, to keep the
// test quick. The weak cell's capacity fade needs 40 % of state-of-charge swing in windows where
// counted charge and SOC agree, and windows break at every boot: 12 hours hold enough of them.
const CASES: [ScenarioName, 'covered' | 'excluded', string | null, number][] = [
  ['normal', 'covered', null, 3],
  // Two hours of normal cycling include the handover from synthesised history to live data: no capacity fade.
  ['normal', 'covered', null, 2],
  ['weak-cell', 'covered', null, 12],
  ['cold-charge', 'excluded', 'cold-charge', 2],
  ['over-discharge', 'excluded', 'deep-discharge', 2],
  ['over-current', 'excluded', 'over-discharge-current', 2],
];

describe('packages from pulled logs, per simulator scenario', () => {
  it.each(CASES)('%s → %s %s (%d h)', async (scenario, verdict, clause, hours) => {
    requirePython();
    const sim = await runSim({ pty: true, unpaced: true, scenario, prefillHours: hours, cells: 8, seed: 11, stateDir: join(dir, `${scenario}-${hours}`) });
    sims.push(sim);
    const name = `${scenario}-${hours}h`;
    const root = join(dir, `${name}-root.pem`);
    writeFileSync(root, sim.board.storage.read('manufacturing-root.pem')!);
    const claim = join(dir, `${name}-claim.json`);
    const purchase = new Date(Date.now() - 60 * 86_400_000).toISOString().slice(0, 10);
    writeFileSync(
      claim,
      JSON.stringify({
        customer: 'Jane Doe',
        contact: 'jane@example.org',
        model: sim.board.identity.model,
        serial: sim.board.identity.serial,
        purchaseDate: purchase,
        description: 'The pack stops delivering power after a few minutes.',
        remedy: 'replacement',
      }),
    );
    // The supplier issues a claim ticket; the customer's pull seals the board's checkpoint over its nonce.
    const key = join(dir, `${name}-supplier.pem`);
    expect((await cli('claim', 'keygen', '--out', key)).code).toBe(0);
    const ticket = join(dir, `${name}.psticket`);
    expect((await cli('claim', 'ticket', '--key', key, '--serial', sim.board.identity.serial, '--out', ticket)).code).toBe(0);
    const out = join(dir, `${name}.psdiag`);
    const r = await cli('package', 'create', '--port', sim.path!, '--ticket', ticket, '--claim', claim, '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out) as { verdict: string; excludedBy: string[]; defects: string[]; findings: Finding[]; missing: unknown[] };
    expect(res.verdict, JSON.stringify(res.missing)).toBe(verdict);
    if (clause) expect(res.excludedBy).toContain(clause);
    else expect(res.excludedBy).toEqual([]);
    expect(res.missing).toEqual([]);
    if (clause) expect(res.findings.some((f) => f.clause === clause)).toBe(true);
    // The weak cell is found as a defect; a healthy pack shows none.
    if (scenario === 'weak-cell') expect(res.defects.length).toBeGreaterThan(0);
    if (scenario === 'normal') expect(res.defects).toEqual([]);

    // Every finding points at records that show it, in the package's own raw data.
    const files = readZipFiles(new Uint8Array(readFileSync(out)));
    const device = new Map([...files].filter(([n]) => n.startsWith(DEVICE_DIR)).map(([n, b]) => [n.slice(DEVICE_DIR.length), b]));
    const ev = decodeDeviceEvidence(device, { rootPublicKeyPem: readFileSync(root, 'utf8') }, hostSignatureVerifier());
    const byIndex = new Map(ev.records.map((x) => [x.index, x]));
    for (const f of res.findings) checkFinding(f, byIndex, ev.device.nominalCapacityAh!);

    // The supplier decides with its own policy, root and ticket key, and reproduces the honest verdict.
    const policy = join(dir, 'supplier-policy.json');
    writeFileSync(policy, JSON.stringify(DEFAULT_POLICY));
    const v = await cli('package', 'verify', out, '--root', root, '--policy', policy, '--ticket-key', key.replace(/\.pem$/, '.pub.pem'));
    expect(v.code, v.out).toBe(0);
    expect(v.out).toMatch(/freshness: pulled for claim ticket/);
    expect(v.out).toMatch(/decided by policy packscope-default-lfp-1 .*yours/);
    expect(v.out.split('\n')[0]).toMatch(new RegExp(`^VERIFIED: ${verdict.toUpperCase()}`));
  });
});
