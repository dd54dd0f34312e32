import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPslog } from '../../../electron/host/blackbox/pslog.js';
import { main } from '../../../electron/host/cli/main.js';
import { desktopRecordingEvidence, desktopRecordingOf } from '../../../electron/host/recorder/index.js';
import { decodeDeviceEvidence, deviceFiles } from '../../../shared/evidence/blackbox-evidence.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { evaluate } from '../../../shared/warranty/engine.js';
import { expectMatchesBoard, startRig, type BmsRig } from './harness.js';

/**
 * `packscope monitor --record FILE.pslog` against simulated JBD and Daly boards over a pty: the
 * file is a complete .pslog whose records are the frames monitor printed, flagged as an unsigned
 * desktop recording, with no device certificate.
 */
let rig: BmsRig | null = null;
afterEach(async () => {
  await rig?.stop();
  rig = null;
});

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal, isTTY: false });
  return { code, out, err };
}

describe('monitor --record', () => {
  for (const protocol of ['jbd', 'daly'] as const) {
    it(`records a ${protocol} board into a .pslog flagged as an unsigned desktop recording`, async () => {
      rig = await startRig(protocol);
      const dir = mkdtempSync(join(tmpdir(), 'ps-rec-'));
      const file = join(dir, `${protocol}.pslog`);
      const r = await cli(['monitor', '--port', rig.pty.path, '--protocol', protocol, '--json', '--rate', '4', '--count', '4', '--record', file]);
      expect(r.code, r.err.join('\n')).toBe(0);
      const lines = r.out.map((l) => JSON.parse(l));
      const frames = lines.filter((l) => !l.summary);
      const summary = lines.find((l) => l.summary).summary;
      expect(summary.recording).toMatchObject({ path: file, ended: 'stopped', gaps: [] });
      // Monitoring prints until the port closes; the recording stops just before: at most one frame apart.
      expect(summary.recording.records).toBeGreaterThanOrEqual(frames.length - 1);
      expect(summary.recording.records).toBeGreaterThanOrEqual(3);
      expect(existsSync(`${file}.partial`)).toBe(false);

      const log = await openPslog(file);
      try {
        expect(log.complete).toBe(true);
        expect(log.certificate).toBeNull();
        const d = desktopRecordingOf(log.meta);
        expect(d).toMatchObject({ signedByDevice: false, protocol, rateHz: 4 });
        expect(log.identity).toMatchObject({ protocol, signsEvidence: false, publicKeyFingerprint: null });
        const records = [];
        for await (const rec of log.records()) records.push(rec);
        expect(records.length).toBe(summary.recording.records);
        records.forEach((rec, i) => {
          expect(rec.t).toBe(frames[i].t);
          expect(rec.index).toBe(i);
          expect(rec.segment).toBe(0);
          expectMatchesBoard(protocol, rec, rig!.board);
        });
      } finally {
        await log.close();
      }

      // The package flow takes it as a desktop recording and says the evidence is weaker.
      const ev = decodeDeviceEvidence(deviceFiles(await desktopRecordingEvidence(file)), { rootPublicKeyPem: null });
      expect([ev.source, ev.signature, ev.records.length]).toEqual(['desktop', 'unsigned', summary.recording.records]);
      const evaluation = evaluate({
        records: ev.records,
        policy: DEFAULT_POLICY,
        claim: { customer: 'A', contact: 'a@example.com', model: 'X', serial: 'Y', purchaseDate: '2026-01-01', description: 'no output', remedy: 'repair' },
        facts: { source: ev.source, signature: ev.signature, gaps: ev.gaps, deviceSerial: null, reportedAt: Date.now() },
        nominalCapacityAh: null,
      });
      expect(evaluation.missing.map((m) => m.code)).toContain('unsigned-data');

      // And through the CLI package flow: `package create --log` builds a package whose verdict
      // names the missing device signatures.
      process.env.PACKSCOPE_CONFIG_DIR = join(dir, 'config');
      writeFileSync(
        join(dir, 'claim.json'),
        JSON.stringify({
          customer: 'A',
          contact: 'a@example.com',
          model: 'X',
          serial: 'Y',
          purchaseDate: '2026-01-01',
          description: 'no output',
          remedy: 'repair',
        }),
      );
      const pkg = await cli(['package', 'create', '--log', file, '--claim', join(dir, 'claim.json'), '--out', join(dir, 'claim.psdiag'), '--json']);
      expect(pkg.code, pkg.err.join('\n')).toBe(0);
      const verdict = JSON.parse(pkg.out.join('\n'));
      expect(verdict.verdict).toBe('inconclusive');
      expect(verdict.missing.map((m: { code: string }) => m.code)).toContain('unsigned-data');

      // log info and log verify name it for what it is instead of reporting signature failures.
      const li = await cli(['log', 'info', file]);
      expect(li.code).toBe(0);
      expect(li.out.join('\n')).toMatch(/unsigned desktop recording \(\w+; weaker evidence: no device signatures\)/);
      const lv = await cli(['log', 'verify', file, '--root', join(dir, 'no-such-root.pem')]);
      expect(lv.code).toBe(6);
      expect(lv.out.join('\n')).toMatch(/NOT VERIFIED: unsigned desktop recording of a (jbd|daly) board/);

      // A second recording under the same name is refused rather than replacing the first.
      const again = await cli(['monitor', '--port', rig.pty.path, '--protocol', protocol, '--duration', '0.5', '--record', file]);
      expect(again.code).not.toBe(0);
      expect(again.err.join('\n')).toMatch(/already exists/);
    });
  }
});
