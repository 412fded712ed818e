import { ConfigError } from '../errors/index.js';
import type { Feedback, Transaction } from '../events/index.js';
import type { FeatureSet } from './types.js';
import { DAY_MS } from './window-state.js';

/** Progress of {@link buildTrainingSet}, reported after each batch. */
export interface ReplayProgress {
  /** Transactions fed through the feature set so far (warm-up included). */
  processed: number;
  /** Rows kept so far. */
  rows: number;
  /** Event time of the last transaction processed. */
  timestampMs: number;
}

/** Options of {@link buildTrainingSet}. */
export interface TrainingSetOptions {
  /** Labelled history in event-time order. Everything before `fromMs` warms the windows. */
  transactions: AsyncIterable<Transaction> | Iterable<Transaction>;
  /** The feature set used for serving; a fresh one (empty state) for a faithful replay. */
  featureSet: FeatureSet;
  /** First event time kept as a row (inclusive), epoch ms. */
  fromMs: number;
  /** Last event time kept as a row (inclusive), epoch ms; reading stops after it. */
  toMs: number;
  /** Days after a transaction at which its label becomes known (feedback time). */
  delayDays: number;
  /**
   * Transactions per `extract` call.
   * @default 4096
   */
  batchSize?: number;
  /**
   * Called after each batch.
   * @default none
   */
  onProgress?: (progress: ReplayProgress) => void;
}

/** Defaults of {@link TrainingSetOptions}. */
export const DEFAULT_TRAINING_SET_OPTIONS = Object.freeze({ batchSize: 4096 });

/** A point-in-time training matrix. */
export interface TrainingSet {
  /** Row-major `nRows × nCols` feature matrix (`NaN` = missing). */
  x: Float32Array;
  nRows: number;
  nCols: number;
  featureNames: readonly string[];
  /** 0/1 label per row. */
  labels: Uint8Array;
  timestampsMs: Float64Array;
  cardIds: string[];
  transactionIds: string[];
  /** `extra.fraudScenario` per row (0 when absent), present when any kept row carried one (simulator). */
  scenarios?: Uint8Array;
}

type ResolvedTrainingSetOptions = Required<Omit<TrainingSetOptions, 'onProgress'>> &
  Pick<TrainingSetOptions, 'onProgress'>;

/** Validates {@link TrainingSetOptions}; throws {@link ConfigError}. */
export function resolveTrainingSetOptions(options: TrainingSetOptions): ResolvedTrainingSetOptions {
  const { fromMs, toMs, delayDays } = options;
  const batchSize = options.batchSize ?? DEFAULT_TRAINING_SET_OPTIONS.batchSize;
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs > toMs) {
    throw new ConfigError(`fromMs/toMs must be finite with fromMs <= toMs, got ${fromMs}..${toMs}`);
  }
  if (!Number.isFinite(delayDays) || delayDays < 0) {
    throw new ConfigError(`delayDays must be a finite number >= 0, got ${delayDays}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  if (options.transactions == null || options.featureSet == null) {
    throw new ConfigError('transactions and featureSet are required');
  }
  return { ...options, batchSize };
}

/**
 * The feedback a labelled transaction produces when its label becomes known `delayDays` after
 * it (the Handbook's delay). Throws {@link ConfigError} for an unlabelled transaction.
 */
export function feedbackFor(tx: Transaction, delayDays: number): Feedback {
  if (tx.label === undefined) throw new ConfigError(`transaction ${tx.id} has no label`);
  return {
    transactionId: tx.id,
    cardId: tx.cardId,
    terminalId: tx.terminalId,
    transactionTimestampMs: tx.timestampMs,
    label: tx.label,
    atMs: tx.timestampMs + delayDays * DAY_MS,
  };
}

/**
 * Builds a training set by replaying history through the serving feature code.
 *
 * Every transaction up to `toMs` goes through `featureSet.extract` in batches, in order;
 * a labelled transaction's feedback is queued for `timestamp + delay` and applied before the
 * first batch containing a later-or-equal transaction, so each row uses only labels known at
 * its own time (the window state ignores labels whose `atMs` is after the event it reads).
 * A batch is cut early when its own first feedback would become due inside it, so the result
 * does not depend on `batchSize`. Rows with time in `[fromMs, toMs]` and a label are kept;
 * unlabelled transactions only warm the windows.
 *
 * Throws {@link ConfigError} when the history goes back in time, because the delayed-label
 * queue and the windows both rely on event-time order.
 */
export async function buildTrainingSet(options: TrainingSetOptions): Promise<TrainingSet> {
  const { transactions, featureSet, fromMs, toMs, delayDays, batchSize, onProgress } =
    resolveTrainingSetOptions(options);
  const nCols = featureSet.featureNames.length;
  const delayMs = delayDays * DAY_MS;
  const out = new RowBuffer(nCols);
  const queue = new FeedbackQueue();
  const batch: Transaction[] = [];
  const features = new Float64Array(batchSize * nCols);
  let processed = 0;
  let lastMs = Number.NEGATIVE_INFINITY;

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const due = queue.takeUntil(batch[batch.length - 1]!.timestampMs);
    if (due.length > 0) await featureSet.feedback(due);
    await featureSet.extract(batch, features);
    for (let i = 0; i < batch.length; i++) {
      const tx = batch[i]!;
      if (tx.label !== undefined) queue.push(feedbackFor(tx, delayDays));
      if (tx.timestampMs >= fromMs && tx.label !== undefined) out.push(tx, features, i * nCols);
    }
    processed += batch.length;
    onProgress?.({ processed, rows: out.nRows, timestampMs: batch[batch.length - 1]!.timestampMs });
    batch.length = 0;
  };

  for await (const tx of transactions) {
    const t = tx.timestampMs;
    if (t > toMs) break;
    if (t < lastMs) {
      throw new ConfigError(
        `history must be in event-time order: transaction ${tx.id} at ${t} follows one at ${lastMs}`,
      );
    }
    lastMs = t;
    if (batch.length === batchSize || (batch.length > 0 && t >= batch[0]!.timestampMs + delayMs)) {
      await flush();
    }
    batch.push(tx);
  }
  await flush();
  return out.finish(featureSet.featureNames);
}

/** Feedback in `atMs` order; with a constant delay and ordered history, pushes arrive in order. */
class FeedbackQueue {
  private items: Feedback[] = [];
  private head = 0;

  push(item: Feedback): void {
    this.items.push(item);
  }

  /** Removes and returns the items with `atMs <= timeMs`. */
  takeUntil(timeMs: number): Feedback[] {
    const items = this.items;
    let end = this.head;
    while (end < items.length && items[end]!.atMs <= timeMs) end++;
    const taken = items.slice(this.head, end);
    this.head = end;
    if (this.head > 4096 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return taken;
  }
}

/** Output columns that grow geometrically, so the history itself is never held. */
class RowBuffer {
  nRows = 0;
  private capacity = 1024;
  private x: Float32Array;
  private labels = new Uint8Array(this.capacity);
  private timestamps = new Float64Array(this.capacity);
  private scenarios = new Uint8Array(this.capacity);
  private hasScenarios = false;
  private readonly cardIds: string[] = [];
  private readonly transactionIds: string[] = [];

  constructor(private readonly nCols: number) {
    this.x = new Float32Array(this.capacity * nCols);
  }

  push(tx: Transaction, features: Float64Array, offset: number): void {
    if (this.nRows === this.capacity) this.grow();
    const r = this.nRows;
    const nCols = this.nCols;
    const x = this.x;
    const base = r * nCols;
    for (let j = 0; j < nCols; j++) x[base + j] = features[offset + j]!;
    this.labels[r] = tx.label ?? 0;
    this.timestamps[r] = tx.timestampMs;
    const scenario = tx.extra?.fraudScenario;
    if (typeof scenario === 'number') {
      this.scenarios[r] = scenario;
      this.hasScenarios = true;
    }
    this.cardIds.push(tx.cardId);
    this.transactionIds.push(tx.id);
    this.nRows = r + 1;
  }

  finish(featureNames: readonly string[]): TrainingSet {
    const n = this.nRows;
    const set: TrainingSet = {
      x: this.x.slice(0, n * this.nCols),
      nRows: n,
      nCols: this.nCols,
      featureNames: [...featureNames],
      labels: this.labels.slice(0, n),
      timestampsMs: this.timestamps.slice(0, n),
      cardIds: this.cardIds,
      transactionIds: this.transactionIds,
    };
    if (this.hasScenarios) set.scenarios = this.scenarios.slice(0, n);
    return set;
  }

  private grow(): void {
    this.capacity *= 2;
    const x = new Float32Array(this.capacity * this.nCols);
    x.set(this.x);
    this.x = x;
    this.labels = copyInto(this.labels, new Uint8Array(this.capacity));
    this.timestamps = copyInto(this.timestamps, new Float64Array(this.capacity));
    this.scenarios = copyInto(this.scenarios, new Uint8Array(this.capacity));
  }
}

function copyInto<A extends Uint8Array | Float64Array>(src: A, dst: A): A {
  dst.set(src);
  return dst;
}
