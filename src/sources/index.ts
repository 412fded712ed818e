/**
 * Where transactions come from: files (Kaggle credit-card CSV, Sparkov CSV, recorded JSON
 * lines), a synthetic credit-card generator and the simulator. Every source is an async
 * iterable of {@link SourceRecord}s with constant memory.
 */
export type {
  CreditcardSourceOptions,
  CreditcardSplit,
  ResolvedCreditcardSourceOptions,
} from './creditcard.js';
export {
  CREDITCARD_SPLITS,
  createCreditcardSource,
  createHoldoutSelector,
  DEFAULT_CREDITCARD_SOURCE_OPTIONS,
  resolveCreditcardSourceOptions,
} from './creditcard.js';
export type { CreditcardClassStats, CreditcardColumnMoments } from './creditcard-class-stats.js';
export { CREDITCARD_CLASS_STATS } from './creditcard-class-stats.js';
export type { JsonlSourceOptions, ResolvedJsonlSourceOptions } from './jsonl.js';
export { createJsonlSource, DEFAULT_JSONL_SOURCE_OPTIONS, resolveJsonlSourceOptions } from './jsonl.js';
export type { FileLine } from './lines.js';
export { MAX_LINE_BYTES, readLines } from './lines.js';
export type {
  FraudScenario,
  ResolvedSimulatorOptions,
  SimulatedDay,
  SimulatorExtra,
  SimulatorOptions,
  SimulatorProfiles,
} from './simulator/index.js';
export {
  createSimulatorProfiles,
  createSimulatorSource,
  DEFAULT_SIMULATOR_OPTIONS,
  HANDBOOK_FRAUD_SCENARIOS,
  resolveSimulatorOptions,
  simulateDays,
} from './simulator/index.js';
export type { ResolvedSparkovSourceOptions, SparkovSourceOptions } from './sparkov.js';
export {
  createSparkovSource,
  DEFAULT_SPARKOV_SOURCE_OPTIONS,
  resolveSparkovSourceOptions,
} from './sparkov.js';
export type {
  ResolvedSyntheticCreditcardSourceOptions,
  SyntheticCreditcardSourceOptions,
} from './synthetic-creditcard.js';
export {
  createSyntheticCreditcardSource,
  DEFAULT_SYNTHETIC_CREDITCARD_SOURCE_OPTIONS,
  loadStats,
  resolveSyntheticCreditcardSourceOptions,
} from './synthetic-creditcard.js';
export type { Source, SourceRecord } from './types.js';
