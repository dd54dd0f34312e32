import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import {
  decodePylonAlarmInfo,
  decodePylonAnalog,
  decodePylonLine,
  decodePylonManagementInfo,
  decodePylonManufacturerInfo,
  decodePylonSerial,
  decodePylonSystemParameters,
  encodePylonAlarmInfo,
  encodePylonAnalog,
  encodePylonFrame,
  encodePylonManagementInfo,
  encodePylonManufacturerInfo,
  encodePylonRequest,
  encodePylonSystemParameters,
  pylonAlarms,
  pylonLengthField,
  pylonSoc,
  pylonStatus,
  PYLON_CID2,
  type PylonAlarmInfo,
  type PylonModuleAnalog,
} from '../../../shared/bms/pylontech-rs485.js';
import { ALARM_FLAGS, flagNames, STATUS_FLAGS } from '../../../shared/types/domain.js';
import { bytesOf, loadFixtures, num, title } from './fixtures.js';

/**
 * The published Pylontech RS485 frames (tests/fixtures/bmsframes/pylontech_rs485.json) decode to
 * the values their sources state, and the codec round-trips what the simulator sends.
 */
const frames = loadFixtures('pylontech_rs485');
const byId = (id: string) => frames.find((f) => f.id === id)!;
const near = (a: number, b: unknown, tol: number, what: string) => expect(Math.abs(a - num(b)), `${what}: ${a} vs ${String(b)}`).toBeLessThanOrEqual(tol);

type Stated = Record<string, unknown>;

function expectModule(m: PylonModuleAnalog, d: Stated): void {
  expect(m.cellVoltages.length).toBe(d['cell_count']);
  m.cellVoltages.forEach((v, i) => near(v, (d['cell_voltages_V'] as number[])[i], 0.0005, `cell ${i + 1}`));
  expect(m.temperatures.length).toBe(d['temperature_count']);
  m.temperatures.forEach((t, i) => near(t, (d['temperatures_C'] as number[])[i], 0.05, `temperature ${i + 1}`));
  near(m.current, d['current_A'], 0.05, 'current');
  near(m.voltage, d['voltage_V'], 0.0005, 'voltage');
  near(m.remainingAh, d['remaining_capacity_Ah'], 0.0005, 'remaining');
  near(m.totalAh, d['total_capacity_Ah'], 0.0005, 'total');
  expect(m.cycles).toBe(d['cycles']);
  expect(m.userDefinedItems).toBe(d['user_defined_items']);
  near(pylonSoc(m), d['soc_pct_computed'], 0.01, 'SOC');
}

describe('Pylontech RS485 published frames', () => {
  it('has the frames this suite relies on', () => {
    expect(frames.length).toBeGreaterThanOrEqual(29);
  });

  for (const f of frames) {
    if (f.expect === 'error') {
      it(`rejects ${title(f)}`, () => {
        expect(() => decodePylonLine(bytesOf(f))).toThrow(DecodeError);
      });
      continue;
    }
    it(`frames ${title(f)} (header, LENGTH, CHKSUM) and re-encodes it byte for byte`, () => {
      const frame = decodePylonLine(bytesOf(f));
      const h = (f.decoded as { header: Stated }).header;
      expect(frame.ver).toBe(parseInt(h['ver'] as string, 16));
      expect(frame.adr).toBe(h['adr']);
      expect(frame.cid2).toBe(parseInt(h['cid2_or_rtn'] as string, 16));
      expect(frame.info.length * 2).toBe(h['lenid']);
      expect(encodePylonFrame(frame)).toEqual(bytesOf(f));
    });
  }

  for (const id of ['pylon-ess-us2000-analog', 'pylon-tom-resp-42', 'pylon-fr-up2500-single', 'pylon-manual-analog-adr1']) {
    it(`decodes the analog values of ${id}`, () => {
      const f = byId(id);
      const d = f.decoded as Stated;
      const a = decodePylonAnalog(decodePylonLine(bytesOf(f)).info, false);
      expect(a.dataFlag).toBe(parseInt(d['data_flag'] as string, 16));
      expect(a.command).toBe(d['command_value']);
      expect(a.modules).toHaveLength(1);
      expectModule(a.modules[0]!, d);
      if (d['stated'] && (d['stated'] as Stated)['q'] !== undefined) near(a.modules[0]!.remainingAh * 1000, (d['stated'] as Stated)['q'], 0.5, 'stated q');
      // Without being told what was asked, a single-module answer is still read as one module.
      expect(decodePylonAnalog(decodePylonLine(bytesOf(f)).info).modules).toHaveLength(1);
    });
  }

  for (const id of ['pylon-fr-us2000-3modules', 'pylon-fr-mixed-us3000-us2000']) {
    it(`decodes every module of the all-modules answer ${id}, and the stated totals`, () => {
      const f = byId(id);
      const d = f.decoded as { module_count: number; modules: Stated[]; stated_totals: { total_power_W: number; state_of_charge: number } };
      const a = decodePylonAnalog(decodePylonLine(bytesOf(f)).info);
      expect(a.command).toBe(d.module_count);
      expect(a.modules).toHaveLength(d.module_count);
      a.modules.forEach((m, i) => expectModule(m, d.modules[i]!));
      const power = a.modules.reduce((s, m) => s + m.current * m.voltage, 0);
      near(power, d.stated_totals.total_power_W, 0.01, 'total power');
      const soc = a.modules.reduce((s, m) => s + m.remainingAh, 0) / a.modules.reduce((s, m) => s + m.totalAh, 0);
      near(soc, d.stated_totals.state_of_charge, 0.000001, 'SOC');
    });
  }

  it('decodes the alarm info answers (0x44) to the stated states', () => {
    for (const id of ['pylon-ess-alarm-adr2', 'pylon-ess-alarm-adr3']) {
      const f = byId(id);
      const d = f.decoded as Stated;
      const a = decodePylonAlarmInfo(decodePylonLine(bytesOf(f)).info);
      expect(a.cellStates).toEqual(d['u_cell']);
      expect(a.temperatureStates).toEqual(d['t']);
      expect([a.chargeCurrentState, a.moduleVoltageState, a.dischargeCurrentState]).toEqual([d['i_chg'], d['u_pack'], d['i_dis']]);
      expect(a.status).toEqual(d['status']);
      // 'ready' in the source is status 2's discharge MOSFET bit.
      expect(flagNames(STATUS_FLAGS, pylonStatus({ current: 0 } as PylonModuleAnalog, a)).includes('discharge_fet_on')).toBe(d['ready']);
      expect(pylonAlarms(a)).toBe(0);
    }
    const t = byId('pylon-tom-resp-44');
    const a = decodePylonAlarmInfo(decodePylonLine(bytesOf(t)).info);
    expect(a.status).toEqual((t.decoded as Stated)['status_bytes']);
    expect(a.cellStates).toEqual((t.decoded as Stated)['cell_status']);
  });

  it('decodes manufacturer info (0x51), serial number (0x93) and management info (0x92)', () => {
    for (const id of ['pylon-ess-manuf-us2000c-adr3', 'pylon-ess-manuf-us2kbpl', 'pylon-tom-resp-51']) {
      const f = byId(id);
      const m = decodePylonManufacturerInfo(decodePylonLine(bytesOf(f)).info);
      expect(m).toEqual({
        device: (f.decoded as Stated)['device'],
        version: (f.decoded as Stated)['version'],
        manufacturer: (f.decoded as Stated)['manufacturer'],
      });
    }
    const s = byId('pylon-ess-serial-adr2');
    expect(decodePylonSerial(decodePylonLine(bytesOf(s)).info)).toEqual({ command: 2, serial: 'HPTCR03171112590' });
    const g = byId('pylon-tom-resp-92');
    const d = g.decoded as Stated;
    const m = decodePylonManagementInfo(decodePylonLine(bytesOf(g)).info);
    near(m.chargeVoltageLimit, d['charge_voltage_limit_V'], 0.0005, 'charge V');
    near(m.dischargeVoltageLimit, d['discharge_voltage_limit_V'], 0.0005, 'discharge V');
    near(m.chargeCurrentLimit, d['charge_current_limit_A'], 0.05, 'charge A');
    near(m.dischargeCurrentLimit, d['discharge_current_limit_A'], 0.05, 'discharge A');
    expect(m.status).toBe(0xc0);
  });

  it('encodes the published requests byte for byte', () => {
    expect(encodePylonRequest(PYLON_CID2.analog, 2)).toEqual(bytesOf(byId('pylon-ess-req-42-adr2')));
    expect(encodePylonRequest(PYLON_CID2.alarm, 2)).toEqual(bytesOf(byId('pylon-ess-req-44-adr2')));
    expect(encodePylonRequest(PYLON_CID2.serial, 2)).toEqual(bytesOf(byId('pylon-ess-req-93-adr2')));
    expect(encodePylonRequest(PYLON_CID2.manufacturer, 2)).toEqual(bytesOf(byId('pylon-ess-req-51-adr2')));
  });
});

const arbModule: fc.Arbitrary<PylonModuleAnalog> = fc
  .record({
    cells: fc.array(fc.integer({ min: 2000, max: 4200 }), { minLength: 1, maxLength: 24 }),
    temps: fc.array(fc.integer({ min: -400, max: 900 }), { minLength: 1, maxLength: 8 }),
    current: fc.integer({ min: -3000, max: 3000 }),
    voltage: fc.integer({ min: 0, max: 65535 }),
    remaining: fc.integer({ min: 0, max: 0xffffff }),
    total: fc.integer({ min: 0, max: 0xffffff }),
    cycles: fc.integer({ min: 0, max: 65535 }),
    big: fc.boolean(),
  })
  .map((r) => {
    const small = !r.big && r.remaining < 0xffff && r.total < 0xffff;
    return {
      cellVoltages: r.cells.map((c) => c / 1000),
      temperatures: r.temps.map((t) => t / 10),
      current: r.current / 10,
      voltage: r.voltage / 1000,
      remainingAh: (small ? r.remaining : r.remaining) / 1000,
      totalAh: r.total / 1000,
      cycles: r.cycles,
      userDefinedItems: small ? 2 : 4,
    };
  });

describe('Pylontech RS485 codec properties', () => {
  it('LENGTH: LCHKSUM makes the four nibbles sum to 0 mod 16', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xfff }), (n) => {
        const l = pylonLengthField(n);
        expect(l & 0xfff).toBe(n);
        expect(((l >> 12) + (n & 0xf) + ((n >> 4) & 0xf) + (n >> 8)) % 16).toBe(0);
      }),
    );
  });

  it('any frame round-trips; any single changed character is rejected', () => {
    fc.assert(
      fc.property(
        fc.record({
          ver: fc.integer({ min: 0, max: 255 }),
          adr: fc.integer({ min: 0, max: 255 }),
          cid1: fc.integer({ min: 0, max: 255 }),
          cid2: fc.integer({ min: 0, max: 255 }),
          info: fc.uint8Array({ maxLength: 200 }),
        }),
        fc.nat(),
        fc.integer({ min: 0, max: 15 }),
        (f, at, nibble) => {
          const wire = encodePylonFrame(f);
          expect(decodePylonLine(wire)).toEqual(f);
          // Change one hex character (between '~' and '\r') to another hex digit.
          const i = 1 + (at % (wire.length - 2));
          const digit = '0123456789ABCDEF'.charCodeAt(nibble);
          fc.pre(wire[i] !== digit);
          const bad = wire.slice();
          bad[i] = digit;
          expect(() => decodePylonLine(bad)).toThrow(DecodeError);
        },
      ),
    );
  });

  it('noise before the frame start is ignored; arbitrary bytes never throw anything but DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 40 }), (noise, info) => {
        const wire = encodePylonFrame({ ver: 0x20, adr: 2, cid1: 0x46, cid2: 0, info });
        const line = new Uint8Array([...noise.filter((b) => b !== 0x7e && b !== 0x0d), ...wire]);
        expect(decodePylonLine(line).info).toEqual(info);
        try {
          decodePylonLine(noise);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
    );
  });

  it('analog values round-trip for one module and for all modules', () => {
    fc.assert(
      fc.property(fc.array(arbModule, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 255 }), (modules, flag) => {
        const one = decodePylonAnalog(encodePylonAnalog({ dataFlag: flag, command: 2, modules: [modules[0]!] }), false);
        expect(one.modules[0]).toEqual(modules[0]);
        const all = decodePylonAnalog(encodePylonAnalog({ dataFlag: flag, command: modules.length, modules }), true);
        expect(all.modules).toEqual(modules);
      }),
    );
  });

  it('alarm info, system parameters, manufacturer and management info round-trip', () => {
    const states = fc.constantFrom(0, 1, 2, 0xf0);
    fc.assert(
      fc.property(
        fc.record({
          dataFlag: fc.integer({ min: 0, max: 255 }),
          command: fc.integer({ min: 0, max: 255 }),
          cellStates: fc.array(states, { maxLength: 16 }),
          temperatureStates: fc.array(states, { maxLength: 8 }),
          chargeCurrentState: states,
          moduleVoltageState: states,
          dischargeCurrentState: states,
          status: fc.tuple(...Array.from({ length: 5 }, () => fc.integer({ min: 0, max: 255 }))) as fc.Arbitrary<PylonAlarmInfo['status']>,
        }),
        (a) => {
          expect(decodePylonAlarmInfo(encodePylonAlarmInfo(a))).toEqual(a);
          // Every named protection of status 1 shows as an alarm flag.
          if (a.status[0] & 0x01) expect(flagNames(ALARM_FLAGS, pylonAlarms(a))).toContain('pack_overvoltage');
        },
      ),
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60000 }), { minLength: 12, maxLength: 12 }), (raw) => {
        const p = {
          cellHighVoltage: raw[0]! / 1000,
          cellLowVoltage: raw[1]! / 1000,
          cellUnderVoltage: (raw[2]! % 32000) / 1000,
          chargeHighTemperature: (raw[3]! % 1000) / 10,
          chargeLowTemperature: -(raw[4]! % 400) / 10,
          chargeCurrentLimit: (raw[5]! % 30000) / 100,
          moduleHighVoltage: raw[6]! / 1000,
          moduleLowVoltage: raw[7]! / 1000,
          moduleUnderVoltage: raw[8]! / 1000,
          dischargeHighTemperature: (raw[9]! % 1000) / 10,
          dischargeLowTemperature: -(raw[10]! % 400) / 10,
          dischargeCurrentLimit: -(raw[11]! % 30000) / 100,
        };
        const back = decodePylonSystemParameters(encodePylonSystemParameters(p));
        for (const k of Object.keys(p) as Array<keyof typeof p>) near(back[k], p[k], 1e-9, k);
      }),
    );
    const m = { device: 'US3000C', version: '2.8', manufacturer: 'Pylon' };
    expect(decodePylonManufacturerInfo(encodePylonManufacturerInfo(m))).toEqual(m);
    const g = { command: 2, chargeVoltageLimit: 53.25, dischargeVoltageLimit: 47, chargeCurrentLimit: 25, dischargeCurrentLimit: -25, status: 0xc0 };
    expect(decodePylonManagementInfo(encodePylonManagementInfo(g))).toEqual(g);
  });
});
