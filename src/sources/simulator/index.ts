/**
 * The Fraud Detection Handbook transaction simulator (Le Borgne et al., chapter 3), streamed
 * day by day.
 */
export type { ResolvedSimulatorOptions, SimulatorOptions } from './options.js';
export { DEFAULT_SIMULATOR_OPTIONS, resolveSimulatorOptions } from './options.js';
export type { SimulatorProfiles } from './profiles.js';
export type { FraudScenario, SimulatedDay, SimulatorExtra } from './simulate.js';
export { createSimulatorProfiles, HANDBOOK_FRAUD_SCENARIOS, simulateDays } from './simulate.js';
export { createSimulatorSource } from './source.js';
