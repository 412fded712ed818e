/**
 * Maps raw Random Cut Forest scores (about 1 for inliers, unbounded above) to [0, 1] by their
 * empirical distribution on the training stream: the normalised score of `s` is the fraction of
 * training scores below `s`, interpolated between 1,001 stored quantiles. A value of 0.99 thus
 * reads "more anomalous than 99% of the training traffic", whatever the data's scale.
 */
export interface AnomalyCalibration {
  /** Raw scores at quantiles 0, 0.001, …, 1 of the training stream, non-decreasing. */
  quantiles: number[];
}

const QUANTILE_STEPS = 1000;

/** Builds the calibration from raw scores (NaN and scores of warm-up points, 0, are ignored). */
export function fitAnomalyCalibration(scores: ArrayLike<number>): AnomalyCalibration {
  const sorted = Float64Array.from(
    Array.prototype.filter.call(scores, (s: number) => s > 0) as number[],
  ).sort();
  if (sorted.length === 0) return { quantiles: [0, 1] };
  const quantiles: number[] = [];
  for (let i = 0; i <= QUANTILE_STEPS; i++) {
    const pos = (i / QUANTILE_STEPS) * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(sorted.length - 1, lo + 1);
    quantiles.push(sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo));
  }
  return { quantiles };
}

/** The normalised score of a raw score: its interpolated quantile rank in the calibration, in [0, 1]. */
export function normalizeAnomaly(score: number, calibration: AnomalyCalibration): number {
  const q = calibration.quantiles;
  const n = q.length - 1;
  if (!(score > q[0]!)) return 0;
  if (score >= q[n]!) return 1;
  let lo = 0;
  let hi = n;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (q[mid]! <= score) lo = mid;
    else hi = mid;
  }
  const span = q[hi]! - q[lo]!;
  const within = span > 0 ? (score - q[lo]!) / span : 0;
  return (lo + within) / n;
}
