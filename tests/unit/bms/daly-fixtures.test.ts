import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../shared/errors.js';
import {
  createDalyExtractor,
  decodeDalyCellFrame,
  decodeDalyCellRange,
  decodeDalyFrame,
  decodeDalyMos,
  decodeDalyResponse,
  decodeDalySoc,
  decodeDalyStatus,
  decodeDalyTempRange,
  encodeDalyRequest,
  DALY_CMD,
} from '../../../shared/bms/daly.js';
import { bytesOf, loadFixtures, num, title } from './fixtures.js';

const frames = loadFixtures('daly');

describe('Daly published frames (tests/fixtures/bmsframes/daly.json)', () => {
  it('has the frames this suite relies on', () => {
    expect(frames.length).toBeGreaterThanOrEqual(27);
  });

  for (const f of frames.filter((f) => f.expect === 'error')) {
    it(`rejects ${title(f)}`, () => {
      expect(() => decodeDalyFrame(bytesOf(f))).toThrow(DecodeError);
    });
  }

  for (const f of frames.filter((f) => f.direction === 'request')) {
    it(`encodes request ${title(f)} byte for byte`, () => {
      const cmd = parseInt(f.decoded!['command'] as string, 16);
      expect(encodeDalyRequest(cmd)).toEqual(bytesOf(f));
      expect(decodeDalyFrame(bytesOf(f))).toMatchObject({ address: 0x40, command: cmd });
    });
  }

  for (const f of frames.filter((f) => f.direction === 'response' && f.expect !== 'error')) {
    it(`decodes response ${title(f)}`, () => {
      const d = f.decoded!;
      const fr = decodeDalyResponse(bytesOf(f));
      expect(fr.command).toBe(parseInt(d['command'] as string, 16));
      if (f.expect === 'checksum_ok') {
        // Synthetic checksum vector: only framing and the voltage field are meaningful.
        expect(decodeDalySoc(fr.data).packVoltage).toBeCloseTo(num(d['voltage_V']), 1);
        expect(decodeDalySoc(fr.data).currentRaw).toBe(d['current_raw']);
        return;
      }
      switch (fr.command) {
        case DALY_CMD.soc: {
          const s = decodeDalySoc(fr.data);
          expect(s.packVoltage).toBeCloseTo(num(d['voltage_V']), 1);
          expect(s.acquisitionVoltage).toBe(d['acquisition_voltage_raw']);
          expect(s.currentRaw).toBe(d['current_raw']);
          // The fixture README's doubt 1: PackScope reads raw > 30000 as discharge (the board's own
          // 0x93 state is 2 = discharging in every capture), i.e. dbus-serialbattery's sign.
          expect(s.current).toBeCloseTo(num(d['current_A_dbus_serialbattery']), 1);
          expect(Math.abs(s.current)).toBeCloseTo(Math.abs(num(d['current_A_tomatensaus'])), 1);
          expect(s.soc).toBeCloseTo(num(d['soc_pct']), 1);
          break;
        }
        case DALY_CMD.cellRange: {
          const r = decodeDalyCellRange(fr.data);
          expect(r).toEqual({ maxCellVoltage: d['max_cell_V'], maxCell: d['max_cell_no'], minCellVoltage: d['min_cell_V'], minCell: d['min_cell_no'] });
          break;
        }
        case DALY_CMD.tempRange: {
          const r = decodeDalyTempRange(fr.data);
          expect(r).toEqual({ maxTemperature: d['max_temp_C'], maxSensor: d['max_temp_no'], minTemperature: d['min_temp_C'], minSensor: d['min_temp_no'] });
          break;
        }
        case DALY_CMD.mos: {
          const m = decodeDalyMos(fr.data);
          expect(m.state).toBe(d['state']);
          expect(m.chargeMos).toBe(d['charge_mos_on']);
          expect(m.dischargeMos).toBe(d['discharge_mos_on']);
          expect(m.bmsLife).toBe(d['bms_life_cycles']);
          expect(m.remainingAh).toBeCloseTo(num(d['remaining_capacity_Ah']), 3);
          break;
        }
        case DALY_CMD.status: {
          const s = decodeDalyStatus(fr.data);
          expect(s).toEqual({
            cellCount: d['cell_count'],
            temperatureCount: d['temperature_sensor_count'],
            charger: d['charger_connected'],
            load: d['load_connected'],
            dio: d['dio_state'],
            cycles: d['charge_cycles'],
          });
          break;
        }
        case DALY_CMD.cells: {
          const c = decodeDalyCellFrame(fr.data);
          expect(c.frame).toBe(d['frame_no']);
          expect(c.millivolts).toEqual(d['cell_voltages_mV']);
          break;
        }
        default:
          throw new Error(`fixture command ${fr.command} not covered`);
      }
    });
  }

  it('every 0x90 capture with state 2 (discharging) in 0x93 decodes to a negative current (tomatensaus/bms test_daly.py, all rounds)', () => {
    const socs = frames
      .filter((f) => f.id.startsWith('daly-rec') && f.decoded!['command'] === '0x90')
      .map((f) => decodeDalySoc(decodeDalyResponse(bytesOf(f)).data));
    const moss = frames
      .filter((f) => f.id.startsWith('daly-rec') && f.decoded!['command'] === '0x93')
      .map((f) => decodeDalyMos(decodeDalyResponse(bytesOf(f)).data));
    expect(socs.length).toBeGreaterThan(2);
    for (const m of moss) expect(m.state).toBe(2);
    for (const s of socs) expect(s.current).toBeLessThan(0);
  });

  it('extracts the recorded reads from a stream with noise and a truncated reply, counting the bad checksum', () => {
    const good = frames.filter((f) => f.direction === 'response' && f.expect !== 'error');
    const ex = createDalyExtractor();
    const out = [];
    out.push(...ex.push(bytesOf(frames.find((f) => f.id === 'daly-neg-truncated-derived')!)));
    out.push(...ex.flush()); // the reply stopped: the extractor gives up on it
    out.push(...ex.push(bytesOf(frames.find((f) => f.id === 'daly-neg-test-90-badcs-a')!)));
    for (const f of good) out.push(...ex.push(Uint8Array.of(0x11, 0x22, ...bytesOf(f))));
    expect(out.length).toBe(good.length);
    expect(out.map((o) => o.command)).toEqual(good.map((f) => parseInt(f.decoded!['command'] as string, 16)));
    expect(ex.stats.crcErrors).toBeGreaterThanOrEqual(1);
    expect(ex.stats.partial).toBeGreaterThanOrEqual(1);
  });
});
