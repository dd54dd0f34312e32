import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnSpans, spanRects } from '../../../renderer/charts/column-spans.js';

/** A trace in canvas pixels: ascending x (steps of 0–12 px, so both dense and sparse), two edges. */
const trace = fc
  .array(fc.tuple(fc.double({ min: 0, max: 12, noNaN: true }), fc.double({ min: 0, max: 400, noNaN: true }), fc.double({ min: 0, max: 40, noNaN: true })), {
    minLength: 1,
    maxLength: 600,
  })
  .map((pts) => {
    let x = -5; // starts a little left of the plot: clipped columns are exercised
    const X: number[] = [];
    const A: number[] = [];
    const B: number[] = [];
    for (const [dx, y, h] of pts) {
      x += dx;
      X.push(x);
      A.push(y);
      B.push(y + h);
    }
    return { X, A, B };
  });

const WIDTH = 500;

describe('column spans', () => {
  it('contain every point of the trace, including the segments between points (dense sampling oracle)', () => {
    fc.assert(
      fc.property(trace, ({ X, A, B }) => {
        const { lo, hi } = columnSpans(X, A, B, 0, WIDTH);
        const inColumn = (c: number, y: number) => c < 0 || c >= WIDTH || (lo[c]! <= y + 1e-9 && y - 1e-9 <= hi[c]!);
        // A sampled x is rounded; within 1e-9 px of a column edge it may land on the wrong side of
        // it (a steep segment only a few ULPs wide then puts its y in the neighbouring column), so
        // there the point belongs to either column.
        const inside = (x: number, y: number) => {
          const c = Math.floor(x);
          if (inColumn(c, y)) return true;
          const edge = Math.round(x);
          return Math.abs(x - edge) < 1e-9 && inColumn(edge === c ? c - 1 : c + 1, y);
        };
        for (let k = 0; k < X.length; k++) {
          if (!inside(X[k]!, A[k]!) || !inside(X[k]!, B[k]!)) return false;
          if (k === 0 || !(X[k]! > X[k - 1]!)) continue;
          for (let s = 1; s < 16; s++) {
            const f = s / 16;
            const x = X[k - 1]! + (X[k]! - X[k - 1]!) * f;
            if (!inside(x, A[k - 1]! + (A[k]! - A[k - 1]!) * f)) return false;
            if (!inside(x, B[k - 1]! + (B[k]! - B[k - 1]!) * f)) return false;
          }
        }
        return true;
      }),
      // The first counterexample of a rounded sample at a column edge is replayed every run.
      {
        numRuns: 200,
        examples: [
          [
            {
              X: [6.999999999999972, 7.000000000000006, 7.000000000000006],
              A: [0, 1.248000000000011e-7, 1.0240000000000089e-7],
              B: [0, 1.248000000000011e-7, 1.0240000000000089e-7],
            },
          ],
        ],
      },
    );
  });

  it('are no taller than the points whose segments reach the column', () => {
    fc.assert(
      fc.property(trace, ({ X, A, B }) => {
        const { lo, hi } = columnSpans(X, A, B, 0, WIDTH);
        for (let c = 0; c < WIDTH; c++) {
          if (!(lo[c]! <= hi[c]!)) continue;
          // Points in the column, plus the nearest point on each side (the segments crossing it).
          let a = Infinity;
          let b = -Infinity;
          for (let k = 0; k < X.length; k++) {
            const touches = Math.floor(X[k]!) === c || (X[k]! < c && (X[k + 1] ?? -Infinity) >= c) || (X[k]! >= c + 1 && (X[k - 1] ?? Infinity) < c + 1);
            if (!touches) continue;
            a = Math.min(a, A[k]!, B[k]!);
            b = Math.max(b, A[k]!, B[k]!);
          }
          if (lo[c]! < a - 1e-9 || hi[c]! > b + 1e-9) return false;
        }
        return true;
      }),
      { numRuns: 100 },
    );
  });

  it('leave the columns across a gap empty', () => {
    const { lo, hi } = columnSpans([10, 50, 90], [100, NaN, 100], [100, 5, 100], 0, 100);
    expect(lo[10]).toBe(100);
    expect(hi[90]).toBe(100);
    for (let c = 11; c < 90; c++) expect(lo[c]! > hi[c]!).toBe(true);
  });

  it('give a one-sample spike its whole height in its column', () => {
    // 1 000 flat samples at one per pixel and one that drops by 300 px: the spike survives.
    const X = Array.from({ length: 1000 }, (_, i) => i + 0.5);
    const Y = X.map((_, i) => (i === 400 ? 350 : 50));
    const { lo, hi } = columnSpans(X, Y, Y, 0, 1000);
    expect(hi[400]).toBe(350);
    // The edges going down and coming back cross the neighbouring half columns.
    expect(lo[400]).toBeCloseTo(200);
    expect(hi[399]).toBeCloseTo(200);
    expect(hi[401]).toBeCloseTo(200);
    expect([lo[200], hi[200]]).toEqual([50, 50]);
  });

  it('never throw, whatever the numbers (NaN, infinities, x going backwards)', () => {
    const num = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 1e300, -1e300));
    fc.assert(
      fc.property(fc.array(fc.tuple(num, num, num), { maxLength: 200 }), fc.integer({ min: 0, max: 300 }), (pts, width) => {
        const s = columnSpans(
          pts.map((p) => p[0]),
          pts.map((p) => p[1]),
          pts.map((p) => p[2]),
          0,
          width,
        );
        expect(s.lo.length).toBe(width);
        spanRects(s, 0, 1.5);
      }),
      { numRuns: 500 },
    );
  });
});

describe('span rectangles', () => {
  it('cover every non-empty column on whole pixels, at least the minimum height, and nothing else', () => {
    fc.assert(
      fc.property(trace, fc.double({ min: 1, max: 4, noNaN: true }), ({ X, A, B }, minH) => {
        const spans = columnSpans(X, A, B, 0, WIDTH);
        const rects = spanRects(spans, 20, minH);
        const covered = new Uint8Array(WIDTH);
        for (let r = 0; r < rects.length; r += 4) {
          const [x, y, w, h] = rects.slice(r, r + 4) as [number, number, number, number];
          if (![x, y, w, h].every(Number.isInteger) || w < 1 || h < minH) return false;
          for (let c = x - 20; c < x - 20 + w; c++) {
            if (covered[c]) return false; // overlapping rectangles
            covered[c] = 1;
            const { lo, hi } = spans;
            if (!(lo[c]! <= hi[c]!)) return false;
            if (h >= minH + 1 && (y > lo[c]! || y + h < hi[c]!)) return false;
          }
        }
        for (let c = 0; c < WIDTH; c++) if (spans.lo[c]! <= spans.hi[c]! && !covered[c]) return false;
        return true;
      }),
      { numRuns: 200 },
    );
  });

  it('merge a flat stretch into one rectangle', () => {
    const X = Array.from({ length: 300 }, (_, i) => i);
    const Y = X.map(() => 100.2);
    const rects = spanRects(columnSpans(X, Y, Y, 0, 300), 0, 2);
    expect(rects).toEqual([0, 99, 300, 2]);
  });
});
