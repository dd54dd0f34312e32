import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import {
  createJkExtractor,
  decodeJkFields,
  decodeJkFrame,
  decodeJkStatusFrame,
  encodeJkFields,
  encodeJkFrame,
  encodeJkReadAll,
  interpretJkFields,
  jkDeviceInfo,
  jkToTelemetry,
} from '../../../shared/bms/jk.js';
import { bytesOf, loadFixtures, num, title } from './fixtures.js';

const frames = loadFixtures('jk');

describe('JK published frames (tests/fixtures/bmsframes/jk.json)', () => {
  it('has the frames this suite relies on', () => {
    expect(frames.length).toBeGreaterThanOrEqual(7);
  });

  for (const f of frames.filter((f) => f.expect === 'error')) {
    it(`rejects ${title(f)}`, () => {
      expect(() => decodeJkFrame(bytesOf(f))).toThrow(DecodeError);
    });
  }

  it(`encodes the read-all request byte for byte (${frames[0]!.source})`, () => {
    const f = frames.find((f) => f.id === 'jk-req-read-all')!;
    expect(encodeJkReadAll()).toEqual(bytesOf(f));
    expect(decodeJkFrame(bytesOf(f))).toMatchObject({ command: 0x06, source: 3, type: 0, bmsId: 0 });
  });

  for (const f of frames.filter((f) => f.direction === 'response' && f.expect !== 'error')) {
    it(`decodes response ${title(f)}`, () => {
      const d = f.decoded!;
      const fr = decodeJkFrame(bytesOf(f));
      expect(bytesOf(f).length - 2).toBe(d['frame_length_field']);
      expect(fr).toMatchObject({ command: 0x06, source: d['frame_source'], type: d['transport_type'], recordNumber: 0 });
      const s = decodeJkStatusFrame(bytesOf(f));
      expect(s.cellVoltages.length).toBe(d['cell_count_in_0x79']);
      (d['cell_voltages_V'] as number[]).forEach((v, i) => expect(s.cellVoltages[i]).toBeCloseTo(v, 3));
      expect(s.mosTemperature).toBe(d['mosfet_temperature_C']);
      expect(s.temperature1).toBe(d['temperature_1_C']);
      expect(s.temperature2).toBe(d['temperature_2_C']);
      expect(s.packVoltage).toBeCloseTo(num(d['voltage_V']), 2);
      expect(s.currentRaw).toBe(d['current_raw']);
      expect(s.current).toBeCloseTo(num(d['current_A']), 2);
      expect(s.soc).toBe(d['soc_pct']);
      expect(s.temperatureSensorCount).toBe(d['temperature_sensor_count']);
      expect(s.cycles).toBe(d['cycles']);
      expect(s.totalCycleCapacityAh).toBe(d['total_cycle_capacity_raw']);
      expect(s.cellCount).toBe(d['cell_count']);
      expect(s.warnings).toBe(d['errors_bitmask']);
      expect(s.statusBits).toBe(d['status_bitmask']);
      expect(s.capacityAh).toBe(d['total_capacity_Ah']);
      expect(s.deviceId).toBe(d['device_id']);
      expect(s.manufactureDate).toBe(d['manufacture_date']);
      expect(s.runtimeRaw).toBe(d['total_runtime_raw']);
      expect(s.softwareVersion).toBe(d['software_version']);
      expect(s.actualCapacityAh).toBe(d['actual_capacity_Ah']);
      expect(s.manufacturerId).toBe(d['manufacturer_id']);
      expect(s.protocolVersion).toBe(d['protocol_version']);
      expect(s.unknownIdAt).toBeNull();
      if (d['min_cell_V'] !== undefined) {
        expect(Math.min(...s.cellVoltages)).toBeCloseTo(num(d['min_cell_V']), 3);
        expect(Math.max(...s.cellVoltages)).toBeCloseTo(num(d['max_cell_V']), 3);
        expect(s.packVoltage * s.current).toBeCloseTo(num(d['power_W']), 1);
      }
      // The payload re-encodes to the same bytes: field order and lengths are exactly the board's.
      const parsed = decodeJkFields(fr.payload);
      expect(encodeJkFields(parsed.fields)).toEqual(fr.payload);
      expect(encodeJkFrame(fr)).toEqual(bytesOf(f));
    });
  }

  it('maps the 14S charging capture (syssi/esphome-jk-bms esp8266-example-faker.yaml; values from tests/components/jk_bms/jk_bms_test.cpp)', () => {
    const s = decodeJkStatusFrame(bytesOf(frames.find((f) => f.id === 'jk-faker-14s-charging')!));
    const t = jkToTelemetry(s, 5);
    expect(t.current).toBe(2.08);
    expect(t.temperatures).toEqual([30, 28, 29]); // T1, T2, then the MOSFET sensor
    const info = jkDeviceInfo(s);
    expect(info).toMatchObject({
      protocol: 'jk',
      model: 'BT3072020120000200521001',
      hardwareRevision: 'H6.X',
      firmwareVersion: '6.1.3S',
      cellCount: 14,
      chemistry: 'nmc',
      nominalCapacityAh: 14,
      signsEvidence: false,
    });
  });

  it('names the model from the manufacturer field (syssi/esphome-jk-bms docs/pdus/JK-B2A24S20P-10.07-UART-TTL.txt)', () => {
    const s = decodeJkStatusFrame(bytesOf(frames.find((f) => f.id === 'jk-uart-b2a24s-13s')!));
    expect(jkDeviceInfo(s)).toMatchObject({ model: 'JK-B2A24S15P', hardwareRevision: '10.XW', firmwareVersion: '10.07' });
  });

  it('the stale ArminJo test frame decodes only if its length and checksum are ignored — a strict decoder refuses it', () => {
    const f = frames.find((f) => f.id === 'jk-neg-arminjo-standalone-test-frame')!;
    const b = bytesOf(f);
    // Repair the two stale fields to show the body itself is what ArminJo states.
    const body = b.slice(11, b.length - 9);
    const s = interpretJkFields(decodeJkFields(body));
    expect(s.current).toBeCloseTo(num(f.decoded_if_checksum_ignored!['current_A']), 2);
    expect(s.cellVoltages.length).toBe(16);
  });

  it('extracts the published replies from a noisy stream, counting the stale and truncated ones', () => {
    const good = frames.filter((f) => f.direction === 'response' && f.expect !== 'error');
    const ex = createJkExtractor();
    const out = [];
    out.push(...ex.push(bytesOf(frames.find((f) => f.id === 'jk-neg-truncated-derived')!)));
    out.push(...ex.flush());
    for (const f of good) {
      const b = bytesOf(f);
      out.push(...ex.push(Uint8Array.of(0x4e, 0x00, 0x57)));
      for (let i = 0; i < b.length; i += 17) out.push(...ex.push(b.subarray(i, i + 17)));
    }
    expect(out.length).toBe(good.length);
    expect(ex.stats.partial).toBeGreaterThanOrEqual(1);
    expect(ex.stats.garbageBytes).toBeGreaterThan(0);
  });
});
