/**
 * Drift of live traffic from the training data, by the population stability index (PSI):
 *
 *   PSI = Σ_b (a_b − e_b) · ln(a_b / e_b)
 *
 * over bins b, with e_b the training share and a_b the live share of values in bin b. Bins are
 * the training deciles (9 cut points) plus one bin for missing values (NaN). A share of 0 is
 * floored at {@link PSI_FLOOR} so an empty bin counts as very unlikely rather than impossible.
 * Rule of thumb: below 0.1 stable, 0.1 to 0.2 moderate shift, above 0.2 significant.
 *
 * Pure maths and a fixed-memory sliding window; no I/O.
 */
import { ConfigError } from '../errors/index.js';

/** Decile cut points per distribution. */
export const DRIFT_CUTS = 9;
/** Bins: 10 deciles and one for missing values. */
export const DRIFT_BINS = DRIFT_CUTS + 2;
/** Smallest share used in the logarithm. */
export const PSI_FLOOR = 1e-4;
/** PSI above which drift is worth a warning. */
export const PSI_WARNING = 0.2;

/** A training distribution: decile cut points and the share of training values in each bin. */
export interface DriftReference {
  /** The 9 decile cut points, ascending; bin k holds values in (cuts[k−1], cuts[k]]. */
  cuts: number[];
  /** Share of training values per bin ({@link DRIFT_BINS} entries, the last for NaN), summing to 1. */
  shares: number[];
}

/** What a bundle stores for drift: the fraud score's and each feature's training distribution. */
export interface BundleDrift {
  score: DriftReference;
  features: Record<string, DriftReference>;
}

/** Bin of `x` given ascending cut points: 0..cuts.length, or the missing bin for NaN. */
export function driftBin(cuts: ArrayLike<number>, x: number): number {
  if (Number.isNaN(x)) return DRIFT_BINS - 1;
  let lo = 0;
  let hi = cuts.length;
  // First cut >= x: values equal to a cut fall in the bin that cut closes.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The training distribution of `n` values read as `values[offset + i × stride]`: decile cut
 * points of the non-missing values (linear interpolation between order statistics) and the
 * share of all values in each bin.
 */
export function driftReference(values: ArrayLike<number>, n: number, stride = 1, offset = 0): DriftReference {
  const present: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[offset + i * stride]!;
    if (!Number.isNaN(v)) present.push(v);
  }
  const sorted = Float64Array.from(present).sort();
  const cuts: number[] = [];
  for (let k = 1; k <= DRIFT_CUTS; k++) {
    if (sorted.length === 0) {
      cuts.push(0);
      continue;
    }
    const pos = (k / (DRIFT_CUTS + 1)) * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(sorted.length - 1, lo + 1);
    cuts.push(sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!));
  }
  const counts = new Float64Array(DRIFT_BINS);
  for (let i = 0; i < n; i++) counts[driftBin(cuts, values[offset + i * stride]!)]! += 1;
  return { cuts, shares: Array.from(counts, (c) => (n > 0 ? c / n : 0)) };
}

/** PSI of bin counts `actual` (summing to `total`) against the shares `expected`. */
export function populationStabilityIndex(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  total: number,
): number {
  let psi = 0;
  for (let b = 0; b < expected.length; b++) {
    const e = Math.max(PSI_FLOOR, expected[b]!);
    const a = Math.max(PSI_FLOOR, total > 0 ? actual[b]! / total : 0);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/** Options of {@link DriftMonitor}. */
export interface DriftMonitorOptions {
  /**
   * Transactions in the sliding window: the PSI compares the latest this many with training.
   * @default 10000
   */
  windowSize?: number;
  /**
   * Fewest transactions in the window before a PSI is reported (fewer give noisy figures).
   * @default 500
   */
  minSamples?: number;
}

export const DEFAULT_DRIFT_MONITOR_OPTIONS = { windowSize: 10_000, minSamples: 500 } as const;

export function resolveDriftMonitorOptions(options: DriftMonitorOptions = {}): Required<DriftMonitorOptions> {
  const o = { ...DEFAULT_DRIFT_MONITOR_OPTIONS, ...options };
  if (!(Number.isInteger(o.windowSize) && o.windowSize > 0))
    throw new ConfigError(`drift windowSize must be a positive integer, got ${o.windowSize}`);
  if (!(Number.isInteger(o.minSamples) && o.minSamples > 0 && o.minSamples <= o.windowSize))
    throw new ConfigError(`drift minSamples must be an integer from 1 to windowSize, got ${o.minSamples}`);
  return o;
}

/** PSI figures of the window (the shape the dashboard shows). */
export interface DriftReport {
  score: number | null;
  features: Record<string, number | null>;
  max: number | null;
  samples: number;
  warnAbove: number;
}

/**
 * The PSI of live traffic over a sliding window of the latest transactions, for the fraud score
 * and each feature of a bundle. Memory is fixed: one byte per value of the window plus the bin
 * counts; observing a transaction costs one binary search per value, and a report one pass over
 * the counts.
 */
export class DriftMonitor {
  private readonly o: Required<DriftMonitorOptions>;
  private readonly names: readonly string[];
  /** Column 0 is the fraud score, then the features in bundle order. */
  private readonly cuts: Float64Array[];
  private readonly expected: Float64Array[];
  private readonly dims: number;
  /** Bins of the window's transactions, `windowSize × dims`, as a ring. */
  private readonly ring: Uint8Array;
  private readonly counts: Int32Array;
  private next = 0;
  private filled = 0;

  constructor(reference: BundleDrift, featureNames: readonly string[], options: DriftMonitorOptions = {}) {
    this.o = resolveDriftMonitorOptions(options);
    this.names = featureNames;
    const refs = [reference.score, ...featureNames.map((name) => reference.features[name])];
    if (refs.some((r) => r === undefined || r.cuts.length !== DRIFT_CUTS || r.shares.length !== DRIFT_BINS)) {
      throw new ConfigError('drift reference does not cover the score and every feature with deciles');
    }
    this.cuts = refs.map((r) => Float64Array.from(r!.cuts));
    this.expected = refs.map((r) => Float64Array.from(r!.shares));
    this.dims = refs.length;
    this.ring = new Uint8Array(this.o.windowSize * this.dims);
    this.counts = new Int32Array(this.dims * DRIFT_BINS);
  }

  /** Transactions in the window. */
  get samples(): number {
    return this.filled;
  }

  /**
   * Adds `n` transactions: row i's features at `features[i × featureNames.length …]` and its
   * fraud score at `scores[i]`. The oldest leave the window as it overflows.
   */
  observe(features: ArrayLike<number>, scores: ArrayLike<number>, n: number): void {
    const { dims, ring, counts } = this;
    const width = dims - 1;
    const size = this.o.windowSize;
    for (let i = 0; i < n; i++) {
      const slot = this.next * dims;
      if (this.filled === size) {
        for (let d = 0; d < dims; d++) counts[d * DRIFT_BINS + ring[slot + d]!]! -= 1;
      } else {
        this.filled++;
      }
      for (let d = 0; d < dims; d++) {
        const x = d === 0 ? scores[i]! : features[i * width + d - 1]!;
        const b = driftBin(this.cuts[d]!, x);
        ring[slot + d] = b;
        counts[d * DRIFT_BINS + b]! += 1;
      }
      this.next = (this.next + 1) % size;
    }
  }

  /** The window's PSI figures; null figures until it holds `minSamples` transactions. */
  report(): DriftReport {
    const ready = this.filled >= this.o.minSamples;
    const psi = (d: number): number | null =>
      ready
        ? populationStabilityIndex(
            this.expected[d]!,
            this.counts.subarray(d * DRIFT_BINS, (d + 1) * DRIFT_BINS),
            this.filled,
          )
        : null;
    const score = psi(0);
    const features: Record<string, number | null> = {};
    let max = score;
    for (let d = 1; d < this.dims; d++) {
      const v = psi(d);
      features[this.names[d - 1]!] = v;
      if (v !== null && (max === null || v > max)) max = v;
    }
    return { score, features, max, samples: this.filled, warnAbove: PSI_WARNING };
  }
}
