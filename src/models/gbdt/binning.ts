import type { Random } from '../../random/index.js';
import type { Matrix } from './forest.js';

/**
 * Quantised training matrix. Feature `f` has `nValueBins[f]` value bins and one missing bin with
 * code `nValueBins[f]`. A present value `v` gets the bin `b` = number of cuts `≤ v`, so "bins
 * `0..b` go left" is exactly the float32 rule `v < cuts[f][b]`, and a split's threshold is a cut.
 */
export interface BinnedMatrix {
  nRows: number;
  nCols: number;
  /** Row-major bin codes: `bins[row * nCols + f]`. */
  bins: Uint8Array;
  /** Per feature, ascending float32 cut points (`nValueBins[f] − 1` of them). */
  cuts: Float32Array[];
  nValueBins: Int32Array;
  /** Offset of feature `f`'s first bin in a flat histogram; each feature has `nValueBins + 1` slots. */
  binOffset: Int32Array;
  /** Total histogram slots over all features. */
  totalBins: number;
}

/**
 * Values sorted to find cut points; above this a seeded sample of rows is used, as a sketch would.
 * 131,072 samples put ~500 values in each of 255 bins, plenty for quantiles, and keep the native
 * typed-array sort (the largest binning cost) at a fraction of a second for 15 features.
 */
const MAX_SKETCH_ROWS = 1 << 17;

/**
 * Quantile cut points (unweighted, unlike XGBoost's hessian-weighted sketch) and bin codes.
 * A feature with few distinct values gets one bin per value, so its splits are exact.
 */
export function binMatrix(x: Matrix, maxBins: number, random: Random): BinnedMatrix {
  const { nRows, nCols, data } = x;
  const maxValueBins = maxBins - 1;
  const sampleRows = pickSketchRows(nRows, random);
  const values = new Float32Array(sampleRows ? sampleRows.length : nRows);
  const cuts: Float32Array[] = [];
  const nValueBins = new Int32Array(nCols);
  const binOffset = new Int32Array(nCols);
  const bins = new Uint8Array(nCols * nRows);
  let totalBins = 0;
  for (let f = 0; f < nCols; f++) {
    let m = 0;
    if (sampleRows) {
      for (let i = 0; i < sampleRows.length; i++) {
        const v = data[sampleRows[i]! * nCols + f]!;
        if (!Number.isNaN(v)) values[m++] = v;
      }
    } else {
      for (let r = 0, o = f; r < nRows; r++, o += nCols) {
        const v = data[o]!;
        if (!Number.isNaN(v)) values[m++] = v;
      }
    }
    const sorted = values.subarray(0, m).sort();
    const featureCuts = quantileCuts(sorted, maxValueBins);
    cuts.push(featureCuts);
    nValueBins[f] = featureCuts.length + 1;
    binOffset[f] = totalBins;
    totalBins += featureCuts.length + 2;
    const missingCode = featureCuts.length + 1;
    for (let o = f; o < data.length; o += nCols) {
      const v = data[o]!;
      bins[o] = !Number.isNaN(v) ? upperBound(featureCuts, v) : missingCode;
    }
  }
  return { nRows, nCols, bins, cuts, nValueBins, binOffset, totalBins };
}

function pickSketchRows(nRows: number, random: Random): Int32Array | undefined {
  if (nRows <= MAX_SKETCH_ROWS) return undefined;
  const rows = new Int32Array(MAX_SKETCH_ROWS);
  for (let i = 0; i < rows.length; i++) rows[i] = random.int(nRows);
  return rows;
}

/**
 * Cut points from sorted values: every distinct value but the smallest when they fit, otherwise
 * the values at evenly spaced ranks (deduplicated). Each cut is a data value, so `v < cut` holds
 * exactly for the values below it.
 */
function quantileCuts(sorted: Float32Array, maxValueBins: number): Float32Array {
  const n = sorted.length;
  const out: number[] = [];
  if (n === 0) return new Float32Array(0);
  let distinct = 1;
  for (let i = 1; i < n && distinct <= maxValueBins; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  if (distinct <= maxValueBins) {
    for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) out.push(sorted[i]!);
  } else {
    let last = sorted[0]!;
    for (let b = 1; b < maxValueBins; b++) {
      const v = sorted[Math.floor((b * n) / maxValueBins)]!;
      if (v > last) {
        out.push(v);
        last = v;
      }
    }
  }
  return Float32Array.from(out);
}

/** Number of cuts `≤ v` (binary search). */
function upperBound(cuts: Float32Array, v: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
