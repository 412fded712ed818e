import { ConfigError } from '../errors/index.js';
import type { Feedback, Transaction } from '../events/index.js';
import { CREDITCARD_COLUMNS } from '../events/index.js';
import { CARD_HISTORY_STRIDE, type CardHistoryState, MemoryCardHistoryState } from './card-history.js';
import type { FeatureSet, FeatureSetName, WindowEvent, WindowState } from './types.js';
import { FEATURE_SET_NAMES } from './types.js';
import { DAY_MS, MemoryWindowState, windowAggregateCount } from './window-state.js';

/** Options of {@link createFeatureSet}. */
export interface FeatureSetOptions {
  /**
   * Window state of the `transactions` set (memory or Redis). Ignored by `creditcard`, which is
   * stateless.
   * @default a new MemoryWindowState with the default windows and `delayDays`
   */
  state?: WindowState;
  /**
   * Label delay in days of the `transactions` set. When a `state` is given it must agree with
   * `state.config.delayDays` (a model trained with one delay must be served with the same).
   * @default 7
   */
  delayDays?: number;
  /**
   * Card history state of the `transactions-plus` set (memory or Redis). Ignored by the others.
   * @default a new MemoryCardHistoryState (30 days)
   */
  cardHistory?: CardHistoryState;
}

/** Defaults of {@link FeatureSetOptions}. */
export const DEFAULT_FEATURE_SET_OPTIONS = Object.freeze({ delayDays: 7 });

/** Validates the name and options of a feature set; throws {@link ConfigError}. */
export function resolveFeatureSetOptions(
  name: FeatureSetName,
  options: FeatureSetOptions = {},
): { name: FeatureSetName; state?: WindowState; cardHistory?: CardHistoryState; delayDays: number } {
  if (!(FEATURE_SET_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(
      `unknown feature set "${String(name)}"; expected one of ${FEATURE_SET_NAMES.join(', ')}`,
    );
  }
  const delayDays =
    options.delayDays ?? options.state?.config.delayDays ?? DEFAULT_FEATURE_SET_OPTIONS.delayDays;
  if (typeof delayDays !== 'number' || !Number.isFinite(delayDays) || delayDays < 0) {
    throw new ConfigError(`delayDays must be a finite number >= 0, got ${String(delayDays)}`);
  }
  if (options.state !== undefined && options.state.config.delayDays !== delayDays) {
    throw new ConfigError(
      `delayDays ${delayDays} disagrees with the window state's delayDays ${options.state.config.delayDays}`,
    );
  }
  return {
    name,
    delayDays,
    ...(options.state !== undefined && { state: options.state }),
    ...(options.cardHistory !== undefined && { cardHistory: options.cardHistory }),
  };
}

/**
 * Creates a feature set by name.
 *
 * - `creditcard`: the 30 Kaggle/ULB columns `Time, V1..V28, Amount` from `tx.features`, as
 *   given (`NaN` when missing; `Amount` falls back to `tx.amount`). Stateless.
 * - `transactions`: the Fraud Detection Handbook's 15 baseline inputs (see
 *   {@link TRANSACTIONS_FEATURE_NAMES}) over a {@link WindowState}.
 * - `transactions-plus`: the same 15, then {@link TRANSACTIONS_PLUS_EXTRA_NAMES} from a
 *   {@link CardHistoryState} (the card's own recent amounts, timing and terminals).
 */
export function createFeatureSet(name: FeatureSetName, options: FeatureSetOptions = {}): FeatureSet {
  const resolved = resolveFeatureSetOptions(name, options);
  if (resolved.name === 'creditcard') return new CreditcardFeatureSet();
  const state = resolved.state ?? new MemoryWindowState({ delayDays: resolved.delayDays });
  if (resolved.name === 'transactions') return new TransactionsFeatureSet(state);
  return new TransactionsFeatureSet(state, resolved.cardHistory ?? new MemoryCardHistoryState());
}

/** Column names of the `creditcard` feature set. */
export const CREDITCARD_FEATURE_NAMES: readonly string[] = CREDITCARD_COLUMNS;

class CreditcardFeatureSet implements FeatureSet {
  readonly name = 'creditcard';
  readonly featureNames = CREDITCARD_FEATURE_NAMES;

  async extract(batch: readonly Transaction[], out: Float64Array): Promise<void> {
    const names = this.featureNames;
    const width = names.length;
    checkOut(out, batch.length, width);
    const last = width - 1;
    for (let i = 0; i < batch.length; i++) {
      const tx = batch[i]!;
      const features = tx.features;
      const base = i * width;
      for (let j = 0; j < width; j++) {
        const v = features?.[names[j]!];
        out[base + j] = typeof v === 'number' ? v : Number.NaN;
      }
      if (typeof features?.Amount !== 'number') out[base + last] = tx.amount;
    }
  }

  /** Stateless: a dry run computes exactly what {@link extract} does. */
  peek(batch: readonly Transaction[], out: Float64Array): Promise<void> {
    return this.extract(batch, out);
  }

  async feedback(_items: readonly Feedback[]): Promise<void> {}
}

/**
 * Names of the `transactions` feature set for the given windows, in the Handbook's order:
 * amount, weekend and night flags, then per card window `NB_TX` and `AVG_AMOUNT`, then per
 * terminal window `NB_TX` and `RISK`. With the default windows these are exactly the Handbook's
 * `input_features`.
 */
export function transactionsFeatureNames(
  cardWindowsDays: readonly number[],
  terminalWindowsDays: readonly number[],
): string[] {
  const names = ['TX_AMOUNT', 'TX_DURING_WEEKEND', 'TX_DURING_NIGHT'];
  for (const n of cardWindowsDays) {
    names.push(`CUSTOMER_ID_NB_TX_${n}DAY_WINDOW`, `CUSTOMER_ID_AVG_AMOUNT_${n}DAY_WINDOW`);
  }
  for (const n of terminalWindowsDays) {
    names.push(`TERMINAL_ID_NB_TX_${n}DAY_WINDOW`, `TERMINAL_ID_RISK_${n}DAY_WINDOW`);
  }
  return names;
}

/** The Fraud Detection Handbook's 15 baseline inputs (default windows 1, 7, 30 days). */
export const TRANSACTIONS_FEATURE_NAMES: readonly string[] = Object.freeze(
  transactionsFeatureNames([1, 7, 30], [1, 7, 30]),
);

/**
 * Columns `transactions-plus` adds after the Handbook's 15, all about the card's own history over
 * the card history horizon (30 days by default), excluding the transaction itself:
 * hours since its previous transaction; the amount over the mean, the z-score of the amount
 * (`(amount − mean) / √(variance + 1)`, the +1 in currency units² keeping a one-amount history
 * finite) and the amount over the largest amount; 1 when the card has not used this terminal in
 * the horizon; the number of distinct terminals it used, this one included. `NaN` where a card
 * has no history.
 */
export const TRANSACTIONS_PLUS_EXTRA_NAMES: readonly string[] = Object.freeze([
  'CUSTOMER_ID_HOURS_SINCE_PREV_TX',
  'TX_AMOUNT_TO_CUSTOMER_MEAN',
  'TX_AMOUNT_CUSTOMER_ZSCORE',
  'TX_AMOUNT_TO_CUSTOMER_MAX',
  'CUSTOMER_ID_NEW_TERMINAL',
  'CUSTOMER_ID_NB_TERMINALS',
]);

/** All columns of `transactions-plus` with the default windows. */
export const TRANSACTIONS_PLUS_FEATURE_NAMES: readonly string[] = Object.freeze([
  ...TRANSACTIONS_FEATURE_NAMES,
  ...TRANSACTIONS_PLUS_EXTRA_NAMES,
]);

/**
 * 1 when the UTC day of week is Saturday or Sunday (Handbook: `weekday() >= 5`). Event times
 * are interpreted in UTC because the pipeline has no notion of the cardholder's time zone.
 */
export function isWeekendUtc(timestampMs: number): number {
  const days = Math.floor(timestampMs / DAY_MS);
  // 1970-01-01 was a Thursday: Monday-based weekday = (days + 3) mod 7.
  const weekday = (((days + 3) % 7) + 7) % 7;
  return weekday >= 5 ? 1 : 0;
}

/** 1 when the UTC hour is 0..6 inclusive (Handbook: `hour <= 6`). */
export function isNightUtc(timestampMs: number): number {
  const msOfDay = ((timestampMs % DAY_MS) + DAY_MS) % DAY_MS;
  return msOfDay < 7 * 3_600_000 ? 1 : 0;
}

class TransactionsFeatureSet implements FeatureSet {
  readonly name: FeatureSetName;
  readonly featureNames: readonly string[];
  private readonly state: WindowState;
  private readonly history: CardHistoryState | undefined;
  private historyOut = new Float64Array(0);
  private readonly nCard: number;
  private readonly nTerminal: number;
  private readonly stride: number;
  /** Reused across batches so that a batch allocates nothing per transaction. */
  private pool: WindowEvent[] = [];
  private events: WindowEvent[] = [];
  private aggregates = new Float64Array(0);
  private busy = false;

  constructor(state: WindowState, history?: CardHistoryState) {
    this.state = state;
    this.history = history;
    this.name = history ? 'transactions-plus' : 'transactions';
    const { cardWindowsDays, terminalWindowsDays } = state.config;
    const names = transactionsFeatureNames(cardWindowsDays, terminalWindowsDays);
    if (history) names.push(...TRANSACTIONS_PLUS_EXTRA_NAMES);
    this.featureNames = Object.freeze(names);
    this.nCard = cardWindowsDays.length;
    this.nTerminal = terminalWindowsDays.length;
    this.stride = windowAggregateCount(state.config);
  }

  async extract(batch: readonly Transaction[], out: Float64Array): Promise<void> {
    await this.compute(batch, out, false);
  }

  async peek(batch: readonly Transaction[], out: Float64Array): Promise<void> {
    await this.compute(batch, out, true);
  }

  private async compute(batch: readonly Transaction[], out: Float64Array, peek: boolean): Promise<void> {
    const width = this.featureNames.length;
    checkOut(out, batch.length, width);
    const n = batch.length;
    if (n === 0) return;
    // Overlapping calls would share the pooled buffers; give such a call its own instead.
    const shared = !this.busy;
    let events: WindowEvent[];
    let aggregates: Float64Array;
    let historyOut: Float64Array | undefined;
    if (shared) {
      this.busy = true;
      events = this.fillPool(batch);
      if (this.aggregates.length < n * this.stride) {
        this.aggregates = new Float64Array(
          Math.max(n, (2 * this.aggregates.length) / this.stride) * this.stride,
        );
      }
      aggregates = this.aggregates;
      if (this.history) {
        if (this.historyOut.length < n * CARD_HISTORY_STRIDE) {
          this.historyOut = new Float64Array((aggregates.length / this.stride) * CARD_HISTORY_STRIDE);
        }
        historyOut = this.historyOut;
      }
    } else {
      events = batch.map(toWindowEvent);
      aggregates = new Float64Array(n * this.stride);
      if (this.history) historyOut = new Float64Array(n * CARD_HISTORY_STRIDE);
    }
    try {
      if (peek) {
        await Promise.all([
          this.state.peek(events, aggregates),
          this.history && historyOut ? this.history.peek(events, historyOut) : undefined,
        ]);
      } else {
        // Independent states (one per card and terminal, one per card): both run in one round trip's time.
        await Promise.all([
          this.state.updateAndRead(events, aggregates),
          this.history && historyOut ? this.history.updateAndRead(events, historyOut) : undefined,
        ]);
      }
    } finally {
      if (shared) this.busy = false;
    }
    const stride = this.stride;
    const nCard = this.nCard;
    const nTerminal = this.nTerminal;
    for (let i = 0; i < n; i++) {
      const tx = batch[i]!;
      const t = tx.timestampMs;
      const a = i * stride;
      let o = i * width;
      out[o++] = tx.amount;
      out[o++] = isWeekendUtc(t);
      out[o++] = isNightUtc(t);
      for (let w = 0; w < nCard; w++) {
        const count = aggregates[a + 2 * w]!;
        const sum = aggregates[a + 2 * w + 1]!;
        out[o++] = count;
        // count >= 1 for a known card (the transaction itself is in its windows); NaN stays NaN.
        out[o++] = sum / count;
      }
      const ta = a + 2 * nCard;
      for (let w = 0; w < nTerminal; w++) {
        const count = aggregates[ta + 2 * w]!;
        const frauds = aggregates[ta + 2 * w + 1]!;
        out[o++] = count;
        out[o++] = count > 0 ? frauds / count : count === 0 ? 0 : Number.NaN;
      }
      if (historyOut) writeHistoryFeatures(tx.amount, historyOut, i * CARD_HISTORY_STRIDE, out, o);
    }
  }

  async feedback(items: readonly Feedback[]): Promise<void> {
    if (items.length > 0) await this.state.applyFeedback(items);
  }

  private fillPool(batch: readonly Transaction[]): WindowEvent[] {
    const pool = this.pool;
    while (pool.length < batch.length)
      pool.push({ key: '', cardId: '', terminalId: '', timestampMs: 0, amount: 0 });
    const events = this.events;
    events.length = batch.length;
    for (let i = 0; i < batch.length; i++) {
      const tx = batch[i]!;
      const e = pool[i]!;
      e.key = tx.id;
      e.cardId = tx.cardId;
      e.terminalId = tx.terminalId;
      e.timestampMs = tx.timestampMs;
      e.amount = tx.amount;
      events[i] = e;
    }
    return events;
  }
}

/** The {@link TRANSACTIONS_PLUS_EXTRA_NAMES} columns of one transaction from its card history. */
function writeHistoryFeatures(
  amount: number,
  h: Float64Array,
  a: number,
  out: Float64Array,
  o: number,
): void {
  const sincePreviousMs = h[a]!;
  const count = h[a + 1]!;
  const sum = h[a + 2]!;
  const sumSquares = h[a + 3]!;
  const max = h[a + 4]!;
  const sameTerminal = h[a + 5]!;
  const distinctTerminals = h[a + 6]!;
  out[o] = sincePreviousMs / 3_600_000;
  if (count > 0) {
    const mean = sum / count;
    const variance = Math.max(0, sumSquares / count - mean * mean);
    out[o + 1] = mean > 0 ? amount / mean : Number.NaN;
    out[o + 2] = (amount - mean) / Math.sqrt(variance + 1);
    out[o + 3] = max > 0 ? amount / max : Number.NaN;
  } else {
    // NaN count (unknown card) or no history: nothing to compare the amount with.
    out[o + 1] = Number.NaN;
    out[o + 2] = Number.NaN;
    out[o + 3] = Number.NaN;
  }
  out[o + 4] = Number.isNaN(sameTerminal) ? Number.NaN : sameTerminal === 0 ? 1 : 0;
  out[o + 5] = distinctTerminals;
}

function toWindowEvent(tx: Transaction): WindowEvent {
  return {
    key: tx.id,
    cardId: tx.cardId,
    terminalId: tx.terminalId,
    timestampMs: tx.timestampMs,
    amount: tx.amount,
  };
}

function checkOut(out: Float64Array, rows: number, width: number): void {
  if (out.length < rows * width) {
    throw new ConfigError(`out holds ${out.length} numbers, need ${rows} rows × ${width} features`);
  }
}
