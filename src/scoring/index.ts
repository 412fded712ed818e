export type { BundleManifest, LoadBundleOptions, MetricSet, ModelBundle, ModelFileDigest } from './bundle.js';
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  fingerprint,
  loadBundle,
  reloadIncompatibility,
  saveBundle,
} from './bundle.js';
export type { AnomalyCalibration } from './calibration.js';
export { fitAnomalyCalibration, normalizeAnomaly } from './calibration.js';
export type { BundleDrift, DriftMonitorOptions, DriftReference, DriftReport } from './drift.js';
export {
  DEFAULT_DRIFT_MONITOR_OPTIONS,
  DRIFT_BINS,
  DRIFT_CUTS,
  DriftMonitor,
  driftBin,
  driftReference,
  PSI_FLOOR,
  PSI_WARNING,
  populationStabilityIndex,
  resolveDriftMonitorOptions,
} from './drift.js';
export type { EvaluateOptions, EvaluationReport, TestRows } from './evaluation.js';
export { evaluateBundle } from './evaluation.js';
export { chooseThresholds, metricSet } from './quality.js';
export type { EndpointFallback, ModelKind, RemoteModel, RemoteModels } from './remote.js';
export { ENDPOINT_FALLBACKS, MODEL_KINDS } from './remote.js';
export type { Rule, RuleAction, RuleInput, RuleOperator } from './rules.js';
export { RULE_ACTIONS, RULE_OPERATORS, ruleMatches, validateRules } from './rules.js';
export type { FeatureScaling } from './scaling.js';
export { FOREST_BATCH, fitScaling, standardize } from './scaling.js';
export type {
  ExplainPolicy,
  LearnPolicy,
  ResolvedScorerOptions,
  ScoreBatch,
  ScorerOptions,
} from './scorer.js';
export { DEFAULT_SCORER_OPTIONS, resolveScorerOptions, Scorer } from './scorer.js';
export type { HandbookFigures, HandbookSeedOptions, HandbookSeedResult, PairedComparison } from './seeds.js';
export {
  formatMeanSd,
  formatPaired,
  HANDBOOK_PROTOCOL,
  handbookFigures,
  meanSd,
  pairedComparison,
  parseSeeds,
  runHandbookSeed,
} from './seeds.js';
export type { TrainBundleOptions, TrainedBundle, TrainPhase, TrainProgress } from './training.js';
export { DEFAULT_CLASSIFIER_OPTIONS, trainBundle, trainClassifier } from './training.js';
