import {
  averagePrecision,
  balancedAccuracy,
  cohensKappa,
  precisionRecallF1,
  rocAuc,
} from '../models/metrics/index.js';
import type { MetricSet } from './bundle.js';

/** The threshold-free and threshold figures of one score against labels. */
export function metricSet(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): MetricSet {
  const prf = precisionRecallF1(scores, labels, threshold);
  return {
    auc: rocAuc(scores, labels),
    averagePrecision: averagePrecision(scores, labels),
    precision: prf.precision,
    recall: prf.recall,
    f1: prf.f1,
    balancedAccuracy: balancedAccuracy(scores, labels, threshold),
    cohensKappa: cohensKappa(scores, labels, threshold),
    threshold,
  };
}

/**
 * Review and decline thresholds chosen on validation scores: review at the threshold with the
 * best F1 (balances missed fraud against analyst load); decline at the lowest threshold at which
 * at least `declinePrecision` of the declined transactions were fraud, never below review.
 */
export function chooseThresholds(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  declinePrecision = 0.9,
): { review: number; decline: number } {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i]! > 0 ? 1 : 0;
  if (positives === 0 || positives === n) return { review: 0.5, decline: 0.9 };
  let tp = 0;
  let bestF1 = -1;
  let review = 0.5;
  let decline = Number.NaN;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    tp += labels[i]! > 0 ? 1 : 0;
    const s = scores[i]!;
    // Only evaluate at the last of tied scores: a threshold cannot split ties.
    if (k + 1 < n && scores[order[k + 1]!]! === s) continue;
    const predicted = k + 1;
    const precision = tp / predicted;
    const recall = tp / positives;
    const f1 = (2 * precision * recall) / (precision + recall || 1);
    if (f1 > bestF1) {
      bestF1 = f1;
      review = s;
    }
    if (precision >= declinePrecision) decline = s;
  }
  if (Number.isNaN(decline) || decline < review) decline = Math.max(review, Math.min(1, 0.9));
  return { review, decline };
}
