import { ConfigError } from '../../errors/index.js';

/** Validation metric used for early stopping. Both are "higher is better". */
export type GbdtEvalMetric = 'auc' | 'aucpr';

/** The metrics accepted by {@link GbdtTrainOptions.evalMetric}. */
export const GBDT_EVAL_METRICS = ['auc', 'aucpr'] as const satisfies readonly GbdtEvalMetric[];

/**
 * Hyperparameters of {@link trainGbdt}. Names and meanings follow XGBoost's `hist` tree method
 * for `binary:logistic` where a counterpart exists, so tuned XGBoost settings carry over.
 */
export interface GbdtTrainOptions {
  /**
   * Maximum number of boosting rounds (trees). Fewer are kept when early stopping triggers.
   * @default 100
   */
  nTrees: number;
  /**
   * Maximum depth of a tree (depth-wise growth; the root is depth 0).
   * @default 6
   */
  maxDepth: number;
  /**
   * Shrinkage (XGBoost `eta`) applied to every leaf value.
   * @default 0.3
   */
  learningRate: number;
  /**
   * L2 regularisation of leaf weights (XGBoost `lambda`).
   * @default 1
   */
  lambda: number;
  /**
   * L1 regularisation of leaf weights (XGBoost `alpha`): gradient sums are soft-thresholded by it.
   * @default 0
   */
  alpha: number;
  /**
   * Minimum loss reduction to make a split (XGBoost `gamma` / `min_split_loss`). Compared, as in
   * XGBoost, with `GL²/(HL+λ) + GR²/(HR+λ) − G²/(H+λ)` (without the paper's factor ½).
   * @default 0
   */
  gamma: number;
  /**
   * Minimum sum of hessians in each child of a split (XGBoost `min_child_weight`).
   * @default 1
   */
  minChildWeight: number;
  /**
   * Fraction of rows sampled (Bernoulli, without replacement) for each tree.
   * @default 1
   */
  subsample: number;
  /**
   * Fraction of features sampled for each tree (at least one feature is always kept).
   * @default 1
   */
  colsampleByTree: number;
  /**
   * Weight of positive rows in the gradient and hessian (XGBoost `scale_pos_weight`).
   * @default 1
   */
  scalePosWeight: number;
  /**
   * Maximum number of histogram bins per feature, including one bin reserved for missing values
   * (so at most `maxBins − 1` value bins). Must be in [2, 256]; the bin matrix is a `Uint8Array`.
   * @default 256
   */
  maxBins: number;
  /**
   * Initial probability of every row, in (0, 1). `'mean'` uses the (`scalePosWeight`-weighted)
   * positive rate of the training labels, which minimises the initial logloss (XGBoost ≥ 2.0's
   * `boost_from_average`). The default is XGBoost 1.x's fixed 0.5: at fraud rates of 0.1% the
   * positive-rate start gives hessians of about 0.001 per row, so the first Newton steps overshoot
   * by tens of log-odds and boosting oscillates (AP fell to chance on synthetic-creditcard).
   * @default 0.5
   */
  baseScore: number | 'mean';
  /**
   * Stop when the validation metric has not improved for this many rounds, and keep the trees up to
   * the best round. Only used when a validation set is given; `0` disables early stopping.
   * @default 20
   */
  earlyStoppingRounds: number;
  /**
   * Validation metric for early stopping and the metric history.
   * @default 'auc'
   */
  evalMetric: GbdtEvalMetric;
  /**
   * Seed of the row and feature sampling (and of the binning sample for very large inputs).
   * @default 42
   */
  seed: number;
}

/** Defaults of {@link GbdtTrainOptions}, aligned with XGBoost's where it has the option. */
export const DEFAULT_GBDT_TRAIN_OPTIONS: Readonly<GbdtTrainOptions> = Object.freeze({
  nTrees: 100,
  maxDepth: 6,
  learningRate: 0.3,
  lambda: 1,
  alpha: 0,
  gamma: 0,
  minChildWeight: 1,
  subsample: 1,
  colsampleByTree: 1,
  scalePosWeight: 1,
  maxBins: 256,
  baseScore: 0.5,
  earlyStoppingRounds: 20,
  evalMetric: 'auc',
  seed: 42,
});

/** Merges `options` over {@link DEFAULT_GBDT_TRAIN_OPTIONS} and validates every field once. */
export function resolveGbdtTrainOptions(options: Partial<GbdtTrainOptions> = {}): GbdtTrainOptions {
  const merged: GbdtTrainOptions = { ...DEFAULT_GBDT_TRAIN_OPTIONS };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  const o = merged;
  integer('nTrees', o.nTrees, 1, 1_000_000);
  integer('maxDepth', o.maxDepth, 1, 20);
  integer('maxBins', o.maxBins, 2, 256);
  integer('earlyStoppingRounds', o.earlyStoppingRounds, 0, 1_000_000);
  integer('seed', o.seed, -0x80000000, 0xffffffff);
  real('learningRate', o.learningRate, 0, Number.POSITIVE_INFINITY, false);
  real('lambda', o.lambda, 0, Number.POSITIVE_INFINITY, true);
  real('alpha', o.alpha, 0, Number.POSITIVE_INFINITY, true);
  real('gamma', o.gamma, 0, Number.POSITIVE_INFINITY, true);
  real('minChildWeight', o.minChildWeight, 0, Number.POSITIVE_INFINITY, true);
  real('subsample', o.subsample, 0, 1, false, true);
  real('colsampleByTree', o.colsampleByTree, 0, 1, false, true);
  real('scalePosWeight', o.scalePosWeight, 0, Number.POSITIVE_INFINITY, false);
  if (o.baseScore !== 'mean') real('baseScore', o.baseScore, 0, 1, false, false);
  if (!(GBDT_EVAL_METRICS as readonly string[]).includes(o.evalMetric)) {
    throw new ConfigError(
      `evalMetric must be one of ${GBDT_EVAL_METRICS.join(', ')}, got ${String(o.evalMetric)}`,
    );
  }
  return merged;
}

function integer(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

/** Checks a finite number in the interval; `minInclusive`/`maxInclusive` choose the bracket. */
function real(
  name: string,
  value: unknown,
  min: number,
  max: number,
  minInclusive: boolean,
  maxInclusive = false,
): void {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (minInclusive ? value >= min : value > min) &&
    (maxInclusive ? value <= max : value < max);
  if (!ok) {
    const interval = `${minInclusive ? '[' : '('}${min}, ${max}${maxInclusive ? ']' : ')'}`;
    throw new ConfigError(`${name} must be a number in ${interval}, got ${String(value)}`);
  }
}
