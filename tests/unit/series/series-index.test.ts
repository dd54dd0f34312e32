import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPslog } from '../../../electron/host/blackbox/pslog.js';
import { SeriesIndex, SeriesIndexCache } from '../../../electron/host/blackbox/series-index.js';
import { bucketOf } from '../../../shared/series/buckets.js';
import { channelValuesInto, layoutChannels } from '../../../shared/series/channels.js';
import { writeSyntheticPslog } from '../../support/synthetic-pslog.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-series-'));
const file = path.join(dir, 'random.pslog');
const N = 9000;
let index: SeriesIndex;
/** The raw log, decoded the ordinary way: time and every channel per record. */
const raw: { t: number[]; cols: Map<string, number[]> } = { t: [], cols: new Map() };
let span: [number, number];

/** Every record of a test log (4 cells, two sensors) decoded the ordinary way, into `into`. */
async function readRaw(path: string, into: { t: number[]; cols: Map<string, number[]> }): Promise<void> {
  const ids = layoutChannels(4, ['cells1', 'mosfet']).map((c) => c.id);
  for (const id of ids) into.cols.set(id, []);
  const vals = new Float64Array(ids.length);
  const reader = await openPslog(path);
  for await (const r of reader.records()) {
    into.t.push(r.t);
    channelValuesInto(r, vals);
    ids.forEach((id, c) => into.cols.get(id)!.push(vals[c]!));
  }
  await reader.close();
}

beforeAll(async () => {
  let s = 7;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  // Random values with rare spikes on every channel, and a quiet hour in the middle.
  await writeSyntheticPslog(file, {
    records: N,
    cells: 4,
    temps: 2,
    stepMs: 1000,
    gap: { at: 5000, ms: 3_600_000 },
    eventEvery: 700,
    frame: (_i, f) => {
      f.current = Math.round((rnd() - 0.5) * (rnd() < 0.002 ? 400_000 : 40_000)) / 1000;
      f.cellVoltages = f.cellVoltages.map(() => Math.round(3000 + rnd() * (rnd() < 0.002 ? 1500 : 300)) / 1000);
      f.temperatures = f.temperatures.map(() => Math.round(20 + rnd() * (rnd() < 0.002 ? 60 : 10)));
    },
  });
  await readRaw(file, raw);
  index = await SeriesIndex.build(file);
  span = [raw.t[0]!, raw.t[raw.t.length - 1]!];
}, 60_000);

afterAll(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('range reads of a .pslog (log.series)', () => {
  it('names every channel: pack values, each cell and each temperature sensor by name', () => {
    expect(index.available.map((c) => c.id)).toEqual([
      'packVoltage',
      'current',
      'power',
      'soc',
      'cellMin',
      'cellMax',
      'tempMin',
      'tempMax',
      'cell1',
      'cell2',
      'cell3',
      'cell4',
      'temp:cells1',
      'temp:mosfet',
    ]);
    expect(raw.t.length).toBe(N);
  });

  it('for random ranges and column counts, every channel’s extremes inside the range appear in the reply', async () => {
    const ids = [...raw.cols.keys()];
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 3000 }),
        async (x, y, buckets) => {
          const len = span[1] - span[0] + 1;
          const t0 = span[0] + Math.floor(Math.min(x, y) * len);
          const t1 = t0 + 1 + Math.floor(Math.abs(x - y) * len);
          const r = await index.series({ t0, t1, buckets, channels: ids });
          const inRange = raw.t.map((t, i) => [t, i] as const).filter(([t]) => t >= t0 && t < t1);
          if (r.mode === 'raw') expect(r.t).toEqual(inRange.map(([t]) => t));
          else expect(r.counts.reduce((a, b) => a + b, 0)).toBe(inRange.length);
          for (const id of ids) {
            const vs = inRange.map(([, i]) => raw.cols.get(id)![i]!);
            const ch = r.channels[id]!;
            const got = ('v' in ch ? ch.v : [...ch.min, ...ch.max]).filter((v): v is number => v !== null);
            if (!vs.length) expect(got).toEqual([]);
            else {
              expect(Math.max(...got)).toBe(Math.max(...vs));
              expect(Math.min(...got)).toBe(Math.min(...vs));
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);

  it('columns agree with the raw records one by one, and the quiet hour is a gap', async () => {
    const t0 = span[0];
    const t1 = span[1] + 1;
    const r = await index.series({ t0, t1, buckets: 97, channels: ['current'] });
    expect(r.mode).toBe('buckets');
    const ch = r.channels.current as { min: Array<number | null>; max: Array<number | null>; first: Array<number | null>; last: Array<number | null> };
    for (let b = 0; b < 97; b++) {
      const vs = raw.t.flatMap((t, i) => (bucketOf({ t0, t1, buckets: 97 }, t) === b ? [raw.cols.get('current')![i]!] : []));
      if (!vs.length) {
        expect(ch.min[b]).toBeNull();
        continue;
      }
      expect([ch.min[b], ch.max[b], ch.first[b], ch.last[b]]).toEqual([Math.min(...vs), Math.max(...vs), vs[0], vs[vs.length - 1]]);
    }
    expect(r.gaps).toEqual([[raw.t[4999], raw.t[5000]]]);
  });

  it('blocks on the time grid (the chart’s reads above the finest zooms) merge whole leaves: exact columns, no record decoded', async () => {
    expect(index.gridMs).toBeLessThan(span[1] - span[0]);
    const ids = [...raw.cols.keys()];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 8 }), fc.constantFrom(1, 16, 256), fc.double({ min: 0, max: 1, noNaN: true }), async (k, buckets, x) => {
        const w = index.gridMs * 2 ** k;
        const blockMs = w * buckets;
        const t0 = Math.floor((span[0] + x * (span[1] - span[0])) / blockMs) * blockMs;
        const t1 = t0 + blockMs;
        const decoded = index.stats.leavesDecoded;
        const r = await index.series({ t0, t1, buckets, channels: ids });
        if (r.mode === 'raw') return;
        expect(index.stats.leavesDecoded).toBe(decoded);
        // Each column as the raw records give it: [min, max, first, last] (null where empty).
        const cols = new Map<number, number[]>();
        raw.t.forEach((t, i) => {
          if (!(t >= t0 && t < t1)) return;
          const b = Math.floor((t - t0) / w);
          if (!cols.has(b)) cols.set(b, []);
          cols.get(b)!.push(i);
        });
        for (const id of ids) {
          const ch = r.channels[id] as Record<'min' | 'max' | 'first' | 'last', Array<number | null>>;
          const got = Array.from({ length: buckets }, (_, b) => [ch.min[b], ch.max[b], ch.first[b], ch.last[b]]);
          const want = Array.from({ length: buckets }, (_, b) => {
            const vs = (cols.get(b) ?? []).map((i) => raw.cols.get(id)![i]!);
            return vs.length ? [Math.min(...vs), Math.max(...vs), vs[0], vs[vs.length - 1]] : [null, null, null, null];
          });
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it('a pass over the whole log (log.open verifies behind the chart) lets the range reads on their way go first', async () => {
    const cache = new SeriesIndexCache();
    try {
      await cache.get(file);
      const order: string[] = [];
      const read = cache.series(file, { buckets: 100, channels: ['current'] }).then(() => order.push('read'));
      await cache.yieldToReads().then(() => order.push('pass'));
      await read;
      expect(order).toEqual(['read', 'pass']);
      // Nothing on its way: the pass goes on.
      await cache.yieldToReads();
    } finally {
      await cache.closeAll();
    }
  });

  it('pages events by range and never cuts them', () => {
    const all = index.events({ limit: 5000 });
    let from: number | null = 0;
    const paged: number[] = [];
    while (from !== null) {
      const p = index.events({ from, limit: 1 });
      paged.push(...p.events.map((e) => e.index));
      from = p.next;
    }
    expect(paged).toEqual(all.events.map((e) => e.index));
    expect(all.total).toBeGreaterThan(10);
    expect(all.events[0]!.label).toMatch(/^Charger (connected|disconnected)$/);
    expect(all.total).toBe(all.events.length);
  });
});

describe('range reads of a log whose clock stepped back', () => {
  it('every column still holds exactly the records it covers (leaves cut at the time grid overlap in time)', async () => {
    const back = path.join(dir, 'clock-back.pslog');
    // Records 1500–1799 were stamped 400 s early (a clock corrected backwards, then forwards again).
    await writeSyntheticPslog(back, { records: 3000, cells: 4, temps: 2, frame: (i, f) => void (i >= 1500 && i < 1800 && (f.t -= 400_000)) });
    const r0: { t: number[]; cols: Map<string, number[]> } = { t: [], cols: new Map() };
    await readRaw(back, r0);
    const idx = await SeriesIndex.build(back);
    try {
      const lo = Math.min(...r0.t);
      const hi = Math.max(...r0.t) + 1;
      await fc.assert(
        fc.asyncProperty(
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.integer({ min: 1, max: 600 }),
          async (x, y, buckets) => {
            const t0 = lo + Math.floor(Math.min(x, y) * (hi - lo));
            const t1 = t0 + 1 + Math.floor(Math.abs(x - y) * (hi - lo));
            const r = await idx.series({ t0, t1, buckets, channels: ['current', 'cell2'] });
            const g = { t0, t1, buckets };
            for (const id of ['current', 'cell2']) {
              const ch = r.channels[id]!;
              if ('v' in ch) {
                expect(ch.v).toEqual(r0.t.flatMap((t, i) => (t >= t0 && t < t1 ? [r0.cols.get(id)![i]] : [])));
                continue;
              }
              const want: Array<Array<number | null>> = Array.from({ length: buckets }, () => [null, null, null, null]);
              r0.t.forEach((t, i) => {
                const b = bucketOf(g, t);
                if (b < 0) return;
                const v = r0.cols.get(id)![i]!;
                const c = want[b]!;
                c[0] = c[0] === null ? v : Math.min(c[0], v);
                c[1] = c[1] === null ? v : Math.max(c[1], v);
                c[2] ??= v;
                c[3] = v;
              });
              expect(Array.from({ length: buckets }, (_, b) => [ch.min[b], ch.max[b], ch.first[b], ch.last[b]])).toEqual(want);
            }
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      await idx.close();
    }
  }, 60_000);
});
