import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkController, MIN_CHUNK, bestChunk, goodput, wireBytes } from '../../../electron/host/link/chunk-controller.js';
import { Session } from '../../../electron/host/session.js';
import { MAX_CHUNK, MAX_WINDOW_WIDE } from '../../../shared/protocol/messages.js';
import { VirtualClock } from '../../../shared/util/clock.js';

/**
 * Adaptive chunk size of bulk transfers: the controller alone (its choice against the goodput
 * model, its limits, its convergence under a steady error rate), then bulk reads over the
 * simulated board's faulty line on virtual time, where every byte must arrive exactly.
 */

/** Frames through a line with hazard `lambda` per byte, as the controller would see them (seeded). */
function drive(ctl: ChunkController, lambda: number, frames: number, seed: number, remaining = 1 << 30): void {
  let s = seed >>> 0 || 1;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < frames; i++) {
    if (rnd() < Math.exp(-lambda * wireBytes(ctl.chunkSize))) ctl.frameOk(ctl.chunkSize);
    else ctl.framesDamaged(1);
    const next = ctl.proposal(remaining);
    if (next !== null) ctl.adopt(next);
  }
}

describe('the chunk-size model', () => {
  it('picks the chunk size with the most payload per byte of line time, within the limits', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-7, max: 0.05, noNaN: true }), fc.integer({ min: MIN_CHUNK, max: MAX_CHUNK }), (lambda, other) => {
        const best = bestChunk(lambda);
        expect(best).toBeGreaterThanOrEqual(MIN_CHUNK);
        expect(best).toBeLessThanOrEqual(MAX_CHUNK);
        // Within a millionth: the COBS byte every 254 makes g step slightly, so the search may land a step off.
        expect(goodput(best, lambda)).toBeGreaterThanOrEqual(goodput(other, lambda) * (1 - 1e-6));
      }),
    );
    expect(bestChunk(0)).toBe(MAX_CHUNK);
    // 0.3 % of bytes damaged: frames of about a hundred bytes, and at most 0.58 of the line.
    expect(bestChunk(0.003)).toBeGreaterThan(60);
    expect(bestChunk(0.003)).toBeLessThan(110);
    expect(goodput(bestChunk(0.003), 0.003)).toBeLessThan(0.6);
  });
});

describe('the chunk-size controller', () => {
  it('keeps every size it proposes within its limits, whatever it observes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MIN_CHUNK, max: 1024 }),
        fc.integer({ min: 1024, max: MAX_CHUNK }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: MAX_CHUNK }), fc.integer({ min: -20, max: 0 })), { maxLength: 400 }),
        fc.integer({ min: 0, max: 1 << 24 }),
        (min, max, events, remaining) => {
          const ctl = new ChunkController({ initial: max, min, max });
          for (const e of events) {
            // Positive: a frame of that many bytes arrived; zero or negative: that many damaged frames.
            if (e > 0) ctl.frameOk(e, e);
            else ctl.framesDamaged(-e);
            const next = ctl.proposal(remaining);
            if (next !== null) {
              expect(next).not.toBe(ctl.chunkSize);
              ctl.adopt(next);
            }
            expect(ctl.chunkSize).toBeGreaterThanOrEqual(min);
            expect(ctl.chunkSize).toBeLessThanOrEqual(max);
            expect(ctl.window).toBeGreaterThanOrEqual(1);
            expect(ctl.window).toBeLessThanOrEqual(MAX_WINDOW_WIDE);
          }
        },
      ),
    );
  });

  it('shrinks to about the best size for a steady error rate, and grows back after the line is clean', () => {
    for (const [lambda, seed] of [
      [0.003, 1],
      [0.01, 2],
      [0.0005, 3],
    ] as const) {
      const ctl = new ChunkController({ initial: 4096 });
      drive(ctl, lambda, 4000, seed);
      const best = bestChunk(lambda, MIN_CHUNK, 4096);
      expect(ctl.chunkSize, `λ ${lambda}`).toBeGreaterThan(best / 1.6);
      expect(ctl.chunkSize, `λ ${lambda}`).toBeLessThan(best * 1.6);
      // Its choice carries nearly as much as the best one.
      expect(goodput(ctl.chunkSize, lambda)).toBeGreaterThan(0.9 * goodput(best, lambda));
      drive(ctl, 0, 4000, seed);
      expect(ctl.chunkSize, `λ ${lambda}, then clean`).toBeGreaterThanOrEqual(2048);
    }
  });

  it('stays put on a clean line, with a fixed size, and when the rest of the transfer is too short to pay for a change', () => {
    const clean = new ChunkController({ initial: 4096, max: 4096 });
    drive(clean, 0, 2000, 1);
    expect(clean.history).toEqual([4096]);
    const fixed = new ChunkController({ initial: 4096, adaptive: false, window: 3 });
    drive(fixed, 0.003, 500, 1);
    expect(fixed.history).toEqual([4096]);
    expect(fixed.window).toBe(3);
    // At 0.01 % damaged bytes 4 KiB chunks carry 0.66 of the line and ~450-byte ones 0.91: worth
    // a change for a megabyte, not for the last 2 KiB.
    const nearEnd = new ChunkController({ initial: 4096 });
    drive(nearEnd, 1e-4, 3000, 1, 2048);
    expect(nearEnd.history).toEqual([4096]);
    const farFromEnd = new ChunkController({ initial: 4096 });
    drive(farFromEnd, 1e-4, 3000, 1, 1 << 20);
    expect(farFromEnd.chunkSize).toBeLessThan(1024);
  });
});

describe('the chunk-size controller near the end of a transfer', () => {
  it('reckons damaged frames with what is left, and splits a short rest that a bad line keeps damaging', () => {
    // 708 bytes left on a line damaging 0.35 % of bytes: the one 740-byte frame arrives whole one
    // time in fourteen, ~100-byte frames three times in four.
    const lambda = 0.0035;
    const ctl = new ChunkController({ initial: 4096 });
    let s = 7;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    let proposed: number | null = null;
    for (let i = 0; i < 200 && proposed === null; i++) {
      if (rnd() < Math.exp(-lambda * wireBytes(708))) ctl.frameOk(708);
      else ctl.framesDamaged(1, 708);
      proposed = ctl.proposal(708);
    }
    expect(proposed).not.toBeNull();
    expect(proposed!).toBeLessThan(708 / 1.3);
    // Damaged frames of a short rest expose fewer bytes than full chunks would: a higher hazard.
    const a = new ChunkController({ initial: 4096 });
    const b = new ChunkController({ initial: 4096 });
    a.framesDamaged(10, 708);
    b.framesDamaged(10);
    expect(a.hazard).toBeGreaterThan(2 * b.hazard);
    // Nothing left, nothing to change.
    expect(ctl.proposal(0)).toBeNull();
    // 274 bytes left on a line damaging 1.5 % of bytes: their frame hardly ever arrives whole, and
    // a few dozen damaged frames are evidence enough against the prior of a clean line.
    const worse = new ChunkController({ initial: 4096 });
    let tries = 0;
    while (worse.proposal(274) === null && tries < 60) {
      worse.framesDamaged(1, 274);
      tries++;
    }
    expect(tries).toBeLessThan(60);
    expect(worse.proposal(274)!).toBeLessThan(100);
  });
});

/** The simulated board's RAM test region, by id: its one-entry REGION_INFO crosses any of these lines. */
const SCRATCH = 0x01;

describe('adaptive bulk reads over a faulty line (virtual time)', () => {
  const open: Array<{ clock: VirtualClock; s: Session }> = [];
  afterEach(async () => {
    for (const { clock, s } of open.splice(0)) await clock.run(s.close());
  });

  it('delivers exactly the board’s bytes for any fault pattern, with chunk sizes within the protocol’s limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0, max: 0.01, noNaN: true }),
        fc.double({ min: 0, max: 0.005, noNaN: true }),
        fc.integer({ min: 1, max: 1 << 20 }),
        fc.integer({ min: 0, max: 1 << 18 }),
        fc.integer({ min: 1, max: 24 * 1024 }),
        async (corrupt, drop, seed, offset, length) => {
          const clock = new VirtualClock();
          const faults = encodeURIComponent(`corrupt=${corrupt},drop=${drop}`);
          const s = await clock.run(Session.open(`sim:?faults=${faults}&seed=${seed}`, { baud: 921600, clock }));
          open.push({ clock, s });
          const r = await clock.run(s.native!.bulkRead({ region: SCRATCH, offset, length }));
          expect(r.data!.length).toBe(length);
          expect(sha256(r.data!)).toEqual(await clock.run(s.native!.regionHash(SCRATCH, offset, length)));
          for (const c of r.chunkSizes) {
            expect(c).toBeGreaterThanOrEqual(MIN_CHUNK);
            expect(c).toBeLessThanOrEqual(4096);
          }
          await clock.run(s.close());
          open.pop();
        },
      ),
      { numRuns: 12 },
    );
  });

  it('writes exactly the given bytes into the board for any fault pattern, with chunk sizes within the limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0, max: 0.006, noNaN: true }),
        fc.double({ min: 0, max: 0.003, noNaN: true }),
        fc.integer({ min: 1, max: 1 << 20 }),
        fc.uint8Array({ minLength: 1, maxLength: 16 * 1024 }),
        async (corrupt, drop, seed, data) => {
          const clock = new VirtualClock();
          const faults = encodeURIComponent(`corrupt=${corrupt},drop=${drop}`);
          const s = await clock.run(Session.open(`sim:?faults=${faults}&seed=${seed}`, { baud: 921600, clock }));
          open.push({ clock, s });
          const r = await clock.run(s.native!.bulkWrite({ region: SCRATCH, offset: 4096, data }));
          expect(r.committed).toBe(4096 + data.length);
          expect(await clock.run(s.native!.regionHash(SCRATCH, 4096, data.length))).toEqual(sha256(data));
          for (const c of r.chunkSizes) {
            expect(c).toBeGreaterThanOrEqual(MIN_CHUNK);
            expect(c).toBeLessThanOrEqual(4096);
          }
          await clock.run(s.close());
          open.pop();
        },
      ),
      { numRuns: 8 },
    );
  });

  it('finishes a short read whose one chunk a bad line keeps damaging, without waiting for the board’s timeout', async () => {
    // 708 bytes at 0.35 % corrupted bytes: the one 740-byte frame arrives whole about one time in
    // fourteen. With the board repeating it only at its retransmission timeout (about once a
    // second before any round trip was measured) these lines fell silent for the 10 s stall check;
    // with BULK_NAK the host asks again each time the frame arrives damaged.
    for (const seed of [1, 2, 5, 9, 11, 18, 612187]) {
      const clock = new VirtualClock();
      const s = await clock.run(Session.open(`sim:?faults=${encodeURIComponent('corrupt=0.0035')}&seed=${seed}`, { baud: 921600, clock }));
      open.push({ clock, s });
      const damagedBefore = s.native!.link.stats.crcErrors + s.native!.link.stats.decodeErrors;
      const r = await clock.run(s.native!.bulkRead({ region: SCRATCH, offset: 0, length: 708 }));
      expect(sha256(r.data!), `seed ${seed}`).toEqual(await clock.run(s.native!.regionHash(SCRATCH, 0, 708)));
      if (seed === 1) expect(s.native!.link.stats.crcErrors + s.native!.link.stats.decodeErrors - damagedBefore).toBeGreaterThan(5);
      await clock.run(s.close());
      open.pop();
    }
  });

  it('pulls at 0.2 % corrupted and 0.1 % dropped bytes close to what frames of the best size allow', async () => {
    const clock = new VirtualClock();
    const s = await clock.run(Session.open(`sim:?faults=${encodeURIComponent('corrupt=0.002,drop=0.001')}&seed=5`, { baud: 921600, clock }));
    open.push({ clock, s });
    const t0 = clock.now();
    const length = 256 * 1024;
    const r = await clock.run(s.native!.bulkRead({ region: 'scratch', length }));
    const ratio = length / ((clock.now() - t0) / 1000) / 92160;
    const lambda = -Math.log((1 - 0.002) * (1 - 0.001));
    const ceiling = goodput(bestChunk(lambda), lambda);
    expect(r.chunkSizes[0]).toBe(4096);
    expect(r.chunkSizes.at(-1)!).toBeLessThan(200);
    // A fixed 4 KiB chunk moves almost nothing at this rate; the adaptive read most of the ceiling.
    expect(ratio).toBeGreaterThan(0.75 * ceiling);
    expect(sha256(r.data!)).toEqual(await clock.run(s.native!.regionHash('scratch', 0, length)));
  });
});
