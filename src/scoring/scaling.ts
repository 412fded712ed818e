/**
 * The forest sees z-scores, not raw features: cut dimensions are drawn in proportion to each
 * dimension's range, so unscaled amounts would drown out counts and rates. Missing values map
 * to 0 (the training mean).
 */
export interface FeatureScaling {
  mean: number[];
  std: number[];
}

/** Mean and standard deviation per column of a row-major matrix, ignoring NaN; a constant column gets std 1. */
export function fitScaling(x: ArrayLike<number>, nRows: number, nCols: number): FeatureScaling {
  const mean: number[] = [];
  const std: number[] = [];
  for (let j = 0; j < nCols; j++) {
    let n = 0;
    let sum = 0;
    let sum2 = 0;
    for (let i = 0; i < nRows; i++) {
      const v = x[i * nCols + j]!;
      if (Number.isNaN(v)) continue;
      n++;
      sum += v;
      sum2 += v * v;
    }
    const m = n > 0 ? sum / n : 0;
    const variance = n > 1 ? Math.max(0, sum2 / n - m * m) : 0;
    mean.push(m);
    std.push(variance > 1e-12 ? Math.sqrt(variance) : 1);
  }
  return { mean, std };
}

/** Writes the z-scores of `n` rows into `out` (row-major, same shape). */
export function standardize(
  x: ArrayLike<number>,
  n: number,
  scaling: FeatureScaling,
  out: Float64Array,
): Float64Array {
  const { mean, std } = scaling;
  const d = mean.length;
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let j = 0; j < d; j++) {
      const v = x[row + j]!;
      out[row + j] = Number.isNaN(v) ? 0 : (v - mean[j]!) / std[j]!;
    }
  }
  return out;
}

/**
 * Rows per forest batch during training. The scorer scores a whole batch and then learns from
 * it; training streams its rows the same way, so calibration sees the scores serving produces.
 */
export const FOREST_BATCH = 512;
