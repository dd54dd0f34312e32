/** The JSON shape of one telemetry frame, as monitor, info, scan and the bus commands print it. */
import { ALARM_FLAGS, STATUS_FLAGS, flagNames, type TelemetryFrame } from '../../../shared/types/domain.js';

const r3 = (v: number) => Math.round(v * 1000) / 1000;

export function frameToJson(f: TelemetryFrame) {
  return {
    t: f.t,
    time: new Date(f.t).toISOString(),
    packVoltage: r3(f.packVoltage),
    current: r3(f.current),
    soc: Math.round(f.soc * 100) / 100,
    ...(f.soh !== undefined ? { soh: Math.round(f.soh * 100) / 100 } : {}),
    cellVoltages: f.cellVoltages.map(r3),
    temperatures: f.temperatures.map((t) => Math.round(t * 10) / 10),
    status: f.status,
    statusFlags: flagNames(STATUS_FLAGS, f.status),
    alarms: f.alarms,
    alarmFlags: flagNames(ALARM_FLAGS, f.alarms),
    ...(f.deviceFlags?.length ? { deviceFlags: f.deviceFlags } : {}),
    ...(f.extremes ? { extremes: f.extremes } : {}),
  };
}
