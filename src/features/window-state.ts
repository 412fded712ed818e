import { ConfigError } from '../errors/index.js';
import type { Feedback } from '../events/index.js';
import type { WindowEvent, WindowState, WindowStateConfig } from './types.js';

/** Milliseconds in a day; windows are measured in exact 24-hour days of event time. */
export const DAY_MS = 86_400_000;

/** Options of a window state (memory or Redis). */
export interface WindowStateOptions {
  /**
   * Card window lengths in days (positive, finite), in output order.
   * @default [1, 7, 30]
   */
  cardWindowsDays?: readonly number[];
  /**
   * Terminal window lengths in days (positive, finite), in output order.
   * @default [1, 7, 30]
   */
  terminalWindowsDays?: readonly number[];
  /**
   * Label delay in days (>= 0): terminal windows end this long before the event, as in the
   * Fraud Detection Handbook, because labels of more recent transactions are not known yet.
   * @default 7
   */
  delayDays?: number;
}

/** Defaults of {@link WindowStateOptions}: the Fraud Detection Handbook's windows and delay. */
export const DEFAULT_WINDOW_STATE_OPTIONS: WindowStateConfig = Object.freeze({
  cardWindowsDays: Object.freeze([1, 7, 30]),
  terminalWindowsDays: Object.freeze([1, 7, 30]),
  delayDays: 7,
});

/** Merges options with {@link DEFAULT_WINDOW_STATE_OPTIONS} and validates them; throws {@link ConfigError}. */
export function resolveWindowStateOptions(options: WindowStateOptions = {}): WindowStateConfig {
  const windows = (field: string, value: readonly number[] | undefined, fallback: readonly number[]) => {
    const days = value ?? fallback;
    if (!Array.isArray(days) || days.length === 0) {
      throw new ConfigError(`${field} must be a non-empty array of days`);
    }
    for (const d of days) {
      if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0) {
        throw new ConfigError(`${field} must hold positive finite numbers of days, got ${String(d)}`);
      }
    }
    return Object.freeze([...days]);
  };
  const delayDays = options.delayDays ?? DEFAULT_WINDOW_STATE_OPTIONS.delayDays;
  if (typeof delayDays !== 'number' || !Number.isFinite(delayDays) || delayDays < 0) {
    throw new ConfigError(`delayDays must be a finite number >= 0, got ${String(delayDays)}`);
  }
  return Object.freeze({
    cardWindowsDays: windows(
      'cardWindowsDays',
      options.cardWindowsDays,
      DEFAULT_WINDOW_STATE_OPTIONS.cardWindowsDays,
    ),
    terminalWindowsDays: windows(
      'terminalWindowsDays',
      options.terminalWindowsDays,
      DEFAULT_WINDOW_STATE_OPTIONS.terminalWindowsDays,
    ),
    delayDays,
  });
}

/**
 * How many numbers {@link WindowState.updateAndRead} writes per event:
 * `2 × cardWindowsDays.length + 2 × terminalWindowsDays.length` (12 with the defaults).
 */
export function windowAggregateCount(config: WindowStateConfig): number {
  return 2 * config.cardWindowsDays.length + 2 * config.terminalWindowsDays.length;
}

const NO_LABEL = -1;
/** Fields of an entry in {@link KeyEntries.data}. */
const TIME = 0;
const CUM = 1;
const LABEL_AT = 2;
const LABEL = 3;
const STRIDE = 4;

/**
 * Time-ordered entries of one card or terminal in a window `[head, tail)` of one interleaved,
 * growable `Float64Array` (one allocation per growth, one copy per compaction): per entry its
 * time, the amount sum of the entries before it (plus an arbitrary base; `total` after the
 * last), when its label became known, and its label (-1 = none). Expired entries leave from the
 * head; the array is compacted (and the prefix sums rebased, to keep them small and precise)
 * when it is full and at most half used.
 */
class KeyEntries {
  data: Float64Array;
  keys: string[];
  head = 0;
  tail = 0;
  total = 0;
  /** Number of stored entries labelled fraud, so terminals without any skip the label scan. */
  frauds = 0;

  constructor(capacity: number) {
    this.data = new Float64Array(capacity * STRIDE);
    this.keys = new Array<string>(capacity).fill('');
  }

  get size(): number {
    return this.tail - this.head;
  }

  time(i: number): number {
    return this.data[i * STRIDE + TIME]!;
  }

  /** Drops entries with time <= horizonMs. */
  expire(horizonMs: number): void {
    const d = this.data;
    let h = this.head;
    const tail = this.tail;
    if (h === tail || d[h * STRIDE + TIME]! > horizonMs) return;
    // Keys of expired entries are left in place (not cleared) to avoid touching a second array
    // per expiry; they are overwritten or dropped on compaction, so at most a capacity's worth is held.
    while (h < tail && d[h * STRIDE + TIME]! <= horizonMs) {
      if (d[h * STRIDE + LABEL] === 1) this.frauds--;
      h++;
    }
    if (h === tail) {
      this.head = 0;
      this.tail = 0;
      this.total = 0;
    } else {
      this.head = h;
    }
  }

  /** First index in [head, tail) whose time is > t, or tail. */
  upperBound(t: number): number {
    const d = this.data;
    let hi = this.tail;
    if (hi === this.head || d[(hi - 1) * STRIDE + TIME]! <= t) return hi;
    let lo = this.head;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (d[mid * STRIDE + TIME]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the entry with this key and time, or -1. */
  indexOf(key: string, t: number): number {
    const d = this.data;
    for (let i = this.upperBound(t) - 1; i >= this.head && d[i * STRIDE + TIME] === t; i--) {
      if (this.keys[i] === key) return i;
    }
    return -1;
  }

  /** Amount sum of entries in [from, to). */
  amountBetween(from: number, to: number): number {
    const d = this.data;
    const end = to < this.tail ? d[to * STRIDE + CUM]! : this.total;
    const start = from < this.tail ? d[from * STRIDE + CUM]! : this.total;
    return end - start;
  }

  /** Inserts after any entries with the same time, keeping time order. */
  insert(key: string, t: number, amount: number): void {
    if (this.tail * STRIDE === this.data.length) this.makeRoom();
    const d = this.data;
    const pos = this.upperBound(t);
    const tail = this.tail;
    let before = this.total;
    if (pos < tail) {
      // Out-of-order arrival: shift the later entries right and add the amount to their prefixes.
      before = d[pos * STRIDE + CUM]!;
      d.copyWithin((pos + 1) * STRIDE, pos * STRIDE, tail * STRIDE);
      for (let i = tail; i > pos; i--) this.keys[i] = this.keys[i - 1]!;
      for (let i = pos + 1; i <= tail; i++) d[i * STRIDE + CUM]! += amount;
    }
    const o = pos * STRIDE;
    d[o + TIME] = t;
    d[o + CUM] = before;
    d[o + LABEL_AT] = Number.NaN;
    d[o + LABEL] = NO_LABEL;
    this.keys[pos] = key;
    this.total += amount;
    this.tail = tail + 1;
  }

  private makeRoom(): void {
    const size = this.size;
    const capacity = this.keys.length;
    const head = this.head;
    const base = size > 0 ? this.data[head * STRIDE + CUM]! : this.total;
    if (size * 2 <= capacity) {
      this.data.copyWithin(0, head * STRIDE, this.tail * STRIDE);
      for (let i = 0; i < size; i++) this.keys[i] = this.keys[head + i]!;
      for (let i = size; i < this.tail; i++) this.keys[i] = '';
    } else {
      const data = new Float64Array(capacity * 2 * STRIDE);
      data.set(this.data.subarray(head * STRIDE, this.tail * STRIDE), 0);
      this.data = data;
      const keys = new Array<string>(capacity * 2).fill('');
      for (let i = 0; i < size; i++) keys[i] = this.keys[head + i]!;
      this.keys = keys;
    }
    const d = this.data;
    for (let i = 0; i < size; i++) d[i * STRIDE + CUM]! -= base;
    this.total -= base;
    this.head = 0;
    this.tail = size;
  }

  /** Label of entry i (-1 none, 0, 1) and when it became known. */
  label(i: number): number {
    return this.data[i * STRIDE + LABEL]!;
  }

  setLabel(i: number, label: number, atMs: number): void {
    this.data[i * STRIDE + LABEL] = label;
    this.data[i * STRIDE + LABEL_AT] = atMs;
  }

  /** Whether entry i is labelled fraud with a label known at time t. */
  fraudKnownAt(i: number, t: number): boolean {
    const o = i * STRIDE;
    return this.data[o + LABEL] === 1 && this.data[o + LABEL_AT]! <= t;
  }
}

/** Initial per-key capacity: most cards and terminals hold a few dozen entries. */
const INITIAL_CAPACITY = 16;

/**
 * Exact event-time windows in process memory, implementing the {@link WindowState} semantics.
 *
 * Per card and per terminal it keeps a time-ordered array of entries; reads binary-search the
 * window bounds, card sums come from prefix sums, terminal fraud counts scan only terminals that
 * hold at least one fraud label. Expired entries are dropped as keys are touched, and keys left
 * empty are swept every quarter horizon of event time, so memory is bounded by the traffic of
 * about 1.25 × the longest window (+ delay for terminals).
 */
export class MemoryWindowState implements WindowState {
  readonly config: WindowStateConfig;
  private readonly cards = new Map<string, KeyEntries>();
  private readonly terminals = new Map<string, KeyEntries>();
  private readonly cardWindowsMs: Float64Array;
  private readonly terminalWindowsMs: Float64Array;
  private readonly delayMs: number;
  private readonly cardHorizonMs: number;
  private readonly terminalHorizonMs: number;
  private readonly aggregates: number;
  /**
   * Event time between sweeps of idle keys: a quarter of the longest horizon, at least a day.
   * Sweeping visits every key, so doing it rarely keeps its cost per transaction negligible,
   * while memory stays within about 1.25 horizons of traffic.
   */
  private readonly sweepEveryMs: number;
  private watermarkMs = Number.NEGATIVE_INFINITY;
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor(options: WindowStateOptions = {}) {
    this.config = resolveWindowStateOptions(options);
    this.cardWindowsMs = Float64Array.from(this.config.cardWindowsDays, (d) => d * DAY_MS);
    this.terminalWindowsMs = Float64Array.from(this.config.terminalWindowsDays, (d) => d * DAY_MS);
    this.delayMs = this.config.delayDays * DAY_MS;
    this.cardHorizonMs = Math.max(...this.cardWindowsMs);
    this.terminalHorizonMs = Math.max(...this.terminalWindowsMs) + this.delayMs;
    this.aggregates = windowAggregateCount(this.config);
    this.sweepEveryMs = Math.max(DAY_MS, Math.max(this.cardHorizonMs, this.terminalHorizonMs) / 4);
  }

  /** Number of cards and terminals currently holding entries (for tests and metrics). */
  get keyCounts(): { cards: number; terminals: number } {
    return { cards: this.cards.size, terminals: this.terminals.size };
  }

  async updateAndRead(events: readonly WindowEvent[], out: Float64Array): Promise<void> {
    this.updateAndReadSync(events, out);
  }

  /** Synchronous body of {@link updateAndRead}, for callers that hold the memory state directly. */
  updateAndReadSync(events: readonly WindowEvent[], out: Float64Array): void {
    const stride = this.aggregates;
    if (out.length < events.length * stride) {
      throw new ConfigError(`out holds ${out.length} numbers, need ${events.length * stride}`);
    }
    const nCard = this.cardWindowsMs.length;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const t = e.timestampMs;
      if (t > this.watermarkMs) {
        this.watermarkMs = t;
        if (t - this.lastSweepMs >= this.sweepEveryMs) this.sweep();
      }
      const base = i * stride;
      this.cardStep(e, t, out, base);
      this.terminalStep(e, t, out, base + 2 * nCard);
    }
  }

  async peek(events: readonly WindowEvent[], out: Float64Array): Promise<void> {
    const stride = this.aggregates;
    if (out.length < events.length * stride) {
      throw new ConfigError(`out holds ${out.length} numbers, need ${events.length * stride}`);
    }
    const nCard = this.cardWindowsMs.length;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const w = Math.max(this.watermarkMs, e.timestampMs);
      this.cardPeek(e, w, out, i * stride);
      this.terminalPeek(e, w, out, i * stride + 2 * nCard);
    }
  }

  /** {@link cardStep} without storing: expired entries are skipped instead of dropped. */
  private cardPeek(e: WindowEvent, watermarkMs: number, out: Float64Array, base: number): void {
    const windows = this.cardWindowsMs;
    if (e.cardId === '') {
      out.fill(Number.NaN, base, base + 2 * windows.length);
      return;
    }
    const t = e.timestampMs;
    const horizon = watermarkMs - this.cardHorizonMs;
    const entries = this.cards.get(e.cardId);
    const self = t <= horizon || entries === undefined || entries.indexOf(e.key, t) < 0 ? 1 : 0;
    const selfAmount = self * e.amount;
    if (entries === undefined || entries.size === 0) {
      for (let w = 0; w < windows.length; w++) {
        out[base + 2 * w] = self;
        out[base + 2 * w + 1] = selfAmount;
      }
      return;
    }
    const hi = entries.upperBound(t);
    const live = entries.upperBound(horizon);
    for (let w = 0; w < windows.length; w++) {
      const lo = Math.min(hi, Math.max(live, entries.upperBound(t - windows[w]!)));
      out[base + 2 * w] = hi - lo + self;
      out[base + 2 * w + 1] = entries.amountBetween(lo, hi) + selfAmount;
    }
  }

  /** {@link terminalStep} without storing. */
  private terminalPeek(e: WindowEvent, watermarkMs: number, out: Float64Array, base: number): void {
    const windows = this.terminalWindowsMs;
    if (e.terminalId === '') {
      out.fill(Number.NaN, base, base + 2 * windows.length);
      return;
    }
    const t = e.timestampMs;
    const horizon = watermarkMs - this.terminalHorizonMs;
    const entries = this.terminals.get(e.terminalId);
    // With no label delay a stored event falls in its own terminal windows.
    const self =
      this.delayMs === 0 && t > horizon && (entries === undefined || entries.indexOf(e.key, t) < 0) ? 1 : 0;
    if (entries === undefined || entries.size === 0) {
      for (let w = 0; w < windows.length; w++) {
        out[base + 2 * w] = self;
        out[base + 2 * w + 1] = 0;
      }
      return;
    }
    const end = t - this.delayMs;
    const hi = entries.upperBound(end);
    const live = entries.upperBound(horizon);
    for (let w = 0; w < windows.length; w++) {
      const lo = Math.min(hi, Math.max(live, entries.upperBound(end - windows[w]!)));
      out[base + 2 * w] = hi - lo + self;
      let frauds = 0;
      if (entries.frauds > 0) for (let j = lo; j < hi; j++) if (entries.fraudKnownAt(j, t)) frauds++;
      out[base + 2 * w + 1] = frauds;
    }
  }

  private cardStep(e: WindowEvent, t: number, out: Float64Array, base: number): void {
    const windows = this.cardWindowsMs;
    if (e.cardId === '') {
      out.fill(Number.NaN, base, base + 2 * windows.length);
      return;
    }
    const horizon = this.watermarkMs - this.cardHorizonMs;
    let entries = this.cards.get(e.cardId);
    let selfCount = 0;
    let selfAmount = 0;
    entries?.expire(horizon);
    if (t <= horizon) {
      selfCount = 1;
      selfAmount = e.amount;
    } else {
      if (entries === undefined) {
        entries = new KeyEntries(INITIAL_CAPACITY);
        this.cards.set(e.cardId, entries);
      }
      if (entries.indexOf(e.key, t) < 0) entries.insert(e.key, t, e.amount);
    }
    if (entries === undefined || entries.size === 0) {
      for (let w = 0; w < windows.length; w++) {
        out[base + 2 * w] = selfCount;
        out[base + 2 * w + 1] = selfAmount;
      }
      return;
    }
    const hi = entries.upperBound(t);
    for (let w = 0; w < windows.length; w++) {
      const lo = entries.upperBound(t - windows[w]!);
      out[base + 2 * w] = hi - lo + selfCount;
      out[base + 2 * w + 1] = entries.amountBetween(lo, hi) + selfAmount;
    }
  }

  private terminalStep(e: WindowEvent, t: number, out: Float64Array, base: number): void {
    const windows = this.terminalWindowsMs;
    if (e.terminalId === '') {
      out.fill(Number.NaN, base, base + 2 * windows.length);
      return;
    }
    const horizon = this.watermarkMs - this.terminalHorizonMs;
    let entries = this.terminals.get(e.terminalId);
    entries?.expire(horizon);
    if (t > horizon) {
      if (entries === undefined) {
        entries = new KeyEntries(INITIAL_CAPACITY);
        this.terminals.set(e.terminalId, entries);
      }
      if (entries.indexOf(e.key, t) < 0) entries.insert(e.key, t, 0);
    }
    if (entries === undefined || entries.size === 0) {
      out.fill(0, base, base + 2 * windows.length);
      return;
    }
    const end = t - this.delayMs;
    const hi = entries.upperBound(end);
    let widest = hi;
    for (let w = 0; w < windows.length; w++) {
      const lo = entries.upperBound(end - windows[w]!);
      if (lo < widest) widest = lo;
      out[base + 2 * w] = hi - lo;
      out[base + 2 * w + 1] = 0;
    }
    if (entries.frauds === 0) return;
    for (let j = widest; j < hi; j++) {
      if (!entries.fraudKnownAt(j, t)) continue;
      const tj = entries.time(j);
      for (let w = 0; w < windows.length; w++) {
        if (tj > end - windows[w]!) out[base + 2 * w + 1]! += 1;
      }
    }
  }

  async applyFeedback(items: readonly Feedback[]): Promise<void> {
    this.applyFeedbackSync(items);
  }

  /** Synchronous body of {@link applyFeedback}. */
  applyFeedbackSync(items: readonly Feedback[]): void {
    const horizon = this.watermarkMs - this.terminalHorizonMs;
    for (const item of items) {
      if (item.terminalId === '' || item.transactionTimestampMs <= horizon) continue;
      const entries = this.terminals.get(item.terminalId);
      if (entries === undefined) continue;
      const j = entries.indexOf(item.transactionId, item.transactionTimestampMs);
      if (j < 0) continue;
      const current = entries.label(j);
      if (current === item.label) continue;
      if (current === 1) entries.frauds--;
      if (item.label === 1) entries.frauds++;
      entries.setLabel(j, item.label, item.atMs);
    }
  }

  async close(): Promise<void> {
    this.cards.clear();
    this.terminals.clear();
  }

  /** Expires every key and forgets the empty ones, so idle cards and terminals do not pile up. */
  private sweep(): void {
    this.lastSweepMs = this.watermarkMs;
    const cardHorizon = this.watermarkMs - this.cardHorizonMs;
    for (const [id, entries] of this.cards) {
      entries.expire(cardHorizon);
      if (entries.size === 0) this.cards.delete(id);
    }
    const terminalHorizon = this.watermarkMs - this.terminalHorizonMs;
    for (const [id, entries] of this.terminals) {
      entries.expire(terminalHorizon);
      if (entries.size === 0) this.terminals.delete(id);
    }
  }
}
