/**
 * Scoring on request (the HTTP API of `fraudstream serve`): the consumer's path without a
 * stream. Transactions go through the same feature set (and so the same window state, memory or
 * Redis, shared with any stream consumer of that state), the same {@link Scorer} and the same
 * document builder ({@link scoredTransactions}), then into the store with the same
 * `persistBatch`. A transaction scored here and later streamed is seen by the window state as a
 * redelivery (same id, same event time), so it gets the same features on both paths.
 */
import { ConfigError } from '../errors/index.js';
import type { Feedback, Transaction } from '../events/index.js';
import type { FeatureSet } from '../features/index.js';
import type { DriftMonitor, Scorer } from '../scoring/index.js';
import type { PersistResult, ScoredTransaction, Store } from '../store/index.js';
import { type ConsumerStats, emptyConsumerStats } from './consumer-options.js';
import { scoredTransactions } from './results.js';

/** Options of {@link RequestScorer}. */
export interface RequestScorerOptions {
  featureSet: FeatureSet;
  scorer: Scorer;
  store: Store;
  /** @default undefined (no drift figures) */
  drift?: DriftMonitor;
  /**
   * Stands in for the transport position in record keys. Native and Sparkov transactions are
   * keyed by their id (record key mode `auto`, as the stream does), so a retry, or a transaction
   * scored here and later streamed, is a duplicate, not a copy. Lab envelopes, whose ids repeat
   * (`random_id`), are keyed `<id>@<position>:<received ms>.<sequence>`: each one is its own record.
   * @default 'api'
   */
  position?: string;
}

export const DEFAULT_REQUEST_SCORER_OPTIONS = { position: 'api' } as const;

/** What {@link RequestScorer.score} did. */
export interface RequestScoreResult {
  /** One scored transaction per input, in input order. */
  results: ScoredTransaction[];
  /** What the store did; null for a dry run (nothing stored). */
  persisted: PersistResult | null;
}

/**
 * Scores transactions on request. Requests arrive concurrently, but a feature set is driven by
 * one caller at a time (its window updates must not interleave): features and scores of one
 * request are computed before the next request's start, while persisting overlaps freely.
 */
export class RequestScorer {
  /** Running totals in the consumer's shape, so the same Prometheus metrics describe both. */
  readonly stats: ConsumerStats = emptyConsumerStats();
  private readonly o: RequestScorerOptions & { position: string };
  private features = new Float64Array(0);
  private turn: Promise<unknown> = Promise.resolve();
  private sequence = 0;

  constructor(options: RequestScorerOptions) {
    this.o = { ...DEFAULT_REQUEST_SCORER_OPTIONS, ...options };
    const bundleFeatures = options.scorer.current.manifest.featureSet;
    if (bundleFeatures !== options.featureSet.name) {
      throw new ConfigError(
        `the model bundle was trained on the ${bundleFeatures} feature set but the scorer computes ${options.featureSet.name}`,
      );
    }
  }

  /** Version of the model bundle in use. */
  get modelVersion(): string {
    return this.o.scorer.version;
  }

  /**
   * Computes features, scores and decisions, then persists them unless `dryRun`. A dry run
   * changes nothing: the window state is only read (each transaction as if it were the next
   * to arrive), the forest does not learn, nothing is stored and no drift is counted.
   */
  async score(
    transactions: readonly Transaction[],
    options: { dryRun?: boolean; receivedAtMs?: number } = {},
  ): Promise<RequestScoreResult> {
    const dryRun = options.dryRun === true;
    const receivedAtMs = options.receivedAtMs ?? Date.now();
    const results = await this.exclusive(() => this.compute(transactions, dryRun, receivedAtMs));
    if (dryRun) return { results, persisted: null };
    const persisted = await this.o.store.persistBatch(results);
    const done = Date.now();
    this.stats.persisted += persisted.written;
    this.stats.duplicates += persisted.duplicates;
    this.stats.batches++;
    for (const r of results) {
      this.stats.decisions[r.decision]++;
      this.stats.latency.record(done - r.enqueuedAtMs);
    }
    return { results, persisted };
  }

  /** Applies labels to the feature state (terminal risk), in turn with scoring. */
  feedback(items: readonly Feedback[]): Promise<void> {
    return this.exclusive(() => this.o.featureSet.feedback(items));
  }

  private async compute(
    transactions: readonly Transaction[],
    dryRun: boolean,
    receivedAtMs: number,
  ): Promise<ScoredTransaction[]> {
    const n = transactions.length;
    if (n === 0) return [];
    const { featureSet, scorer, drift, position } = this.o;
    const width = featureSet.featureNames.length;
    if (this.features.length < n * width) this.features = new Float64Array(n * width);
    if (dryRun) {
      await featureSet.peek(transactions, this.features);
    } else {
      await featureSet.extract(transactions, this.features);
    }
    // A dry run teaches the streaming forest nothing: no row is marked to learn from.
    const scores = await scorer.scoreBatch(
      this.features,
      n,
      transactions,
      dryRun ? new Uint8Array(n) : undefined,
    );
    if (!dryRun) drift?.observe(this.features, scores.fraudScore, n);
    const origins = transactions.map((tx) => ({
      position:
        tx.format === 'lab'
          ? `${position}:${receivedAtMs}.${this.sequence++}`
          : `${position}:${tx.timestampMs}`,
      enqueuedAtMs: receivedAtMs,
    }));
    return scoredTransactions(
      transactions,
      origins,
      featureSet.featureNames,
      this.features,
      scores,
      Date.now(),
    );
  }

  /** Runs `work` after every earlier call's work, whether that succeeded or not. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turn.then(work, work);
    this.turn = run.catch(() => undefined);
    return run;
  }
}
