import { describe, expect, it } from 'vitest';
import { createPackModel, SCENARIOS, temperatureSensorNames, type PackModel, type PackState } from '../../../firmware/sim/pack/index.js';
import { ALARM_FLAGS, STATUS_FLAGS, flagBit } from '../../../shared/types/domain.js';
import { EVENTS, alarmRaisedEvent, eventInfo, EVENT_TABLE } from '../../../shared/blackbox/events.js';

function run(m: PackModel, seconds: number, each: (s: PackState, events: number[]) => void): void {
  for (let t = 0; t < seconds; t++) {
    m.step(1);
    each(m.state(), m.takeEvents());
  }
}

const alarm = (name: (typeof ALARM_FLAGS)[number]) => flagBit(ALARM_FLAGS, name);
const status = (name: (typeof STATUS_FLAGS)[number]) => flagBit(STATUS_FLAGS, name);

describe('pack model', () => {
  it('has sane defaults and sensor layout', () => {
    const m = createPackModel();
    expect(m.config).toMatchObject({ cells: 16, chemistry: 'lfp', capacityAh: 100, scenario: 'normal' });
    const s = m.state();
    expect(s.cellVoltages).toHaveLength(16);
    expect(s.temperatures).toHaveLength(temperatureSensorNames(16).length);
    expect(temperatureSensorNames(16)).toEqual(['cells1', 'cells2', 'cells3', 'cells4', 'mosfet', 'board']);
    for (const v of s.cellVoltages) expect(v).toBeGreaterThan(3.2);
    for (const v of s.cellVoltages) expect(v).toBeLessThan(3.35);
  });

  it('cell voltages sum to the pack voltage in every scenario, and stay in physical ranges', () => {
    for (const scenario of SCENARIOS) {
      for (const chemistry of ['lfp', 'nmc'] as const) {
        const m = createPackModel({ scenario, chemistry, cells: chemistry === 'nmc' ? 13 : 16, seed: 7 });
        let worstSum = 0,
          lo = 9,
          hi = 0,
          socLo = 100,
          socHi = 0;
        run(m, 3 * 3600, (s) => {
          let sum = 0;
          for (const v of s.cellVoltages) {
            sum += v;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
          worstSum = Math.max(worstSum, Math.abs(sum - s.packVoltage));
          socLo = Math.min(socLo, s.soc);
          socHi = Math.max(socHi, s.soc);
        });
        expect(worstSum).toBeLessThan(1e-9);
        expect(socLo).toBeGreaterThanOrEqual(0);
        expect(socHi).toBeLessThanOrEqual(100);
        expect(lo).toBeGreaterThan(chemistry === 'lfp' ? 2.0 : 2.5);
        expect(hi).toBeLessThan(chemistry === 'lfp' ? 3.9 : 4.4);
      }
    }
  });

  it('NMC cells cover the 3.0–4.2 V range over a full cycle', () => {
    const m = createPackModel({ chemistry: 'nmc', cells: 13, seed: 2 });
    let lo = 9,
      hi = 0;
    run(m, 24 * 3600, (s) => {
      lo = Math.min(lo, ...s.cellVoltages);
      hi = Math.max(hi, ...s.cellVoltages);
    });
    expect(hi).toBeGreaterThan(4.1);
    expect(hi).toBeLessThan(4.25);
    expect(lo).toBeLessThan(3.65);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const trace = (seed: number) => {
      const m = createPackModel({ seed, scenario: 'normal' });
      const out: string[] = [];
      run(m, 3000, (s, e) => out.push(JSON.stringify([s, e])));
      return out;
    };
    expect(trace(42)).toEqual(trace(42));
    expect(trace(42)).not.toEqual(trace(43));
  });

  it('state() has no side effects; large steps are subdivided', () => {
    const a = createPackModel({ seed: 5 });
    const b = createPackModel({ seed: 5 });
    for (let i = 0; i < 100; i++) {
      a.step(1);
      a.state();
      a.state();
    }
    for (let i = 0; i < 100; i++) b.step(1);
    expect(a.state()).toEqual(b.state());
    const c = createPackModel({ seed: 5 });
    c.step(100);
    expect(c.state().timeMs).toBe(b.state().timeMs);
    expect(c.state().soc).toBeCloseTo(b.state().soc, 6);
  });

  it('normal: cycles charge and discharge within limits, no alarm', () => {
    const m = createPackModel({ scenario: 'normal', seed: 11 });
    let alarms = 0,
      charged = false,
      discharged = false;
    let maxT = -99,
      maxI = 0;
    run(m, 24 * 3600, (s) => {
      alarms |= s.alarms;
      if (s.status & status('charging')) charged = true;
      if (s.status & status('discharging')) discharged = true;
      maxT = Math.max(maxT, ...s.temperatures);
      maxI = Math.max(maxI, Math.abs(s.current));
    });
    expect(maxI).toBeLessThan(100);
    expect(charged && discharged).toBe(true);
    expect(alarms).toBe(0);
    expect(maxT).toBeLessThan(40);
  });

  it('cold-charge: charges with cell temperatures below 0 °C and raises charge_undertemperature', () => {
    const m = createPackModel({ scenario: 'cold-charge', seed: 3 });
    let coldChargeSeconds = 0,
      flagged = 0;
    const events: number[] = [];
    run(m, 4 * 3600, (s, e) => {
      events.push(...e);
      if (s.current > 5 && Math.min(...s.temperatures.slice(0, 4)) < 0) {
        coldChargeSeconds++;
        if (s.alarms & alarm('charge_undertemperature')) flagged++;
      }
    });
    expect(coldChargeSeconds).toBeGreaterThan(600);
    // The alarm has a 2 s raise delay; after that it is up for the whole cold charge.
    expect(flagged).toBeGreaterThanOrEqual(coldChargeSeconds - 3);
    expect(events).toContain(alarmRaisedEvent('charge_undertemperature'));
    expect(events).toContain(EVENTS.charger_connected);
  });

  it('over-discharge: drives cells below UV, raises the alarm and opens the discharge FET', () => {
    const m = createPackModel({ scenario: 'over-discharge', seed: 3 });
    let below = 0;
    const events: number[] = [];
    let fetOffSeen = false;
    run(m, 4 * 3600, (s, e) => {
      events.push(...e);
      if (Math.min(...s.cellVoltages) < 2.5) below++;
      if (!(s.status & status('discharge_fet_on'))) fetOffSeen = true;
    });
    expect(below).toBeGreaterThan(10);
    expect(events).toContain(alarmRaisedEvent('cell_undervoltage'));
    expect(events).toContain(EVENTS.discharge_fet_off);
    expect(fetOffSeen).toBe(true);
  });

  it('over-current: discharges far above 2C for tens of seconds and raises discharge_overcurrent', () => {
    const m = createPackModel({ scenario: 'over-current', seed: 3 });
    let run2C = 0,
      longest = 0;
    const events: number[] = [];
    let mosfetMax = 0;
    run(m, 2 * 3600, (s, e) => {
      events.push(...e);
      run2C = s.current < -2 * 100 ? run2C + 1 : 0;
      longest = Math.max(longest, run2C);
      mosfetMax = Math.max(mosfetMax, s.temperatures[4]!);
    });
    expect(longest).toBeGreaterThanOrEqual(20);
    expect(events).toContain(alarmRaisedEvent('discharge_overcurrent'));
    expect(mosfetMax).toBeGreaterThan(35); // I²R heating of the FETs is visible
  });

  it('weak-cell: one cell drifts away from the others while the pack rests', () => {
    const m = createPackModel({ scenario: 'weak-cell', seed: 3 });
    const deviation = (s: PackState) => {
      const sorted = s.cellVoltages.slice().sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)]! - sorted[0]!;
    };
    m.step(120);
    const early = deviation(m.state());
    m.step(4 * 3600 - 300); // still within the first rest phase
    const s = m.state();
    expect(Math.abs(s.current)).toBeLessThan(1);
    const late = deviation(s);
    expect(late).toBeGreaterThan(early + 0.002);
    // Same cell every time: the weak one.
    const idx = s.cellVoltages.indexOf(Math.min(...s.cellVoltages));
    m.step(24 * 3600);
    let rests = 0;
    run(m, 8 * 3600, (st) => {
      if (Math.abs(st.current) < 0.5 && st.cellVoltages.indexOf(Math.min(...st.cellVoltages)) === idx) rests++;
    });
    expect(rests).toBeGreaterThan(3600);
    expect(m.state().soh).toBeLessThan(80); // the weak cell limits the pack's capacity
  });

  it('idle: no current, no events', () => {
    const m = createPackModel({ scenario: 'idle', seed: 3 });
    const events: number[] = [];
    let maxI = 0,
      notRest = 0;
    run(m, 3600, (s, e) => {
      events.push(...e);
      maxI = Math.max(maxI, Math.abs(s.current));
      if (!(s.status & status('rest'))) notRest++;
    });
    expect(maxI).toBeLessThan(0.2);
    expect(notRest).toBe(0);
    expect(events).toEqual([]);
  });

  it('rejects bad configs with a clear error', () => {
    expect(() => createPackModel({ scenario: 'bogus' as never })).toThrow(/unknown scenario/);
    expect(() => createPackModel({ cells: 0 })).toThrow(/cells/);
    expect(() => createPackModel().step(-1)).toThrow(RangeError);
  });

  it('events table: every alarm has raised/cleared codes, names are unique, unknown codes are safe', () => {
    const names = new Set(EVENT_TABLE.map((e) => e.name));
    expect(names.size).toBe(EVENT_TABLE.length);
    expect(EVENT_TABLE.filter((e) => e.alarm).length).toBe(2 * ALARM_FLAGS.length);
    expect(eventInfo(0xbeef).name).toBe('unknown:0xbeef');
    expect(eventInfo(EVENTS.boot).name).toBe('boot');
  });

  it('a MOSFET switched off stops its current at once and until it is switched on, with the FET events', () => {
    const m = createPackModel({ scenario: 'over-discharge', seed: 3 });
    let discharging = false;
    for (let t = 0; t < 6 * 3600 && !discharging; t++) {
      m.step(1);
      discharging = m.state().current < -5;
    }
    expect(discharging).toBe(true);
    m.takeEvents();
    m.setSwitches({ discharge: false });
    expect(m.switches()).toEqual({ charge: true, discharge: false });
    expect(m.takeEvents()).toEqual([EVENTS.discharge_fet_off]);
    expect(m.state().status & status('discharge_fet_on')).toBe(0);
    run(m, 120, (s) => {
      expect(Math.abs(s.current)).toBeLessThan(1);
      expect(s.status & status('discharge_fet_on')).toBe(0);
    });
    m.setSwitches({ discharge: true });
    expect(m.takeEvents()).toEqual([EVENTS.discharge_fet_on]);
    expect(m.state().status & status('discharge_fet_on')).not.toBe(0);
  });
});
