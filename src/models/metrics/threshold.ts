import { checkScoresAndLabels } from './validate.js';

/** Counts of a binary decision against the true labels. */
export interface ConfusionMatrix {
  /** Predicted positive, label 1. */
  readonly tp: number;
  /** Predicted positive, label 0. */
  readonly fp: number;
  /** Predicted negative, label 0. */
  readonly tn: number;
  /** Predicted negative, label 1. */
  readonly fn: number;
}

/** Precision, recall and their harmonic mean at one threshold. */
export interface PrecisionRecallF1 {
  /** tp / (tp + fp); 0 when nothing is predicted positive (scikit-learn's `zero_division=0`). */
  readonly precision: number;
  /** tp / (tp + fn); 0 when there is no positive label. */
  readonly recall: number;
  /** 2·P·R / (P + R); 0 when P + R = 0. */
  readonly f1: number;
}

/**
 * Confusion matrix of the decision `score >= threshold` (predicted positive) against `labels`.
 *
 * @throws RangeError on length mismatch, a label other than 0/1, or a NaN score.
 */
export function confusionMatrix(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): ConfusionMatrix {
  checkScoresAndLabels(scores, labels);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

/**
 * Precision, recall and F1 of the decision `score >= threshold`. Undefined ratios are 0, as
 * scikit-learn reports them with `zero_division=0`.
 */
export function precisionRecallF1(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): PrecisionRecallF1 {
  const { tp, fp, fn } = confusionMatrix(scores, labels, threshold);
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/**
 * Balanced accuracy of the decision `score >= threshold`: the mean of the recall of each class
 * (TPR + TNR) / 2. As in scikit-learn, a class absent from `labels` is left out of the mean, so
 * with one class present this is that class's recall; with no labels at all it is `NaN`.
 */
export function balancedAccuracy(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): number {
  const { tp, fp, tn, fn } = confusionMatrix(scores, labels, threshold);
  const hasPos = tp + fn > 0;
  const hasNeg = tn + fp > 0;
  if (hasPos && hasNeg) return (tp / (tp + fn) + tn / (tn + fp)) / 2;
  if (hasPos) return tp / (tp + fn);
  if (hasNeg) return tn / (tn + fp);
  return Number.NaN;
}

/**
 * Cohen's kappa between the decision `score >= threshold` and `labels`:
 * κ = (pₒ − pₑ) / (1 − pₑ), with pₒ the observed agreement and pₑ the agreement expected from
 * the marginals by chance. `NaN` when pₑ = 1 (both sides constant and equal, or no rows), where
 * κ is undefined.
 */
export function cohensKappa(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): number {
  const { tp, fp, tn, fn } = confusionMatrix(scores, labels, threshold);
  const n = tp + fp + tn + fn;
  if (n === 0) return Number.NaN;
  const observed = (tp + tn) / n;
  const expected = ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / (n * n);
  if (expected === 1) return Number.NaN;
  return (observed - expected) / (1 - expected);
}
