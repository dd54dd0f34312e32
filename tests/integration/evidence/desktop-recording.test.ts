import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import { Session } from '../../../electron/host/session.js';
import { TelemetryRecorder, recordFrom } from '../../../electron/host/recorder/recorder.js';
import { PslogRecordingSink } from '../../../electron/host/recorder/pslog-sink.js';
import { cli } from '../../unit/evidence/cli-harness.js';
import { requirePython } from '../cli-process.js';

/**
 * A commodity BMS (JBD personality over a pty) has no device key: a session recorded on the
 * desktop makes a package that verifies (the installation key signs it) but whose evaluation is
 * inconclusive for lack of signed data, and says so.
 */
const dir = mkdtempSync(join(tmpdir(), 'packscope-desk-'));
process.env.PACKSCOPE_CONFIG_DIR = join(dir, 'config');
const sims: RunningSim[] = [];
afterAll(async () => {
  for (const s of sims) await s.stop();
});

describe('package from a desktop recording', () => {
  it('is labelled unsigned and inconclusive, and still verifies as a package', async () => {
    requirePython();
    const sim = await runSim({ pty: true, personality: 'jbd', baud: 9600, scenario: 'normal', cells: 8, seed: 3 });
    sims.push(sim);
    const session = await Session.open(sim.path!, { protocol: 'jbd' });
    const log = join(dir, 'desk.pslog');
    try {
      const sink = await PslogRecordingSink.create(log, session.info!, { segmentSize: 4096, rateHz: 2, tool: 'packscope test' });
      const rec = new TelemetryRecorder(session.info!, sink);
      const off = recordFrom(session, rec);
      // Eight frames recorded (four seconds at 2 Hz), however long the machine takes for them.
      const eight = new Promise<void>((resolve) => {
        let n = 0;
        const stop = session.on('telemetry', () => ++n === 8 && (stop(), resolve()));
      });
      await session.startTelemetry(2);
      await eight;
      off();
      await rec.stop();
    } finally {
      await session.close();
    }
    const claim = join(dir, 'claim.json');
    writeFileSync(
      claim,
      JSON.stringify({
        customer: 'A',
        contact: 'a@example.org',
        model: 'JBD',
        serial: session.info!.serial || 'unknown',
        purchaseDate: new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10),
        description: 'Low capacity.',
        remedy: 'consultation',
      }),
    );
    const out = join(dir, 'desk.psdiag');
    const r = await cli('package', 'create', '--log', log, '--claim', claim, '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as {
      verdict: string;
      missing: { code: string; message: string }[];
      device: { source: string; publicKeyFingerprint: string | null };
    };
    expect(j.verdict).toBe('inconclusive');
    expect(j.missing.map((m) => m.code)).toContain('unsigned-data');
    expect(j.missing.find((m) => m.code === 'unsigned-data')!.message).toBe('desktop recording without device signatures');
    expect(j.device).toMatchObject({ source: 'desktop', publicKeyFingerprint: null });
    const root = join(dir, 'any-root.pem');
    writeFileSync(root, '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n');
    const v = await cli('package', 'verify', out, '--root', root);
    expect(v.code, v.out).toBe(0);
    expect(v.out.split('\n')[0]).toMatch(/^VERIFIED: INCONCLUSIVE: desktop recording without device signatures/);
    expect(v.out).toMatch(/ok {3}segment-signatures: desktop recording: no device signatures, evaluated as unsigned data/);
    // Not device evidence: it can support a covered verdict only if the supplier's policy allows unsigned data.
    expect(v.out).toMatch(/note: desktop recording: .*requireSignedData to false/);
  });
});
