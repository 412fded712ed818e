/**
 * Evaluation metrics for binary fraud scores: ranking metrics (ROC AUC, average precision),
 * threshold metrics, and the Fraud Detection Handbook's card precision top-k. Pure functions.
 */
export type {
  CardPrecisionDay,
  CardPrecisionOptions,
  CardPrecisionResult,
  CardPrecisionRow,
} from './card-precision.js';
export { cardPrecisionAtK, cardPrecisionAtKByDay } from './card-precision.js';
export { averagePrecision, rocAuc } from './ranking.js';
export type { ConfusionMatrix, PrecisionRecallF1 } from './threshold.js';
export {
  balancedAccuracy,
  cohensKappa,
  confusionMatrix,
  precisionRecallF1,
} from './threshold.js';
