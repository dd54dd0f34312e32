import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { p256 } from '@noble/curves/nist.js';
import { PslogWriter } from '../../../electron/host/blackbox/pslog.js';
import { decodePreamble, type PslogMeta } from '../../../shared/blackbox/pslog-format.js';
import { DESKTOP_RECORDING_KIND } from '../../../electron/host/recorder/pslog-sink.js';
import { assembleCertificate, certificateTbs, decodeSegments, publicKeyPem, spkiFromPoint, type ParsedSegment } from '../../../shared/blackbox/index.js';
import { toHex } from '../../../shared/util/bytes.js';
import { makeDeviceLog } from '../evidence/device-log.js';
import { cli } from '../evidence/cli-harness.js';
import { PUBLIC, buildChain, record } from './helpers.js';

/**
 * `log export` verifies before it writes: a log that `log verify` would fail is refused (exit 6,
 * first problem named, nothing written) unless --force is given, which exports and still warns.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'pslog-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);

const caSecret = p256.utils.randomSecretKey(new Uint8Array(48).fill(3));
const rootSpki = spkiFromPoint(p256.getPublicKey(caSecret, false));
writeFileSync(at('root.pem'), publicKeyPem(rootSpki));
const otherSpki = spkiFromPoint(p256.getPublicKey(p256.utils.randomSecretKey(new Uint8Array(48).fill(4)), false));
writeFileSync(at('other-root.pem'), publicKeyPem(otherSpki));
const tbs = certificateTbs({ issuedMs: 1, serial: 'PS24-000123', model: 'M', boardId: 'B', devicePublicKey: PUBLIC, issuerSpki: rootSpki });
const cert = assembleCertificate(tbs, p256.sign(tbs, caSecret));
const META: PslogMeta = { format: 'pslog', tool: 'test', pulledAt: '2026-01-01T00:00:00Z', identity: null, certificate: toHex(cert) };
const parsed = decodeSegments(buildChain(6).bytes).flatMap((i) => (i.kind === 'segment' ? [i.segment] : [])) as ParsedSegment[];

async function writeLog(name: string, segs: ParsedSegment[] = parsed, meta: PslogMeta = META, finish = true): Promise<string> {
  const file = at(name);
  const w = await PslogWriter.create(file, meta, segs[0]!.bytes.length);
  await w.appendMany(segs);
  if (finish) await w.finish(null);
  else await w.close();
  return finish ? file : `${file}.partial`;
}

/** Flips one byte in the records of the third stored segment (counter 102). */
function tamper(file: string): void {
  const bytes = readFileSync(file);
  const seg0 = decodePreamble(bytes.subarray(0, 64)).segmentsOffset;
  bytes[seg0 + 2 * 512 + 300]! ^= 0x40;
  writeFileSync(file, bytes);
}

/** Files in the directory besides the inputs: outputs and any temporary leftovers. */
const outputs = () => readdirSync(dir).filter((f) => /\.(csv|jsonl)$|\.tmp-|\.part$/.test(f));

describe('log export verifies before it writes', () => {
  it('exports a log that verifies, without a warning; with --root the certificate is checked too', async () => {
    const log = await writeLog('clean.pslog');
    const r = await cli('log', 'export', log, '--csv', at('clean.csv'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    const lines = readFileSync(at('clean.csv'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(25);
    const j = await cli('log', 'export', log, '--jsonl', at('clean.jsonl'), '--root', at('root.pem'), '--json');
    expect(j.code, j.err).toBe(0);
    expect(JSON.parse(j.out)).toMatchObject({ records: 24, verified: true });
    expect(readFileSync(at('clean.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(24);

    const wrongRoot = await cli('log', 'export', log, '--csv', at('wrong-root.csv'), '--root', at('other-root.pem'));
    expect(wrongRoot.code).toBe(6);
    expect(wrongRoot.err).toMatch(/does not verify: device certificate/);
    expect(existsSync(at('wrong-root.csv'))).toBe(false);
  });

  it('refuses a tampered log (exit 6, first problem named, nothing written) unless --force', async () => {
    const log = await writeLog('tampered.pslog');
    tamper(log);
    const before = outputs();
    const r = await cli('log', 'export', log, '--csv', at('tampered.csv'));
    expect(r.code).toBe(6);
    expect(r.err).toMatch(/tampered\.pslog does not verify: .*segment 102/);
    expect(r.err).toMatch(/Nothing was exported.*--force/);
    expect(outputs()).toEqual(before);
    const j = await cli('log', 'export', log, '--jsonl', at('tampered.jsonl'), '--json');
    expect(j.code).toBe(6);
    expect(JSON.parse(j.out).error).toMatchObject({ code: 'VERIFY_FAILED', message: expect.stringMatching(/segment 102/) });
    expect(outputs()).toEqual(before);

    const forced = await cli('log', 'export', log, '--csv', at('tampered.csv'), '--force', '--json');
    expect(forced.code, forced.err).toBe(0);
    expect(forced.err).toMatch(/^warning: .*tampered\.pslog does not verify: .*segment 102.*Exporting it anyway \(--force\)/);
    expect(JSON.parse(forced.out)).toMatchObject({ verified: false, problem: expect.stringMatching(/segment 102/) });
    expect(readFileSync(at('tampered.csv'), 'utf8').split('\n')[0]).toMatch(/pack_voltage_V/);
    expect(outputs().filter((f) => /\.tmp-|\.part$/.test(f))).toEqual([]);
  });

  it('refuses a broken chain, a partial download and a log with no usable device certificate', async () => {
    const gap = await writeLog('gap.pslog', [...parsed.slice(0, 3), ...parsed.slice(4)]);
    const g = await cli('log', 'export', gap, '--csv', at('gap.csv'));
    expect(g.code).toBe(6);
    expect(g.err).toMatch(/does not verify: .*103/);
    expect(existsSync(at('gap.csv'))).toBe(false);

    const partial = await writeLog('cut.pslog', parsed, META, false);
    const p = await cli('log', 'export', partial, '--csv', at('cut.csv'));
    expect(p.code).toBe(6);
    expect(p.err).toMatch(/does not verify: .*partial download/);
    const pf = await cli('log', 'export', partial, '--csv', at('cut.csv'), '--force');
    expect(pf.code, pf.err).toBe(0);
    expect(pf.err).toMatch(/warning: .*partial download/);
    expect(readFileSync(at('cut.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(25);

    // Claims to be a device's black box, but carries no certificate to check its signatures by.
    const unsigned = await writeLog('nocert.pslog', parsed, { ...META, certificate: '' });
    const u = await cli('log', 'export', unsigned, '--csv', at('nocert.csv'));
    expect(u.code).toBe(6);
    expect(u.err).toMatch(/does not verify: no usable device certificate/);
    expect(existsSync(at('nocert.csv'))).toBe(false);
  });

  it('refuses a log whose checkpoint does not verify', async () => {
    const dev = makeDeviceLog(
      Array.from({ length: 120 }, (_, i) => record(1_700_000_000_000 + i * 1000, i)),
      { segmentSize: 1024 },
    );
    const segs = decodeSegments(dev.segments).flatMap((i) => (i.kind === 'segment' ? [i.segment] : [])) as ParsedSegment[];
    expect(dev.checkpoint).not.toBeNull();
    const meta: PslogMeta = { ...META, certificate: toHex(dev.certificate!), nonce: toHex(dev.checkpoint!.nonce) };
    const file = at('checkpoint.pslog');
    const w = await PslogWriter.create(file, meta, 1024);
    await w.appendMany(segs);
    await w.finish(dev.checkpoint);
    const ok = await cli('log', 'export', file, '--csv', at('checkpoint-ok.csv'), '--json');
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ records: 120, verified: true });

    const bytes = readFileSync(file);
    const pre = decodePreamble(bytes.subarray(0, 64));
    const nonceLen = bytes[pre.checkpointOffset + 10]!;
    bytes[pre.checkpointOffset + 11 + nonceLen + 5]! ^= 0x01; // inside the checkpoint signature
    writeFileSync(file, bytes);
    const bad = await cli('log', 'export', file, '--csv', at('checkpoint-bad.csv'));
    expect(bad.code).toBe(6);
    expect(bad.err).toMatch(/does not verify: .*checkpoint/i);
    expect(existsSync(at('checkpoint-bad.csv'))).toBe(false);
  });

  it('exports an unsigned desktop recording with a warning; usage errors exit 2', async () => {
    const meta = {
      ...META,
      certificate: '',
      desktopRecording: {
        kind: DESKTOP_RECORDING_KIND,
        signedByDevice: false,
        evidence: 'weaker: unsigned desktop recording (no device key); timestamps from the host clock',
        protocol: 'jbd',
        startedAt: '2026-01-01T00:00:00Z',
        rateHz: 1,
      },
    } as PslogMeta;
    const rec = await writeLog('desktop.pslog', parsed, meta);
    const r = await cli('log', 'export', rec, '--csv', at('desktop.csv'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/warning: .*unsigned desktop recording of a jbd board/);
    expect(existsSync(at('desktop.csv'))).toBe(true);

    expect((await cli('log', 'export', rec, '--force')).code).toBe(2);
    expect((await cli('log', 'export', '--csv', at('x.csv'))).code).toBe(2);
    expect((await cli('log', 'export', at('missing.pslog'), '--csv', at('x.csv'))).code).toBe(3);
    expect((await cli('log', 'export', rec, '--csv', at('x.csv'), '--root', at('missing.pem'))).code).toBe(3);
  });
});
