import { ConfigError } from '../errors/index.js';
import type { WindowEvent } from './types.js';
import { DAY_MS } from './window-state.js';

/** Options of a card history state (memory or Redis). */
export interface CardHistoryOptions {
  /**
   * How far back a card's own history reaches, in days (positive, finite).
   * @default 30
   */
  horizonDays?: number;
}

/** Resolved configuration of a {@link CardHistoryState}. */
export interface CardHistoryConfig {
  readonly horizonDays: number;
}

/** Defaults of {@link CardHistoryOptions}: the Handbook's longest card window. */
export const DEFAULT_CARD_HISTORY_OPTIONS: CardHistoryConfig = Object.freeze({ horizonDays: 30 });

/** Merges options with {@link DEFAULT_CARD_HISTORY_OPTIONS} and validates them; throws {@link ConfigError}. */
export function resolveCardHistoryOptions(options: CardHistoryOptions = {}): CardHistoryConfig {
  const horizonDays = options.horizonDays ?? DEFAULT_CARD_HISTORY_OPTIONS.horizonDays;
  if (typeof horizonDays !== 'number' || !Number.isFinite(horizonDays) || horizonDays <= 0) {
    throw new ConfigError(`horizonDays must be a positive finite number, got ${String(horizonDays)}`);
  }
  return Object.freeze({ horizonDays });
}

/** Numbers written per event by {@link CardHistoryState.updateAndRead}. */
export const CARD_HISTORY_STRIDE = 7;

/** Output slots of one event, in order (see {@link CardHistoryState}). */
export const CARD_HISTORY_FIELDS = Object.freeze({
  sincePreviousMs: 0,
  count: 1,
  amountSum: 2,
  amountSumSquares: 3,
  amountMax: 4,
  sameTerminal: 5,
  distinctTerminals: 6,
} as const);

/**
 * A card's own recent history, for the `transactions-plus` feature set: when it last paid, how
 * much it usually pays, where. Separate from {@link WindowState} (which the `transactions` set
 * uses unchanged) so either can evolve, and so its Redis implementation is its own script.
 * Implemented in memory ({@link MemoryCardHistoryState}) and in Redis; both pass the shared
 * conformance suite (`test/features/card-history-conformance.ts`).
 *
 * ## Semantics (normative)
 *
 * `H = horizonDays × day`. Per card the state holds stored entries
 * `(key, timestampMs, amount, terminalId)` and a card watermark `Wc`, the largest event time
 * the card has seen (initially -∞). `updateAndRead(events, out)` processes events in order; for
 * event `e` with time `t` and a non-empty `cardId`:
 * 1. `Wc = max(Wc, t)`; entries with time `<= Wc - H` are expired (never counted, deletable).
 * 2. Unless `t <= Wc - H` or the card holds an entry with the same key and time (a
 *    re-delivery), `e` is stored.
 * 3. The card's *other* entries are the unexpired ones with time in `(t - H, t]`, except the
 *    one with `e`'s key and time. Seven numbers are written at `out[i × 7 ...]`:
 *    `t − (latest other entry's time)` (`NaN` without one); the number of other entries; the
 *    sum, the sum of squares and the maximum (`NaN` without one) of their amounts; how many
 *    of them have `e.terminalId` (`NaN` when `e.terminalId` is empty); the number of distinct
 *    non-empty terminals among them and `e` itself.
 *
 * An empty `cardId` writes seven `NaN`s and stores nothing. A card whose `Wc` is `H` or more
 * behind the newest event the state has seen may be forgotten entirely (memory bound); this
 * changes only events that arrive that late. Every event sees the effects of the
 * events before it in the same call. A state keeps nothing per terminal and takes no labels,
 * so it has no feedback; its watermark is per card, so cards are independent (a Redis Cluster
 * runs one card per call with no shared key).
 */
export interface CardHistoryState {
  readonly config: CardHistoryConfig;
  updateAndRead(events: readonly WindowEvent[], out: Float64Array): Promise<void>;
  /**
   * What {@link updateAndRead} would write for each event if it were the only event of the call,
   * storing nothing and leaving every watermark alone (dry runs).
   */
  peek(events: readonly WindowEvent[], out: Float64Array): Promise<void>;
  close?(): Promise<void>;
}

/** A card's entries in time order (parallel arrays, appended in place; out-of-order inserts shift). */
class CardEntries {
  watermarkMs = Number.NEGATIVE_INFINITY;
  times: number[] = [];
  amounts: number[] = [];
  keys: string[] = [];
  terminals: string[] = [];

  expire(horizonMs: number): void {
    let k = 0;
    const times = this.times;
    while (k < times.length && times[k]! <= horizonMs) k++;
    if (k === 0) return;
    this.times.splice(0, k);
    this.amounts.splice(0, k);
    this.keys.splice(0, k);
    this.terminals.splice(0, k);
  }

  has(key: string, t: number): boolean {
    const times = this.times;
    for (let i = times.length - 1; i >= 0 && times[i]! >= t; i--) {
      if (times[i] === t && this.keys[i] === key) return true;
    }
    return false;
  }

  insert(e: WindowEvent): void {
    const times = this.times;
    let pos = times.length;
    while (pos > 0 && times[pos - 1]! > e.timestampMs) pos--;
    if (pos === times.length) {
      times.push(e.timestampMs);
      this.amounts.push(e.amount);
      this.keys.push(e.key);
      this.terminals.push(e.terminalId);
    } else {
      times.splice(pos, 0, e.timestampMs);
      this.amounts.splice(pos, 0, e.amount);
      this.keys.splice(pos, 0, e.key);
      this.terminals.splice(pos, 0, e.terminalId);
    }
  }
}

/** Stand-in for a card with no entries (never written). */
const EMPTY_CARD = new CardEntries();

/**
 * Reads event `e`'s seven numbers from `card` into `out[o ...]`: entries with time in
 * `(max(t - H, expiredUpTo), t]`, except `e`'s own entry.
 */
function readCard(
  card: CardEntries,
  e: WindowEvent,
  expiredUpTo: number,
  H: number,
  seen: Set<string>,
  out: Float64Array,
  o: number,
): void {
  const t = e.timestampMs;
  let previous = Number.NEGATIVE_INFINITY;
  let count = 0;
  let sum = 0;
  let sumSquares = 0;
  let max = Number.NEGATIVE_INFINITY;
  let same = 0;
  seen.clear();
  if (e.terminalId !== '') seen.add(e.terminalId);
  const { times, amounts, keys, terminals } = card;
  const lo = Math.max(t - H, expiredUpTo);
  for (let j = 0; j < times.length; j++) {
    const tj = times[j]!;
    if (tj <= lo) continue;
    if (tj > t) break;
    if (tj === t && keys[j] === e.key) continue;
    const a = amounts[j]!;
    count++;
    sum += a;
    sumSquares += a * a;
    if (a > max) max = a;
    if (tj > previous) previous = tj;
    const terminal = terminals[j]!;
    if (terminal !== '') {
      if (terminal === e.terminalId) same++;
      seen.add(terminal);
    }
  }
  out[o] = count > 0 ? t - previous : Number.NaN;
  out[o + 1] = count;
  out[o + 2] = sum;
  out[o + 3] = sumSquares;
  out[o + 4] = count > 0 ? max : Number.NaN;
  out[o + 5] = e.terminalId === '' ? Number.NaN : same;
  out[o + 6] = seen.size;
}

/**
 * {@link CardHistoryState} in process memory. A card holds a few dozen entries over 30 days, so
 * a read scans them; cards idle for a whole horizon are swept every quarter horizon of event time.
 */
export class MemoryCardHistoryState implements CardHistoryState {
  readonly config: CardHistoryConfig;
  private readonly cards = new Map<string, CardEntries>();
  private readonly horizonMs: number;
  private readonly seen = new Set<string>();
  private maxTimeMs = Number.NEGATIVE_INFINITY;
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor(options: CardHistoryOptions = {}) {
    this.config = resolveCardHistoryOptions(options);
    this.horizonMs = this.config.horizonDays * DAY_MS;
  }

  async updateAndRead(events: readonly WindowEvent[], out: Float64Array): Promise<void> {
    this.updateAndReadSync(events, out);
  }

  /** Synchronous body of {@link updateAndRead}. */
  updateAndReadSync(events: readonly WindowEvent[], out: Float64Array): void {
    if (out.length < events.length * CARD_HISTORY_STRIDE) {
      throw new ConfigError(`out holds ${out.length} numbers, need ${events.length * CARD_HISTORY_STRIDE}`);
    }
    const H = this.horizonMs;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const o = i * CARD_HISTORY_STRIDE;
      if (e.cardId === '') {
        out.fill(Number.NaN, o, o + CARD_HISTORY_STRIDE);
        continue;
      }
      const t = e.timestampMs;
      if (t > this.maxTimeMs) {
        this.maxTimeMs = t;
        if (t - this.lastSweepMs >= H / 4) this.sweep();
      }
      let card = this.cards.get(e.cardId);
      if (card === undefined) {
        card = new CardEntries();
        this.cards.set(e.cardId, card);
      }
      if (t > card.watermarkMs) card.watermarkMs = t;
      card.expire(card.watermarkMs - H);
      if (t > card.watermarkMs - H && !card.has(e.key, t)) card.insert(e);
      readCard(card, e, card.watermarkMs - H, H, this.seen, out, o);
    }
  }

  async peek(events: readonly WindowEvent[], out: Float64Array): Promise<void> {
    if (out.length < events.length * CARD_HISTORY_STRIDE) {
      throw new ConfigError(`out holds ${out.length} numbers, need ${events.length * CARD_HISTORY_STRIDE}`);
    }
    const H = this.horizonMs;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const o = i * CARD_HISTORY_STRIDE;
      if (e.cardId === '') {
        out.fill(Number.NaN, o, o + CARD_HISTORY_STRIDE);
        continue;
      }
      // The event itself is never among the card's "other" entries, so whether it would be stored
      // does not matter; only the expiry its time would cause does (entries at or before Wc - H,
      // skipped here instead of dropped). A sweep this event would start removes only cards whose
      // entries are all at or before t - H, outside the read anyway.
      const card = this.cards.get(e.cardId) ?? EMPTY_CARD;
      readCard(card, e, Math.max(card.watermarkMs, e.timestampMs) - H, H, this.seen, out, o);
    }
  }

  async close(): Promise<void> {
    this.cards.clear();
  }

  /** Forgets cards whose every entry has expired for any in-order event, so idle cards do not pile up. */
  private sweep(): void {
    this.lastSweepMs = this.maxTimeMs;
    const horizon = this.maxTimeMs - this.horizonMs;
    for (const [id, card] of this.cards) {
      if (card.watermarkMs <= horizon) this.cards.delete(id);
    }
  }
}
