/**
 * The consumer: the heart of the pipeline. For each batch a transport delivers —
 *
 *   parse → event-time check → features → scores → persist → acknowledge
 *
 * every record is accounted for: parsed and persisted, or dead-lettered with its reason and raw
 * payload. Nothing is acknowledged before it is stored.
 *
 * Failures are told apart by class (see `failures.ts`):
 * - The store (or feature state, or transport) fails as a whole: the consumer holds the batch,
 *   unacknowledged, and retries the failed step itself with back-off, logging one error line per
 *   retry and showing the stall in its stats. It does not release the batch to the transport:
 *   each redelivery would raise the records' delivery count until the transport dead-letters
 *   valid traffic as `max-deliveries`. With `maxStallMs` the consumer gives up (run() rejects
 *   with a `StallError`) and the records stay pending for the next consumer.
 * - One record fails: the batch is bisected until that record is alone, and only it is
 *   dead-lettered; the rest persist. Writes are idempotent, so re-sending halves is harmless.
 */
import { FraudstreamError, ParseError, StoreError } from '../errors/index.js';
import { type Feedback, parsePayload, recordKey, type Transaction } from '../events/index.js';
import { feedbackFor } from '../features/index.js';
import { type Logger, silentLogger } from '../logging/index.js';
import type { DeadLetter, ScoredTransaction } from '../store/index.js';
import type { DeliveredRecord } from '../transports/index.js';
import {
  type ConsumerOptions,
  type ConsumerStats,
  emptyConsumerStats,
  type ResolvedConsumerOptions,
  resolveConsumerOptions,
} from './consumer-options.js';
import { EventTimeGuard } from './event-time.js';
import { bisect, describeError } from './failures.js';
import { RecentKeys } from './recent-keys.js';
import { scoredTransactions } from './results.js';
import { BatchAbandoned, StoreRetry } from './store-retry.js';

/** A batch parsed and checked: what goes through the feature state. */
interface ParsedBatch {
  batch: readonly DeliveredRecord[];
  transactions: Transaction[];
  /** Delivered records of {@link transactions}, index-aligned. */
  records: DeliveredRecord[];
  dead: DeadLetter[];
  /** Feature rows of {@link transactions}, filled by the feature step. */
  features: Float64Array;
  startedAtMs: number;
}

/** The loop's view of the batches in hand (see {@link Consumer} `loop`). */
interface Pipeline {
  /** The last batch's feature step: true once its rows are in place. */
  extracted: Promise<boolean>;
  /** Whether the last batch's features are back (the memory state answers at once). */
  featuresBack: boolean;
  /** Whether the loop holds a parsed batch until the last batch's features are back. */
  waitingToSend: boolean;
  /** The last batch's scoring step (scoring is serial). */
  scored: Promise<PreparedBatch | undefined>;
  /** Each unfinished batch's whole run, oldest first. */
  inHand: Promise<void>[];
}

/** What persisting a batch did: counts, the dead letters stored, the results stored. */
interface Persisted {
  written: number;
  duplicates: number;
  letters: DeadLetter[];
  stored: ScoredTransaction[];
}

/** A batch scored and ready to persist. */
interface PreparedBatch {
  batch: readonly DeliveredRecord[];
  /** Scored records, index-aligned with {@link records}. */
  results: ScoredTransaction[];
  records: DeliveredRecord[];
  dead: DeadLetter[];
  startedAtMs: number;
}

export class Consumer {
  readonly stats: ConsumerStats = emptyConsumerStats();
  private readonly o: ResolvedConsumerOptions;
  private readonly log: Logger;
  private readonly eventTime: EventTimeGuard;
  private readonly learned: RecentKeys;
  private stopping = false;
  private processing = false;
  private readonly pendingFeedback: Feedback[] = [];
  private running: Promise<ConsumerStats> | undefined;
  private committing: Promise<void> | undefined;
  private readonly retry: StoreRetry;
  /** A commit's fatal error (a stall past `maxStallMs`), rethrown by the loop. */
  private fatal: unknown;

  constructor(options: ConsumerOptions) {
    this.o = resolveConsumerOptions(options);
    this.log = options.logger ?? silentLogger();
    this.eventTime = new EventTimeGuard(this.o.maxFutureSkewMs);
    this.learned = new RecentKeys(this.o.learnedKeys);
    this.pendingFeedback.push(...(options.pendingFeedback ?? []));
    this.retry = new StoreRetry({
      ...this.o,
      logger: this.log,
      stats: this.stats,
      stopping: () => this.stopping,
    });
  }

  /**
   * Consumes until the stream ends or {@link stop} is called; resolves with the totals. Rejects
   * with a `StallError` when the store failed for longer than `maxStallMs`.
   */
  run(): Promise<ConsumerStats> {
    this.running ??= this.loop();
    return this.running;
  }

  /**
   * Stops reading, finishes and acknowledges the batches in hand, and resolves when the loop has
   * ended. A read in flight is given {@link ConsumerOptions.stopGraceMs} to return (its records
   * are then processed too): interrupting it could leave records it already took pending in the
   * stream until another consumer claims them. A batch held on a failing store is abandoned,
   * unacknowledged: the transport delivers it again.
   */
  async stop(): Promise<ConsumerStats> {
    this.stopping = true;
    this.retry.wake();
    const ended = this.running ?? Promise.resolve(this.stats);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.o.stopGraceMs);
    });
    const timedOut = await Promise.race([
      ended.then(
        () => false,
        () => false,
      ),
      graceOver,
    ]);
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

  /**
   * The batch loop. Each delivered batch goes through
   *
   *   parse → features → score → persist → acknowledge
   *
   * and up to {@link PIPELINE_DEPTH} batches are in hand at once, each at its own step: while the
   * feature state computes batch N+1's windows (a Lua script on Redis) this process scores N,
   * and while the store writes N it reads and parses N+2. The store's and the process's work
   * overlap instead of taking turns. Order is kept where it matters:
   * - feature requests leave strictly in batch order, each once the previous one came back (a
   *   retried one included), so the window state sees batches in the order they were read;
   * - batches are scored one at a time, in order (the scorer reuses its buffers, and the forest
   *   learns in stream order);
   * - a batch is written as soon as it is scored, possibly beside the batch before (writes are
   *   idempotent and commutative), but acknowledged only after it and after the batch before,
   *   so acknowledgements and counters stay in order.
   * A batch moves on as soon as its step before is done, never waiting for the next read.
   */
  private async loop(): Promise<ConsumerStats> {
    const { reader } = this.o;
    const pipe: Pipeline = {
      extracted: Promise.resolve(true),
      featuresBack: true,
      waitingToSend: false,
      scored: Promise.resolve(undefined),
      inHand: [],
    };
    try {
      for await (const batch of reader) {
        if (batch.length > 0) {
          this.processing = true;
          try {
            const parsed = this.parse(batch);
            // Feature requests leave in batch order: wait for the batch before's to come back.
            // If it failed for good (a stall past maxStallMs, a stop during a stall), the loop
            // ends and this batch stays unacknowledged with it.
            pipe.waitingToSend = !pipe.featuresBack;
            const sendable = await pipe.extracted;
            pipe.waitingToSend = false;
            if (!sendable) break;
            this.start(pipe, parsed);
            // Bounds the batches in hand: the next read waits for the oldest to finish.
            while (pipe.inHand.length >= PIPELINE_DEPTH) await pipe.inHand[0];
          } finally {
            this.processing = false;
          }
        } else if (this.countTransportDeadLetters()) {
          this.o.onBatch?.(this.stats);
        }
        if (this.stopping || this.fatal !== undefined) break;
      }
    } finally {
      await this.settle();
      await reader.close();
    }
    this.countTransportDeadLetters();
    if (this.fatal !== undefined) {
      this.log.error({ ...this.summary() }, 'consumer gave up');
      throw this.fatal;
    }
    this.log.info({ ...this.summary() }, 'consumer stopped');
    return this.stats;
  }

  /**
   * Sends a parsed batch's feature request and chains its other steps: scoring once its
   * features are back and the batch before is scored, the write once it is scored, the
   * acknowledgement once it is written and the batch before is acknowledged.
   */
  private start(pipe: Pipeline, parsed: ParsedBatch): void {
    pipe.featuresBack = false;
    const features = this.extractStep(parsed).then((ok) => {
      pipe.featuresBack = true;
      return ok;
    });
    pipe.extracted = features;
    const previousScore = pipe.scored;
    const scored = (async () => {
      await previousScore;
      if (!(await features)) return undefined;
      // The loop holds the next batch until these features are back: let it send that batch's
      // feature request (the client writes on setImmediate) before scoring takes the thread, so
      // the state works on it meanwhile. Only then: a yield costs latency.
      if (pipe.waitingToSend) {
        await yieldToIo();
        await yieldToIo();
      }
      return this.guarded(() => this.score(parsed));
    })();
    pipe.scored = scored;
    const previousCommit = this.committing;
    const run = (async () => {
      const prepared = await scored;
      const persisted = prepared && (await this.guarded(() => this.persist(prepared)));
      await previousCommit;
      if (prepared && persisted) await this.guarded(() => this.acknowledge(prepared, persisted));
    })();
    this.committing = run;
    pipe.inHand.push(run);
    void run.finally(() => pipe.inHand.splice(pipe.inHand.indexOf(run), 1));
  }

  /** The feature step of a batch, guarded; true once its rows are in place. */
  private extractStep(parsed: ParsedBatch): Promise<boolean> {
    return this.guarded(async () => {
      await this.extract(parsed);
      return true;
    }).then((done) => done === true);
  }

  /**
   * Runs one batch step. A stop while the store fails leaves the batch unacknowledged; any other
   * error (a stall past `maxStallMs`, a bug) ends the loop, which rethrows it.
   */
  private async guarded<T>(step: () => Promise<T>): Promise<T | undefined> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof BatchAbandoned) {
        this.log.warn({ reason: err.message }, 'stopping while the store fails: batch left unacknowledged');
        return undefined;
      }
      this.fatal ??= err;
      this.stopping = true;
      return undefined;
    }
  }

  /** Processes one delivered batch end to end: features and scores, then persist and acknowledge. */
  async processBatch(batch: readonly DeliveredRecord[]): Promise<void> {
    const parsed = this.parse(batch);
    await this.extract(parsed);
    await this.commit(await this.score(parsed));
  }

  /**
   * Parses and checks event times. Malformed records, records past `maxDeliveries` and records
   * dated too far ahead become dead letters.
   */
  private parse(batch: readonly DeliveredRecord[]): ParsedBatch {
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
      let parsed: Transaction | ParseError;
      try {
        parsed = parsePayload(record.payload);
      } catch (err) {
        // Parsers return ParseError; a throw (e.g. a stack overflow on a pathological payload)
        // must still cost only this record.
        dead.push(recordFailure(record, err));
        continue;
      }
      if (parsed instanceof ParseError) {
        dead.push(deadLetter(record, parsed.message, parsed.name));
        continue;
      }
      const late = this.eventTime.admit(parsed.timestampMs);
      if (late) {
        dead.push(deadLetter(record, late.message, late.name));
        continue;
      }
      transactions.push(parsed);
      records.push(record);
    }
    // Rows of its own: several batches are in hand at once.
    const features = new Float64Array(transactions.length * this.o.featureSet.featureNames.length);
    return { batch, transactions, records, dead, features, startedAtMs };
  }

  /**
   * Computes the batch's features into its rows. Records that make the feature state fail alone
   * become dead letters (and leave the batch); a failing state holds the batch and is retried.
   */
  private async extract(parsed: ParsedBatch): Promise<void> {
    const width = this.o.featureSet.featureNames.length;
    await this.retry.run('features', parsed.batch.length, async () => {
      // Window-state updates are idempotent per (key, time), so halves and retries are safe.
      const failures = await bisect(parsed.transactions, (part, offset) =>
        this.extractFeatures(part, parsed.features.subarray(offset * width), width),
      );
      if (failures.length === 0) return;
      const bad = new Set(failures.map((f) => f.index));
      for (const f of failures) parsed.dead.push(recordFailure(parsed.records[f.index]!, f.error));
      parsed.transactions = parsed.transactions.filter((_, i) => !bad.has(i));
      parsed.records = parsed.records.filter((_, i) => !bad.has(i));
      // Rows are rewritten compactly for the records left; this pass sees their state as is.
      await this.extractFeatures(parsed.transactions, parsed.features, width);
    });
  }

  /** Scores a batch whose features are in place and builds its documents. */
  private async score(parsed: ParsedBatch): Promise<PreparedBatch> {
    const { batch, records, dead, startedAtMs } = parsed;
    const results = await this.scoreRecords(parsed.transactions, records, parsed.features);
    return { batch, results, records, dead, startedAtMs };
  }

  /** Stores a batch's results and dead letters, then acknowledges it. */
  private async commit(prepared: PreparedBatch): Promise<void> {
    await this.acknowledge(prepared, await this.persist(prepared));
  }

  /**
   * Stores results and dead letters. Each step is held and retried while the store fails; a
   * record that makes the store fail on its own is found by bisection and dead-lettered.
   * Batches may be persisted concurrently: writes are idempotent per record and touch
   * commutative counters, so their order does not matter; acknowledgements keep theirs.
   */
  private async persist({ batch, results, records, dead }: PreparedBatch): Promise<Persisted> {
    const { store } = this.o;
    const persisted = { written: 0, duplicates: 0 };
    const letters = [...dead];
    await this.retry.run('persist', batch.length, async () => {
      persisted.written = 0;
      persisted.duplicates = 0;
      letters.length = dead.length;
      const failures = await bisect(results, async (part) => {
        const r = await store.persistBatch(part);
        persisted.written += r.written;
        persisted.duplicates += r.duplicates;
      });
      for (const f of failures) letters.push(recordFailure(records[f.index]!, f.error));
    });
    const failed = new Set(letters.slice(dead.length).map((d) => d.position));
    const stored = failed.size === 0 ? results : results.filter((_, i) => !failed.has(records[i]!.position));
    // Dead letters wait for the store like everything else: they are never dropped.
    if (letters.length > 0)
      await this.retry.run('dead letters', letters.length, () => this.storeDeadLetters(letters));
    return { ...persisted, letters, stored };
  }

  /**
   * Acknowledges the whole batch — only after the store confirmed it — and counts it. Runs
   * batch after batch, in stream order.
   */
  private async acknowledge(
    { batch, startedAtMs }: PreparedBatch,
    { written, duplicates, letters, stored }: Persisted,
  ): Promise<void> {
    await this.retry.run('acknowledge', batch.length, () => this.o.reader.ack(batch));
    const done = Date.now();
    this.stats.persisted += written;
    this.stats.duplicates += duplicates;
    this.stats.batches++;
    for (const r of stored) {
      if (this.log.isLevelEnabled('debug')) this.traceRecord(r);
      this.stats.decisions[r.decision]++;
      this.stats.latency.record(done - r.enqueuedAtMs);
    }
    const counts = this.stats.deadLetters.store;
    for (const d of letters) {
      counts[d.errorName] = (counts[d.errorName] ?? 0) + 1;
      this.stats.deadLettered++;
      this.log.warn({ position: d.position, reason: d.reason, error: d.errorName }, 'dead-lettered');
    }
    this.countTransportDeadLetters();
    this.log.info(
      {
        records: batch.length,
        persisted: written,
        duplicates,
        deadLettered: letters.length,
        ms: done - startedAtMs,
      },
      'batch',
    );
    this.o.onBatch?.(this.stats);
  }

  /**
   * Stores dead letters, bisecting like persist does. A letter the store refuses on its own is
   * stored again with its payload cut to {@link DEAD_LETTER_EXCERPT_CHARS} (the reason says so):
   * its record is then at least accounted for. If even that fails, the store is at fault.
   */
  private async storeDeadLetters(letters: DeadLetter[]): Promise<void> {
    const { store } = this.o;
    const failures = await bisect(letters, (part) => store.deadLetter(part));
    if (failures.length === 0) return;
    const cut = failures.map(({ index, error }): DeadLetter => {
      const letter = letters[index]!;
      return {
        ...letter,
        payload: letter.payload.slice(0, DEAD_LETTER_EXCERPT_CHARS),
        reason: `${letter.reason} (payload of ${letter.payload.length} chars cut: the store refused it: ${describeError(error)})`,
      };
    });
    try {
      await store.deadLetter(cut);
    } catch (error) {
      throw new StoreError(`the store refuses dead letters: ${describeError(error)}`, { cause: error });
    }
  }

  /** Copies the reader's transport dead-letter counts into the stats; true if they changed. */
  private countTransportDeadLetters(): boolean {
    const counts = this.o.reader.deadLetterCounts;
    if (!counts) return false;
    const mine = this.stats.deadLetters.transport;
    let changed = false;
    for (const [reason, n] of counts) {
      const before = mine[reason] ?? 0;
      if (n === before) continue;
      mine[reason] = n;
      this.stats.deadLettered += n - before;
      changed = true;
    }
    return changed;
  }

  /**
   * Scores the parsed records of a batch (features already in place) and builds their documents.
   * The forest learns each record key once: a key seen recently (a redelivery, a producer retry)
   * is scored but not learned again.
   */
  private async scoreRecords(
    transactions: readonly Transaction[],
    records: readonly DeliveredRecord[],
    features: Float64Array,
  ): Promise<ScoredTransaction[]> {
    const n = transactions.length;
    if (n === 0) return [];
    const { featureSet, scorer } = this.o;
    const learn = new Uint8Array(n);
    let relearned = 0;
    for (let i = 0; i < n; i++) {
      learn[i] = this.learned.add(recordKey(transactions[i]!, records[i]!.position, this.o.recordKey))
        ? 1
        : 0;
      relearned += 1 - learn[i]!;
    }
    // The mask is taken once, outside the retried step: a retry must not find its keys learned.
    const mask = relearned > 0 ? learn : undefined;
    // One call per batch; a remote model that fails under the `retry` fallback holds the batch
    // like a store failure (RemoteModelError counts as one), the in-process path never throws here.
    const scores = await this.retry.run('models', n, () =>
      scorer.scoreBatchAsync(features, n, transactions, mask),
    );
    this.o.drift?.observe(features, scores.fraudScore, n);
    const results = scoredTransactions(
      transactions,
      records,
      featureSet.featureNames,
      features,
      scores,
      Date.now(),
      this.o.recordKey,
    );
    this.queueSimulatedFeedback(transactions);
    return results;
  }

  /** Totals for logs and summaries. */
  summary(): Record<string, number | string | Record<string, number>> {
    const { latency } = this.stats;
    const deadLetters: Record<string, number> = {};
    for (const destination of ['store', 'transport'] as const) {
      for (const [reason, n] of Object.entries(this.stats.deadLetters[destination]))
        deadLetters[`${destination}:${reason}`] = n;
    }
    return {
      persisted: this.stats.persisted,
      duplicates: this.stats.duplicates,
      deadLettered: this.stats.deadLettered,
      deadLetters,
      storeRetries: this.stats.storeRetries,
      ...(this.stats.lastStoreError !== undefined && { lastStoreError: this.stats.lastStoreError }),
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
  private async extractFeatures(
    transactions: readonly Transaction[],
    out: Float64Array,
    width: number,
  ): Promise<void> {
    const { featureSet } = this.o;
    if (this.pendingFeedback.length === 0) {
      await featureSet.extract(transactions, out);
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
      await featureSet.extract(slice, out.subarray(start * width));
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

/**
 * Most batches in hand at once (read and not yet acknowledged): one being read and parsed, one
 * in the feature state or the scorer, one being written. More would only add latency.
 */
const PIPELINE_DEPTH = 3;

/**
 * One turn of the event loop's check phase. The Redis client writes queued commands on
 * `setImmediate`; two turns let a command queued just after this call go out first.
 */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Longest payload kept of a dead letter the store refused whole. */
const DEAD_LETTER_EXCERPT_CHARS = 1024;

function deadLetter(record: DeliveredRecord, reason: string, errorName: string): DeadLetter {
  return { position: record.position, payload: record.payload, reason, errorName, atMs: Date.now() };
}

/** The dead letter of a record that failed on its own; unclassified errors are named `RecordError`. */
function recordFailure(record: DeliveredRecord, error: unknown): DeadLetter {
  const name = error instanceof FraudstreamError ? error.name : 'RecordError';
  return deadLetter(record, describeError(error), name);
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : x;
}
