import { checkScoresAndLabels } from './validate.js';

/**
 * Splits scores by label into two ascending-sorted arrays. Sorting two `Float64Array`s with the
 * native numeric sort is much faster than sorting an index array with a JS comparator, and both
 * ranking metrics only need to merge the two sorted lists.
 */
function sortedByClass(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): { positives: Float64Array; negatives: Float64Array } {
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) nPos++;
  const positives = new Float64Array(nPos);
  const negatives = new Float64Array(labels.length - nPos);
  let p = 0;
  let q = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) positives[p++] = scores[i]!;
    else negatives[q++] = scores[i]!;
  }
  positives.sort();
  negatives.sort();
  return { positives, negatives };
}

/**
 * Area under the ROC curve, computed as the Mann–Whitney statistic: the probability that a random
 * positive scores above a random negative, ties counting one half (equivalent to average ranks).
 * O(n log n).
 *
 * @param scores - higher means more likely positive; NaN is rejected.
 * @param labels - 0 or 1, same length as `scores`.
 * @returns the AUC in [0, 1], or `NaN` when `labels` holds only one class (the AUC is undefined;
 *   scikit-learn raises in that case).
 * @throws RangeError on length mismatch, a label other than 0/1, or a NaN score.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkScoresAndLabels(scores, labels);
  const { positives, negatives } = sortedByClass(scores, labels);
  const nPos = positives.length;
  const nNeg = negatives.length;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  // For each positive: negatives strictly below count 1, negatives equal count 1/2.
  let below = 0;
  let upTo = 0;
  let sum = 0;
  for (let i = 0; i < nPos; i++) {
    const s = positives[i]!;
    while (below < nNeg && negatives[below]! < s) below++;
    if (upTo < below) upTo = below;
    while (upTo < nNeg && negatives[upTo]! <= s) upTo++;
    sum += below + 0.5 * (upTo - below);
  }
  return sum / nPos / nNeg;
}

/**
 * Average precision as scikit-learn defines it (`average_precision_score`):
 * AP = Σₙ (Rₙ − Rₙ₋₁) · Pₙ over the distinct score thresholds taken in decreasing order, where
 * Pₙ and Rₙ are the precision and recall when everything scoring ≥ the n-th threshold is called
 * positive. No interpolation; tied scores enter together at one threshold.
 *
 * @param scores - higher means more likely positive; NaN is rejected.
 * @param labels - 0 or 1, same length as `scores`.
 * @returns AP in [0, 1], or `NaN` when there is no positive label (recall is undefined).
 * @throws RangeError on length mismatch, a label other than 0/1, or a NaN score.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkScoresAndLabels(scores, labels);
  const { positives, negatives } = sortedByClass(scores, labels);
  const nPos = positives.length;
  if (nPos === 0) return Number.NaN;
  // Walk both ascending arrays from their tops, one distinct threshold at a time.
  let i = nPos - 1;
  let j = negatives.length - 1;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  while (i >= 0) {
    const pi = positives[i]!;
    const threshold = j >= 0 && negatives[j]! > pi ? negatives[j]! : pi;
    const tpBefore = tp;
    while (i >= 0 && positives[i] === threshold) {
      tp++;
      i--;
    }
    while (j >= 0 && negatives[j] === threshold) {
      fp++;
      j--;
    }
    if (tp > tpBefore) ap += ((tp - tpBefore) / nPos) * (tp / (tp + fp));
  }
  return ap;
}
