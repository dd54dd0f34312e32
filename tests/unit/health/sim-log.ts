import { createPackModel, type PackConfig, type ScenarioName } from '../../../firmware/sim/pack/index.js';
import type { LogRecord } from '../../../shared/types/domain.js';

/**
 * A black-box-like record stream from the simulated pack: one record per second, quantised as the
 * board stores it (mV, mA, 0.01 %, 0.1 °C), in log order. Returns the model too, for its truth.
 */
export function simLog(scenario: ScenarioName, hours: number, seed = 5, each: (r: LogRecord) => void = () => {}, config: Partial<PackConfig> = {}) {
  const m = createPackModel({ ...config, scenario, seed });
  const q = (x: number, step: number) => Math.round(x / step) * step;
  for (let i = 0; i < hours * 3600; i++) {
    m.step(1);
    const s = m.state();
    each({
      index: i,
      segment: Math.floor(i / 300),
      t: s.timeMs,
      packVoltage: q(s.packVoltage, 0.001),
      current: q(s.current, 0.001),
      soc: q(s.soc, 0.01),
      cellVoltages: s.cellVoltages.map((v) => q(v, 0.001)),
      temperatures: s.temperatures.map((v) => q(v, 0.1)),
      status: s.status,
      alarms: s.alarms,
      event: m.takeEvents()[0] ?? 0,
    });
  }
  return m;
}
