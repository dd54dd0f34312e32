import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../electron/host/cli/main.js';

/**
 * `packscope health` against the simulated board in this process (a `sim:` port): it pulls the
 * black box, verifies it, reads the rating from the signed certificate and reports capacity,
 * resistance and histograms; a log that does not verify still gets its report, marked, exit 6.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'ps-health-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal, isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const log = path.join(dir, 'normal.pslog');

beforeAll(async () => {
  const r = await cli('health', '--port', 'sim:?scenario=normal&prefill=24&unpaced=1&seed=5', '--keep', log, '--json');
  expect(r.code, r.err).toBe(0);
});

describe('packscope health', () => {
  it('reports capacity with its uncertainty from a verified log, rated by the signed certificate', async () => {
    const r = await cli('health', '--log', log, '--json');
    expect(r.code, r.err).toBe(0);
    const h = JSON.parse(r.out);
    expect(h).toMatchObject({
      source: 'device',
      verified: true,
      rating: { chemistry: 'lfp', ratedCapacityAh: 100, chemistryFrom: 'certificate', capacityFrom: 'certificate' },
    });
    const cap = h.report.remainingCapacity;
    expect(cap.ah).toBeGreaterThan(96);
    expect(cap.ah).toBeLessThan(101);
    expect(cap.uncertaintyAh).toBeLessThan(3);
    expect(h.report.cells).toHaveLength(16);
    expect(h.report.records).toBeGreaterThan(80_000);
    // The board's signed lifetime counters came with the pull, checked against the log's records.
    expect(h.lifetime).toMatchObject({ verified: true, problems: [], ratedCapacityAh: 100 });
    expect(h.lifetime.countedH).toBeGreaterThanOrEqual(24);
    expect(h.lifetime.checkedRecords).toBe(h.report.records);
  });

  it('prints the report for people, with the regulation note', async () => {
    const r = await cli('health', '--log', log);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Remaining capacity\s+\d+\.\d Ah ± \d+\.\d \(95 %\)/);
    expect(r.out).toMatch(/verified/);
    expect(r.out).toMatch(/Hours by state of charge/);
    expect(r.out).toMatch(/Lifetime counters\s+signed by the device and consistent with the log/);
    expect(r.out).toMatch(/not a certification/);
  });

  it('a rating given by the user wins, and the report says where the rating came from', async () => {
    const r = await cli('health', '--log', log, '--rated-ah', '200', '--json');
    const h = JSON.parse(r.out);
    expect(h.rating).toMatchObject({ ratedCapacityAh: 200, capacityFrom: 'given' });
    expect(h.report.capacityFadePercent).toBeGreaterThan(45);
  });

  it('a log that does not verify is reported, marked, with exit 6', async () => {
    const bytes = readFileSync(log);
    const bad = path.join(dir, 'tampered.pslog');
    const copy = Uint8Array.from(bytes);
    copy[Math.floor(copy.length / 2)]! ^= 0x40;
    writeFileSync(bad, copy);
    const r = await cli('health', '--log', bad);
    expect(r.code).toBe(6);
    expect(r.out).toMatch(/DOES NOT VERIFY/);
    expect(r.out).toMatch(/Remaining capacity/);
  });

  it('bad input: usage errors exit 2, a missing file 3, a file that is not a log 8', async () => {
    expect((await cli('health')).code).toBe(2);
    expect((await cli('health', '--log', log, '--port', 'sim:')).code).toBe(2);
    expect((await cli('health', '--log', log, '--chemistry', 'lead-acid')).code).toBe(2);
    expect((await cli('health', '--log', log, '--keep', 'x.pslog')).code).toBe(2);
    expect((await cli('health', '--log', path.join(dir, 'nope.pslog'))).code).toBe(3);
    const junk = path.join(dir, 'junk.pslog');
    writeFileSync(junk, 'not a log at all');
    const r = await cli('health', '--log', junk);
    expect(r.code).toBe(8);
  });
});

describe('packscope health capacity-test', () => {
  it('runs the guided test on the board and prints the capacity, exit 0', async () => {
    const r = await cli(
      'health',
      'capacity-test',
      '--port',
      'sim:?timescale=10000&unpaced=1&seed=7',
      '--current',
      '50',
      '--rest',
      '600',
      '--poll',
      '0.05',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out);
    expect(res).toMatchObject({
      outcome: 'complete',
      ratedCapacityAh: 100,
      settings: { dischargeA: 50, endCellV: 2.8, chargeA: 50, restS: 600 },
      reason: null,
    });
    expect(res.capacityAh).toBeGreaterThan(94);
    expect(res.capacityAh).toBeLessThan(101);
    // Progress went to stderr as JSON lines, phase by phase, in order (at this pace a poll may
    // fall on either side of a short rest, so a phase may pass unseen).
    const order = ['charging', 'resting-full', 'discharging', 'resting-empty', 'complete'];
    const seen = r.err.split('\n').map((l) => order.indexOf(JSON.parse(l).progress.state as string));
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(4);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
  });

  it('names bad settings with exit 2, and the board refusing them with exit 5', async () => {
    expect((await cli('health', 'capacity-test')).code).toBe(2);
    const bad = await cli('health', 'capacity-test', '--port', 'sim:', '--rest', '-5');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/rest/);
    const refused = await cli('health', 'capacity-test', '--port', 'sim:?unpaced=1', '--current', '900');
    expect(refused.code).toBe(5);
    expect(refused.err).toMatch(/over-current limit/);
  });
});

describe('log pull and log info show the lifetime counters', () => {
  it('log pull prints them and carries them in --json, verified against the pulled records', async () => {
    const out = path.join(dir, 'pulled.pslog');
    const j = await cli('log', 'pull', '--port', 'sim:?scenario=normal&prefill=2&unpaced=1&seed=9', '--out', out, '--json');
    expect(j.code, j.err).toBe(0);
    const res = JSON.parse(j.out);
    expect(res.lifetime).toMatchObject({ verified: true, problems: [], ratedCapacityAh: 100 });
    expect(res.lifetime.countedH).toBeGreaterThanOrEqual(2);
    expect(res.lifetime.checkedRecords).toBe(res.records);
    const t = await cli('log', 'pull', '--port', 'sim:?scenario=normal&prefill=1&unpaced=1&seed=9', '--out', path.join(dir, 'pulled2.pslog'));
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/Lifetime counters\s+signed by the device and consistent with the log/);
    expect(t.out).toMatch(/equivalent cycles\s+\d+\.\d\d \(of 100 Ah\)/);
  });

  it('log info prints them and carries them in --json', async () => {
    const j = await cli('log', 'info', log, '--json');
    expect(j.code, j.err).toBe(0);
    const info = JSON.parse(j.out);
    expect(info.lifetime).toMatchObject({ verified: true, ratedCapacityAh: 100 });
    expect(info.lifetime.countedH).toBeGreaterThanOrEqual(24);
    const t = await cli('log', 'info', log);
    expect(t.out).toMatch(/Lifetime counters\s+signed by the device/);
    expect(t.out).toMatch(/throughput\s+charged \d+\.\d Ah/);
  });
});
