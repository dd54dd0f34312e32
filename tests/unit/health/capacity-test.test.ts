import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../shared/util/clock.js';
import { Session } from '../../../electron/host/session.js';
import type { SimTransport } from '../../../electron/host/transport/sim.js';
import { runCapacityTest, type CapacityTestProgress } from '../../../electron/host/health/capacity-test.js';
import { blackBoxOf } from '../../../firmware/sim/blackbox/index.js';
import { EVENTS } from '../../../shared/blackbox/events.js';
import { parseSegment, segmentRecordArray } from '../../../shared/blackbox/segment.js';
import { HealthAnalyzer } from '../../../shared/health/analyzer.js';
import { ocvTableFor } from '../../../shared/health/ocv.js';
import {
  CAPACITY_TEST_CMD,
  CAPACITY_TEST_START,
  CAPACITY_TEST_STATES,
  CAPACITY_TEST_STATUS,
  CapacityTestFinder,
  type CapacityTestStatus,
} from '../../../shared/health/capacity-test.js';
import type { LogRecord } from '../../../shared/types/domain.js';
import type { SimBoard } from '../../../firmware/sim/board.js';

/**
 * The guided capacity test end to end on virtual time: the host service drives the simulated
 * board (its pack running 60 times faster than the clock) through charge, rest, discharge and
 * rest, and the board's black box keeps the phases as events between signed records.
 */
async function open(query: string) {
  const clock = new VirtualClock();
  const session = await clock.run(Session.open(`sim:?timescale=60&${query}`, { baud: 921600, clock }));
  const board = (session.transport as SimTransport).running!.board;
  return { clock, session, board, close: () => clock.run(session.close()) };
}

/** Every record the board's black box holds, oldest first (closed segments and the open one). */
function ringRecords(board: SimBoard): LogRecord[] {
  const rec = blackBoxOf(board)!;
  const segs: Uint8Array[] = [];
  for (let c = rec.oldest!; c <= rec.newest!; c++) segs.push(rec.ring.readSlot(rec.slotOf(c)));
  if (rec.open) segs.push(rec.open.bytes);
  const out: LogRecord[] = [];
  for (const s of segs) out.push(...segmentRecordArray(parseSegment(s), out.length));
  return out;
}

describe('guided capacity test on the simulated board', () => {
  it('measures the normal pack within 3 % of its simulated capacity, and its black box proves the figure', async () => {
    const { clock, session, board, close } = await open('scenario=normal&seed=3');
    try {
      const seen: CapacityTestProgress[] = [];
      const r = await clock.run(runCapacityTest(session.native!, { ratedCapacityAh: 100, chemistry: 'lfp' }, { clock, onProgress: (p) => seen.push(p) }), 1e9);
      const simulated = board.pack.state().fullChargeAh;
      expect(r.outcome).toBe('complete');
      expect(r.settings).toEqual({ dischargeA: 20, endCellV: 2.8, chargeA: 50, restS: 1800 });
      expect(Math.abs(r.capacityAh - simulated) / simulated).toBeLessThan(0.03);
      expect(r.energyWh).toBeGreaterThan(r.capacityAh * 16 * 3);
      expect(r.restedV).toBeGreaterThan(16 * 2.8);
      // Progress walks through the phases in order, never backwards, and ends at 1.
      const phases = seen.map((p) => p.state).filter((s, i, a) => a[i - 1] !== s);
      expect(phases).toEqual(['charging', 'resting-full', 'discharging', 'resting-empty', 'complete']);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.fraction).toBeGreaterThanOrEqual(seen[i - 1]!.fraction - 1e-9);
      expect(seen.at(-1)!.fraction).toBe(1);

      // The records between the phase events integrate to the board's own figure.
      const records = ringRecords(board);
      const codes = records.map((x) => x.event).filter((e) => e >= EVENTS.capacity_test_started && e <= EVENTS.capacity_test_aborted);
      expect(codes).toEqual([EVENTS.capacity_test_started, EVENTS.capacity_test_discharge, EVENTS.capacity_test_end_voltage, EVENTS.capacity_test_complete]);
      const analyzer = new HealthAnalyzer({ ocv: ocvTableFor('lfp'), ratedCapacityAh: 100 });
      for (const x of records) analyzer.push(x);
      const [logged, ...more] = analyzer.result().capacityTests ?? [];
      expect(more).toEqual([]);
      expect(logged!.outcome).toBe('complete');
      expect(Math.abs(logged!.dischargedAh - r.capacityAh) / r.capacityAh).toBeLessThan(0.01);
      expect(logged!.meanCurrentA).toBeCloseTo(20, 0);
    } finally {
      await close();
    }
  });

  it('finds the weak-cell pack short of its rating', async () => {
    const { clock, session, board, close } = await open('scenario=weak-cell&seed=3');
    try {
      const r = await clock.run(runCapacityTest(session.native!, { ratedCapacityAh: 100, chemistry: 'lfp' }, { clock, restS: 600 }), 1e9);
      expect(r.outcome).toBe('complete');
      // The weak cell ends the discharge: the pack delivers at most what that cell holds, less what
      // its soft short drains during the hours of the test.
      const simulated = board.pack.state().fullChargeAh;
      expect(simulated).toBeLessThan(80);
      expect(r.capacityAh).toBeLessThan(simulated);
      expect(r.capacityAh).toBeGreaterThan(0.85 * simulated);
      expect(r.percentOfRated).toBeLessThan(80);
    } finally {
      await close();
    }
  });

  it('stops at a protection event, and the black box says so', async () => {
    const { clock, session, board, close } = await open('scenario=normal&seed=4');
    try {
      let lowered = false;
      const r = await clock.run(
        runCapacityTest(
          session.native!,
          { ratedCapacityAh: 100, chemistry: 'lfp' },
          {
            clock,
            dischargeA: 30,
            restS: 60,
            onProgress: (p) => {
              // Mid-discharge, the discharge over-current limit drops below the test's current.
              if (p.state === 'discharging' && p.dischargedAh > 5 && !lowered) {
                lowered = true;
                void session.native!.setParam(4, 10);
              }
            },
          },
        ),
        1e9,
      );
      expect(lowered).toBe(true);
      expect(r.outcome).toBe('aborted');
      expect(r.reason).toMatch(/^protection: /);
      expect(r.capacityAh).toBeGreaterThan(5);
      expect(r.restedV).toBeNull();
      const events = ringRecords(board).map((x) => x.event);
      expect(events).toContain(EVENTS.capacity_test_aborted);
      expect(events).not.toContain(EVENTS.capacity_test_complete);
      expect(board.pack.bench()).toBeNull();
    } finally {
      await close();
    }
  });

  it('cancelling tells the board to stop; a second start while one runs is refused', async () => {
    const { clock, session, close } = await open('scenario=normal&seed=5');
    try {
      const ac = new AbortController();
      const running = runCapacityTest(session.native!, { ratedCapacityAh: 100, chemistry: 'lfp' }, { clock, signal: ac.signal, onProgress: (p) => void p });
      const busy = await clock.run(
        session
          .native!.request(CAPACITY_TEST_CMD.START, CAPACITY_TEST_START.encode({ dischargeA: 20, endCellV: 2.8, chargeA: 20, restS: 0 }))
          .catch((e: unknown) => e),
      );
      expect(String(busy)).toMatch(/BUSY/);
      clock.after(60_000, () => ac.abort());
      const err = await clock.run(running.catch((e: unknown) => e));
      expect(err).toMatchObject({ code: 'CANCELLED' });
      const st = CAPACITY_TEST_STATUS.decode(await clock.run(session.native!.request(CAPACITY_TEST_CMD.STATUS)));
      expect(st).toMatchObject({ state: 'aborted', reason: 'aborted by the host' });
    } finally {
      await close();
    }
  });

  it('refuses settings outside what the board protects', async () => {
    const { clock, session, close } = await open('scenario=normal');
    try {
      const ask = (v: Parameters<typeof CAPACITY_TEST_START.encode>[0]) =>
        clock.run(session.native!.request(CAPACITY_TEST_CMD.START, CAPACITY_TEST_START.encode(v)).catch((e: unknown) => String(e)));
      expect(await ask({ dischargeA: 500, endCellV: 2.8, chargeA: 20, restS: 0 })).toMatch(/OUT_OF_RANGE.*over-current/);
      expect(await ask({ dischargeA: 20, endCellV: 2.0, chargeA: 20, restS: 0 })).toMatch(/OUT_OF_RANGE.*end voltage/);
    } finally {
      await close();
    }
  });
});

describe('capacity test codecs and finder', () => {
  const status = fc.record({
    state: fc.constantFrom(...CAPACITY_TEST_STATES),
    settings: fc.record({
      dischargeA: fc.integer({ min: 0, max: 4_000_000 }).map((x) => x / 1000),
      endCellV: fc.integer({ min: 0, max: 65535 }).map((x) => x / 1000),
      chargeA: fc.integer({ min: 0, max: 4_000_000 }).map((x) => x / 1000),
      restS: fc.integer({ min: 0, max: 86_400 }),
    }),
    startedMs: fc.integer({ min: 0, max: 2 ** 48 }),
    phaseStartedMs: fc.integer({ min: 0, max: 2 ** 48 }),
    nowMs: fc.integer({ min: 0, max: 2 ** 48 }),
    dischargedAh: fc.integer({ min: 0, max: 2 ** 40 }).map((x) => x / 3_600_000),
    dischargedWh: fc.integer({ min: 0, max: 2 ** 40 }).map((x) => x / 3_600_000),
    packV: fc.integer({ min: 0, max: 2 ** 31 }).map((x) => x / 1000),
    currentA: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((x) => x / 1000),
    minCellV: fc.integer({ min: 0, max: 65535 }).map((x) => x / 1000),
    maxCellV: fc.integer({ min: 0, max: 65535 }).map((x) => x / 1000),
    soc: fc.integer({ min: 0, max: 10000 }).map((x) => x / 100),
    restedV: fc.integer({ min: 0, max: 2 ** 31 }).map((x) => x / 1000),
    reason: fc.string({ maxLength: 60 }),
  });

  it('status and start round-trip; a cut or unknown state is a decode error', () => {
    fc.assert(
      fc.property(status, (s: CapacityTestStatus) => {
        const bytes = CAPACITY_TEST_STATUS.encode(s);
        const back = CAPACITY_TEST_STATUS.decode(bytes);
        expect(back.state).toBe(s.state);
        expect(back.settings).toEqual(s.settings);
        expect(back.dischargedAh).toBeCloseTo(s.dischargedAh, 9);
        expect(back.currentA).toBeCloseTo(s.currentA, 9);
        expect(back.reason).toBe(s.reason);
        expect(CAPACITY_TEST_START.decode(CAPACITY_TEST_START.encode(s.settings))).toEqual(s.settings);
        expect(() => CAPACITY_TEST_STATUS.decode(bytes.subarray(0, bytes.length - 1 - new TextEncoder().encode(s.reason).length))).toThrow();
        const bad = bytes.slice();
        bad[0] = 200;
        expect(() => CAPACITY_TEST_STATUS.decode(bad)).toThrow(/unknown state/);
      }),
    );
  });

  const rec = (t: number, current: number, event = 0) => ({ t: t * 1000, current, packVoltage: 50, event });

  it('integrates the discharge between its events, and a restart leaves the test unfinished', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 60, max: 7200 }), (amps, seconds) => {
        const f = new CapacityTestFinder();
        f.push(rec(0, 10, EVENTS.capacity_test_started));
        f.push(rec(100, 0, EVENTS.capacity_test_discharge));
        for (let s = 101; s <= 100 + seconds; s++) f.push(rec(s, -amps));
        f.push(rec(100 + seconds, 0, EVENTS.capacity_test_end_voltage));
        f.push(rec(200 + seconds, 0));
        f.push(rec(300 + seconds, 0, EVENTS.capacity_test_complete));
        const [t] = f.result();
        expect(t!.outcome).toBe('complete');
        // The first second ramps from 0 to the load (trapezoid), the rest is the load.
        expect(t!.dischargedAh).toBeCloseTo((amps * (seconds - 0.5)) / 3600, 9);
        expect(t!.dischargedWh).toBeCloseTo((50 * amps * (seconds - 0.5)) / 3600, 6);
        expect(t!.startedMs).toBe(0);
        expect(t!.dischargeToMs).toBe((100 + seconds) * 1000);
      }),
    );
    const f = new CapacityTestFinder();
    f.push(rec(0, 0, EVENTS.capacity_test_started));
    f.push(rec(10, 0, EVENTS.capacity_test_discharge));
    f.push(rec(11, -5));
    f.restarted();
    f.push(rec(20, 0, EVENTS.boot));
    expect(f.result()).toMatchObject([{ outcome: 'unfinished', dischargeToMs: null }]);
    const g = new CapacityTestFinder();
    g.push(rec(0, 0, EVENTS.capacity_test_started));
    g.push(rec(5, 0, EVENTS.capacity_test_aborted));
    expect(g.result()).toMatchObject([{ outcome: 'aborted', dischargedAh: 0, startedMs: 0, endedMs: 5000 }]);
  });
});

describe('reports of logs without a capacity test', () => {
  it('carry no capacityTests key, so they stay byte for byte what earlier versions made', () => {
    const analyzer = new HealthAnalyzer({ ocv: ocvTableFor('lfp'), ratedCapacityAh: 100 });
    analyzer.push({
      index: 0,
      t: 0,
      packVoltage: 52,
      current: 0,
      soc: 50,
      status: 0,
      alarms: 0,
      event: 0,
      cellVoltages: [3.3, 3.3],
      temperatures: [25],
    } as never);
    expect('capacityTests' in analyzer.result()).toBe(false);
  });
});
