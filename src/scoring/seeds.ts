/**
 * The Fraud Detection Handbook's chapter 3 protocol over several simulated worlds: train, evaluate
 * and summarise per seed, so one lucky world decides nothing. Used by `evaluate --seeds` and
 * `bench/quality.bench.ts` (which adds XGBoost on the same rows).
 */
import { ConfigError } from '../errors/index.js';
import type { Transaction } from '../events/index.js';
import type { FeatureSetName } from '../features/index.js';
import type { MetricSet } from './bundle.js';
import { type EvaluationReport, evaluateBundle } from './evaluation.js';
import { type TrainBundleOptions, type TrainedBundle, trainBundle } from './training.js';

/** The Handbook's chapter 3 periods: train 2018-07-25..31, (7-day delay), test 2018-08-08..14. */
export const HANDBOOK_PROTOCOL = Object.freeze({
  trainFromMs: Date.UTC(2018, 6, 25),
  trainToMs: Date.UTC(2018, 7, 1) - 1,
  testFromMs: Date.UTC(2018, 7, 8),
  testToMs: Date.UTC(2018, 7, 15) - 1,
  delayDays: 7,
});

/** The three figures the Handbook reports. */
export interface HandbookFigures {
  auc: number;
  ap: number;
  cp100: number;
}

export function handbookFigures(m: MetricSet): HandbookFigures {
  return { auc: m.auc, ap: m.averagePrecision, cp100: m.cardPrecisionAt100 ?? Number.NaN };
}

/** Options of {@link runHandbookSeed}. */
export interface HandbookSeedOptions {
  seed: number;
  /** The world of this seed, from its first day, in event-time order; called twice (train, test). */
  world: () => Iterable<Transaction> | AsyncIterable<Transaction>;
  /** @default 'transactions' */
  featureSet?: FeatureSetName;
  /** Training options besides the protocol's periods (classifier, forest, validation). @default none */
  train?: Partial<Omit<TrainBundleOptions, 'transactions' | 'featureSet'>>;
}

export interface HandbookSeedResult {
  seed: number;
  bundle: TrainedBundle;
  report: EvaluationReport;
  trainSeconds: number;
}

/** Trains at the defaults (plus `train`) on the protocol's training week and evaluates the test week. */
export async function runHandbookSeed(options: HandbookSeedOptions): Promise<HandbookSeedResult> {
  const p = HANDBOOK_PROTOCOL;
  const started = performance.now();
  const bundle = await trainBundle({
    name: `handbook-seed-${options.seed}`,
    sourceName: 'simulator',
    sourceSeed: options.seed,
    delayDays: p.delayDays,
    trainFromMs: p.trainFromMs,
    trainToMs: p.trainToMs,
    ...options.train,
    transactions: options.world(),
    featureSet: options.featureSet ?? 'transactions',
  });
  const trainSeconds = (performance.now() - started) / 1000;
  const report = await evaluateBundle(bundle, {
    transactions: options.world(),
    testFromMs: p.testFromMs,
    testToMs: p.testToMs,
    keepTestRows: true,
  });
  return { seed: options.seed, bundle, report, trainSeconds };
}

/** Mean and sample standard deviation (n − 1; 0 for one value). */
export function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, sd: Number.NaN };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  return { mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}

/** A paired comparison of `a` against `b` over the same seeds. */
export interface PairedComparison {
  /** Mean and sd of `a[i] − b[i]`. */
  mean: number;
  sd: number;
  /** Seeds where `a` is ahead, behind, level (|difference| < 1e-9). */
  wins: number;
  losses: number;
  ties: number;
}

export function pairedComparison(a: readonly number[], b: readonly number[]): PairedComparison {
  if (a.length !== b.length) throw new ConfigError(`paired comparison of ${a.length} and ${b.length} values`);
  const d = a.map((v, i) => v - b[i]!);
  let wins = 0;
  let losses = 0;
  for (const x of d) {
    if (x > 1e-9) wins++;
    else if (x < -1e-9) losses++;
  }
  return { ...meanSd(d), wins, losses, ties: d.length - wins - losses };
}

/**
 * Seeds from `0..9` (inclusive range), `0,3,5` or `7`; throws {@link ConfigError} otherwise.
 */
export function parseSeeds(text: string): number[] {
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(text.trim());
  if (range) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (to < from || to - from > 10_000) throw new ConfigError(`bad seed range "${text}"`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  const seeds = text.split(',').map((s) => Number(s.trim()));
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) {
    throw new ConfigError(`seeds must be like 0..9 or 0,1,2, got "${text}"`);
  }
  return seeds;
}

/** `0.712 ± 0.031` */
export function formatMeanSd(values: readonly number[], digits = 3): string {
  const { mean, sd } = meanSd(values);
  return `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

/** `+0.012 ± 0.020 (7 ahead, 3 behind)` */
export function formatPaired(c: PairedComparison, digits = 3): string {
  const sign = c.mean >= 0 ? '+' : '';
  const ties = c.ties > 0 ? `, ${c.ties} level` : '';
  return `${sign}${c.mean.toFixed(digits)} ± ${c.sd.toFixed(digits)} (${c.wins} ahead, ${c.losses} behind${ties})`;
}
