import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createBoard, type SimBoard } from '../../../firmware/sim/board.js';
import { lifetimeOf } from '../../../firmware/sim/blackbox/index.js';
import {
  BB_CHECKPOINT_REQ,
  BB_CHECKPOINT_RES,
  BB_CMD,
  ChainVerifier,
  CHECKPOINT_SEAL_SIZE,
  checkpointSegment,
  decodeCertificate,
  decodeCheckpoint,
  decodeSegments,
  encodeCheckpoint,
  segmentRecordArray,
  splitCheckpointRegion,
  verifyCheckpoint,
  type Checkpoint,
} from '../../../shared/blackbox/index.js';
import { DecodeError } from '../../../shared/errors.js';
import { decodeLifetime, encodeLifetime, lifetimeMessage, type LifetimeCounters } from '../../../shared/health/lifetime.js';
import { LifetimeConsistencyCheck } from '../../../shared/health/lifetime-check.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import { call, ringSegments, takeCheckpoint } from './sim-board.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Every record the board's ring holds (oldest…newest closed segment, then the checkpoint), verified. */
function heldLog(board: SimBoard, cp: Checkpoint): { records: LogRecord[]; chain: ChainVerifier } {
  const cert = decodeCertificate(board.storage.read('device-cert.bin')!);
  const chain = new ChainVerifier({ publicKey: cert.devicePublicKey });
  const records: LogRecord[] = [];
  for (const bytes of ringSegments(board)) {
    for (const it of decodeSegments(bytes)) {
      if (it.kind !== 'segment') continue;
      chain.addSegment(it.segment);
      records.push(...segmentRecordArray(it.segment, records.length));
    }
  }
  records.push(...segmentRecordArray(checkpointSegment(cp), records.length, cp.recordCount));
  return { records, chain };
}

function consistency(c: LifetimeCounters, records: readonly LogRecord[]) {
  const check = new LifetimeConsistencyCheck(c);
  for (const r of records) check.push(r);
  return check.result();
}

const counters = fc.record({
  sinceMs: fc.integer({ min: 0, max: 2 ** 42 }),
  countedS: fc.integer({ min: 0, max: 0xffffffff }),
  chargeAh: fc.integer({ min: 0, max: 2 ** 40 }).map((x) => x / 3.6e6),
  dischargeAh: fc.integer({ min: 0, max: 2 ** 40 }).map((x) => x / 3.6e6),
  chargeWh: fc.integer({ min: 0, max: 2 ** 40 }).map((x) => x / 3.6e6),
  dischargeWh: fc.integer({ min: 0, max: 2 ** 40 }).map((x) => x / 3.6e6),
  ratedCapacityAh: fc.integer({ min: 0, max: 1_000_000 }).map((x) => x / 1000),
  equivalentFullCycles: fc.integer({ min: 0, max: 1_000_000 }).map((x) => x / 1000),
  deepDischargeEvents: fc.integer({ min: 0, max: 0xffffffff }),
  overcurrentEvents: fc.integer({ min: 0, max: 0xffffffff }),
  storageAtLowSocS: fc.integer({ min: 0, max: 0xffffffff }),
  thresholds: fc.record({
    restCurrentA: fc.integer({ min: 0, max: 100_000 }).map((x) => x / 1000),
    deepDischargeV: fc.integer({ min: 0, max: 5000 }).map((x) => x / 1000),
    lowSocPercent: fc.integer({ min: 0, max: 10_000 }).map((x) => x / 100),
  }),
  temperature: bands(-400, 1000, 10),
  temperatureWhileCharging: bands(-400, 1000, 10),
  soc: bands(0, 10_000, 100),
});

function bands(lo: number, hi: number, scale: number) {
  return fc.uniqueArray(fc.integer({ min: lo, max: hi }), { maxLength: 12 }).chain((e) =>
    fc.record({
      edges: fc.constant(e.sort((a, b) => a - b).map((x) => x / scale)),
      seconds: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: e.length + 1, maxLength: e.length + 1 }),
    }),
  );
}

describe('lifetime counters: the signed statement', () => {
  it('round-trips any counters and binding exactly (integers on the wire)', () => {
    fc.assert(
      fc.property(counters, fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (c, nonce, sig) => {
        const binding = { counter: 7, recordCount: 12, nonce, boardTimeMs: 1_750_000_000_000, bootCount: 3 };
        const st = decodeLifetime(encodeLifetime(lifetimeMessage(binding, c), sig));
        expect(st.binding).toEqual(binding);
        expect(st.signature).toEqual(sig);
        expect(st.counters.countedS).toBe(c.countedS);
        expect(Math.round(st.counters.dischargeAh * 3.6e6)).toBe(Math.round(c.dischargeAh * 3.6e6));
        expect(st.counters.temperature.edges.map((x) => Math.round(x * 10))).toEqual(c.temperature.edges.map((x) => Math.round(x * 10)));
        expect(st.counters.soc.seconds).toEqual(c.soc.seconds);
        expect(st.counters.thresholds.deepDischargeV).toBeCloseTo(c.thresholds.deepDischargeV, 6);
      }),
    );
  });

  it('any bytes decode or fail with a DecodeError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        try {
          decodeLifetime(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
    );
  });
});

describe('lifetime counters on the simulated board', () => {
  it('survive the ring overwriting its oldest segments, are signed with the checkpoint, and are at least what the held records show', async () => {
    // 8 slots hold 8 minutes of records; the board has lived 3 hours.
    const board = await createBoard({ prefillHours: 3, seed: 4, blackboxSlots: 8 } as never);
    const nonce = new Uint8Array(16).fill(5);
    const cp = await takeCheckpoint(board, nonce);
    expect(cp.lifetime).not.toBeNull();
    const { records, chain } = heldLog(board, cp);
    const cert = decodeCertificate(board.storage.read('device-cert.bin')!);
    expect(verifyCheckpoint(chain, cp, cert.devicePublicKey, nonce)).toEqual([]);
    const st = decodeLifetime(cp.lifetime!);
    const c = st.counters;
    expect(st.binding).toMatchObject({ counter: cp.counter, recordCount: cp.recordCount, bootCount: board.bootCount });
    expect(c.countedS).toBeGreaterThanOrEqual(3 * 3600);
    expect(c.ratedCapacityAh).toBe(cert.ratedCapacityAh);
    expect(c.equivalentFullCycles).toBeCloseTo(c.dischargeAh / c.ratedCapacityAh, 3);
    // The ring holds minutes; the counters hold hours.
    const held = consistency(c, records);
    expect(held.ok, held.problems.join('\n')).toBe(true);
    const time = held.comparisons.find((x) => x.quantity === 'time counted')!;
    expect(time.records).toBeLessThan(700);
    expect(time.counter).toBeGreaterThan(15 * time.records);
    expect(c.dischargeAh).toBeGreaterThan(0);
    await board.stop();
  });

  it('match the records closely when the ring holds the whole life', async () => {
    const board = await createBoard({ prefillHours: 2, seed: 9, blackboxSlots: 200, scenario: 'over-current' } as never);
    const cp = await takeCheckpoint(board, new Uint8Array(16).fill(1));
    const c = decodeLifetime(cp.lifetime!).counters;
    const { records } = heldLog(board, cp);
    const result = consistency(c, records);
    expect(result.ok, result.problems.join('\n')).toBe(true);
    for (const q of ['time counted', 'charge throughput', 'discharge throughput', 'discharge energy']) {
      const x = result.comparisons.find((y) => y.quantity === q)!;
      expect(x.records).toBeGreaterThan(0);
      expect(Math.abs(x.counter / x.records - 1), q).toBeLessThan(0.01);
    }
    expect(c.overcurrentEvents).toBeGreaterThan(0);
    expect(result.comparisons.find((x) => x.quantity === 'over-current events')!.records).toBeLessThanOrEqual(c.overcurrentEvents);
    // Counters that say less than the records are caught, quantity by quantity.
    const lowered = consistency({ ...c, dischargeAh: c.dischargeAh / 2, overcurrentEvents: 0 }, records);
    expect(lowered.ok).toBe(false);
    expect(lowered.problems.join('\n')).toMatch(/discharge throughput[\s\S]*over-current events/);
    await board.stop();
  });

  it('a changed byte breaks the device signature; counters of another checkpoint do not belong to this one', async () => {
    const board = await createBoard({ prefillHours: 0.2, seed: 2, blackboxSlots: 8 } as never);
    const cert = decodeCertificate(board.storage.read('device-cert.bin')!);
    const first = await takeCheckpoint(board, new Uint8Array(16).fill(1));
    const tampered = first.lifetime!.slice();
    tampered[53] ^= 1;
    const chainOf = (cp: Checkpoint) => heldLog(board, cp).chain;
    expect(verifyCheckpoint(chainOf(first), { ...first, lifetime: tampered }, cert.devicePublicKey).map((i) => i.message)).toEqual([
      expect.stringMatching(/lifetime counters does not verify/),
    ]);
    const second = await takeCheckpoint(board, new Uint8Array(16).fill(2));
    const swapped = verifyCheckpoint(chainOf(second), { ...second, lifetime: first.lifetime }, cert.devicePublicKey).map((i) => i.message);
    expect(swapped.join('\n')).toMatch(/nonce/);
    // Through the .pslog checkpoint block unchanged.
    expect(decodeCheckpoint(encodeCheckpoint(second))).toEqual({ ...second, signature: second.signature.slice(), prefix: second.prefix.slice() });
    await board.stop();
  });

  it('a board without lifetime counters ends the region at the seal: counters absent, not zero', async () => {
    const board = await createBoard({ prefillHours: 0.1, seed: 3, blackboxSlots: 8, lifetimeCounters: false } as never);
    const res = BB_CHECKPOINT_RES.decode(await call(board, BB_CMD.CHECKPOINT, BB_CHECKPOINT_REQ.encode({ nonce: new Uint8Array(8) })));
    const region = board.native.region(0x11);
    expect(region.size()).toBe(res.length + CHECKPOINT_SEAL_SIZE);
    expect(splitCheckpointRegion(await region.read(0, region.size()), res.length).lifetime).toBeNull();
    const cp = await takeCheckpoint(board, new Uint8Array(8));
    expect(decodeCheckpoint(encodeCheckpoint(cp)).lifetime ?? null).toBeNull();
    await board.stop();
  });

  it('persist in the state directory: a restarted board continues counting from where it stopped', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pslife-'));
    dirs.push(dir);
    const a = await createBoard({ stateDir: dir, prefillHours: 0.5, seed: 6, blackboxSlots: 8 } as never);
    const before = lifetimeOf(a)!.counters();
    await a.stop();
    const b = await createBoard({ stateDir: dir, seed: 6, blackboxSlots: 8 } as never);
    const after = lifetimeOf(b)!.counters();
    expect(after.sinceMs).toBe(before.sinceMs);
    expect(after.countedS).toBeGreaterThanOrEqual(before.countedS);
    expect(after.dischargeAh).toBeCloseTo(before.dischargeAh, 6);
    expect(after.temperature.seconds).toEqual(before.temperature.seconds);
    await b.stop();
  });
});
