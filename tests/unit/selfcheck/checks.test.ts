import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  judgeCellSpread,
  judgeCharger,
  judgeCurrentOffset,
  judgeFaults,
  judgeIdentity,
  judgeTemperatures,
} from '../../../electron/host/selfcheck/checks.js';
import { conclude } from '../../../electron/host/selfcheck/selfcheck.js';
import { DEFAULT_POLICY } from '../../../shared/warranty/default-policy.js';
import { ALARM_FLAGS, type DeviceInfo, type TelemetryFrame } from '../../../shared/types/domain.js';

const bit = (n: (typeof ALARM_FLAGS)[number]) => 1 << ALARM_FLAGS.indexOf(n);
const frame = (o: Partial<TelemetryFrame> = {}): TelemetryFrame => ({
  t: 0,
  packVoltage: 13.2,
  current: 0,
  soc: 50,
  cellVoltages: [3.3, 3.3, 3.3, 3.3],
  temperatures: [22, 22.5, 24, 25],
  status: 0,
  alarms: 0,
  ...o,
});
const sample = (n: number, o: Partial<TelemetryFrame> = {}) => ({ frames: Array.from({ length: n }, () => frame(o)) });
const INFO: DeviceInfo = {
  protocol: 'native',
  model: 'M',
  serial: 'S1',
  boardId: 'B',
  hardwareRevision: 'B2',
  firmwareVersion: '1.4.2',
  bootloaderVersion: '1.0',
  cellCount: 4,
  chemistry: 'lfp',
  nominalCapacityAh: 100,
  publicKeyFingerprint: null,
  signsEvidence: true,
};
const LABELS = ['cells1', 'cells2', 'mosfet', 'board'];

describe('self-check judgements', () => {
  it('firmware currency and test mode', () => {
    expect(compareVersions('1.10.0', '1.9.3')).toBe(1);
    expect(compareVersions('1.4.2', '1.4.2')).toBe(0);
    expect(compareVersions('v1.4', '1.4.1')).toBe(-1);
    expect(judgeIdentity(INFO, '1.5.0', false)).toMatchObject({ status: 'warn', meaning: expect.stringContaining('Firmware 1.5.0 is available') });
    expect(judgeIdentity(INFO, '1.4.2', false).status).toBe('pass');
    expect(judgeIdentity(INFO, null, false).meaning).toContain('currency was not compared');
    expect(judgeIdentity(INFO, '1.0.0', true)).toMatchObject({ status: 'warn', meaning: expect.stringContaining('test mode') });
  });

  it('hardware faults mean a claim; protections mean act on the cause', () => {
    expect(judgeFaults(0, 0)).toMatchObject({ status: 'pass' });
    expect(judgeFaults(bit('afe_fault'), 0)).toMatchObject({ status: 'fail', meaning: expect.stringContaining('file a claim') });
    expect(judgeFaults(0, bit('current_sensor_fault'))).toMatchObject({ status: 'fail' });
    expect(judgeFaults(bit('cell_undervoltage'), bit('cell_undervoltage'))).toMatchObject({
      status: 'warn',
      measured: 'active: cell_undervoltage; since last cleared: cell_undervoltage',
    });
  });

  it('cell balance: needs rest and a mid SOC, fails on one drifting cell', () => {
    expect(judgeCellSpread(sample(5), DEFAULT_POLICY)).toMatchObject({ status: 'pass', values: { spreadV: 0, worstCell: 1 } });
    const weak = judgeCellSpread(sample(5, { cellVoltages: [3.3, 3.3, 3.3, 3.22] }), DEFAULT_POLICY);
    expect(weak).toMatchObject({ status: 'fail', values: { worstCell: 4, deviationV: 0.08, spreadV: 0.08 } });
    expect(weak.measured).toBe('spread 80 mV; cell 4 is 80 mV from the mean of the others (SOC 50 %)');
    expect(judgeCellSpread(sample(5, { cellVoltages: [3.3, 3.3, 3.3, 3.27] }), DEFAULT_POLICY).status).toBe('warn');
    expect(judgeCellSpread(sample(5, { cellVoltages: [3.3, 3.3, 3.3, 3.22], current: -12 }), DEFAULT_POLICY)).toMatchObject({
      status: 'skipped',
      meaning: expect.stringContaining('Disconnect load and charger'),
    });
    expect(judgeCellSpread(sample(5, { cellVoltages: [3.6, 3.6, 3.6, 3.4], soc: 98 }), DEFAULT_POLICY)).toMatchObject({
      status: 'skipped',
      meaning: expect.stringContaining('between 10 and 90 %'),
    });
  });

  it('temperature sensors: broken NTCs and disagreeing cell sensors are defects', () => {
    expect(judgeTemperatures(sample(3), LABELS, null, 1).status).toBe('pass');
    expect(judgeTemperatures(sample(3, { temperatures: [22, -40, 24, 25] }), LABELS, null, 1)).toMatchObject({
      status: 'fail',
      meaning: expect.stringContaining('Cells 2 reads an impossible value'),
    });
    expect(judgeTemperatures(sample(3, { temperatures: [22, 35, 24, 25] }), LABELS, null, 1)).toMatchObject({ status: 'fail', values: { cellSpreadC: 13 } });
    // Under load the sensors may legitimately differ.
    expect(judgeTemperatures(sample(3, { temperatures: [22, 35, 24, 25], current: -50 }), LABELS, null, 1).status).toBe('pass');
    expect(judgeTemperatures(sample(3), LABELS, 40, 1)).toMatchObject({ status: 'warn', meaning: expect.stringContaining('below the room') });
    expect(judgeTemperatures(sample(3, { temperatures: [-3, -2, 0, 1] }), LABELS, null, 1)).toMatchObject({
      status: 'warn',
      meaning: expect.stringContaining('do not charge'),
    });
  });

  it('current offset at rest', () => {
    expect(judgeCurrentOffset(sample(10, { current: 0.02 }), 100, 1)).toMatchObject({ status: 'pass', values: { meanA: 0.02, limitA: 0.2 } });
    expect(judgeCurrentOffset(sample(10, { current: 0.6 }), 100, 1)).toMatchObject({ status: 'fail' });
    expect(judgeCurrentOffset(sample(10, { current: -30 }), 100, 1).status).toBe('skipped');
  });

  it('charger against the pack limits', () => {
    const limits = { cellOvervoltageV: 3.65, chargeOvercurrentA: 100, chargeMinTemperatureC: 0 };
    expect(judgeCharger(limits, 16, { voltageV: 58.4, currentA: 30 }, sample(3))).toMatchObject({ status: 'pass' });
    expect(judgeCharger(limits, 16, { voltageV: 60, currentA: 30 }, sample(3))).toMatchObject({
      status: 'warn',
      meaning: expect.stringContaining("above the pack's 58.4 V maximum"),
    });
    expect(judgeCharger(limits, 16, { voltageV: 58.4, currentA: 120 }, sample(3)).meaning).toContain("above the pack's 100 A charge limit");
    expect(judgeCharger(limits, 16, null, sample(3)).status).toBe('skipped');
    expect(judgeCharger(limits, 16, null, sample(3, { current: 130, packVoltage: 56 }))).toMatchObject({ status: 'warn', values: { observedChargeA: 130 } });
  });

  it('any failed step means "file a claim"; warnings and skipped steps are named', () => {
    const pass = judgeFaults(0, 0);
    const fail = judgeCellSpread(sample(5, { cellVoltages: [3.3, 3.3, 3.3, 3.22] }), DEFAULT_POLICY);
    const skipped = judgeCurrentOffset(sample(3, { current: -30 }), 100, 1);
    expect(conclude([pass, fail, skipped])).toMatchObject({
      outcome: 'file-a-claim',
      summary: 'File a claim: cell balance at rest points to a defect. Create a diagnosis package (packscope package create) with the pack still connected.',
    });
    expect(conclude([pass, skipped]).summary).toBe('No problem found. Not measured this time: current sensor at rest.');
    expect(conclude([pass]).summary).toBe('No problem found.');
  });
});
