/**
 * The consumer: the heart of the pipeline. For each batch a transport delivers —
 *
 *   parse → features → scores → persist → acknowledge
 *
 * every record is accounted for: parsed and persisted, or dead-lettered with its reason and raw
 * payload. Nothing is acknowledged before it is stored; a batch the store refuses is released
 * for redelivery and retried with back-off, and writes are idempotent, so redelivery is safe.
 */
import { ConfigError, FraudstreamError, ParseError } from '../errors/index.js';
import { type Feedback, parsePayload, type Transaction } from '../events/index.js';
import { type FeatureSet, feedbackFor } from '../features/index.js';
import { type Logger, silentLogger } from '../logging/index.js';
import type { Scorer } from '../scoring/index.js';
import type { DeadLetter, ScoredTransaction, Store } from '../store/index.js';
import type { DeliveredRecord, StreamReader } from '../transports/index.js';
import { LatencyHistogram } from './latency.js';
import { scoredTransactions } from './results.js';

export interface ConsumerOptions {
  reader: StreamReader;
  store: Store;
  featureSet: FeatureSet;
  scorer: Scorer;
  /** @default a silent logger */
  logger?: Logger;
  /**
   * A record delivered more than this many times is dead-lettered (reason `max-deliveries`) so
   * one poison record cannot block the stream forever.
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
  /** Called after each batch with running totals (for progress panels). */
  onBatch?: (stats: ConsumerStats) => void;
}

export interface ConsumerStats {
  /** Records persisted for the first time. */
  persisted: number;
  /** Records that were already stored (redeliveries). */
  duplicates: number;
  deadLettered: number;
  /** Records released for redelivery after a store failure. */
  released: number;
  batches: number;
  decisions: { approve: number; review: number; decline: number };
  /** Enqueue-to-persisted latency of persisted records, in ms. */
  latency: LatencyHistogram;
  startedAtMs: number;
}

export const DEFAULT_CONSUMER_OPTIONS = { maxDeliveries: 5, backoffMs: 100, maxBackoffMs: 5_000 };

export class Consumer {
  readonly stats: ConsumerStats = {
    persisted: 0,
    duplicates: 0,
    deadLettered: 0,
    released: 0,
    batches: 0,
    decisions: { approve: 0, review: 0, decline: 0 },
    latency: new LatencyHistogram(),
    startedAtMs: Date.now(),
  };
  private readonly o: ConsumerOptions &
    Required<Pick<ConsumerOptions, 'maxDeliveries' | 'backoffMs' | 'maxBackoffMs'>>;
  private readonly log: Logger;
  private stopping = false;
  private processing = false;
  private features = new Float64Array(0);
  private backoff = 0;
  private readonly pendingFeedback: Feedback[] = [];
  private running: Promise<ConsumerStats> | undefined;

  constructor(options: ConsumerOptions) {
    this.o = { ...DEFAULT_CONSUMER_OPTIONS, ...options };
    if (!(Number.isInteger(this.o.maxDeliveries) && this.o.maxDeliveries >= 1)) {
      throw new ConfigError(`maxDeliveries must be a positive integer, got ${this.o.maxDeliveries}`);
    }
    const bundleFeatures = options.scorer.current.manifest.featureSet;
    if (bundleFeatures !== options.featureSet.name) {
      throw new ConfigError(
        `the model bundle was trained on the ${bundleFeatures} feature set but the consumer computes ${options.featureSet.name}`,
      );
    }
    this.log = options.logger ?? silentLogger();
    this.pendingFeedback.push(...(options.pendingFeedback ?? []));
  }

  /** Consumes until the stream ends or {@link stop} is called; resolves with the totals. */
  run(): Promise<ConsumerStats> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Stops reading, finishes and acknowledges the batch in hand, and resolves when the loop has ended. */
  async stop(): Promise<ConsumerStats> {
    this.stopping = true;
    if (!this.processing) await this.o.reader.close();
    return this.running ?? this.stats;
  }

  private async loop(): Promise<ConsumerStats> {
    const { reader } = this.o;
    try {
      for await (const batch of reader) {
        if (batch.length > 0) {
          this.processing = true;
          try {
            await this.processBatch(batch);
          } finally {
            this.processing = false;
          }
        }
        if (this.stopping) break;
        if (this.backoff > 0) await sleep(this.backoff);
      }
    } finally {
      await reader.close();
    }
    this.log.info({ ...this.summary() }, 'consumer stopped');
    return this.stats;
  }

  /** Processes one delivered batch end to end. Exposed for tests and the Lambda-style handler. */
  async processBatch(batch: readonly DeliveredRecord[]): Promise<void> {
    const started = Date.now();
    const { reader, store } = this.o;
    const transactions: Transaction[] = [];
    const records: DeliveredRecord[] = [];
    const dead: { record: DeliveredRecord; letter: DeadLetter }[] = [];
    for (const record of batch) {
      if (record.deliveries > this.o.maxDeliveries) {
        dead.push({
          record,
          letter: deadLetter(
            record,
            `max-deliveries: delivered ${record.deliveries} times`,
            'PoisonRecordError',
          ),
        });
        continue;
      }
      const parsed = parsePayload(record.payload);
      if (parsed instanceof ParseError) {
        dead.push({ record, letter: deadLetter(record, parsed.message, parsed.name) });
        continue;
      }
      transactions.push(parsed);
      records.push(record);
    }

    // Everything that can fail for a reason outside the record (feature state, store) happens in
    // here: the batch is then released for redelivery, never acknowledged, never lost.
    try {
      const results = await this.scoreRecords(transactions, records);
      if (dead.length > 0) await store.deadLetter(dead.map((d) => d.letter));
      const persisted =
        results.length > 0 ? await store.persistBatch(results) : { written: 0, duplicates: 0 };
      // Only now is everything in this batch stored: acknowledge all of it.
      await reader.ack(batch);
      this.backoff = 0;
      const done = Date.now();
      this.stats.persisted += persisted.written;
      this.stats.duplicates += persisted.duplicates;
      this.stats.deadLettered += dead.length;
      this.stats.batches++;
      for (const r of results) {
        if (this.log.isLevelEnabled('debug')) this.traceRecord(r);
        this.stats.decisions[r.decision]++;
        this.stats.latency.record(done - r.enqueuedAtMs);
      }
      for (const d of dead)
        this.log.warn({ position: d.letter.position, reason: d.letter.reason }, 'dead-lettered');
      this.log.info(
        {
          records: batch.length,
          persisted: persisted.written,
          duplicates: persisted.duplicates,
          deadLettered: dead.length,
          ms: done - started,
        },
        'batch',
      );
    } catch (err) {
      // The store did not confirm: nothing of this batch is acknowledged; it comes back later.
      await reader.release(batch);
      this.stats.released += batch.length;
      this.backoff = Math.min(this.o.maxBackoffMs, this.backoff > 0 ? this.backoff * 2 : this.o.backoffMs);
      this.log.error(
        {
          err: err instanceof FraudstreamError ? err.message : String(err),
          records: batch.length,
          retryInMs: this.backoff,
        },
        'persist failed; batch released for redelivery',
      );
    }
    this.o.onBatch?.(this.stats);
  }

  /** Features, scores and documents of the parsed records of a batch. */
  private async scoreRecords(
    transactions: readonly Transaction[],
    records: readonly DeliveredRecord[],
  ): Promise<ScoredTransaction[]> {
    const n = transactions.length;
    if (n === 0) return [];
    const { featureSet, scorer } = this.o;
    const width = featureSet.featureNames.length;
    if (this.features.length < n * width) this.features = new Float64Array(n * width);
    await this.extractFeatures(transactions, width);
    const scores = scorer.scoreBatch(this.features, n, transactions);
    const results = scoredTransactions(
      transactions,
      records,
      featureSet.featureNames,
      this.features,
      scores,
      Date.now(),
    );
    this.queueSimulatedFeedback(transactions);
    return results;
  }

  /** Totals for logs and summaries. */
  summary(): Record<string, number> {
    const { latency } = this.stats;
    return {
      persisted: this.stats.persisted,
      duplicates: this.stats.duplicates,
      deadLettered: this.stats.deadLettered,
      released: this.stats.released,
      approve: this.stats.decisions.approve,
      review: this.stats.decisions.review,
      decline: this.stats.decisions.decline,
      latencyP50Ms: round(latency.quantile(0.5)),
      latencyP99Ms: round(latency.quantile(0.99)),
    };
  }

  private queueSimulatedFeedback(transactions: readonly Transaction[]): void {
    const delayDays = this.o.simulatedFeedbackDelayDays;
    if (delayDays === undefined) return;
    for (const tx of transactions)
      if (tx.label !== undefined) this.pendingFeedback.push(feedbackFor(tx, delayDays));
  }

  /**
   * Computes features for the batch. With pending feedback, the batch is cut where a label
   * becomes due, so each transaction sees exactly the labels known at its own time — as the
   * training replay does, which keeps serving and training identical.
   */
  private async extractFeatures(transactions: readonly Transaction[], width: number): Promise<void> {
    const { featureSet } = this.o;
    if (this.pendingFeedback.length === 0) {
      await featureSet.extract(transactions, this.features);
      return;
    }
    let start = 0;
    while (start < transactions.length) {
      await this.applyDueFeedback(transactions[start]!.timestampMs);
      const nextDueMs = this.pendingFeedback[0]?.atMs ?? Number.POSITIVE_INFINITY;
      let end = start + 1;
      while (end < transactions.length && transactions[end]!.timestampMs < nextDueMs) end++;
      const slice =
        start === 0 && end === transactions.length ? transactions : transactions.slice(start, end);
      await featureSet.extract(slice, this.features.subarray(start * width));
      start = end;
    }
  }

  private async applyDueFeedback(nowMs: number): Promise<void> {
    if (this.pendingFeedback.length === 0) return;
    let due = 0;
    while (due < this.pendingFeedback.length && this.pendingFeedback[due]!.atMs <= nowMs) due++;
    if (due === 0) return;
    // Dropped from the queue only once applied: a failed call leaves them for the retry.
    await this.o.featureSet.feedback(this.pendingFeedback.slice(0, due));
    this.pendingFeedback.splice(0, due);
  }

  private traceRecord(r: ScoredTransaction): void {
    const id = r.key;
    this.log.debug({ id, amount: r.transaction.amount }, 'persistTransactionalData');
    this.log.debug(
      { id, 'anomaly score': r.anomalyScore, 'classification pred_proba': r.classifierProbability },
      'makeInferences',
    );
    this.log.debug({ id, fraud_score: r.fraudScore, decision: r.decision }, 'persistMLScores');
  }
}

function deadLetter(record: DeliveredRecord, reason: string, errorName: string): DeadLetter {
  return { position: record.position, payload: record.payload, reason, errorName, atMs: Date.now() };
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : x;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
