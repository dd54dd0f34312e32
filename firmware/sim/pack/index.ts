import { SimPackModel, resolvePackConfig, temperatureSensorCount, temperatureSensorNames } from './model.js';
import type { PackConfig, PackModel } from './types.js';

export type { PackConfig, PackModel, PackState, ScenarioName } from './types.js';
export { SCENARIOS } from './types.js';
export { CHEMISTRIES, ocvAt } from './chemistry.js';
export { SCENARIO_SPECS } from './scenarios.js';
export { resolvePackConfig, temperatureSensorCount, temperatureSensorNames };

/**
 * Creates a simulated pack. Defaults: 16 cells, LFP, 100 Ah, scenario 'normal', seed 1, RTC start
 * 2026-01-01T00:00Z. The same config and the same sequence of step() calls give identical states.
 */
export function createPackModel(config: Partial<PackConfig> & { seed?: number } = {}): PackModel {
  return new SimPackModel(config);
}
