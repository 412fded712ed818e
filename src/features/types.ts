import type { Feedback, Transaction } from '../events/index.js';

/** The feature sets fraudstream knows, by name. */
export const FEATURE_SET_NAMES = ['creditcard', 'transactions', 'transactions-plus'] as const;
export type FeatureSetName = (typeof FEATURE_SET_NAMES)[number];

/**
 * Turns transactions into model inputs. The same object serves live scoring and training
 * replay ({@link buildTrainingSet}), so the two cannot compute features differently.
 *
 * Calls must be awaited one after the other: a feature set is driven by one consumer loop,
 * and state updates of one batch complete before the next batch is read.
 */
export interface FeatureSet {
  readonly name: FeatureSetName;
  /** Column names of the rows written by {@link extract}, in order. */
  readonly featureNames: readonly string[];
  /**
   * Computes the features of a batch in order, updating state per transaction atomically
   * (the current transaction is in its own card windows). Writes row-major into `out`
   * (`batch.length × featureNames.length`, extra room is left untouched); `NaN` = missing.
   */
  extract(batch: readonly Transaction[], out: Float64Array): Promise<void>;
  /**
   * What {@link extract} would write, changing no state (a dry run): each transaction is read as
   * if it were the next one to arrive, so transactions of one call do not see each other.
   */
  peek(batch: readonly Transaction[], out: Float64Array): Promise<void>;
  /** Applies delayed labels (feedback) to the state. Feature sets without label state ignore it. */
  feedback(items: readonly Feedback[]): Promise<void>;
}

/** One transaction as seen by the window state: only what the windows need. */
export interface WindowEvent {
  /**
   * Identity of the transaction. Together with {@link timestampMs} it makes an event unique:
   * an event whose key and time are already held by its card (terminal) is a re-delivery and
   * is not counted again. Feedback refers to it by `Feedback.transactionId`.
   */
  key: string;
  /** Card (customer); `''` = unknown: card aggregates are `NaN` and nothing is stored. */
  cardId: string;
  /** Terminal; `''` = unknown: terminal aggregates are `NaN` and nothing is stored. */
  terminalId: string;
  /** Event time, epoch ms; finite (the parsers guarantee it, the hot path does not re-check). */
  timestampMs: number;
  /** Amount, summed by the card windows; finite. */
  amount: number;
}

/** Resolved, validated window configuration shared by every {@link WindowState} implementation. */
export interface WindowStateConfig {
  /** Card window lengths in days, in output order. */
  readonly cardWindowsDays: readonly number[];
  /** Terminal window lengths in days, in output order (each shifted back by {@link delayDays}). */
  readonly terminalWindowsDays: readonly number[];
  /** Label delay in days: terminal windows end this long before the event. */
  readonly delayDays: number;
}

/**
 * Online window state of the `transactions` feature set. Implemented in memory
 * ({@link MemoryWindowState}) and in Redis (one Lua script call per batch); both must pass
 * the shared conformance suite (`test/features/window-state-conformance.ts`).
 *
 * ## Semantics (normative)
 *
 * Times are epoch ms; a day is 86,400,000 ms. Let `D = delayDays × day`,
 * `Hc = max(cardWindowsDays) × day`, `Ht = (max(terminalWindowsDays) + delayDays) × day`.
 * The state holds a watermark `W`, the largest event time it has seen (initially -∞), and,
 * per card and per terminal, a set of stored entries `(key, timestampMs, amount)`; terminal
 * entries also carry an optional `(label, labelAtMs)`.
 *
 * `updateAndRead(events, out)` processes the events strictly in array order; for event
 * `e` at index `i` with time `t`:
 * 1. `W = max(W, t)`. Entries with `timestampMs <= W - Hc` (cards) or `<= W - Ht`
 *    (terminals) are expired: they may be deleted at any time and are never counted.
 * 2. If `e.cardId !== ''`: unless `t <= W - Hc` (too old to keep) or the card already holds an
 *    entry with the same key and the same time (a re-delivery), store `e` in the card.
 *    Same for the terminal with `Ht`.
 * 3. Write `A = 2 × (cards windows) + 2 × (terminal windows)` numbers at `out[i × A ...]`:
 *    - for each card window `N` (in order): the count and the amount sum of the card's
 *      unexpired entries with time in `(t - N, t]`, plus `e` itself when step 2 did not store
 *      it and did not find it stored (a too-old event is counted in its own window only);
 *    - for each terminal window `N`: the count of the terminal's unexpired entries with time
 *      in `(t - D - N, t - D]`, and how many of them have `label = 1` and `labelAtMs <= t`
 *      (only labels known at time `t` count);
 *    - `NaN` for both numbers of every window of an empty `cardId` / `terminalId`.
 *
 * Every event sees the effects of the events before it in the same call (a card's second
 * transaction in a batch counts the first). An event later than its neighbours (out of order)
 * is inserted at its time and counted by every later read whose window covers it; its own read
 * sees what is stored at that moment. Per-card order is kept by the transports, so out-of-order
 * events are rare and only near the watermark.
 *
 * `applyFeedback(items)` processes items in order: an item labels the unexpired entry of
 * terminal `item.terminalId` with key `item.transactionId` and time
 * `item.transactionTimestampMs`. If there is no such entry (unknown, expired, not yet seen) the
 * item is ignored. If the entry has no label, it gets `(item.label, item.atMs)`; if it has the
 * same label, nothing changes (re-delivered feedback is idempotent); if it has the other label,
 * the new `(label, atMs)` replaces it (a correction).
 *
 * ## Notes for a Redis implementation
 *
 * One sorted set per card and per terminal scored by event time fits these rules: expiry is
 * `ZREMRANGEBYSCORE key -inf W-H`, a window is `ZRANGEBYSCORE key (lo hi`, a re-delivery is a
 * member with the same key at the same score. Amounts (cards) and labels (terminals) can live in
 * the member or in a hash next to it. `W` is one number per state (one key read and written
 * by the batch script). Under Redis Cluster, where one script cannot span hash slots, a
 * watermark per slot group changes results only for late events whose windows reach back past
 * `W - H`; say so where such a deployment is documented.
 */
export interface WindowState {
  readonly config: WindowStateConfig;
  /**
   * For each event in order: add it to its card and terminal windows, then read that card's
   * count/sum over each card window and that terminal's count/frauds over each delayed window.
   * Writes `windowAggregateCount(config)` numbers per event into `out` (layout in the type's
   * documentation). One round trip per call for remote implementations.
   */
  updateAndRead(events: readonly WindowEvent[], out: Float64Array): Promise<void>;
  /** Applies delayed labels to terminal entries (see the type's documentation). */
  applyFeedback(items: readonly Feedback[]): Promise<void>;
  /**
   * Reads what {@link updateAndRead} would write for each event if it were the only event of
   * the call, storing nothing and leaving the watermark alone (dry runs of the scoring API).
   */
  peek(events: readonly WindowEvent[], out: Float64Array): Promise<void>;
  /** Releases connections; the memory state has nothing to release. */
  close?(): Promise<void>;
}
