import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateLoopResistance, parallelCheck, type ParallelPack } from '../../../shared/bms/parallel-check.js';
import { busTotals } from '../../../electron/host/drivers/pack-bus.js';

/** The parallel check's judgement and the bus totals, on their own. */
const pack = (o: Partial<ParallelPack>): ParallelPack => ({ label: 'a', voltage: 53, soc: 50, cells: 16, capacityAh: 100, chemistry: 'lfp', ...o });

describe('parallel check', () => {
  it('current is the voltage difference over the loop; SOC gap, cell count and current each refuse', () => {
    const a = pack({ label: 'A', voltage: 53.2, soc: 70 });
    const b = pack({ label: 'B', voltage: 52.9, soc: 50 });
    const v = parallelCheck(a, b);
    expect(v.resistanceOhm).toBeCloseTo(estimateLoopResistance(a, b), 12);
    expect(v.currentA).toBeCloseTo(0.3 / v.resistanceOhm, 9);
    expect(v.from).toBe('A');
    expect(v.safe).toBe(false);
    expect(v.chargeToMoveAh).toBeCloseTo(10, 9); // 20 % of two 100 Ah packs meeting halfway
    expect(parallelCheck(pack({}), pack({ voltage: 53.01, soc: 51 })).safe).toBe(true);
    expect(parallelCheck(pack({}), pack({ cells: 15 })).reasons.join()).toMatch(/cell counts/);
    expect(parallelCheck(pack({ voltage: 54 }), pack({ voltage: 52 }), { resistanceOhm: 0.02 }).reasons.join()).toMatch(/100\.0 A would flow/);
  });

  it('is symmetric: swapping the packs changes signs, never the verdict or the current', () => {
    const arb = fc.record({
      voltage: fc.double({ min: 40, max: 58, noNaN: true }),
      soc: fc.double({ min: 0, max: 100, noNaN: true }),
      capacityAh: fc.integer({ min: 0, max: 300 }),
    });
    fc.assert(
      fc.property(arb, arb, (x, y) => {
        const p = parallelCheck(pack(x), pack({ ...y, label: 'b' }));
        const q = parallelCheck(pack({ ...y, label: 'b' }), pack(x));
        expect(q.safe).toBe(p.safe);
        expect(q.currentA).toBeCloseTo(p.currentA, 9);
        expect(q.socDelta).toBeCloseTo(-p.socDelta, 9);
        expect(p.safe).toBe(p.currentA <= p.currentLimitA && Math.abs(p.socDelta) <= p.maxSocGap);
      }),
    );
  });

  it('bus totals: mean voltage, summed current and power, capacity-weighted SOC', () => {
    const f = (v: number, i: number, soc: number) => ({ t: 0, packVoltage: v, current: i, soc, cellVoltages: [], temperatures: [], status: 0, alarms: 0 });
    const t = busTotals([f(53, 10, 80), f(52, -4, 20)], [300, 100]);
    expect(t).toMatchObject({ packs: 2, voltage: 52.5, current: 6, power: 53 * 10 - 52 * 4, soc: 65, voltageSpread: 1, socSpread: 60 });
  });
});
