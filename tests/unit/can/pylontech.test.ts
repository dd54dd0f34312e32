import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import {
  PYLONTECH_ALARMS,
  alarmsToPylontech,
  applyPylontech,
  decodePylontech,
  encodePackBroadcast,
  encodePylontech,
  pylontechTelemetry,
  pylontechToAlarms,
  type PylontechMessage,
  type PylontechState,
} from '../../../shared/can/pylontech.js';
import { ALARM_FLAGS, STATUS_FLAGS, flagBit, flagNames } from '../../../shared/types/domain.js';
import { fromHex } from '../../../shared/util/bytes.js';

interface Fixture {
  id: string;
  can_id: string;
  data_hex: string;
  expect?: string;
  decoded: Record<string, unknown> | null;
}
const fixtures = (JSON.parse(readFileSync(new URL('../../fixtures/bmsframes/pylontech_can.json', import.meta.url), 'utf8')) as { frames: Fixture[] }).frames;

const alarmNames = (set: Record<string, boolean>) => Object.keys(set).filter((k) => set[k]);

describe('Pylontech CAN decoder against published frames', () => {
  for (const f of fixtures) {
    it(`${f.id} (${f.can_id})`, () => {
      const id = parseInt(f.can_id, 16);
      const data = fromHex(f.data_hex);
      if (f.expect === 'error') {
        expect(() => decodePylontech(id, data)).toThrow(DecodeError);
        return;
      }
      const m = decodePylontech(id, data);
      if (f.expect === 'unsupported_id') {
        expect(m).toBeNull();
        return;
      }
      const d = f.decoded!;
      switch (m!.kind) {
        case 'limits':
          expect(m!.chargeVoltage).toBeCloseTo(d.charge_voltage_V as number, 2);
          expect(m!.chargeCurrentLimit).toBeCloseTo(d.charge_current_limit_A as number, 1);
          expect(m!.dischargeCurrentLimit).toBeCloseTo(d.discharge_current_limit_A as number, 1);
          expect(m!.dischargeVoltage).toBeCloseTo(d.discharge_voltage_V as number, 2);
          break;
        case 'soc':
          expect(m!.soc).toBe(d.soc_pct);
          expect(m!.soh).toBe(d.soh_pct);
          break;
        case 'measurements':
          expect(m!.voltage).toBeCloseTo(d.voltage_V as number, 2);
          expect(m!.current).toBeCloseTo(d.current_A as number, 1);
          expect(m!.temperature).toBeCloseTo(d.temperature_C as number, 1);
          break;
        case 'alarms':
          expect(m!.protection).toEqual(d.protection);
          expect(m!.warning).toEqual(d.alarm_warning);
          expect(m!.moduleCount).toBe(d.module_count);
          expect(m!.marker).toBe(d.marker);
          break;
        case 'requests':
          expect(m).toEqual({
            kind: 'requests',
            chargeEnable: d.charge_enable,
            dischargeEnable: d.discharge_enable,
            forceCharge1: d.force_charge_1,
            forceCharge2: d.force_charge_2,
            fullChargeRequest: d.full_charge_request,
          });
          break;
        case 'manufacturer':
          expect(m!.name).toBe(d.manufacturer);
          break;
      }
    });
  }

  it('re-encodes the published frames byte for byte (standard layouts)', () => {
    for (const id of ['can-aj-351', 'can-aj-355', 'can-aj-356-0.4A', 'can-aj-359', 'can-aj-35C', 'can-aj-35E', 'can-pytes-351']) {
      const f = fixtures.find((x) => x.id === id)!;
      const m = decodePylontech(parseInt(f.can_id, 16), fromHex(f.data_hex))!;
      expect(encodePylontech(m).data).toEqual(fromHex(f.data_hex));
    }
  });
});

const alarmSet = fc.record(
  Object.fromEntries(PYLONTECH_ALARMS.map((n) => [n, fc.boolean()])) as Record<(typeof PYLONTECH_ALARMS)[number], fc.Arbitrary<boolean>>,
);
const arbMessage: fc.Arbitrary<PylontechMessage> = fc.oneof(
  fc.record({
    kind: fc.constant('limits' as const),
    chargeVoltage: fc.integer({ min: 0, max: 6553 }).map((x) => x / 10),
    chargeCurrentLimit: fc.integer({ min: -3276, max: 3276 }).map((x) => x / 10),
    dischargeCurrentLimit: fc.integer({ min: -3276, max: 3276 }).map((x) => x / 10),
    dischargeVoltage: fc.integer({ min: 0, max: 6553 }).map((x) => x / 10),
  }),
  fc.record({ kind: fc.constant('soc' as const), soc: fc.integer({ min: 0, max: 100 }), soh: fc.integer({ min: 0, max: 100 }) }),
  fc.record({
    kind: fc.constant('measurements' as const),
    voltage: fc.integer({ min: -32768, max: 32767 }).map((x) => x / 100),
    current: fc.integer({ min: -3276, max: 3276 }).map((x) => x / 10),
    temperature: fc.integer({ min: -400, max: 1200 }).map((x) => x / 10),
  }),
  fc.record({
    kind: fc.constant('alarms' as const),
    protection: alarmSet,
    warning: alarmSet,
    moduleCount: fc.integer({ min: 0, max: 255 }),
    marker: fc.constant('PN'),
  }),
  fc.record({
    kind: fc.constant('requests' as const),
    chargeEnable: fc.boolean(),
    dischargeEnable: fc.boolean(),
    forceCharge1: fc.boolean(),
    forceCharge2: fc.boolean(),
    fullChargeRequest: fc.boolean(),
  }),
  fc.stringMatching(/^[A-Z0-9]{1,8}$/).map((name) => ({ kind: 'manufacturer' as const, name })),
);

describe('Pylontech codec properties', () => {
  it('round-trips every message', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const f = encodePylontech(m);
        const back = decodePylontech(f.id, f.data)!;
        if (m.kind === 'measurements' || m.kind === 'limits') {
          for (const [k, v] of Object.entries(m)) if (k !== 'kind') expect((back as unknown as Record<string, number>)[k]).toBeCloseTo(v as number, 6);
        } else expect(back).toEqual(m);
      }),
    );
  });

  it('arbitrary payloads on any id decode, return null or raise a DecodeError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0x350, max: 0x360 }), fc.uint8Array({ maxLength: 8 }), (id, data) => {
        try {
          decodePylontech(id, data);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('alarm categories project and lift consistently', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (alarms) => {
        const set = alarmsToPylontech(alarms);
        expect(alarmsToPylontech(pylontechToAlarms(set))).toEqual(set);
        // Lifting never invents a category the pack did not raise.
        expect(pylontechToAlarms(set) & ~pylontechToAlarms(alarmsToPylontech(0xffff))).toBe(0);
      }),
    );
  });

  it('a pack state becomes six broadcasts that decode back to a matching telemetry frame', () => {
    const frames = encodePackBroadcast({
      packVoltage: 53.12,
      current: -12.3,
      soc: 77.4,
      soh: 98.2,
      temperatures: [24.1, 25.3, 26.0, 24.6],
      status: flagBit(STATUS_FLAGS, 'charge_fet_on') | flagBit(STATUS_FLAGS, 'discharge_fet_on'),
      alarms: flagBit(ALARM_FLAGS, 'discharge_overtemperature'),
      chargeVoltageLimit: 56.8,
      chargeCurrentLimit: 50,
      dischargeCurrentLimit: 100,
      dischargeVoltageLimit: 44.8,
      cellVoltages: Array(16).fill(3.32),
    });
    expect(frames.map((f) => f.id)).toEqual([0x351, 0x355, 0x356, 0x359, 0x35c, 0x35e]);
    const state: PylontechState = {};
    for (const f of frames) applyPylontech(state, decodePylontech(f.id, f.data)!);
    const t = pylontechTelemetry(state, 1000)!;
    expect(t.packVoltage).toBeCloseTo(53.12, 2);
    expect(t.current).toBeCloseTo(-12.3, 1);
    expect(t.soc).toBe(77);
    expect(t.soh).toBe(98);
    expect(t.temperatures[0]).toBeCloseTo(25.0, 1);
    expect(flagNames(ALARM_FLAGS, t.alarms)).toEqual(['charge_overtemperature', 'discharge_overtemperature']);
    expect(flagNames(STATUS_FLAGS, t.status)).toEqual(['discharging', 'charge_fet_on', 'discharge_fet_on']);
    expect(state.manufacturer).toBe('PYLON');
    expect(alarmNames(state.alarms!.protection)).toEqual(['over_temperature']);
  });
});
