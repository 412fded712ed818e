/**
 * {@link WindowState} in Redis: the `transactions` feature set's card and terminal windows shared
 * by every consumer, updated and read by Lua scripts (atomic per call, so concurrent consumers
 * never see half an update).
 *
 * Keys, with prefix `P` (hash tags keep each card's and each terminal's key in its own slot):
 * - `P cw:{<cardId>}`: a string of the card's entries in time order, 24 bytes each (time,
 *   running amount sum, key fingerprint) after an 8-byte header (layout in `scripts.ts`);
 * - `P tw:{<terminalId>}`: the terminal's entries (time, time its fraud label became known,
 *   key fingerprint) after the number of entries labelled fraud; a genuine label reads like none;
 * - `P watermark`: the largest event time seen (W of the contract).
 * Every touched key is written with a TTL of its horizon, so idle cards and terminals disappear
 * on their own; expired entries are never counted and are cut lazily.
 *
 * A re-delivery is recognised by its time and a 53-bit fingerprint of its key
 * ({@link keyFingerprint}) rather than the key itself, so entries have a fixed size: two
 * different transactions of one card (terminal) in the same millisecond are taken for one only
 * if their fingerprints collide (probability 2^-53).
 *
 * On a single server a batch is one script call that reads and raises the stored watermark, so
 * the semantics are exactly the contract's, also with several consumers. On a cluster the card
 * and terminal keys of a batch live in many slots: events are split into per-hash-tag groups
 * (one card's or one terminal's tasks, in batch order), one call per group, all sent in one tick.
 * This is valid because a card's outputs depend only on that card's state, a terminal's only on
 * that terminal's. The watermark, the only global input, is computed by the client as the
 * running maximum of event times (so each event sees W exactly as if the batch ran in one call)
 * starting from the shared `P watermark` as last seen; the shared key is raised in the same
 * round trip. With one consumer this is exact; with several, each one's W may lag the others'
 * by one batch, which only delays expiry (an entry may be counted one batch longer).
 */
import { ConfigError } from '../../errors/index.js';
import type { Feedback } from '../../events/index.js';
import { asStoreError, openRedisConnection, type RedisCommandConnection } from '../../redis/index.js';
import type { RedisConnectionOptions } from '../../transports/index.js';
import type { WindowEvent, WindowState, WindowStateConfig } from '../types.js';
import {
  DAY_MS,
  resolveWindowStateOptions,
  type WindowStateOptions,
  windowAggregateCount,
} from '../window-state.js';
import { FEEDBACK_SCRIPT, WATERMARK_SCRIPT, WINDOW_SCRIPT } from './scripts.js';

/** Options of {@link RedisWindowState}: the windows, the connection and the key prefix. */
export interface RedisWindowStateOptions extends WindowStateOptions, RedisConnectionOptions {
  /**
   * Prefix of every key; must not contain `{` or `}` (the state places its own hash tags).
   * @default 'fraudstream:fs:'
   */
  prefix?: string;
}

export const DEFAULT_REDIS_WINDOW_STATE_OPTIONS = { prefix: 'fraudstream:fs:' } as const;

/** Validates the Redis-specific options (the windows are validated by `resolveWindowStateOptions`). */
export function resolveRedisWindowStateOptions(options: RedisWindowStateOptions = {}): {
  config: WindowStateConfig;
  prefix: string;
} {
  const prefix = options.prefix ?? DEFAULT_REDIS_WINDOW_STATE_OPTIONS.prefix;
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new ConfigError(
      `redis window state prefix must be a string without '{' or '}', got ${String(prefix)}`,
    );
  }
  return { config: resolveWindowStateOptions(options), prefix };
}

/**
 * The hash tag text of an id: the id itself, or with `{`, `}` and `%` percent-encoded when it has
 * any of them, since a brace inside a tag would change which part of the key Redis hashes.
 */
export function tagOf(id: string): string {
  return /[{}%]/.test(id) ? id.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16)}`) : id;
}

/**
 * A 53-bit fingerprint of an event key (two 32-bit multiplicative hashes over its UTF-16 code
 * units), exact as a double, so the scripts store a fixed-size number instead of the key.
 */
export function keyFingerprint(key: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 13;
  b = Math.imul(b, 0x5bd1e995);
  b ^= b >>> 15;
  return (a >>> 0) * 2 ** 21 + (b >>> 11);
}

/** Stand-in for W = -∞ in scripts (Lua cannot portably parse "-inf"). */
const NO_WATERMARK = -1e300;

/** Layout of a packed card or terminal string (see `scripts.ts`): header bytes, bytes per entry. */
const HDR = 8;
const E = 24;

/** The second field (running sum or label time) of entry `i`. */
function secondAt(b: Buffer, i: number): number {
  return b.readDoubleLE(HDR + i * E + 8);
}

/** First entry index in [0, m) whose time is > x, or m (the script's `upper`). */
function upperBound(b: Buffer | null, m: number, x: number): number {
  if (b === null) return 0;
  let lo = 0;
  let hi = m;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (b.readDoubleLE(HDR + mid * E) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the entry with time t and fingerprint fp before p (p = upper bound of t), or -1. */
function findEntry(b: Buffer | null, p: number, t: number, fp: number): number {
  if (b === null) return -1;
  for (let j = p - 1; j >= 0; j--) {
    const o = HDR + j * E;
    if (b.readDoubleLE(o) !== t) return -1;
    if (b.readDoubleLE(o + 16) === fp) return j;
  }
  return -1;
}

/** One script call's worth of work: the tasks of one hash tag (cluster) or of the whole batch. */
interface Group {
  keys: string[];
  keyIndex: Map<string, number>;
  args: string[];
  /** Per task: event index × 2 + (0 card, 1 terminal). */
  tasks: number[];
}

/** The Redis {@link WindowState}; see the module documentation for keys and cluster handling. */
export class RedisWindowState implements WindowState {
  readonly config: WindowStateConfig;
  private readonly aggregates: number;
  private readonly header: string[];
  private readonly singleServer: boolean;
  private readonly watermarkKey: string;
  private readonly terminalHorizonMs: number;
  private readonly cardHorizonMs: number;
  private readonly cardWindowsMs: Float64Array;
  private readonly terminalWindowsMs: Float64Array;
  private readonly delayMs: number;
  /** Largest event time this client knows of (its own events and the shared key as last read). */
  private watermarkMs = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly connection: RedisCommandConnection,
    config: WindowStateConfig,
    private readonly prefix: string,
  ) {
    this.config = config;
    this.aggregates = windowAggregateCount(config);
    this.singleServer = connection.kind === 'standalone';
    this.watermarkKey = `${prefix}watermark`;
    const card = config.cardWindowsDays.map((d) => d * DAY_MS);
    const terminal = config.terminalWindowsDays.map((d) => d * DAY_MS);
    const delay = config.delayDays * DAY_MS;
    this.terminalHorizonMs = Math.max(...terminal) + delay;
    this.cardHorizonMs = Math.max(...card);
    this.cardWindowsMs = Float64Array.from(card);
    this.terminalWindowsMs = Float64Array.from(terminal);
    this.delayMs = delay;
    this.header = [
      this.singleServer ? '1' : '0',
      String(Math.max(...card)),
      String(this.terminalHorizonMs),
      String(delay),
      String(card.length),
      String(terminal.length),
      ...card.map(String),
      ...terminal.map(String),
    ];
  }

  /** Connects to Redis (single server or cluster). */
  static async connect(options: RedisWindowStateOptions = {}): Promise<RedisWindowState> {
    const { config, prefix } = resolveRedisWindowStateOptions(options);
    const connection = await openRedisConnection(options);
    return new RedisWindowState(connection, config, prefix);
  }

  async updateAndRead(events: readonly WindowEvent[], out: Float64Array): Promise<void> {
    const stride = this.aggregates;
    if (out.length < events.length * stride) {
      throw new ConfigError(`out holds ${out.length} numbers, need ${events.length * stride}`);
    }
    if (events.length === 0) return;
    const nCard = 2 * this.config.cardWindowsDays.length;
    const groups = new Map<string, Group>();
    let w = this.watermarkMs;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.timestampMs > w) w = e.timestampMs;
      const wText = String(w);
      const time = String(e.timestampMs);
      const fingerprint = String(keyFingerprint(e.key));
      if (e.cardId === '') {
        out.fill(Number.NaN, i * stride, i * stride + nCard);
      } else {
        const g = this.group(groups, e.cardId);
        g.args.push('c', String(this.keyIndex(g, this.cardKey(e.cardId))), fingerprint, time);
        g.args.push(String(e.amount), wText);
        g.tasks.push(i * 2);
      }
      if (e.terminalId === '') {
        out.fill(Number.NaN, i * stride + nCard, (i + 1) * stride);
      } else {
        const g = this.group(groups, e.terminalId);
        g.args.push(
          't',
          String(this.keyIndex(g, this.terminalKey(e.terminalId))),
          fingerprint,
          time,
          '',
          wText,
        );
        g.tasks.push(i * 2 + 1);
      }
    }
    const calls: Promise<void>[] = [];
    for (const g of groups.values()) {
      calls.push(
        WINDOW_SCRIPT.run<[Buffer, Buffer]>(
          this.connection,
          g.keys,
          [...this.header, String(g.tasks.length), ...g.args],
          { binary: true },
        ).then(([values, watermark]) => {
          this.scatter(g, values, out, nCard);
          if (watermark.length > 0) this.raiseWatermark(Number(watermark.toString()));
        }),
      );
    }
    if (!this.singleServer) {
      calls.push(
        WATERMARK_SCRIPT.run<string>(this.connection, [this.watermarkKey], [String(w)]).then((shared) =>
          this.raiseWatermark(Number(shared)),
        ),
      );
    }
    try {
      await Promise.all(calls);
    } catch (error) {
      throw asStoreError(error, 'redis window state: update failed');
    }
    this.raiseWatermark(w);
  }

  /**
   * What {@link updateAndRead} would write for each event if it were the only event of the call,
   * computed client-side from one GET per touched card and terminal (sent in one tick, so one
   * round trip; plain GETs also work across cluster slots) and the watermark; nothing is written
   * and the client's watermark is left alone. Mirrors `WINDOW_SCRIPT` step by step: the event is
   * inserted only hypothetically (at its upper bound, with the running sum it would get), bounds
   * are at least the horizon so expired entries are never counted, and the terminal windows end
   * `delay` before the event. On a cluster the script does not read the shared watermark key, so
   * neither does this (W is the client's own, as there).
   */
  async peek(events: readonly WindowEvent[], out: Float64Array): Promise<void> {
    const stride = this.aggregates;
    if (out.length < events.length * stride) {
      throw new ConfigError(`out holds ${out.length} numbers, need ${events.length * stride}`);
    }
    if (events.length === 0) return;
    const keys = new Map<string, Promise<Buffer | null>>();
    const read = (key: string) => {
      if (!keys.has(key))
        keys.set(key, this.connection.send<Buffer | null>(key, ['GET', key], { binary: true }));
    };
    for (const e of events) {
      if (e.cardId !== '') read(this.cardKey(e.cardId));
      if (e.terminalId !== '') read(this.terminalKey(e.terminalId));
    }
    const storedWatermark = this.singleServer
      ? this.connection.send<string | null>(this.watermarkKey, ['GET', this.watermarkKey])
      : Promise.resolve(null);
    let blobs: Map<string, Buffer | null>;
    let w0: number;
    try {
      const entries = [...keys];
      const values = await Promise.all(entries.map(([, v]) => v));
      blobs = new Map(entries.map(([k], j) => [k, values[j]!]));
      const stored = await storedWatermark;
      w0 = stored === null ? Number.NEGATIVE_INFINITY : Number(stored);
    } catch (error) {
      throw asStoreError(error, 'redis window state: peek failed');
    }
    const nCard = 2 * this.config.cardWindowsDays.length;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const w = Math.max(w0, this.watermarkMs, e.timestampMs);
      const fp = keyFingerprint(e.key);
      if (e.cardId === '') out.fill(Number.NaN, i * stride, i * stride + nCard);
      else this.cardPeek(e, fp, w, blobs.get(this.cardKey(e.cardId)) ?? null, out, i * stride);
      if (e.terminalId === '') out.fill(Number.NaN, i * stride + nCard, (i + 1) * stride);
      else
        this.terminalPeek(
          e,
          fp,
          w,
          blobs.get(this.terminalKey(e.terminalId)) ?? null,
          out,
          i * stride + nCard,
        );
    }
  }

  /** The card part of `WINDOW_SCRIPT` for one event, reading `b` without changing it. */
  private cardPeek(
    e: WindowEvent,
    fp: number,
    w: number,
    b: Buffer | null,
    out: Float64Array,
    base: number,
  ): void {
    const windows = this.cardWindowsMs;
    const t = e.timestampMs;
    const horizon = w - this.cardHorizonMs;
    if (t <= horizon) {
      // Too old to keep: counted in its own windows only.
      for (let x = 0; x < windows.length; x++) {
        out[base + 2 * x] = 1;
        out[base + 2 * x + 1] = e.amount;
      }
      return;
    }
    const m = b === null ? 0 : (b.length - HDR) / E;
    const head = b === null ? 0 : b.readDoubleLE(0);
    const p = upperBound(b, m, t);
    let hi = p;
    let top: number;
    if (findEntry(b, p, t, fp) < 0) {
      // Where the script would insert it: at p, with the running sum before it plus its amount.
      top = (p === 0 ? head : secondAt(b!, p - 1)) + e.amount;
      hi = p + 1;
    } else {
      top = secondAt(b!, hi - 1);
    }
    for (let x = 0; x < windows.length; x++) {
      const lo = Math.min(p, upperBound(b, m, Math.max(t - windows[x]!, horizon)));
      out[base + 2 * x] = hi - lo;
      out[base + 2 * x + 1] = top - (lo === 0 ? head : secondAt(b!, lo - 1));
    }
  }

  /** The terminal part of `WINDOW_SCRIPT` for one event, reading `b` without changing it. */
  private terminalPeek(
    e: WindowEvent,
    fp: number,
    w: number,
    b: Buffer | null,
    out: Float64Array,
    base: number,
  ): void {
    const windows = this.terminalWindowsMs;
    const t = e.timestampMs;
    const horizon = w - this.terminalHorizonMs;
    const m = b === null ? 0 : (b.length - HDR) / E;
    const end = t - this.delayMs;
    // Stored entries up to the window end; the event itself (time t, never labelled) would join
    // them only with no delay, and only if it would be stored (unexpired, not a re-delivery).
    const hiStored = upperBound(b, m, end);
    const inserted = t > horizon && findEntry(b, upperBound(b, m, t), t, fp) < 0;
    const hi = hiStored + (inserted && end >= t ? 1 : 0);
    const frauds = b === null ? 0 : b.readDoubleLE(0);
    for (let x = 0; x < windows.length; x++) {
      const lo = Math.min(hi, upperBound(b, m, Math.max(end - windows[x]!, horizon)));
      out[base + 2 * x] = hi - lo;
      let n = 0;
      if (frauds > 0) for (let j = lo; j < hiStored; j++) if (secondAt(b!, j) <= t) n++;
      out[base + 2 * x + 1] = n;
    }
  }

  async applyFeedback(items: readonly Feedback[]): Promise<void> {
    const groups = new Map<string, Group>();
    for (const item of items) {
      if (item.terminalId === '') continue;
      const g = this.group(groups, item.terminalId);
      const time = String(item.transactionTimestampMs);
      g.args.push(
        String(this.keyIndex(g, this.terminalKey(item.terminalId))),
        String(keyFingerprint(item.transactionId)),
        time,
        String(item.label),
        String(item.atMs),
      );
      g.tasks.push(0);
    }
    const watermark = String(Number.isFinite(this.watermarkMs) ? this.watermarkMs : NO_WATERMARK);
    const calls: Promise<unknown>[] = [];
    for (const g of groups.values()) {
      calls.push(
        FEEDBACK_SCRIPT.run(this.connection, g.keys, [
          this.header[0]!,
          String(this.terminalHorizonMs),
          watermark,
          String(g.tasks.length),
          ...g.args,
        ]),
      );
    }
    try {
      await Promise.all(calls);
    } catch (error) {
      throw asStoreError(error, 'redis window state: feedback failed');
    }
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** The group of a hash tag: everything in one group on a single server, one per tag on a cluster. */
  private group(groups: Map<string, Group>, tag: string): Group {
    const id = this.singleServer ? '' : tag;
    let g = groups.get(id);
    if (g === undefined) {
      g = { keys: [], keyIndex: new Map(), args: [], tasks: [] };
      if (this.singleServer) g.keys.push(this.watermarkKey);
      groups.set(id, g);
    }
    return g;
  }

  /** 1-based index (Lua) of `key` in the group, adding it on first use. */
  private keyIndex(g: Group, key: string): number {
    let index = g.keyIndex.get(key);
    if (index === undefined) {
      index = g.keys.length + 1;
      g.keyIndex.set(key, index);
      g.keys.push(key);
    }
    return index;
  }

  private cardKey(cardId: string): string {
    return `${this.prefix}cw:{${tagOf(cardId)}}`;
  }

  private terminalKey(terminalId: string): string {
    return `${this.prefix}tw:{${tagOf(terminalId)}}`;
  }

  /** Copies a group's packed outputs (little-endian doubles) to their events' places in `out`. */
  private scatter(g: Group, values: Buffer, out: Float64Array, nCard: number): void {
    const stride = this.aggregates;
    const nTerminal = stride - nCard;
    let p = 0;
    for (const task of g.tasks) {
      const i = task >> 1;
      const isTerminal = (task & 1) === 1;
      const start = i * stride + (isTerminal ? nCard : 0);
      const count = isTerminal ? nTerminal : nCard;
      for (let j = 0; j < count; j++, p += 8) out[start + j] = values.readDoubleLE(p);
    }
  }

  private raiseWatermark(ms: number): void {
    if (ms > this.watermarkMs) this.watermarkMs = ms;
  }
}
