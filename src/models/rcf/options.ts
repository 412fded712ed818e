import { ConfigError } from '../../errors/index.js';

/** Options of a {@link RandomCutForest}. Only `dimensions` is required. */
export interface RcfOptions {
  /** Number of values in each point given to `update`/`score` (before shingling). */
  readonly dimensions: number;
  /**
   * Trees in the forest; the score is their average.
   * @default 50
   */
  readonly numberOfTrees?: number;
  /**
   * Points kept by each tree's sampler (AWS `sampleSize`).
   * @default 256
   */
  readonly sampleSize?: number;
  /**
   * Exponential time decay λ of the samplers: a point's sampling weight is
   * `log(-log(u)) - λ·t`, so larger values favour recent points (AWS `timeDecay`).
   * `0` keeps a uniform reservoir sample of the whole stream.
   * @default 1 / (10 * sampleSize)
   */
  readonly timeDecay?: number;
  /**
   * Scores are 0 until the trees have received this many points (AWS `outputAfter`).
   * @default max(1, floor(sampleSize / 4))
   */
  readonly outputAfter?: number;
  /**
   * Internal shingling: the forest keeps the last `shingleSize` points and works on their
   * concatenation (oldest first), so a tree point has `dimensions * shingleSize` values. Points
   * reach the trees once the first shingle is full.
   * @default 1
   */
  readonly shingleSize?: number;
  /**
   * Seed of the forest's {@link Random}; the same seed and stream give the same scores.
   * @default 1
   */
  readonly seed?: number;
}

/** {@link RcfOptions} with every default applied. */
export interface ResolvedRcfOptions {
  readonly dimensions: number;
  readonly numberOfTrees: number;
  readonly sampleSize: number;
  readonly timeDecay: number;
  readonly outputAfter: number;
  readonly shingleSize: number;
  readonly seed: number;
}

/** Defaults of the fixed-valued options (AWS random-cut-forest-by-aws defaults). */
export const DEFAULT_RCF_OPTIONS = {
  numberOfTrees: 50,
  sampleSize: 256,
  shingleSize: 1,
  seed: 1,
} as const;

/** Default `timeDecay` is this coefficient times `1 / sampleSize` (AWS `DEFAULT_SAMPLE_SIZE_COEFFICIENT_IN_TIME_DECAY`). */
export const DEFAULT_RCF_TIME_DECAY_COEFFICIENT = 0.1;

/** Default `outputAfter` is this fraction of `sampleSize` (AWS `DEFAULT_OUTPUT_AFTER_FRACTION`). */
export const DEFAULT_RCF_OUTPUT_AFTER_FRACTION = 0.25;

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`rcf.${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Applies defaults and validates once.
 * @throws ConfigError naming the offending option.
 */
export function resolveRcfOptions(options: RcfOptions): ResolvedRcfOptions {
  const dimensions = positiveInteger('dimensions', options.dimensions);
  const numberOfTrees = positiveInteger(
    'numberOfTrees',
    options.numberOfTrees ?? DEFAULT_RCF_OPTIONS.numberOfTrees,
  );
  const sampleSize = positiveInteger('sampleSize', options.sampleSize ?? DEFAULT_RCF_OPTIONS.sampleSize);
  const shingleSize = positiveInteger('shingleSize', options.shingleSize ?? DEFAULT_RCF_OPTIONS.shingleSize);
  const outputAfter = positiveInteger(
    'outputAfter',
    options.outputAfter ?? Math.max(1, Math.floor(sampleSize * DEFAULT_RCF_OUTPUT_AFTER_FRACTION)),
  );
  const timeDecay = options.timeDecay ?? DEFAULT_RCF_TIME_DECAY_COEFFICIENT / sampleSize;
  if (typeof timeDecay !== 'number' || !Number.isFinite(timeDecay) || timeDecay < 0) {
    throw new ConfigError(`rcf.timeDecay must be a finite number >= 0, got ${String(timeDecay)}`);
  }
  const seed = options.seed ?? DEFAULT_RCF_OPTIONS.seed;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new ConfigError(`rcf.seed must be an integer, got ${String(seed)}`);
  }
  if (dimensions * shingleSize > 100_000) {
    throw new ConfigError(`rcf.dimensions * rcf.shingleSize is too large (${dimensions * shingleSize})`);
  }
  return { dimensions, numberOfTrees, sampleSize, timeDecay, outputAfter, shingleSize, seed };
}
