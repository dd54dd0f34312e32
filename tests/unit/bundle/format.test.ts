import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BundleRefusal, checkBundle, checkBundleForBoard, openBundle } from '../../../shared/bundle/bundle.js';
import { evaluatePreconditions } from '../../../shared/bundle/preconditions.js';
import { generateKey } from '../../../shared/image/index.js';
import { board, bundleFor, NOW, root } from './helpers.js';

/**
 * The .psfw container as a decoder: arbitrary bytes and any single-byte corruption of a valid
 * bundle are refused with a reason, never accepted and never another exception; and the
 * preconditions' verdicts follow the live sample.
 */
const signingKey = generateKey('ed25519');
const valid = bundleFor(signingKey);
const trust = { roots: [root.publicKey], revoked: new Set<string>() };

function verdict(bytes: Uint8Array): string {
  try {
    const b = openBundle(bytes);
    checkBundle(b, trust, NOW);
    checkBundleForBoard(b, board, { installation: null, board: null });
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(BundleRefusal);
    return (e as BundleRefusal).reason;
  }
}

describe('.psfw container', () => {
  it('a valid bundle opens with its metadata, and inspects without trust', () => {
    expect(verdict(valid)).toBe('accepted');
    const b = openBundle(valid);
    expect(b.metadata.sequence).toBe(10);
    expect(b.metadata.components[0]).toMatchObject({ name: 'app', version: '1.1.0', securityCounter: 2, format: 'mcuboot' });
    expect(b.metadataSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('property: arbitrary bytes are a malformed bundle', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(verdict(bytes)).toBe('malformed');
      }),
    );
  });

  it('property: flipping any byte of a valid bundle is refused with a reason, never accepted', () => {
    fc.assert(
      fc.property(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = valid.slice();
        bad[at] = bad[at]! ^ x;
        const v = verdict(bad);
        // A flip inside a ZIP field the reader ignores (e.g. a timestamp) changes nothing that is signed.
        if (v === 'accepted') expect(openBundle(bad).metadataSha256).toBe(openBundle(valid).metadataSha256);
      }),
      { numRuns: 300 },
    );
  });

  it('property: each precondition holds exactly when the sample satisfies it', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: -50, max: 50, noNaN: true }),
        fc.array(fc.double({ min: -20, max: 70, noNaN: true }), { minLength: 1, maxLength: 4 }),
        (soc, current, temperatures) => {
          const r = evaluatePreconditions(
            { minSocPercent: 30, maxCurrentA: 5, temperatureC: { min: 0, max: 45 }, onCharger: true },
            { soc, current, temperatures },
          );
          expect(r.map((x) => x.ok)).toEqual([soc >= 30, Math.abs(current) <= 5, temperatures.every((t) => t >= 0 && t <= 45), current > 0.05]);
        },
      ),
    );
    expect(evaluatePreconditions({ minSocPercent: 30 }, null)).toEqual([
      { name: 'soc', required: 'state of charge ≥ 30 %', actual: 'no telemetry', ok: false },
    ]);
  });
});
