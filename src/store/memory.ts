import { ConfigError } from '../errors/index.js';
import { checkQuery, decodeCursor, encodeCursor, matchesQuery, searchKey } from './search.js';
import { TimeSeriesBuffer } from './series.js';
import {
  type Alert,
  COUNTER_INTERVALS_MS,
  type CounterBucket,
  type CounterIntervalMs,
  type DeadLetter,
  type PersistResult,
  SCORE_SERIES,
  type ScoredTransaction,
  type ScoreSeriesName,
  type SeriesAggregation,
  type SeriesPoint,
  type Store,
  type TransactionPage,
  type TransactionQuery,
  toAlert,
} from './types.js';

export interface MemoryStoreOptions {
  /**
   * Most transaction documents kept; the oldest are dropped beyond it (like a TTL), which also
   * ends idempotency for them. Bounds memory in long demos.
   * @default 1000000
   */
  maxTransactions?: number;
  /**
   * How long score series and counters are kept, in ms.
   * @default 3600000 (one hour)
   */
  retentionMs?: number;
  /**
   * Most alerts and dead letters kept for reading (counts stay exact).
   * @default 10000
   */
  maxRecent?: number;
}

export const DEFAULT_MEMORY_STORE_OPTIONS = {
  maxTransactions: 1_000_000,
  retentionMs: 3_600_000,
  maxRecent: 10_000,
} as const satisfies Required<MemoryStoreOptions>;

export function resolveMemoryStoreOptions(options: MemoryStoreOptions = {}): Required<MemoryStoreOptions> {
  const o = { ...DEFAULT_MEMORY_STORE_OPTIONS, ...options };
  for (const [name, value] of Object.entries(o)) {
    if (!(Number.isInteger(value) && value > 0)) {
      throw new ConfigError(`memory store ${name} must be a positive integer, got ${value}`);
    }
  }
  return o;
}

/**
 * The embedded store: everything in this process, nothing on disk. Series split as the lab's:
 * `fraud-ts` holds every fraud score, `fraudulent_ts` those of flagged transactions (decision
 * review or decline), `non-fraudulent_ts` the rest.
 */
export class MemoryStore implements Store {
  private readonly options: Required<MemoryStoreOptions>;
  private readonly documents = new Map<string, ScoredTransaction>();
  private readonly series = new Map<ScoreSeriesName, TimeSeriesBuffer>();
  private readonly counterBuckets = new Map<CounterIntervalMs, Map<number, CounterBucket>>();
  private alerts: Alert[] = [];
  private deadLetters: DeadLetter[] = [];
  private deadLetterCount = 0;
  private readonly deadLetterPositions = new Set<string>();

  constructor(options: MemoryStoreOptions = {}) {
    this.options = resolveMemoryStoreOptions(options);
    for (const name of SCORE_SERIES) this.series.set(name, new TimeSeriesBuffer(this.options.retentionMs));
    for (const interval of COUNTER_INTERVALS_MS) this.counterBuckets.set(interval, new Map());
  }

  async persistBatch(results: readonly ScoredTransaction[]): Promise<PersistResult> {
    let written = 0;
    let duplicates = 0;
    for (const r of results) {
      if (this.documents.has(r.key)) {
        duplicates++;
        continue;
      }
      written++;
      this.documents.set(r.key, r);
      const flagged = r.decision !== 'approve';
      this.series.get('fraud-ts')!.add(r.processedAtMs, r.fraudScore);
      this.series.get(flagged ? 'fraudulent_ts' : 'non-fraudulent_ts')!.add(r.processedAtMs, r.fraudScore);
      for (const [interval, buckets] of this.counterBuckets) {
        const t = Math.floor(r.processedAtMs / interval) * interval;
        let b = buckets.get(t);
        if (!b) {
          b = { t, transactions: 0, flagged: 0, review: 0, decline: 0, scoreSum: 0 };
          buckets.set(t, b);
        }
        b.transactions++;
        b.scoreSum += r.fraudScore;
        if (flagged) b.flagged++;
        if (r.decision === 'review') b.review++;
        if (r.decision === 'decline') b.decline++;
      }
      if (flagged) this.alerts.push(toAlert(r));
    }
    this.trim();
    return { written, duplicates };
  }

  async deadLetter(items: readonly DeadLetter[]): Promise<void> {
    const fresh = items.filter((d) => !this.deadLetterPositions.has(d.position));
    for (const d of fresh) this.deadLetterPositions.add(d.position);
    this.deadLetters.push(...fresh);
    this.deadLetterCount += fresh.length;
    if (this.deadLetters.length > this.options.maxRecent * 2) {
      this.deadLetters = this.deadLetters.slice(-this.options.maxRecent);
    }
  }

  async getTransaction(key: string): Promise<ScoredTransaction | undefined> {
    return this.documents.get(key);
  }

  async countTransactions(): Promise<number> {
    return this.documents.size;
  }

  async countDeadLetters(): Promise<number> {
    return this.deadLetterCount;
  }

  async recentDeadLetters(limit: number): Promise<DeadLetter[]> {
    return this.deadLetters.slice(-limit).reverse();
  }

  async scoreSeries(
    name: ScoreSeriesName,
    fromMs: number,
    toMs: number,
    aggregate?: { bucketMs: number; type: SeriesAggregation },
  ): Promise<SeriesPoint[]> {
    return this.series.get(name)!.range(fromMs, toMs, aggregate);
  }

  async counters(intervalMs: CounterIntervalMs, fromMs: number, toMs: number): Promise<CounterBucket[]> {
    const buckets = this.counterBuckets.get(intervalMs);
    if (!buckets)
      throw new ConfigError(`counter interval must be one of ${COUNTER_INTERVALS_MS.join(', ')} ms`);
    const out: CounterBucket[] = [];
    for (const b of buckets.values()) if (b.t >= fromMs && b.t <= toMs) out.push({ ...b });
    return out.sort((a, b) => a.t - b.t);
  }

  async recentAlerts(limit: number): Promise<Alert[]> {
    return this.alerts.slice(-limit).reverse();
  }

  /**
   * A scan of the documents held (at most `maxTransactions`): the embedded store keeps no
   * secondary indexes, since a scan of its own memory is fast enough for interactive use.
   */
  async searchTransactions(query: TransactionQuery): Promise<TransactionPage> {
    checkQuery(query);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const found: { k: string; r: ScoredTransaction }[] = [];
    for (const r of this.documents.values()) {
      if (!matchesQuery(r, query)) continue;
      const k = searchKey(r.transaction.timestampMs, r.key);
      if (after === undefined || k < after) found.push({ k, r });
    }
    found.sort((a, b) => (a.k < b.k ? 1 : a.k > b.k ? -1 : 0));
    const page = found.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      transactions: page.map((f) => f.r),
      ...(found.length > query.limit && last && { nextCursor: encodeCursor(last.k) }),
    };
  }

  async close(): Promise<void> {}

  /** Every stored document, oldest first (memory store only: for reports at the end of a run). */
  values(): IterableIterator<ScoredTransaction> {
    return this.documents.values();
  }

  private trim(): void {
    const { maxTransactions, maxRecent, retentionMs } = this.options;
    if (this.documents.size > maxTransactions) {
      // Maps iterate in insertion order, so the first keys are the oldest documents.
      let excess = this.documents.size - maxTransactions;
      for (const key of this.documents.keys()) {
        if (excess-- <= 0) break;
        this.documents.delete(key);
      }
    }
    if (this.alerts.length > maxRecent * 2) this.alerts = this.alerts.slice(-maxRecent);
    const horizon = Date.now() - retentionMs;
    for (const buckets of this.counterBuckets.values()) {
      if (buckets.size < 4096) continue;
      for (const t of buckets.keys()) if (t < horizon) buckets.delete(t);
    }
  }
}
