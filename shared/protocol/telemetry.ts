import type { TelemetryFrame } from '../types/domain.js';
import type { TelemetryPayload } from './messages.js';

/**
 * TelemetryFrame (SI units, floats) ↔ the wire's integer units (mV, mA, 0.01 %, 0.1 °C). The
 * board reports its pack voltage as measured, and the host shows it as sent: nothing is recomputed.
 */
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));

export function telemetryToPayload(f: TelemetryFrame): TelemetryPayload {
  return {
    t: Math.max(0, Math.round(f.t)),
    packMv: clamp(f.packVoltage * 1000, 0, 0xffffffff),
    currentMa: clamp(f.current * 1000, -0x80000000, 0x7fffffff),
    socCenti: clamp(f.soc * 100, 0, 0xffff),
    sohCenti: clamp((f.soh ?? 100) * 100, 0, 0xffff),
    status: f.status & 0xffff,
    alarms: f.alarms >>> 0,
    cellMv: f.cellVoltages.slice(0, 255).map((v) => clamp(v * 1000, 0, 0xffff)),
    tempDeci: f.temperatures.slice(0, 255).map((v) => clamp(v * 10, -0x8000, 0x7fff)),
  };
}

export function payloadToTelemetry(p: TelemetryPayload): TelemetryFrame {
  return {
    t: p.t,
    packVoltage: p.packMv / 1000,
    current: p.currentMa / 1000,
    soc: p.socCenti / 100,
    soh: p.sohCenti / 100,
    cellVoltages: p.cellMv.map((v) => v / 1000),
    temperatures: p.tempDeci.map((v) => v / 10),
    status: p.status,
    alarms: p.alarms,
  };
}
