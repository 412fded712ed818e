/**
 * The store contract: where the pipeline persists what it decided and where the dashboard reads
 * it back. Memory (embedded default) and Redis implement it. Every write is idempotent by record
 * key, because transports deliver at least once: persisting the same record twice changes nothing,
 * counters and series included.
 */
import type { Transaction } from '../events/index.js';

export const DECISIONS = ['approve', 'review', 'decline'] as const;
export type Decision = (typeof DECISIONS)[number];

/** Why a transaction scored as it did: one input and how much it pushed the score. */
export interface Reason {
  /** Feature name, or rule name for `source: 'rule'`. */
  name: string;
  /** Contribution to the score in the source's own unit (log-odds for the classifier, score share for the forest). */
  contribution: number;
  source: 'classifier' | 'anomaly' | 'rule';
}

/** Everything the pipeline knows about one processed record. */
export interface ScoredTransaction {
  /** Unique key of the record (see `recordKey`): documents, series points and counters are idempotent on it. */
  key: string;
  transaction: Transaction;
  /** Feature values by name, as the models saw them. */
  features: Record<string, number>;
  /** Classifier probability of fraud, [0, 1]. */
  classifierProbability: number;
  /** Raw Random Cut Forest anomaly score (about 1 for inliers). */
  anomalyScore: number;
  /** Anomaly score mapped to [0, 1] by the bundle's calibration. */
  anomalyNormalized: number;
  /** The combined fraud score, [0, 1]. */
  fraudScore: number;
  decision: Decision;
  /** Top reasons, most important first. */
  reasons: Reason[];
  /** Version (fingerprint) of the model bundle that scored it. */
  modelVersion: string;
  /** Epoch ms when the transport accepted the record. */
  enqueuedAtMs: number;
  /** Epoch ms when the decision was made; series and counters are bucketed by it. */
  processedAtMs: number;
}

/** A record that could not be processed, with its raw payload, kept for inspection and replay. */
export interface DeadLetter {
  /** Transport position of the record. */
  position: string;
  payload: string;
  /** One-line reason, e.g. `amount: expected a finite number, got "abc"`. */
  reason: string;
  /** Error class name, e.g. `ParseError`. */
  errorName: string;
  atMs: number;
  /**
   * Set by stores that cap stored payloads (the Redis store) when `payload` was cut to the cap:
   * the original payload's size in UTF-8 bytes.
   */
  payloadBytes?: number;
  /** With {@link DeadLetter.payloadBytes}: hex SHA-256 of the original payload. */
  payloadSha256?: string;
}

/** The score series of the reference lab (RedisTimeSeries keys, label `type=fraud_score`). */
export const SCORE_SERIES = ['fraud-ts', 'fraudulent_ts', 'non-fraudulent_ts'] as const;
export type ScoreSeriesName = (typeof SCORE_SERIES)[number];

export interface SeriesPoint {
  /** Epoch ms. */
  t: number;
  v: number;
}

export type SeriesAggregation = 'count' | 'avg' | 'max' | 'sum';

/** Per-interval counters of the pipeline. */
export interface CounterBucket {
  /** Start of the bucket, epoch ms. */
  t: number;
  transactions: number;
  /** Transactions whose fraud score reached the fraud threshold. */
  flagged: number;
  review: number;
  decline: number;
  /** Sum of fraud scores (average = scoreSum / transactions). */
  scoreSum: number;
}

/** The counter intervals the store keeps. */
export const COUNTER_INTERVALS_MS = [1_000, 10_000] as const;
export type CounterIntervalMs = (typeof COUNTER_INTERVALS_MS)[number];

export interface Alert {
  key: string;
  transactionId: string;
  cardId: string;
  terminalId: string;
  amount: number;
  fraudScore: number;
  decision: Decision;
  reasons: Reason[];
  processedAtMs: number;
}

/** The alert a flagged transaction raises: what an analyst needs first. */
export function toAlert(r: ScoredTransaction): Alert {
  return {
    key: r.key,
    transactionId: r.transaction.id,
    cardId: r.transaction.cardId,
    terminalId: r.transaction.terminalId,
    amount: r.transaction.amount,
    fraudScore: r.fraudScore,
    decision: r.decision,
    reasons: r.reasons,
    processedAtMs: r.processedAtMs,
  };
}

export interface PersistResult {
  /** Records written for the first time. */
  written: number;
  /** Records already present (redeliveries): nothing was changed for them. */
  duplicates: number;
}

export interface Store {
  /**
   * Persists a batch: documents, series points, counters, alerts. Resolves only once all of it
   * is stored (the pipeline acknowledges records after this). Idempotent per record key.
   */
  persistBatch(results: readonly ScoredTransaction[]): Promise<PersistResult>;
  /** Stores dead letters (append-only), once per transport position: redelivered poison is not counted twice. */
  deadLetter(items: readonly DeadLetter[]): Promise<void>;
  /** The stored document of a record, or undefined. */
  getTransaction(key: string): Promise<ScoredTransaction | undefined>;
  /** Number of distinct records stored. */
  countTransactions(): Promise<number>;
  /** Number of dead letters stored. */
  countDeadLetters(): Promise<number>;
  /** Most recent dead letters, newest first. */
  recentDeadLetters(limit: number): Promise<DeadLetter[]>;
  /**
   * Points of a score series in [fromMs, toMs]; with `bucketMs`, aggregated per bucket
   * (buckets aligned to multiples of bucketMs since the epoch).
   */
  scoreSeries(
    name: ScoreSeriesName,
    fromMs: number,
    toMs: number,
    aggregate?: { bucketMs: number; type: SeriesAggregation },
  ): Promise<SeriesPoint[]>;
  /** Counter buckets of the given interval in [fromMs, toMs], oldest first; empty buckets omitted. */
  counters(intervalMs: CounterIntervalMs, fromMs: number, toMs: number): Promise<CounterBucket[]>;
  /** Most recent review/decline alerts, newest first. */
  recentAlerts(limit: number): Promise<Alert[]>;
  /**
   * Stored transactions matching every given filter, newest event time first (ties by record
   * key, descending), one page at a time: pass the returned `nextCursor` for the next page.
   */
  searchTransactions(query: TransactionQuery): Promise<TransactionPage>;
  close(): Promise<void>;
}

/** Filters of {@link Store.searchTransactions}; absent filters match everything. */
export interface TransactionQuery {
  cardId?: string;
  terminalId?: string;
  decision?: Decision;
  /** Earliest event time (`transaction.timestampMs`), inclusive, epoch ms. */
  fromMs?: number;
  /** Latest event time, inclusive, epoch ms. */
  toMs?: number;
  /** Most transactions in the page, 1 to {@link MAX_SEARCH_LIMIT}. */
  limit: number;
  /** Where the previous page ended (its `nextCursor`); absent for the first page. */
  cursor?: string;
}

/** One page of search results. */
export interface TransactionPage {
  transactions: ScoredTransaction[];
  /** Present when more transactions may match: pass it as `cursor` to continue. */
  nextCursor?: string;
}

/** Largest page of {@link Store.searchTransactions}. */
export const MAX_SEARCH_LIMIT = 1_000;
