/** The simulated pack: cells, chemistry curves, thermal model and scenarios (model.ts creates one). */
export type { BenchLoad, BenchState, PackConfig, PackModel, PackState, ProtectionLimits, ScenarioName } from './types.js';
export { SCENARIOS } from './types.js';
export { CHEMISTRIES, ocvAt } from './chemistry.js';
export { SCENARIO_SPECS } from './scenarios.js';
export { createPackModel, defaultProtection, resolvePackConfig, temperatureSensorCount, temperatureSensorNames } from './model.js';
