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

/** A batch scored and ready to persist. */
interface PreparedBatch {
  batch: readonly DeliveredRecord[];
  results: ScoredTransaction[];
  dead: DeadLetter[];
  startedAtMs: number;
}

export const DEFAULT_CONSUMER_OPTIONS = {
  maxDeliveries: 5,
  backoffMs: 100,
  maxBackoffMs: 5_000,
  stopGraceMs: 1_000,
};

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
    Required<Pick<ConsumerOptions, 'maxDeliveries' | 'backoffMs' | 'maxBackoffMs' | 'stopGraceMs'>>;
  private readonly log: Logger;
  private stopping = false;
  private processing = false;
  private features = new Float64Array(0);
  private backoff = 0;
  private readonly pendingFeedback: Feedback[] = [];
  private running: Promise<ConsumerStats> | undefined;
  private committing: Promise<void> | undefined;

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

  /**
   * Stops reading, finishes and acknowledges the batches in hand, and resolves when the loop has
   * ended. A read in flight is given {@link ConsumerOptions.stopGraceMs} to return (its records
   * are then processed too): interrupting it could leave records it already took pending in the
   * stream until another consumer claims them.
   */
  async stop(): Promise<ConsumerStats> {
    this.stopping = true;
    const ended = this.running ?? Promise.resolve(this.stats);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.o.stopGraceMs);
    });
    const timedOut = await Promise.race([ended.then(() => false), graceOver]);
    clearTimeout(timer);
    if (timedOut && !this.processing) {
      // A long blocking read: interrupt it, once every batch in hand is persisted and acknowledged.
      await this.settle();
      if (!this.processing) await this.o.reader.close();
    }
    return ended;
  }

  /** Resolves when no commit is in flight (commits started meanwhile are awaited too). */
  private async settle(): Promise<void> {
    let current: Promise<void> | undefined;
    do {
      current = this.committing;
      await current;
    } while (current !== this.committing);
  }

  private async loop(): Promise<ConsumerStats> {
    const { reader } = this.o;
    try {
      for await (const batch of reader) {
        if (batch.length > 0) {
          this.processing = true;
          try {
            const prepared = await this.prepare(batch);
            // Persisting a batch overlaps reading and scoring the next one (the store's round
            // trips no longer idle the CPU); commits run one after another, so acknowledgements
            // and counters stay in order and at most two batches are in flight.
            const previous = this.committing;
            this.committing = (async () => {
              await previous;
              if (prepared) await this.commit(prepared);
            })();
            // Bounds the overlap: the next read starts only once the commit before this one is done.
            await previous;
          } finally {
            this.processing = false;
          }
        }
        if (this.stopping) break;
        if (this.backoff > 0) {
          await this.settle();
          await sleep(this.backoff);
        }
      }
    } finally {
      await this.settle();
      await reader.close();
    }
    this.log.info({ ...this.summary() }, 'consumer stopped');
    return this.stats;
  }

  /** Processes one delivered batch end to end: features and scores, then persist and acknowledge. */
  async processBatch(batch: readonly DeliveredRecord[]): Promise<void> {
    const prepared = await this.prepare(batch);
    if (prepared) await this.commit(prepared);
  }

  /**
   * Parses, computes features and scores. Malformed records become dead letters. Returns
   * `undefined` when the batch had to be released (the feature state failed).
   */
  private async prepare(batch: readonly DeliveredRecord[]): Promise<PreparedBatch | undefined> {
    const startedAtMs = Date.now();
    const transactions: Transaction[] = [];
    const records: DeliveredRecord[] = [];
    const dead: DeadLetter[] = [];
    for (const record of batch) {
      if (record.deliveries > this.o.maxDeliveries) {
        dead.push(
          deadLetter(record, `max-deliveries: delivered ${record.deliveries} times`, 'PoisonRecordError'),
        );
        continue;
      }
      const parsed = parsePayload(record.payload);
      if (parsed instanceof ParseError) {
        dead.push(deadLetter(record, parsed.message, parsed.name));
        continue;
      }
      transactions.push(parsed);
      records.push(record);
    }
    try {
      const results = await this.scoreRecords(transactions, records);
      return { batch, results, dead, startedAtMs };
    } catch (err) {
      await this.releaseFailed(batch, err, 'features failed');
      return undefined;
    }
  }

  /**
   * Stores dead letters and results, then acknowledges the whole batch — only after the store
   * confirmed. If anything fails, nothing of the batch is acknowledged: it is released and comes
   * back later (writes are idempotent, so a partial write is harmless).
   */
  private async commit({ batch, results, dead, startedAtMs }: PreparedBatch): Promise<void> {
    const { reader, store } = this.o;
    try {
      if (dead.length > 0) await store.deadLetter(dead);
      const persisted =
        results.length > 0 ? await store.persistBatch(results) : { written: 0, duplicates: 0 };
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
      for (const d of dead) this.log.warn({ position: d.position, reason: d.reason }, 'dead-lettered');
      this.log.info(
        {
          records: batch.length,
          persisted: persisted.written,
          duplicates: persisted.duplicates,
          deadLettered: dead.length,
          ms: done - startedAtMs,
        },
        'batch',
      );
    } catch (err) {
      await this.releaseFailed(batch, err, 'persist failed');
    }
    this.o.onBatch?.(this.stats);
  }

  private async releaseFailed(batch: readonly DeliveredRecord[], err: unknown, what: string): Promise<void> {
    await this.o.reader.release(batch);
    this.stats.released += batch.length;
    this.backoff = Math.min(this.o.maxBackoffMs, this.backoff > 0 ? this.backoff * 2 : this.o.backoffMs);
    this.log.error(
      {
        err: err instanceof FraudstreamError ? err.message : String(err),
        records: batch.length,
        retryInMs: this.backoff,
      },
      `${what}; batch released for redelivery`,
    );
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
    const scores = await scorer.scoreBatchAsync(this.features, n, transactions);
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
