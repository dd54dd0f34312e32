import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import {
  createJbdExtractor,
  decodeJbdBasicInfo,
  decodeJbdCells,
  decodeJbdFrame,
  decodeJbdHardwareVersion,
  decodeJbdRequest,
  decodeJbdResponse,
  encodeJbdRead,
  jbdAlarms,
  jbdDeviceInfo,
  jbdSoftwareVersionString,
  jbdToTelemetry,
  JBD_PROTECTION_BITS,
} from '../../../shared/bms/jbd.js';
import { ALARM_FLAGS, flagNames, STATUS_FLAGS } from '../../../shared/types/domain.js';
import { bytesOf, loadFixtures, num, title } from './fixtures.js';

const frames = loadFixtures('jbd');

describe('JBD published frames (tests/fixtures/bmsframes/jbd.json)', () => {
  it('has the frames this suite relies on', () => {
    expect(frames.length).toBeGreaterThanOrEqual(22);
  });

  for (const f of frames.filter((f) => f.expect === 'error')) {
    it(`rejects ${title(f)}`, () => {
      expect(() => decodeJbdFrame(bytesOf(f))).toThrow(DecodeError);
    });
  }

  for (const f of frames.filter((f) => f.direction === 'request')) {
    it(`decodes request ${title(f)}`, () => {
      const req = decodeJbdRequest(bytesOf(f));
      const d = f.decoded!;
      expect(req.kind).toBe(d['kind']);
      expect(req.register).toBe(parseInt(d['register'] as string, 16));
      expect(req.data.length).toBe(d['data_length']);
      if (req.kind === 'read') expect(encodeJbdRead(req.register)).toEqual(bytesOf(f));
    });
  }

  for (const f of frames.filter((f) => f.direction === 'response' && f.expect !== 'error')) {
    it(`decodes response ${title(f)}`, () => {
      const res = decodeJbdResponse(bytesOf(f));
      const d = f.decoded!;
      expect(res.register).toBe(parseInt(d['register'] as string, 16));
      expect(res.status).toBe(d['status']);
      if (res.register === 0x03) {
        const b = decodeJbdBasicInfo(res.data);
        expect(b.packVoltage).toBeCloseTo(num(d['voltage_V']), 2);
        expect(b.current).toBeCloseTo(num(d['current_A']), 2);
        expect(b.remainingAh).toBeCloseTo(num(d['capacity_remaining_Ah']), 2);
        expect(b.nominalAh).toBeCloseTo(num(d['nominal_capacity_Ah']), 2);
        expect(b.cycles).toBe(d['cycles']);
        const date = `${b.productionDate.year}-${String(b.productionDate.month).padStart(2, '0')}-${String(b.productionDate.day).padStart(2, '0')}`;
        expect(date).toBe(d['production_date']);
        expect(b.balanceMask).toBe(parseInt(d['balance_status_raw'] as string, 16));
        expect(b.protection).toBe(d['errors_bitmask']);
        expect(Number(jbdSoftwareVersionString(b.softwareVersion))).toBeCloseTo(num(d['software_version']), 5);
        expect(b.soc).toBe(d['soc_pct']);
        expect(b.fet).toBe(d['fet_status']);
        expect(!!(b.fet & 1)).toBe(d['charge_fet_on']);
        expect(!!(b.fet & 2)).toBe(d['discharge_fet_on']);
        expect(b.cellCount).toBe(d['cell_count']);
        expect(b.temperatures.length).toBe(d['temperature_sensor_count']);
        (d['temperatures_C'] as number[]).forEach((t, i) => expect(b.temperatures[i]).toBeCloseTo(t, 1));
        if (d['errors']) {
          // "Mosfet Software Lock" is bit 12 in the JBD document; it has no PackScope alarm.
          expect(JBD_PROTECTION_BITS[12]).toBe('mos_software_lock');
          expect(b.protection).toBe(1 << 12);
          expect(jbdAlarms(b.protection)).toBe(0);
        }
        if (d['problem']) expect(flagNames(ALARM_FLAGS, jbdAlarms(b.protection))).toEqual(['cell_overvoltage']);
      } else if (res.register === 0x04) {
        const cells = decodeJbdCells(res.data);
        expect(cells.length).toBe(d['cell_count']);
        (d['cell_voltages_V'] as number[]).forEach((v, i) => expect(cells[i]).toBeCloseTo(v, 3));
        if (d['delta_V'] !== undefined) expect(Math.max(...cells) - Math.min(...cells)).toBeCloseTo(num(d['delta_V']), 3);
      } else if (res.register === 0x05) {
        expect(decodeJbdHardwareVersion(res.data)).toBe(d['hardware_version']);
      } else {
        // 0xAA error counters and write acknowledgements: framing and status only.
        expect(res.data.length).toBe(d['data_length'] ?? res.data.length);
      }
    });
  }

  it('maps the SP04S034 capture to a TelemetryFrame and DeviceInfo (syssi/esphome-jbd-bms docs/pdus/JBD-SP04S034-L4S-200A-B-U.txt)', () => {
    const basic = decodeJbdBasicInfo(decodeJbdResponse(bytesOf(frames.find((f) => f.id === 'jbd-sp04-basic-1')!)).data);
    const cells = decodeJbdCells(decodeJbdResponse(bytesOf(frames.find((f) => f.id === 'jbd-sp04-cells-1')!)).data);
    const hw = decodeJbdHardwareVersion(decodeJbdResponse(bytesOf(frames.find((f) => f.id === 'jbd-sp04-hwver')!)).data);
    const t = jbdToTelemetry(basic, cells, 1000);
    expect(t).toMatchObject({
      t: 1000,
      packVoltage: 15.6,
      current: 0,
      soc: 100,
      cellVoltages: [3.909, 3.901, 3.895, 3.901],
      temperatures: [22.4, 22.3, 21.7],
      alarms: 0,
    });
    expect(flagNames(STATUS_FLAGS, t.status)).toEqual(['charge_fet_on', 'discharge_fet_on', 'rest']);
    const info = jbdDeviceInfo(basic, hw);
    expect(info).toMatchObject({
      protocol: 'jbd',
      model: 'JBD-SP04S034-L4S-200A-B-U',
      firmwareVersion: '8.0',
      cellCount: 4,
      nominalCapacityAh: 5,
      signsEvidence: false,
      publicKeyFingerprint: null,
    });
  });

  it('a discharging capture reads as negative current (patman15/aiobmsble tests/bms/test_jbd_bms.py)', () => {
    const basic = decodeJbdBasicInfo(decodeJbdResponse(bytesOf(frames.find((f) => f.id === 'jbd-aio-basic-discharging')!)).data);
    const t = jbdToTelemetry(basic, [], 0);
    expect(t.current).toBe(-2.87);
    expect(flagNames(STATUS_FLAGS, t.status)).toContain('discharging');
  });

  it('extracts every valid published response from one noisy stream and counts the bad ones', () => {
    const good = frames.filter((f) => f.direction === 'response' && f.expect !== 'error');
    const bad = frames.filter((f) => f.expect === 'error');
    const ex = createJbdExtractor();
    const out = [];
    const noise = Uint8Array.of(0x00, 0xff, 0x13, 0x77);
    for (const f of [...bad, ...good]) {
      const b = bytesOf(f);
      out.push(...ex.push(noise));
      // Byte-by-byte, as a slow line delivers it.
      for (const x of b) out.push(...ex.push(Uint8Array.of(x)));
    }
    out.push(...ex.flush());
    expect(out.map((o) => o.b1)).toEqual(good.map((f) => bytesOf(f)[1]));
    expect(ex.stats.frames).toBe(good.length);
    expect(ex.stats.crcErrors).toBeGreaterThanOrEqual(1); // jbd-neg-badcrc-derived
    expect(ex.stats.garbageBytes).toBeGreaterThan(0);
  });
});
