import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackscopeApi } from '../../../shared/api/contract.js';
import { SeriesIndex } from '../../../electron/host/blackbox/series-index.js';
import { PslogSource } from '../../../renderer/source/range-source.js';
import { writeSyntheticPslog } from '../../support/synthetic-pslog.js';

/**
 * The Logs screen's block loader against a real range index (the host's log.series, called in
 * process): what a zoom step finds already here, and what it still has to ask for.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-range-source-'));
const file = path.join(dir, 'log.pslog');
const N = 40_000;
let index: SeriesIndex;
const calls: Array<{ t0?: number; t1?: number }> = [];
const api = {
  call: async (method: string, params: { t0?: number; t1?: number; buckets: number; channels: string[] }) => {
    if (method !== 'log.series') throw new Error(`unexpected ${method}`);
    calls.push(params);
    return index.series(params);
  },
} as unknown as PackscopeApi;
// Change notifications come once per animation frame; here a frame is the next macrotask.
const raf = globalThis.requestAnimationFrame;

beforeAll(async () => {
  globalThis.requestAnimationFrame = ((cb: FrameRequestCallback) => setTimeout(() => cb(performance.now()), 0)) as unknown as typeof requestAnimationFrame;
  await writeSyntheticPslog(file, { records: N, cells: 4, temps: 2, spike: { at: 23_456, length: 1, current: 250 } });
  index = await SeriesIndex.build(file);
}, 60_000);

afterAll(async () => {
  globalThis.requestAnimationFrame = raf;
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

const COLUMNS = 400;
const frame = () => new Promise((r) => setTimeout(r, 5));

describe('the recorded source reads ahead of a zoom', () => {
  it('zoom steps in (twice, around the middle) are drawn from blocks asked for ahead, and those answers redraw nothing', async () => {
    const s = await PslogSource.open(api, file, ['current'], COLUMNS);
    const [a, b] = s.span()!;
    let t0 = a;
    let t1 = b + 1;
    // The first blocks' own notice (they were waited for) comes and goes before counting starts.
    await frame();
    let changes = 0;
    s.onChange(() => changes++);
    const whole = s.series('current', t0, t1, COLUMNS);
    expect(whole.stale).toBeFalsy();
    expect(Math.max(...whole.max)).toBe(250);
    await s.settled();
    await frame();
    expect(changes).toBe(0);
    for (let step = 0; step < 2; step++) {
      const q = (t1 - t0) / 4;
      [t0, t1] = [t0 + q, t1 - q];
      const before = calls.length;
      const d = s.series('current', t0, t1, COLUMNS);
      expect(d.stale).toBeFalsy();
      expect(calls.length).toBe(before);
    }
    // A view far from where the reading ahead went waits for its blocks, and their answer redraws.
    const d = s.series('current', a, a + (t1 - t0), COLUMNS);
    expect(d.stale).toBe(true);
    await s.settled();
    await frame();
    expect(changes).toBeGreaterThan(0);
    expect(s.series('current', a, a + (t1 - t0), COLUMNS).stale).toBeFalsy();
  });

  it('deep in, the raw records of a block serve every narrower view without asking the host again', async () => {
    const s = await PslogSource.open(api, file, ['current'], COLUMNS);
    const [a] = s.span()!;
    // 300 records at one per second: raw at 400 columns.
    let t0 = a + 20_000_000;
    let t1 = t0 + 300_000;
    s.series('current', t0, t1, COLUMNS);
    await s.settled();
    const first = s.series('current', t0, t1, COLUMNS);
    expect(first.full).toBe(true);
    const before = calls.length;
    for (let step = 0; step < 6; step++) {
      const q = (t1 - t0) / 4;
      [t0, t1] = [t0 + q, t1 - q];
      const d = s.series('current', t0, t1, COLUMNS);
      expect(d.stale).toBeFalsy();
      expect(d.full).toBe(true);
      // Every record of the view is there (the block's others lie outside it and are clipped).
      const inView = Array.from(d.t).filter((t) => t >= t0 && t < t1).length;
      expect(inView).toBe(Math.ceil(t1 / 1000) - Math.ceil(t0 / 1000));
    }
    expect(calls.length).toBe(before);
  });
});
