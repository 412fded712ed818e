import { ConfigError, NotAvailableError } from '../../errors/index.js';
import {
  asStoreError,
  capPayload,
  openRedisConnection,
  type RedisCommandConnection,
} from '../../redis/index.js';
import { shardOf } from '../../transports/index.js';
import { checkQuery } from '../search.js';
import { TimeSeriesBuffer } from '../series.js';
import {
  type Alert,
  COUNTER_INTERVALS_MS,
  type CounterBucket,
  type CounterIntervalMs,
  type DeadLetter,
  type PersistResult,
  type ScoredTransaction,
  type ScoreSeriesName,
  type SeriesAggregation,
  type SeriesPoint,
  type Store,
  type TransactionPage,
  type TransactionQuery,
  toAlert,
} from '../types.js';
import { fromStoredDocument, toStoredDocument } from './document.js';
import {
  bucketStart,
  getDocumentCommand,
  modulesFromCommandInfo,
  modulesFromModuleList,
  parseDocumentReply,
  RedisStoreKeys,
  timeSeriesRangeCommand,
  timeSeriesSetupCommands,
} from './layout.js';
import {
  DEFAULT_REDIS_STORE_OPTIONS,
  type RedisStoreLayout,
  type RedisStoreOptions,
  type ResolvedRedisStoreOptions,
  resolveRedisStoreOptions,
} from './options.js';
import { STORE_SCRIPT, TS_ADD_SCRIPT } from './scripts.js';
import { INDEX_SCRIPT, indexCall, searchIndexes } from './search.js';

/** Most commands one `counters()` query may send (buckets × shards); wider ranges are refused. */
const MAX_COUNTER_READS = 200_000;

const DECISION_CODES = { approve: 'a', review: 'r', decline: 'd' } as const;

/** Raw RESP2 stream entry: `[id, [field, value, ...]]`. */
type RawStreamEntry = [string, string[] | null];

/**
 * The Redis implementation of {@link Store}; key layout in `layout.ts`. A batch is written by
 * one Lua call per store shard, all sent in one tick (one round trip): each record's document is
 * created with `SET NX` (or `JSON.SET NX`) and only a new document adds its series points,
 * counters and alert, so redelivered records change nothing.
 *
 * On a cluster, the alerts stream and the lab's RedisTimeSeries keys are single keys outside
 * the shards' slots: a second round trip appends alerts and series points for the records the
 * shard scripts reported as new. If the process dies between the two, those records keep their
 * documents and counters but miss their alert and module series points (a redelivery finds them
 * written). On a single server everything happens in the first call.
 */
export class RedisStore implements Store {
  /** The layout in use: RedisJSON + RedisTimeSeries, or core types. */
  readonly layout: RedisStoreLayout;
  /** Number of store shards. */
  readonly shards: number;
  private readonly keys: RedisStoreKeys;
  private readonly singleServer: boolean;

  private constructor(
    private readonly connection: RedisCommandConnection,
    private readonly options: ResolvedRedisStoreOptions,
    layout: RedisStoreLayout,
  ) {
    this.layout = layout;
    this.singleServer = connection.kind === 'standalone';
    this.shards =
      options.shards ??
      (this.singleServer
        ? DEFAULT_REDIS_STORE_OPTIONS.standaloneShards
        : DEFAULT_REDIS_STORE_OPTIONS.clusterShards);
    this.keys = new RedisStoreKeys(options.prefix, this.shards, options.seriesKeyPrefix);
  }

  /** Connects, detects RedisJSON and RedisTimeSeries, and creates the module series if used. */
  static async connect(options: RedisStoreOptions = {}): Promise<RedisStore> {
    const resolved = resolveRedisStoreOptions(options);
    const connection = await openRedisConnection(options);
    try {
      const layout = await chooseLayout(connection, resolved.layout);
      const store = new RedisStore(connection, resolved, layout);
      options.onInfo?.(
        `redis store: ${layout === 'modules' ? 'RedisJSON + RedisTimeSeries' : 'core types'} layout, ${store.shards} shard(s)`,
      );
      if (layout === 'modules') await store.createSeries(options.onInfo);
      return store;
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  async persistBatch(results: readonly ScoredTransaction[]): Promise<PersistResult> {
    if (results.length === 0) return { written: 0, duplicates: 0 };
    const byShard: number[][] = Array.from({ length: this.shards }, () => []);
    for (let i = 0; i < results.length; i++) byShard[shardOf(results[i]!.key, this.shards)]!.push(i);
    const isNew = new Uint8Array(results.length);
    const calls: Promise<void>[] = [];
    for (let shard = 0; shard < this.shards; shard++) {
      const indices = byShard[shard]!;
      if (indices.length === 0) continue;
      const { keys, args } = this.shardCall(shard, indices, results);
      calls.push(
        STORE_SCRIPT.run<number[]>(this.connection, keys, args).then((flags) => {
          for (let j = 0; j < indices.length; j++) isNew[indices[j]!] = flags[j] === 1 ? 1 : 0;
        }),
      );
      if (this.options.searchIndexes) {
        // Search indexes in the same round trip; idempotent, so a redelivery repairs them.
        const ix = indexCall(
          this.keys,
          shard,
          indices.map((i) => results[i]!),
          this.options.transactionTtlSeconds,
        );
        calls.push(INDEX_SCRIPT.run<number>(this.connection, ix.keys, ix.args).then(() => undefined));
      }
    }
    try {
      await Promise.all(calls);
      if (!this.singleServer) await this.writeGlobal(results, isNew);
    } catch (error) {
      throw asStoreError(error, 'redis store: persisting a batch failed');
    }
    let written = 0;
    for (let i = 0; i < isNew.length; i++) written += isNew[i]!;
    return { written, duplicates: results.length - written };
  }

  async deadLetter(items: readonly DeadLetter[]): Promise<void> {
    if (items.length === 0) return;
    const { deadLetters, deadLetterCount } = this.keys;
    const maxLen = String(this.options.maxDeadLetters);
    try {
      // A record dead-lettered again after a redelivery is stored once: a marker per position,
      // set with NX, admits only the first. Markers expire with the series retention.
      const admitted = await Promise.all(
        items.map((item) => {
          const marker = `${deadLetters}:seen:${item.position}`;
          return this.connection.send<string | null>(marker, [
            'SET',
            marker,
            '1',
            'NX',
            'PX',
            String(this.options.seriesRetentionMs),
          ]);
        }),
      );
      const fresh = items.filter((_, i) => admitted[i] === 'OK');
      if (fresh.length === 0) return;
      const sends: Promise<unknown>[] = fresh.map((item) =>
        this.connection.send(deadLetters, [
          'XADD',
          deadLetters,
          'MAXLEN',
          '~',
          maxLen,
          '*',
          'dead',
          JSON.stringify(this.capped(item)),
        ]),
      );
      sends.push(this.connection.send(deadLetterCount, ['INCRBY', deadLetterCount, String(fresh.length)]));
      await Promise.all(sends);
    } catch (error) {
      throw asStoreError(error, 'redis store: storing dead letters failed');
    }
  }

  /**
   * The dead letter as stored: a payload over the cap is cut and carries the original's full
   * size and hash; one within it is stored whole, as every store keeps it.
   */
  private capped(item: DeadLetter): DeadLetter {
    const capped = capPayload(item.payload, this.options.maxDeadLetterPayloadBytes);
    if (!capped.truncated) return item;
    return { ...item, payload: capped.payload, payloadBytes: capped.bytes, payloadSha256: capped.sha256 };
  }

  async getTransaction(key: string): Promise<ScoredTransaction | undefined> {
    const docKey = this.keys.transaction(shardOf(key, this.shards), key);
    const reply = await this.read(() =>
      this.connection.send<string | null>(docKey, getDocumentCommand(this.layout, docKey)),
    );
    return fromStoredDocument(parseDocumentReply(reply));
  }

  async countTransactions(): Promise<number> {
    const replies = await this.read(() =>
      Promise.all(
        Array.from({ length: this.shards }, (_, shard) => {
          const key = this.keys.count(shard);
          return this.connection.send<string | null>(key, ['GET', key]);
        }),
      ),
    );
    return replies.reduce((sum, r) => sum + Number(r ?? 0), 0);
  }

  async countDeadLetters(): Promise<number> {
    const key = this.keys.deadLetterCount;
    return Number((await this.read(() => this.connection.send<string | null>(key, ['GET', key]))) ?? 0);
  }

  async recentDeadLetters(limit: number): Promise<DeadLetter[]> {
    return this.recent<DeadLetter>(this.keys.deadLetters, limit);
  }

  async recentAlerts(limit: number): Promise<Alert[]> {
    return this.recent<Alert>(this.keys.alerts, limit);
  }

  async scoreSeries(
    name: ScoreSeriesName,
    fromMs: number,
    toMs: number,
    aggregate?: { bucketMs: number; type: SeriesAggregation },
  ): Promise<SeriesPoint[]> {
    if (aggregate && !(Number.isInteger(aggregate.bucketMs) && aggregate.bucketMs > 0)) {
      throw new ConfigError(`bucketMs must be a positive integer, got ${aggregate.bucketMs}`);
    }
    if (this.layout === 'modules') {
      const key = this.keys.moduleSeries(name);
      const reply = await this.read(() =>
        this.connection.send<[number | string, string][]>(
          key,
          timeSeriesRangeCommand(key, fromMs, toMs, aggregate),
        ),
      );
      return reply.map(([t, v]) => ({ t: Number(t), v: Number(v) }));
    }
    const names = name === 'fraud-ts' ? (['fraudulent_ts', 'non-fraudulent_ts'] as const) : [name];
    const reads: Promise<string[]>[] = [];
    for (const series of names) {
      for (let shard = 0; shard < this.shards; shard++) {
        const key = this.keys.coreSeries(series, shard);
        reads.push(
          this.connection.send<string[]>(key, [
            'ZRANGEBYSCORE',
            key,
            String(fromMs),
            String(toMs),
            'WITHSCORES',
          ]),
        );
      }
    }
    const replies = await this.read(() => Promise.all(reads));
    const points: SeriesPoint[] = [];
    for (const reply of replies) {
      for (let i = 0; i + 1 < reply.length; i += 2) {
        const member = reply[i]!;
        points.push({ t: Number(reply[i + 1]), v: Number(member.slice(member.lastIndexOf(':') + 1)) });
      }
    }
    if (replies.length > 1) points.sort((a, b) => a.t - b.t);
    if (!aggregate) return points;
    // The memory store's series buffer aggregates exactly as the dashboard expects; reuse it.
    const buffer = new TimeSeriesBuffer(Number.POSITIVE_INFINITY);
    for (const p of points) buffer.add(p.t, p.v);
    return buffer.range(fromMs, toMs, aggregate);
  }

  async counters(intervalMs: CounterIntervalMs, fromMs: number, toMs: number): Promise<CounterBucket[]> {
    if (!COUNTER_INTERVALS_MS.includes(intervalMs)) {
      throw new ConfigError(`counter interval must be one of ${COUNTER_INTERVALS_MS.join(', ')} ms`);
    }
    const first = Math.ceil(fromMs / intervalMs) * intervalMs;
    const buckets = toMs >= first ? Math.floor((toMs - first) / intervalMs) + 1 : 0;
    if (buckets * this.shards > MAX_COUNTER_READS) {
      throw new ConfigError(
        `counters: ${buckets} buckets of ${intervalMs} ms × ${this.shards} shards is too wide a range; narrow it`,
      );
    }
    const reads: Promise<(string | null)[]>[] = [];
    for (let b = 0; b < buckets; b++) {
      for (let shard = 0; shard < this.shards; shard++) {
        const key = this.keys.counterBucket(shard, intervalMs, first + b * intervalMs);
        reads.push(
          this.connection.send(key, [
            'HMGET',
            key,
            'transactions',
            'flagged',
            'review',
            'decline',
            'scoreSum',
          ]),
        );
      }
    }
    const replies = await this.read(() => Promise.all(reads));
    const out: CounterBucket[] = [];
    for (let b = 0; b < buckets; b++) {
      let bucket: CounterBucket | undefined;
      for (let shard = 0; shard < this.shards; shard++) {
        const r = replies[b * this.shards + shard]!;
        if (r[0] === null || r[0] === undefined) continue;
        bucket ??= {
          t: first + b * intervalMs,
          transactions: 0,
          flagged: 0,
          review: 0,
          decline: 0,
          scoreSum: 0,
        };
        bucket.transactions += Number(r[0]);
        bucket.flagged += Number(r[1] ?? 0);
        bucket.review += Number(r[2] ?? 0);
        bucket.decline += Number(r[3] ?? 0);
        bucket.scoreSum += Number(r[4] ?? 0);
      }
      if (bucket) out.push(bucket);
    }
    return out;
  }

  /** Reads the secondary indexes written at persist time (see `search.ts`). */
  async searchTransactions(query: TransactionQuery): Promise<TransactionPage> {
    checkQuery(query);
    if (!this.options.searchIndexes) {
      throw new NotAvailableError('this Redis store was opened with searchIndexes: false');
    }
    const { keys, shards, layout, connection } = this;
    return this.read(() =>
      searchIndexes({ keys, shards, layout, send: (key, args) => connection.send(key, args) }, query),
    );
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** Keys and arguments of one shard's {@link STORE_SCRIPT} call. */
  private shardCall(
    shard: number,
    indices: readonly number[],
    results: readonly ScoredTransaction[],
  ): { keys: string[]; args: string[] } {
    const { options, keys: k } = this;
    const bucketKeys: string[] = [];
    const bucketIndex = new Map<string, number>();
    const bucketOf = (intervalMs: CounterIntervalMs, ms: number): number => {
      const key = k.counterBucket(shard, intervalMs, bucketStart(ms, intervalMs));
      let index = bucketIndex.get(key);
      if (index === undefined) {
        index = bucketKeys.length + 1;
        bucketIndex.set(key, index);
        bucketKeys.push(key);
      }
      return index;
    };
    const recordArgs: string[] = [];
    const docKeys: string[] = [];
    for (const i of indices) {
      const r = results[i]!;
      const flagged = r.decision !== 'approve';
      const score = String(r.fraudScore);
      docKeys.push(k.transaction(shard, r.key));
      recordArgs.push(
        toStoredDocument(r),
        String(r.processedAtMs),
        score,
        DECISION_CODES[r.decision],
        String(bucketOf(1_000, r.processedAtMs)),
        String(bucketOf(10_000, r.processedAtMs)),
        `${r.key}:${score}`,
        flagged && this.singleServer ? JSON.stringify(toAlert(r)) : '',
      );
    }
    const modules = this.layout === 'modules';
    const keys = [
      k.count(shard),
      k.coreSeries('fraudulent_ts', shard),
      k.coreSeries('non-fraudulent_ts', shard),
      ...bucketKeys,
      ...docKeys,
    ];
    if (this.singleServer) {
      keys.push(k.alerts);
      if (modules) {
        keys.push(
          k.moduleSeries('fraud-ts'),
          k.moduleSeries('fraudulent_ts'),
          k.moduleSeries('non-fraudulent_ts'),
        );
      }
    }
    const args = [
      modules ? '1' : '0',
      modules ? '1' : '0',
      this.singleServer ? '1' : '0',
      String(options.transactionTtlSeconds),
      String(options.seriesRetentionMs),
      String(options.maxAlerts),
      String(options.seriesRetentionMs),
      String(bucketKeys.length),
      String(indices.length),
      ...recordArgs,
    ];
    return { keys, args };
  }

  /** Cluster only: alerts and module series points of the records written for the first time. */
  private async writeGlobal(results: readonly ScoredTransaction[], isNew: Uint8Array): Promise<void> {
    const { alerts } = this.keys;
    const maxLen = String(this.options.maxAlerts);
    const sends: Promise<unknown>[] = [];
    const points = {
      'fraud-ts': [] as string[],
      fraudulent_ts: [] as string[],
      'non-fraudulent_ts': [] as string[],
    };
    for (let i = 0; i < results.length; i++) {
      if (isNew[i] !== 1) continue;
      const r = results[i]!;
      const flagged = r.decision !== 'approve';
      if (flagged) {
        sends.push(
          this.connection.send(alerts, [
            'XADD',
            alerts,
            'MAXLEN',
            '~',
            maxLen,
            '*',
            'alert',
            JSON.stringify(toAlert(r)),
          ]),
        );
      }
      if (this.layout === 'modules') {
        const ms = String(Math.round(r.processedAtMs));
        const v = String(r.fraudScore);
        points['fraud-ts'].push(ms, v);
        points[flagged ? 'fraudulent_ts' : 'non-fraudulent_ts'].push(ms, v);
      }
    }
    for (const [name, args] of Object.entries(points)) {
      if (args.length > 0) {
        sends.push(
          TS_ADD_SCRIPT.run(this.connection, [this.keys.moduleSeries(name as ScoreSeriesName)], args),
        );
      }
    }
    await Promise.all(sends);
  }

  private async createSeries(onInfo: ((message: string) => void) | undefined): Promise<void> {
    const commands = timeSeriesSetupCommands(this.keys, this.options.seriesRetentionMs, this.singleServer);
    if (!this.singleServer) {
      onInfo?.(
        'redis store: compaction rules skipped on a cluster (the lab series keys are in different slots)',
      );
    }
    for (const command of commands) {
      try {
        await this.connection.send(command[1]!, command);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!/already|exists/i.test(message))
          onInfo?.(`redis store: ${command[0]} ${command[1]} failed: ${message}`);
      }
    }
  }

  private async recent<T>(key: string, limit: number): Promise<T[]> {
    if (!(Number.isInteger(limit) && limit > 0)) return [];
    const reply = await this.read(() =>
      this.connection.send<RawStreamEntry[]>(key, ['XREVRANGE', key, '+', '-', 'COUNT', String(limit)]),
    );
    const out: T[] = [];
    for (const [, fields] of reply) {
      if (fields && fields.length >= 2) out.push(JSON.parse(fields[1]!) as T);
    }
    return out;
  }

  private async read<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw asStoreError(error, 'redis store: read failed');
    }
  }
}

/** Picks the layout: modules when asked for or detected (`MODULE LIST`, else `COMMAND INFO`). */
async function chooseLayout(
  connection: RedisCommandConnection,
  wanted: 'auto' | 'modules' | 'core',
): Promise<RedisStoreLayout> {
  if (wanted === 'core') return 'core';
  const found = await detectModules(connection);
  if (found.json && found.timeSeries) return 'modules';
  if (wanted === 'modules') {
    throw new NotAvailableError(
      `redis store layout 'modules' needs RedisJSON and RedisTimeSeries; the server has ${
        [found.json && 'RedisJSON', found.timeSeries && 'RedisTimeSeries'].filter(Boolean).join(' and ') ||
        'neither'
      }`,
    );
  }
  return 'core';
}

/** Which of RedisJSON and RedisTimeSeries the server offers. */
export async function detectModules(
  connection: Pick<RedisCommandConnection, 'send'>,
): Promise<{ json: boolean; timeSeries: boolean }> {
  let listed = { json: false, timeSeries: false };
  try {
    listed = modulesFromModuleList(await connection.send('', ['MODULE', 'LIST']));
  } catch {
    // MODULE LIST may be renamed or denied by ACLs; COMMAND INFO below still answers.
  }
  if (listed.json && listed.timeSeries) return listed;
  let known = { json: false, timeSeries: false };
  try {
    known = modulesFromCommandInfo(await connection.send('', ['COMMAND', 'INFO', 'JSON.SET', 'TS.ADD']));
  } catch {
    // Without either answer the core layout is the safe choice.
  }
  return { json: listed.json || known.json, timeSeries: listed.timeSeries || known.timeSeries };
}
