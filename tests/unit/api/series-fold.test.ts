import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { recordsToSeries, SeriesFold } from '../../../electron/host/api/series.js';
import { findGaps, GapFold } from '../../../shared/blackbox/gaps.js';
import { EVENTS } from '../../../shared/blackbox/events.js';
import type { LogRecord } from '../../../shared/types/domain.js';

/**
 * The Verify screen's chart is folded from the records as verification decodes them: a short log
 * gives what recordsToSeries gives; a long one keeps, in every column of consecutive records, the
 * records holding each channel's minimum and maximum, so every extreme of the log is charted.
 */
function record(i: number, t: number, v: { current: number; cell: number; temp: number; event?: number }): LogRecord {
  return {
    index: i,
    segment: 0,
    t,
    packVoltage: 50 + (i % 7) / 10,
    current: v.current,
    soc: 50,
    cellVoltages: [3.3, v.cell, 3.31],
    temperatures: [25, v.temp],
    status: 0,
    alarms: 0,
    event: v.event ?? 0,
  };
}

const logArb = fc
  .array(
    fc.record({
      current: fc.double({ min: -300, max: 300, noNaN: true }),
      cell: fc.double({ min: 2, max: 4, noNaN: true }),
      temp: fc.integer({ min: -20, max: 80 }),
      dt: fc.constantFrom(1000, 1000, 1000, 30_000),
    }),
    {
      minLength: 0,
      maxLength: 400,
    },
  )
  .map((xs) => {
    let t = Date.UTC(2026, 0, 1);
    return xs.map((x, i) => record(i, (t += x.dt), x));
  });

function fold(records: LogRecord[], expected: number, max: number, piece: number) {
  const f = new SeriesFold(expected, max);
  for (let i = 0; i < records.length; i += piece) f.push(records.slice(i, i + piece));
  return f.finish();
}

describe('SeriesFold', () => {
  it('gives recordsToSeries for logs within the limit', () => {
    fc.assert(
      fc.property(logArb, fc.integer({ min: 1, max: 50 }), (records, piece) => {
        expect(fold(records, records.length, 1000, piece)).toEqual(recordsToSeries(records, 1000));
      }),
      { numRuns: 60 },
    );
  });

  it('keeps every channel extreme of a long log, in record order, whatever count was announced', () => {
    fc.assert(
      fc.property(logArb, fc.integer({ min: 14, max: 120 }), fc.integer({ min: 0, max: 600 }), (records, max, expected) => {
        const s = fold(records, Math.max(expected, max + 1), max, 37);
        expect(s.records).toBe(records.length);
        if (!records.length) return;
        expect(s.decimated).toBe(true);
        for (const [key, pick] of [
          ['current', (r: LogRecord) => r.current],
          ['cellMin', (r: LogRecord) => Math.min(...r.cellVoltages)],
          ['tempMax', (r: LogRecord) => Math.max(...r.temperatures)],
        ] as const) {
          const all = records.map(pick);
          expect(s[key]).toContain(Math.min(...all));
          expect(s[key]).toContain(Math.max(...all));
        }
        expect([...s.t].sort((a, b) => a - b)).toEqual(s.t);
      }),
      { numRuns: 60 },
    );
  });

  it('finds the gaps findGaps finds, in bounded memory', () => {
    // 1 s records; every 300th after 6 s (a candidate, not a gap), an hour's and a 20 s silence, a noted gap.
    let t = 0;
    const records = Array.from({ length: 5000 }, (_, i) => ({
      t: (t += i === 2500 ? 3_600_000 : i === 4000 ? 20_000 : i % 300 === 0 ? 6000 : 1000),
      event: i === 100 ? EVENTS.recording_gap : 0,
    }));
    const g = new GapFold(records.length, 4);
    for (const r of records) g.push(r.t, r.event);
    expect(g.gaps()).toEqual(findGaps(records));
    expect(g.gaps().length).toBe(3);
  });
});
