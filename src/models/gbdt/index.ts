/**
 * Gradient-boosted trees for binary fraud classification: a histogram trainer (XGBoost `hist`
 * algorithm), a predictor specialised per model by code generation, exact TreeSHAP, a versioned
 * JSON format and XGBoost JSON import. Pure numeric code: no I/O, deterministic by seed.
 */
export type { Matrix } from './forest.js';
export type { GbdtModelJson, GbdtTreeJson } from './model.js';
export { GBDT_MODEL_FORMAT, GBDT_MODEL_VERSION, GbdtModel, trainGbdt } from './model.js';
export type { GbdtEvalMetric, GbdtTrainOptions } from './options.js';
export { DEFAULT_GBDT_TRAIN_OPTIONS, GBDT_EVAL_METRICS, resolveGbdtTrainOptions } from './options.js';
export type { GbdtTrainExtras, GbdtTrainingInfo } from './train.js';
