import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSim, type RunningSim } from '../../../firmware/sim/run.js';
import { pullLog } from '../../../electron/host/blackbox/index.js';
import { decodePreamble, encodePreamble, PREAMBLE_SIZE } from '../../../shared/blackbox/pslog-format.js';
import { Session } from '../../../electron/host/session.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { readZipFiles } from '../../../shared/codec/zip.js';
import { cli } from '../../unit/evidence/cli-harness.js';
import { requirePython } from '../cli-process.js';

/** package create --log: from a .pslog pulled earlier, with photos and a supplier policy; and its typed refusals. */
const dir = mkdtempSync(join(tmpdir(), 'packscope-pslog-'));
process.env.PACKSCOPE_CONFIG_DIR = join(dir, 'config');
const sims: RunningSim[] = [];
afterAll(async () => {
  for (const s of sims) await s.stop();
});

describe('package create --log', () => {
  it('packages a pulled .pslog; refuses bad claims, policies, photos and partial logs with typed errors', async () => {
    requirePython();
    const sim = await runSim({ pty: true, unpaced: true, scenario: 'over-current', prefillHours: 1, cells: 8, seed: 21 });
    sims.push(sim);
    const log = join(dir, 'pack.pslog');
    const session = await Session.open(sim.path!);
    try {
      await pullLog(session.native!.link, { out: log, identity: session.info });
    } finally {
      await session.close();
    }
    const claim = join(dir, 'claim.json');
    const claimDoc = {
      customer: 'Jane Doe',
      contact: '+49 30 1234567',
      model: sim.board.identity.model,
      serial: sim.board.identity.serial,
      purchaseDate: new Date(Date.now() - 10 * 86_400_000).toISOString().slice(0, 10),
      description: 'Cuts out under load.',
      remedy: 'repair',
    };
    writeFileSync(claim, JSON.stringify(claimDoc));
    // A stricter supplier policy: 1.5C discharge limit.
    const policy = join(dir, 'policy.json');
    const strict = structuredClone(DEFAULT_POLICY);
    strict.id = 'acme-2026';
    (strict.voidConditions[0] as { thresholdC: number }).thresholdC = 1.5;
    writeFileSync(policy, JSON.stringify(strict));
    const photo = join(dir, 'burn.jpg');
    writeFileSync(photo, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]));
    const out = join(dir, 'claim.psdiag');

    const r = await cli('package', 'create', '--log', log, '--claim', claim, '--policy', policy, '--photo', photo, '--out', out);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^EXCLUDED by clause over-discharge-current/);
    expect(r.out).toMatch(/misuse {2}over-discharge-current: \d+(\.\d+)? A \(\d\.\d+C\) for \d+(\.\d+)? s, .* records \d+–\d+ \(extreme \d+\)/);
    expect(r.out).toMatch(/signed by installation key SHA256:/);
    // No keyring on the command line: it says where the key is and what that means.
    expect(r.out).toMatch(
      /note: The command line does not use a desktop keyring, so the key that signs your packages is kept in a file only your user account can read \(mode 0600\)\. It is not encrypted/,
    );
    const files = readZipFiles(new Uint8Array(readFileSync(out)));
    expect(files.has('photos/01-burn.jpg')).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(files.get('evaluation.json')!)).policy.id).toBe('acme-2026');
    const root = join(dir, 'root.pem');
    writeFileSync(root, sim.board.storage.read('manufacturing-root.pem')!);
    expect((await cli('package', 'verify', out, '--root', root)).code).toBe(0);

    const before = readdirSync(dir).sort();
    writeFileSync(join(dir, 'bad-claim.json'), JSON.stringify({ ...claimDoc, remedy: 'refund', purchaseDate: '2026-13-01' }));
    const badClaim = await cli('package', 'create', '--log', log, '--claim', join(dir, 'bad-claim.json'), '--out', join(dir, 'x.psdiag'));
    expect(badClaim.code).toBe(2);
    expect(badClaim.err).toMatch(/purchaseDate: not a calendar date/);
    expect(badClaim.err).toMatch(/remedy: remedy must be one of repair, replacement, consultation/);
    writeFileSync(join(dir, 'bad-policy.json'), JSON.stringify({ ...strict, warranty: { periodDays: 0, doaDays: 0 } }));
    const badPolicy = await cli('package', 'create', '--log', log, '--claim', claim, '--policy', join(dir, 'bad-policy.json'), '--out', join(dir, 'x.psdiag'));
    expect(badPolicy.code).toBe(7);
    expect(badPolicy.err).toMatch(/warranty.periodDays: Too small/);
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    const badPhoto = await cli('package', 'create', '--log', log, '--claim', claim, '--photo', join(dir, 'notes.txt'), '--out', join(dir, 'x.psdiag'));
    expect(badPhoto.code).toBe(2);
    expect(badPhoto.err).toMatch(/is not a JPEG, PNG, WebP or HEIC image/);
    const both = await cli('package', 'create', '--log', log, '--port', sim.path!, '--claim', claim, '--out', join(dir, 'x.psdiag'));
    expect(both.code).toBe(2);
    const noDir = await cli('package', 'create', '--log', log, '--claim', claim, '--out', join(dir, 'missing', 'x.psdiag'));
    expect(noDir.code).toBe(3);
    // A download that never finished is refused, not packaged as if it were the whole log.
    const partial = new Uint8Array(readFileSync(log));
    partial.set(encodePreamble({ ...decodePreamble(partial.subarray(0, PREAMBLE_SIZE)), complete: false }), 0);
    writeFileSync(join(dir, 'partial.pslog'), partial);
    const part = await cli('package', 'create', '--log', join(dir, 'partial.pslog'), '--claim', claim, '--out', join(dir, 'x.psdiag'));
    expect(part.code).toBe(7);
    expect(part.err).toMatch(/is a partial download/);
    // Nothing half-written was left behind by the refusals.
    expect(readdirSync(dir).sort()).toEqual([...before, 'bad-claim.json', 'bad-policy.json', 'notes.txt', 'partial.pslog'].sort());
  });
});
