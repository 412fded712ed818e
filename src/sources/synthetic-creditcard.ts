/**
 * SYNTHETIC Kaggle-schema rows: made-up transactions whose columns follow the per-class means
 * and standard deviations of the real credit-card file. For demos, tests and benchmarks when
 * the real file is not at hand; models trained on them learn nothing about real fraud.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';
import {
  CREDITCARD_COLUMNS,
  CREDITCARD_START_TIME_MS,
  creditcardFeatures,
  type Transaction,
} from '../events/index.js';
import { Random } from '../random/index.js';
import { CREDITCARD_CLASS_STATS, type CreditcardClassStats } from './creditcard-class-stats.js';
import { requireNumber, stripUndefined } from './options.js';
import type { Source, SourceRecord } from './types.js';

/** Options of {@link createSyntheticCreditcardSource}. */
export interface SyntheticCreditcardSourceOptions {
  /** Seed: the same seed gives the same rows. */
  seed: number;
  /** Rows to generate. @default undefined (unbounded) */
  count?: number;
  /** Probability that a row is fraud; the real file has 492 / 284,807. @default 0.00172 */
  fraudRate?: number;
  /** Epoch milliseconds of `Time = 0`. @default CREDITCARD_START_TIME_MS (2013-09-01T00:00:00Z) */
  startTimeMs?: number;
  /**
   * Mean gap between rows in seconds (gaps are exponential; `Time` is whole seconds like the
   * real file's). The real file has 284,807 rows in 172,792 s.
   * @default 172792 / 284807
   */
  meanGapSeconds?: number;
  /**
   * A JSON file in the format of `creditcard-class-stats.json` to draw from instead of the
   * built-in statistics. Read once at construction.
   * @default undefined (the built-in {@link CREDITCARD_CLASS_STATS})
   */
  statsPath?: string;
}

/** Defaults of {@link SyntheticCreditcardSourceOptions}. */
export const DEFAULT_SYNTHETIC_CREDITCARD_SOURCE_OPTIONS = {
  fraudRate: 0.00172,
  startTimeMs: CREDITCARD_START_TIME_MS,
  meanGapSeconds: 172792 / 284807,
} as const;

/** {@link SyntheticCreditcardSourceOptions} with defaults filled in and the statistics loaded. */
export interface ResolvedSyntheticCreditcardSourceOptions {
  seed: number;
  count: number | undefined;
  fraudRate: number;
  startTimeMs: number;
  meanGapSeconds: number;
  stats: CreditcardClassStats;
}

/** Validates {@link SyntheticCreditcardSourceOptions}, loads the statistics; throws {@link ConfigError}. */
export function resolveSyntheticCreditcardSourceOptions(
  options: SyntheticCreditcardSourceOptions,
): ResolvedSyntheticCreditcardSourceOptions {
  const merged = {
    ...DEFAULT_SYNTHETIC_CREDITCARD_SOURCE_OPTIONS,
    ...stripUndefined<SyntheticCreditcardSourceOptions>(options ?? { seed: Number.NaN }),
  };
  const name = 'synthetic-creditcard';
  const seed = merged.seed;
  if (seed === undefined || !Number.isInteger(seed)) {
    throw new ConfigError(`${name} source: seed must be an integer, got ${String(seed)}`);
  }
  if (merged.count !== undefined && (!Number.isSafeInteger(merged.count) || merged.count < 0)) {
    throw new ConfigError(`${name} source: count must be a non-negative integer, got ${merged.count}`);
  }
  requireNumber(name, 'fraudRate', merged.fraudRate, 0, 1);
  requireNumber(name, 'startTimeMs', merged.startTimeMs, 0, 4_102_444_800_000);
  requireNumber(name, 'meanGapSeconds', merged.meanGapSeconds, 0, 86_400);
  const stats = merged.statsPath === undefined ? CREDITCARD_CLASS_STATS : loadStats(merged.statsPath);
  return {
    seed,
    count: merged.count,
    fraudRate: merged.fraudRate,
    startTimeMs: merged.startTimeMs,
    meanGapSeconds: merged.meanGapSeconds,
    stats,
  };
}

/** Reads and checks a statistics file; throws {@link ConfigError} naming the file. */
export function loadStats(path: string): CreditcardClassStats {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`synthetic-creditcard source: cannot read statistics ${path}`, { cause: error });
  }
  checkStats(value, path);
  return value;
}

function checkStats(value: unknown, path: string): asserts value is CreditcardClassStats {
  const fail = (why: string): never => {
    throw new ConfigError(`synthetic-creditcard source: statistics ${path}: ${why}`);
  };
  const stats = value as Partial<CreditcardClassStats> | null;
  const columns = stats?.columns;
  if (!Array.isArray(columns) || columns.join(',') !== CREDITCARD_COLUMNS.join(',')) {
    fail(`columns must be ${CREDITCARD_COLUMNS.join(',')}`);
  }
  for (const label of ['0', '1'] as const) {
    const moments = stats?.classes?.[label];
    for (const key of ['mean', 'std'] as const) {
      const list = moments?.[key];
      if (!Array.isArray(list) || list.length !== CREDITCARD_COLUMNS.length) {
        fail(`classes.${label}.${key} must list ${CREDITCARD_COLUMNS.length} numbers`);
      } else if (
        !list.every((x) => typeof x === 'number' && Number.isFinite(x) && (key === 'mean' || x >= 0))
      ) {
        fail(`classes.${label}.${key} must hold finite numbers${key === 'std' ? ' >= 0' : ''}`);
      }
    }
  }
}

/** Parameters of one class, laid out for the generation loop. */
interface ClassSampler {
  mean: Float64Array;
  std: Float64Array;
  /** Log-normal parameters of Amount, matched to its mean and standard deviation. */
  amountMu: number;
  amountSigma: number;
}

function classSampler(moments: CreditcardClassStats['classes']['0']): ClassSampler {
  const amountMean = Math.max(moments.mean[29]!, 0.01);
  const amountSd = moments.std[29]!;
  // Moment matching: for a log-normal, sigma^2 = ln(1 + sd^2 / mean^2) and mu = ln(mean) - sigma^2 / 2.
  const sigma2 = Math.log(1 + (amountSd * amountSd) / (amountMean * amountMean));
  return {
    mean: Float64Array.from(moments.mean),
    std: Float64Array.from(moments.std),
    amountMu: Math.log(amountMean) - sigma2 / 2,
    amountSigma: Math.sqrt(sigma2),
  };
}

/**
 * A source of SYNTHETIC rows in the Kaggle/ULB schema. Per row: the class is fraud with
 * probability `fraudRate`; V1..V28 are independent normals with that class's mean and standard
 * deviation (the statistics file has no correlations or quantiles, so none are modelled);
 * Amount is log-normal with the class's mean and standard deviation, rounded to cents (so it
 * is never negative); Time increases by exponential gaps, in whole seconds. Ids are
 * `synthetic-<index>`, channel `'unknown'`, card and terminal empty, format `'lab'`.
 * Unbounded unless `count` is given; deterministic for a seed.
 */
export function createSyntheticCreditcardSource(options: SyntheticCreditcardSourceOptions): Source {
  const { seed, count, fraudRate, startTimeMs, meanGapSeconds, stats } =
    resolveSyntheticCreditcardSourceOptions(options);
  const samplers = [classSampler(stats.classes['0']), classSampler(stats.classes['1'])] as const;
  return {
    name: 'synthetic-creditcard',
    async *records(): AsyncGenerator<SourceRecord, void, undefined> {
      const random = new Random(seed);
      const values = new Float64Array(CREDITCARD_COLUMNS.length);
      let clockSeconds = 0;
      for (let index = 0; count === undefined || index < count; index++) {
        const label = random.next() < fraudRate ? 1 : 0;
        const sampler = samplers[label];
        const { mean, std } = sampler;
        values[0] = Math.floor(clockSeconds);
        for (let j = 1; j < 29; j++) values[j] = random.normal(mean[j]!, std[j]!);
        const amount = Math.round(Math.exp(random.normal(sampler.amountMu, sampler.amountSigma)) * 100) / 100;
        values[29] = amount;
        const transaction: Transaction = {
          id: `synthetic-${index}`,
          timestampMs: startTimeMs + values[0]! * 1000,
          cardId: '',
          terminalId: '',
          amount,
          channel: 'unknown',
          features: creditcardFeatures(values),
          label,
          format: 'lab',
        };
        yield { kind: 'transaction', transaction };
        clockSeconds += random.exponential(meanGapSeconds);
      }
    },
  };
}
