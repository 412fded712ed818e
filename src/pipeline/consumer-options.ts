import { ConfigError } from '../errors/index.js';
import { type Feedback, isRecordKeyMode, type RecordKeyMode } from '../events/index.js';
import type { FeatureSet } from '../features/index.js';
import type { Logger } from '../logging/index.js';
import type { DriftMonitor, Scorer } from '../scoring/index.js';
import type { Store } from '../store/index.js';
import type { StreamReader } from '../transports/index.js';
import { DEFAULT_MAX_FUTURE_SKEW_MS } from './event-time.js';
import { LatencyHistogram } from './latency.js';

export interface ConsumerOptions {
  reader: StreamReader;
  store: Store;
  featureSet: FeatureSet;
  scorer: Scorer;
  /** @default a silent logger */
  logger?: Logger;
  /**
   * A record delivered more than this many times is dead-lettered (reason `max-deliveries`) so
   * one poison record cannot block the stream forever. Store failures do not count: the
   * consumer holds and retries those batches instead of giving them back.
   * @default 5
   */
  maxDeliveries?: number;
  /**
   * First back-off after the store fails, doubled up to {@link maxBackoffMs} while it keeps failing.
   * @default 100
   */
  backoffMs?: number;
  /** @default 5000 */
  maxBackoffMs?: number;
  /**
   * How long the store may keep failing before the consumer gives up: {@link Consumer.run}
   * rejects with a `StallError` and the batch in hand stays unacknowledged. 0 = wait forever.
   * @default 0
   */
  maxStallMs?: number;
  /**
   * A record dated more than this far ahead of the stream's high-water mark (and of the wall
   * clock) is dead-lettered with an `EventTimeError` and never reaches the window state.
   * `Infinity` turns the check off.
   * @default 86400000 (one day)
   */
  maxFutureSkewMs?: number;
  /**
   * How many record keys the consumer remembers so that the streaming forest learns a record
   * that comes back (a redelivery, a producer retry with the same key) only once.
   * @default 100000
   */
  learnedKeys?: number;
  /**
   * How long {@link Consumer.stop} lets a read in flight return by itself before interrupting it.
   * Reads are bounded by the reader's `maxWaitMs`, so with the defaults they always return in time.
   * @default 1000
   */
  stopGraceMs?: number;
  /**
   * Simulated investigations for demos and replays of labelled history: each labelled
   * transaction's label is applied as feedback once the stream's event time is `delayDays`
   * past it — exactly when the training replay made it known. `undefined` = labels on
   * incoming records are ignored (real traffic gets feedback from elsewhere).
   * @default undefined
   */
  simulatedFeedbackDelayDays?: number;
  /**
   * Feedback already due or coming, in `atMs` order, applied as the stream's event time passes
   * it (e.g. labels of the last days of a training replay, so serving continues where it stopped).
   * @default []
   */
  pendingFeedback?: readonly Feedback[];
  /**
   * How records are keyed in the store (and in the forest's memory of learned records): `'id'`
   * stores a transaction produced twice once, `'id@position'` keys by transport position (for
   * producers whose ids repeat), `'auto'` does the first for native and Sparkov records and the
   * second for lab envelopes (see `RecordKeyMode`).
   * @default 'auto'
   */
  recordKey?: RecordKeyMode;
  /** Called after each batch with running totals (for progress panels). */
  onBatch?: (stats: ConsumerStats) => void;
  /**
   * Measures drift (PSI) of the scored traffic against the bundle's training distributions.
   * @default undefined (no drift figures)
   */
  drift?: DriftMonitor;
}

/** Where a dead letter went: the store's dead letters, or the transport's own dead-letter stream. */
export type DeadLetterDestination = 'store' | 'transport';

export interface ConsumerStats {
  /** Records persisted for the first time. */
  persisted: number;
  /** Records that were already stored (redeliveries). */
  duplicates: number;
  /** Records dead-lettered, in both destinations. */
  deadLettered: number;
  /**
   * Dead letters by destination, then reason: the error class for the store's (`ParseError`,
   * `EventTimeError`, `RecordError`…), the transport's own reason for its (`max-deliveries`).
   */
  deadLetters: Record<DeadLetterDestination, Record<string, number>>;
  /** Retries of a step after the store failed (each logged once). */
  storeRetries: number;
  /** Since when the store has been failing (the consumer is holding a batch), epoch ms; undefined while it works. */
  stalledSinceMs: number | undefined;
  /** The last store failure, `Name: message`; kept after recovery. */
  lastStoreError: string | undefined;
  batches: number;
  decisions: { approve: number; review: number; decline: number };
  /** Enqueue-to-persisted latency of persisted records, in ms. */
  latency: LatencyHistogram;
  startedAtMs: number;
}

/** Totals before the first batch: the consumer's, and the request scorer's in the same shape. */
export function emptyConsumerStats(): ConsumerStats {
  return {
    persisted: 0,
    duplicates: 0,
    deadLettered: 0,
    deadLetters: { store: {}, transport: {} },
    storeRetries: 0,
    stalledSinceMs: undefined,
    lastStoreError: undefined,
    batches: 0,
    decisions: { approve: 0, review: 0, decline: 0 },
    latency: new LatencyHistogram(),
    startedAtMs: Date.now(),
  };
}

export const DEFAULT_CONSUMER_OPTIONS = {
  recordKey: 'auto' as RecordKeyMode,
  maxDeliveries: 5,
  backoffMs: 100,
  maxBackoffMs: 5_000,
  maxStallMs: 0,
  maxFutureSkewMs: DEFAULT_MAX_FUTURE_SKEW_MS,
  learnedKeys: 100_000,
  stopGraceMs: 1_000,
};

export type ResolvedConsumerOptions = ConsumerOptions & typeof DEFAULT_CONSUMER_OPTIONS;

/** Merges `options` over {@link DEFAULT_CONSUMER_OPTIONS} and validates them; throws {@link ConfigError}. */
export function resolveConsumerOptions(options: ConsumerOptions): ResolvedConsumerOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULT_CONSUMER_OPTIONS, ...defined } as ResolvedConsumerOptions;
  for (const name of ['maxDeliveries', 'learnedKeys'] as const) {
    if (!(Number.isInteger(o[name]) && o[name] >= 1))
      throw new ConfigError(`${name} must be a positive integer, got ${o[name]}`);
  }
  for (const name of ['backoffMs', 'maxBackoffMs', 'maxStallMs', 'stopGraceMs'] as const) {
    if (!(Number.isFinite(o[name]) && o[name] >= 0))
      throw new ConfigError(`${name} must be a finite number >= 0, got ${o[name]}`);
  }
  if (!(o.maxFutureSkewMs >= 0)) {
    throw new ConfigError(`maxFutureSkewMs must be >= 0 (Infinity = off), got ${o.maxFutureSkewMs}`);
  }
  if (!isRecordKeyMode(o.recordKey)) {
    throw new ConfigError(`recordKey must be auto, id or id@position, got ${String(o.recordKey)}`);
  }
  const bundleFeatures = options.scorer.current.manifest.featureSet;
  if (bundleFeatures !== options.featureSet.name) {
    throw new ConfigError(
      `the model bundle was trained on the ${bundleFeatures} feature set but the consumer computes ${options.featureSet.name}`,
    );
  }
  return o;
}
