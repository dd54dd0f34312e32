import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPslog } from '../../../electron/host/blackbox/pslog.js';
import { SeriesIndex } from '../../../electron/host/blackbox/series-index.js';
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
  const ids = layoutChannels(4, ['cells1', 'mosfet']).map((c) => c.id);
  for (const id of ids) raw.cols.set(id, []);
  const vals = new Float64Array(ids.length);
  const reader = await openPslog(file);
  for await (const r of reader.records()) {
    raw.t.push(r.t);
    channelValuesInto(r, vals);
    ids.forEach((id, c) => raw.cols.get(id)!.push(vals[c]!));
  }
  await reader.close();
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
