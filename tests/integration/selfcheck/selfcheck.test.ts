import { afterAll, describe, expect, it } from 'vitest';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import { Session } from '../../../electron/host/session.js';
import { SelfCheck, STEPS } from '../../../electron/host/selfcheck/selfcheck.js';
import { cli } from '../../unit/evidence/cli-harness.js';
import { requirePython } from '../cli-process.js';

const sims: RunningSim[] = [];
afterAll(async () => {
  for (const s of sims) await s.stop();
});

describe('self-check over a pseudo-terminal', () => {
  it('a healthy pack at rest: every step measured, no problem found (CLI --json)', async () => {
    requirePython();
    const sim = await runSim({ pty: true, scenario: 'normal', prefillHours: 1, cells: 8, seed: 5 });
    sims.push(sim);
    const r = await cli(
      'selfcheck',
      '--port',
      sim.path!,
      '--json',
      '--sample-seconds',
      '2',
      '--charger-voltage',
      '29.2',
      '--charger-current',
      '20',
      '--latest-firmware',
      '0.9.0',
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as {
      outcome: string;
      summary: string;
      steps: { id: string; status: string; measured: string; normal: string; meaning: string }[];
    };
    expect(j.steps.map((s) => s.id)).toEqual(STEPS.map((s) => s.id));
    for (const s of j.steps) {
      expect(s.status, `${s.id}: ${s.meaning}`).toBe('pass');
      expect(s.measured.length && s.normal.length && s.meaning.length).toBeTruthy();
    }
    expect(j.steps.find((s) => s.id === 'blackbox')!.measured).toMatch(/signature verified/);
    expect(j.outcome).toBe('no-problem-found');
    expect(j.summary).toBe('No problem found.');
  });

  it('step by step, as the wizard drives it: an unsuitable charger and an old firmware are flagged, a step can run again', async () => {
    requirePython();
    const sim = await runSim({ pty: true, scenario: 'normal', cells: 8, seed: 6 });
    sims.push(sim);
    const session = await Session.open(sim.path!);
    try {
      const check = new SelfCheck(session, { sampleSeconds: 1, charger: { voltageV: 36, currentA: 20 }, latestFirmware: '9.0.0' });
      expect((await check.runStep('charger')).status).toBe('warn');
      expect((await check.runStep('identity')).meaning).toMatch(/Firmware 9.0.0 is available/);
      const again = await check.runStep('cell-spread');
      expect(again.status).toBe('pass');
      const c = check.conclusion();
      expect(c.outcome).toBe('no-problem-found');
      expect(c.summary).toMatch(/Something to do: see identity and firmware, charger against the pack limits\./);
    } finally {
      await session.close();
    }
  });

  it('human output: what was measured, what is normal, what it means, then the outcome', async () => {
    requirePython();
    const sim = await runSim({ pty: true, scenario: 'normal', cells: 8, seed: 7 });
    sims.push(sim);
    const r = await cli('selfcheck', '--port', sim.path!, '--sample-seconds', '1');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^\[PASS\] Cell balance at rest\n {2}measured: spread \d+ mV/m);
    expect(r.out).toMatch(/ {2}normal: {3}no cell more than 50 mV from the others at rest/);
    expect(r.out.trim().split('\n').pop()).toMatch(/^No problem found/);
    expect((await cli('selfcheck')).code).toBe(2);
  });
});
