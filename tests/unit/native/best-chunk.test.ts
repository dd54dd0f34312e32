import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bestChunk, goodput, MIN_CHUNK } from '../../../electron/host/link/chunk-controller.js';
import { MAX_CHUNK } from '../../../shared/protocol/messages.js';

/** bestChunk against an exhaustive scan: the very best chunk size, not one a step of COBS away. */
function scanned(lambda: number, min: number, max: number): number {
  let best = min;
  for (let c = min; c <= max; c++) if (goodput(c, lambda) > goodput(best, lambda)) best = c;
  return best;
}

describe('bestChunk', () => {
  it('finds the same payload rate as trying every chunk size, for any hazard and limits', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-8, max: 0.2, noNaN: true }),
        fc.integer({ min: MIN_CHUNK, max: MAX_CHUNK }),
        fc.integer({ min: MIN_CHUNK, max: MAX_CHUNK }),
        (lambda, a, b) => {
          const [min, max] = a <= b ? [a, b] : [b, a];
          const best = bestChunk(lambda, min, max);
          expect(best).toBeGreaterThanOrEqual(min);
          expect(best).toBeLessThanOrEqual(max);
          expect(goodput(best, lambda)).toBe(goodput(scanned(lambda, min, max), lambda));
        },
      ),
      { numRuns: 300 },
    );
  });
});
