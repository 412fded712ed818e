/**
 * Redis Streams transport: S stream keys ("shards") partitioned by a stable hash of the
 * partition key, one consumer group, at-least-once delivery.
 *
 * - Writing pipelines one `XADD` per record for the whole batch (node-redis writes commands
 *   issued in one tick together), fields `p` (payload) and `t` (enqueue epoch ms).
 * - Reading uses `XREADGROUP ... >`. On a single server all shards are read by one blocking
 *   command on a dedicated connection that `close()` destroys, so close returns at once. In a
 *   cluster the shard keys live in different slots and cannot share one command, so each shard
 *   is read with a non-blocking `XREADGROUP` (all in one pipeline) and an empty round sleeps
 *   `clusterPollMs` before polling again, up to `maxWaitMs`.
 * - Records delivered but not acknowledged stay in the group's pending entries list (PEL).
 *   A reader first re-reads its own PEL (`XREADGROUP ... 0`: what a crashed predecessor with the
 *   same consumer name left), and every `claimIdleMs / 2` takes over entries idle longer than
 *   `claimIdleMs` from any consumer with `XAUTOCLAIM`.
 * - Redis has no negative acknowledgement. `release()` remembers the records and the next read
 *   claims exactly those back with `XCLAIM <id>...` (min-idle 0). Re-reading the whole PEL
 *   instead would also redeliver, and bump the delivery count of, records that are still being
 *   processed.
 * - A record delivered more than `maxDeliveries` times goes to the dead-letter stream with reason
 *   `max-deliveries` and is acknowledged instead of being delivered again.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { ClosedError, ConfigError, FraudstreamError, TransientStoreError } from '../../errors/index.js';
import {
  type BlockingRedisConnection,
  isTransientRedisError,
  openRedisConnection,
  type RedisCommandConnection,
  type RedisConnectionOptions,
} from '../../redis/index.js';
import {
  type DeliveredRecord,
  type OutgoingRecord,
  type ReadOptions,
  resolveReadOptions,
  type StreamReader,
  type StreamWriter,
} from '../types.js';

/**
 * Receives records that will never be processed. Implemented by readers that have a
 * dead-letter destination; the pipeline uses it for poison records.
 */
export interface DeadLetterSink {
  deadLetter(items: readonly { record: DeliveredRecord; reason: string }[]): Promise<void>;
}

/** Options of {@link RedisStreamTransport}; connection fields as in {@link RedisConnectionOptions}. */
export interface RedisStreamOptions extends RedisConnectionOptions {
  /**
   * Base name of the stream keys; shard `i` is `<stream>:{s<i>}`, hash-tagged so that a
   * cluster spreads shards over slots.
   * @default 'fraudstream:tx'
   */
  stream?: string;
  /**
   * Number of stream keys S. Records with the same partition key go to the same shard, so
   * per-key order is kept; more shards spread load over cluster nodes.
   * @default 1
   */
  shards?: number;
  /**
   * Consumer group shared by all readers of the pipeline.
   * @default 'fraudstream'
   */
  group?: string;
  /**
   * Consumer name, unique per live reader. A restarted reader with the same name gets back
   * what its predecessor left unacknowledged.
   * @default `${os.hostname()}-${process.pid}`
   */
  consumer?: string;
  /**
   * Where a newly created group starts: `'0'` reads everything already in the stream, so
   * records produced before the first consumer started are not missed; `'$'` only new ones.
   * Has no effect when the group exists.
   * @default '0'
   */
  startFrom?: '$' | '0';
  /**
   * Approximate (`~`) maximum length of each shard key, applied on every XADD.
   * Trimming may drop unacknowledged entries; those are acknowledged and skipped when met.
   * @default undefined (no length trimming)
   */
  maxLen?: number;
  /**
   * Approximate (`~`) age limit: each XADD trims entries older than this many ms.
   * Cannot be combined with `maxLen`.
   * @default undefined (no age trimming)
   */
  minIdMs?: number;
  /**
   * Pending entries idle longer than this are taken over from their (presumably dead) consumer
   * with XAUTOCLAIM; the check runs every `claimIdleMs / 2`.
   * @default 30000
   */
  claimIdleMs?: number;
  /**
   * A record delivered more than this many times is dead-lettered (reason `max-deliveries`) and acknowledged.
   * @default 5
   */
  maxDeliveries?: number;
  /**
   * Stream receiving dead-lettered records with fields `p`, `reason`, `position`, `at`.
   * @default `${stream}:dead`
   */
  deadLetterStream?: string;
  /**
   * How many times a publish or acknowledgement retries transient failures before rejecting.
   * @default 3
   */
  retries?: number;
  /**
   * First retry delay in ms; doubles on each further attempt.
   * @default 50
   */
  retryBaseMs?: number;
  /**
   * How `publish` writes a batch. `'pipeline'`: one XADD per record, all sent in one pipeline.
   * `'script'`: one Lua script call per shard and chunk of up to 1000 records that runs the
   * XADDs inside Redis; same entries, a fraction of the client CPU (see the transport benchmark).
   * A script failing half-way leaves its first records written; a retry writes them again.
   * @default 'pipeline'
   */
  publishMode?: 'pipeline' | 'script';
  /**
   * Cluster mode only: pause between rounds of non-blocking reads that found nothing.
   * @default 10
   */
  clusterPollMs?: number;
}

export const DEFAULT_REDIS_STREAM_OPTIONS = {
  stream: 'fraudstream:tx',
  shards: 1,
  group: 'fraudstream',
  startFrom: '0',
  claimIdleMs: 30_000,
  maxDeliveries: 5,
  retries: 3,
  retryBaseMs: 50,
  clusterPollMs: 10,
  publishMode: 'pipeline',
} as const;

/** {@link RedisStreamOptions} after defaults and validation. */
export interface ResolvedRedisStreamOptions {
  connection: RedisConnectionOptions;
  stream: string;
  shards: number;
  /** Key of each shard, index = shard number. */
  shardKeys: readonly string[];
  group: string;
  consumer: string;
  startFrom: '$' | '0';
  maxLen: number | undefined;
  minIdMs: number | undefined;
  claimIdleMs: number;
  maxDeliveries: number;
  deadLetterStream: string;
  retries: number;
  retryBaseMs: number;
  clusterPollMs: number;
  publishMode: 'pipeline' | 'script';
}

function positiveInt(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function nonEmpty(name: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new ConfigError(`${name} must be a non-empty string`);
  return value;
}

/** Key of shard `index` of `stream`. */
export function redisShardKey(stream: string, index: number): string {
  return `${stream}:{s${index}}`;
}

/** Merges defaults into `options` and validates them; throws {@link ConfigError}. */
export function resolveRedisStreamOptions(options: RedisStreamOptions = {}): ResolvedRedisStreamOptions {
  const d = DEFAULT_REDIS_STREAM_OPTIONS;
  const stream = nonEmpty('stream', options.stream ?? d.stream);
  const shards = positiveInt('shards', options.shards ?? d.shards);
  const startFrom = options.startFrom ?? d.startFrom;
  if (startFrom !== '$' && startFrom !== '0') throw new ConfigError(`startFrom must be '$' or '0'`);
  if (options.maxLen !== undefined) positiveInt('maxLen', options.maxLen);
  if (options.minIdMs !== undefined) positiveInt('minIdMs', options.minIdMs);
  if (options.maxLen !== undefined && options.minIdMs !== undefined) {
    throw new ConfigError('maxLen and minIdMs cannot both be set (XADD trims by one strategy)');
  }
  if (options.url !== undefined && options.cluster !== undefined) {
    throw new ConfigError('set either url (single server) or cluster, not both');
  }
  const publishMode = options.publishMode ?? d.publishMode;
  if (publishMode !== 'pipeline' && publishMode !== 'script') {
    throw new ConfigError(`publishMode must be 'pipeline' or 'script'`);
  }
  const { url, clientOptions, cluster, onError } = options;
  return {
    connection: { url, clientOptions, cluster, onError },
    stream,
    shards,
    shardKeys: Array.from({ length: shards }, (_, i) => redisShardKey(stream, i)),
    group: nonEmpty('group', options.group ?? d.group),
    consumer: nonEmpty('consumer', options.consumer ?? `${hostname()}-${process.pid}`),
    startFrom,
    maxLen: options.maxLen,
    minIdMs: options.minIdMs,
    claimIdleMs: positiveInt('claimIdleMs', options.claimIdleMs ?? d.claimIdleMs),
    maxDeliveries: positiveInt('maxDeliveries', options.maxDeliveries ?? d.maxDeliveries),
    deadLetterStream: nonEmpty('deadLetterStream', options.deadLetterStream ?? `${stream}:dead`),
    retries: positiveInt('retries', options.retries ?? d.retries, 0),
    retryBaseMs: positiveInt('retryBaseMs', options.retryBaseMs ?? d.retryBaseMs, 0),
    clusterPollMs: positiveInt('clusterPollMs', options.clusterPollMs ?? d.clusterPollMs),
    publishMode,
  };
}

/**
 * Shard of a partition key: 32-bit FNV-1a over the UTF-16 code units, modulo `shards`.
 * Stable across processes and versions, so a card always maps to the same shard.
 */
export function shardOf(partitionKey: string, shards: number): number {
  if (shards === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < partitionKey.length; i++) {
    hash ^= partitionKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Raw RESP2 stream entry: `[id, [field, value, ...]]`, fields nil when the entry was trimmed. */
type RawEntry = [string, string[] | null];
type RawStreams = [string, RawEntry[]][] | null;

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function toDelivered(shardKey: string, entry: RawEntry, deliveries: number): DeliveredRecord | undefined {
  const [id, fields] = entry;
  if (!fields) return undefined;
  const t = Number(fieldOf(fields, 't'));
  return {
    payload: fieldOf(fields, 'p') ?? '',
    position: `${shardKey}/${id}`,
    deliveries,
    // The producer's clock when present, else the server's clock from the entry id.
    enqueuedAtMs: Number.isFinite(t) ? t : Number(id.slice(0, id.indexOf('-'))),
  };
}

/** Splits a position `<shardKey>/<entryId>` (entry ids never contain `/`). */
function splitPosition(position: string): [key: string, id: string] {
  const slash = position.lastIndexOf('/');
  if (slash < 0) throw new FraudstreamError(`not a Redis stream position: ${position}`);
  return [position.slice(0, slash), position.slice(slash + 1)];
}

/** Runs `attempt`, retrying transient Redis errors with exponential backoff, then wrapping them. */
async function withRetries<T>(
  what: string,
  options: ResolvedRedisStreamOptions,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isTransientRedisError(error)) throw error;
      if (i >= options.retries) {
        throw new TransientStoreError(`${what} failed after ${i + 1} attempts: ${(error as Error).message}`, {
          cause: error,
        });
      }
      await sleep(options.retryBaseMs * 2 ** i);
    }
  }
}

/**
 * Owns one connection shared by its writers and readers. Use {@link RedisStreamTransport.connect}
 * (or {@link openRedisStreamWriter} / {@link openRedisStreamReader} for one-off use).
 */
export class RedisStreamTransport {
  readonly options: ResolvedRedisStreamOptions;
  private readonly connection: RedisCommandConnection;
  private readonly readers = new Set<RedisStreamReader>();
  private closed = false;

  private constructor(options: ResolvedRedisStreamOptions, connection: RedisCommandConnection) {
    this.options = options;
    this.connection = connection;
  }

  /** Validates options (throws {@link ConfigError}) and connects. */
  static async connect(options: RedisStreamOptions = {}): Promise<RedisStreamTransport> {
    const resolved = resolveRedisStreamOptions(options);
    return new RedisStreamTransport(resolved, await openRedisConnection(resolved.connection));
  }

  /** A writer on the shared connection; its `close()` leaves the connection to the transport. */
  writer(): RedisStreamWriter {
    if (this.closed) throw new ClosedError('RedisStreamTransport is closed');
    return new RedisStreamWriter(this.options, this.connection, async () => {});
  }

  /** A reader on the shared connection (plus its own blocking connection on a single server). */
  reader(readOptions: ReadOptions = {}): RedisStreamReader {
    if (this.closed) throw new ClosedError('RedisStreamTransport is closed');
    const reader = new RedisStreamReader(this.options, this.connection, readOptions, async () => {
      this.readers.delete(reader);
    });
    this.readers.add(reader);
    return reader;
  }

  /** Closes all readers, then the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.readers].map((reader) => reader.close()));
    await this.connection.close();
  }
}

/** Opens a writer with its own connection, closed by the writer's `close()`. */
export async function openRedisStreamWriter(options: RedisStreamOptions = {}): Promise<RedisStreamWriter> {
  const resolved = resolveRedisStreamOptions(options);
  const connection = await openRedisConnection(resolved.connection);
  return new RedisStreamWriter(resolved, connection, () => connection.close());
}

/** Opens a reader with its own connections, closed by the reader's `close()`. */
export async function openRedisStreamReader(
  options: RedisStreamOptions = {},
  readOptions: ReadOptions = {},
): Promise<RedisStreamReader> {
  const resolved = resolveRedisStreamOptions(options);
  const connection = await openRedisConnection(resolved.connection);
  return new RedisStreamReader(resolved, connection, readOptions, () => connection.close());
}

/** Most records added by one script call, so that one call never blocks the server for long. */
export const SCRIPT_CHUNK = 1000;

/**
 * Adds ARGV[4..] as entries `p` = payload, `t` = ARGV[1] to KEYS[1], trimming by ARGV[2]
 * (`MAXLEN`, `MINID` or empty) with threshold ARGV[3]. One command per chunk instead of one per
 * record: far less client CPU and far fewer commands for the server to parse.
 */
const XADD_SCRIPT = `local key, t, strategy, threshold = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
for i = 4, #ARGV do
  if strategy == '' then
    redis.call('XADD', key, '*', 'p', ARGV[i], 't', t)
  else
    redis.call('XADD', key, strategy, '~', threshold, '*', 'p', ARGV[i], 't', t)
  end
end
return #ARGV - 3`;
const XADD_SCRIPT_SHA = createHash('sha1').update(XADD_SCRIPT).digest('hex');

/** Appends records to the shard streams; see the module comment. */
export class RedisStreamWriter implements StreamWriter {
  private readonly options: ResolvedRedisStreamOptions;
  private readonly connection: RedisCommandConnection;
  private readonly release: () => Promise<void>;
  private closed = false;

  /** @internal use {@link RedisStreamTransport.writer} or {@link openRedisStreamWriter}. */
  constructor(
    options: ResolvedRedisStreamOptions,
    connection: RedisCommandConnection,
    release: () => Promise<void>,
  ) {
    this.options = options;
    this.connection = connection;
    this.release = release;
  }

  /**
   * Writes the records in one round trip: per shard either one pipelined XADD per record
   * (`publishMode: 'pipeline'`) or one script call per chunk of up to {@link SCRIPT_CHUNK}
   * records (`'script'`). On a transient failure, for each shard the first failed command and
   * everything after it in that shard are sent again, so the last copy of each record keeps
   * per-key order (earlier copies may remain: delivery is at-least-once anyway).
   */
  async publish(records: readonly OutgoingRecord[]): Promise<void> {
    if (this.closed) throw new ClosedError('RedisStreamWriter is closed');
    if (records.length === 0) return;
    const { shards, publishMode } = this.options;
    // Record indices per shard, in publish order; a command covers `unit` consecutive ones.
    let todo: number[][] = Array.from({ length: shards }, () => []);
    for (let i = 0; i < records.length; i++) todo[shardOf(records[i]!.partitionKey, shards)]!.push(i);
    const unit = publishMode === 'script' ? SCRIPT_CHUNK : 1;
    for (let attempt = 0; ; attempt++) {
      const enqueuedAt = String(Date.now());
      const trim = this.trimArgs();
      // All commands are issued in this tick, so node-redis writes them as one pipeline.
      const perShard = todo.map((indices, shard) => {
        const sends: Promise<unknown>[] = [];
        for (let start = 0; start < indices.length; start += unit) {
          sends.push(
            unit === 1
              ? this.xadd(shard, records[indices[start]!]!.payload, enqueuedAt, trim)
              : this.xaddScript(shard, records, indices.slice(start, start + unit), enqueuedAt, trim),
          );
        }
        return Promise.allSettled(sends);
      });
      const settled = await Promise.all(perShard);
      let lastError: unknown;
      let failedShards = 0;
      const next: number[][] = todo.map(() => []);
      for (let shard = 0; shard < settled.length; shard++) {
        const results = settled[shard]!;
        const failed = results.findIndex((r) => r.status === 'rejected');
        if (failed < 0) continue;
        for (const result of results) {
          if (result.status === 'fulfilled') continue;
          if (!isTransientRedisError(result.reason)) {
            throw new FraudstreamError(`XADD failed: ${(result.reason as Error).message}`, {
              cause: result.reason,
            });
          }
          lastError = result.reason;
        }
        failedShards++;
        next[shard] = todo[shard]!.slice(failed * unit);
      }
      if (failedShards === 0) return;
      if (attempt >= this.options.retries) {
        throw new TransientStoreError(
          `XADD to ${failedShards} shard(s) failed after ${attempt + 1} attempts: ${(lastError as Error).message}`,
          { cause: lastError },
        );
      }
      todo = next;
      await sleep(this.options.retryBaseMs * 2 ** attempt);
    }
  }

  private xadd(
    shard: number,
    payload: string,
    enqueuedAt: string,
    trim: readonly string[],
  ): Promise<unknown> {
    const key = this.options.shardKeys[shard]!;
    const args =
      trim.length === 0
        ? ['XADD', key, '*', 'p', payload, 't', enqueuedAt]
        : ['XADD', key, ...trim, '*', 'p', payload, 't', enqueuedAt];
    return this.connection.send(key, args);
  }

  /** One script call adding `indices` records: EVALSHA, or EVAL (which caches the script) when the server does not know it yet. */
  private async xaddScript(
    shard: number,
    records: readonly OutgoingRecord[],
    indices: readonly number[],
    enqueuedAt: string,
    trim: readonly string[],
  ): Promise<unknown> {
    const key = this.options.shardKeys[shard]!;
    const args = ['1', key, enqueuedAt, trim[0] ?? '', trim[2] ?? ''];
    for (const i of indices) args.push(records[i]!.payload);
    try {
      return await this.connection.send(key, ['EVALSHA', XADD_SCRIPT_SHA, ...args]);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return this.connection.send(key, ['EVAL', XADD_SCRIPT, ...args]);
    }
  }

  private trimArgs(): string[] {
    const { maxLen, minIdMs } = this.options;
    if (maxLen !== undefined) return ['MAXLEN', '~', String(maxLen)];
    if (minIdMs !== undefined) return ['MINID', '~', String(Date.now() - minIdMs)];
    return [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release();
  }
}

/** Reads the shard streams as one consumer of the group; see the module comment. */
export class RedisStreamReader implements StreamReader, DeadLetterSink {
  private readonly options: ResolvedRedisStreamOptions;
  private readonly connection: RedisCommandConnection;
  private readonly releaseConnection: () => Promise<void>;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly shardIndex = new Map<string, number>();

  private closing = false;
  private closed?: Promise<void>;
  private iterating = false;
  private blocking?: BlockingRedisConnection;
  private wakeSleep?: () => void;
  /** Delivered by Redis beyond `maxBatch`; handed out before anything else. */
  private buffer: DeliveredRecord[] = [];
  /** Released records per shard, claimed back on the next read. */
  private released: DeliveredRecord[][];
  /** Per shard: id after which the own PEL is still to be re-read, or undefined when done. */
  private recoverAfter: (string | undefined)[];
  private claimCursor: string[];
  private nextClaimAtMs = 0;
  readonly deadLetterCounts = new Map<string, number>();

  /** @internal use {@link RedisStreamTransport.reader} or {@link openRedisStreamReader}. */
  constructor(
    options: ResolvedRedisStreamOptions,
    connection: RedisCommandConnection,
    readOptions: ReadOptions,
    releaseConnection: () => Promise<void>,
  ) {
    this.options = options;
    this.connection = connection;
    this.releaseConnection = releaseConnection;
    ({ maxBatch: this.maxBatch, maxWaitMs: this.maxWaitMs } = resolveReadOptions(readOptions));
    options.shardKeys.forEach((key, i) => {
      this.shardIndex.set(key, i);
    });
    this.released = options.shardKeys.map(() => []);
    this.recoverAfter = options.shardKeys.map(() => '0');
    this.claimCursor = options.shardKeys.map(() => '0-0');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly DeliveredRecord[]> {
    if (this.iterating)
      throw new FraudstreamError('a RedisStreamReader can be iterated by one loop at a time');
    this.iterating = true;
    let failures = 0;
    try {
      await this.ensureGroups();
      if (this.connection.kind === 'standalone' && !this.closing && !this.blocking) {
        this.blocking = await this.connection.openBlocking();
        if (this.closing) this.blocking.destroy();
      }
      while (!this.closing) {
        let batch: DeliveredRecord[];
        try {
          batch = await this.nextBatch();
          failures = 0;
        } catch (error) {
          if (this.closing) break;
          if (error instanceof Error && error.message.startsWith('NOGROUP')) {
            // The stream or group was deleted under us (e.g. FLUSHALL): recreate and go on.
            await this.ensureGroups();
            continue;
          }
          if (!isTransientRedisError(error) || failures >= this.options.retries) throw error;
          await this.sleep(this.options.retryBaseMs * 2 ** failures++);
          continue;
        }
        // Records read while closing stay pending and are redelivered; do not hand them out.
        if (this.closing) break;
        yield batch;
      }
    } finally {
      this.iterating = false;
    }
  }

  /** XACKs the records, one pipelined XACK per shard. */
  async ack(records: readonly DeliveredRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byShard = this.groupByShard(records);
    await withRetries('XACK', this.options, () =>
      Promise.all(
        [...byShard].map(([key, ids]) =>
          this.connection.send(key, ['XACK', key, this.options.group, ...ids]),
        ),
      ),
    );
  }

  /**
   * Gives records back: they stay in the PEL and the next read claims them back (XCLAIM with
   * min-idle 0), delivering them again with `deliveries + 1`.
   */
  async release(records: readonly DeliveredRecord[]): Promise<void> {
    for (const record of records) {
      const [key] = splitPosition(record.position);
      const shard = this.shardIndex.get(key);
      if (shard === undefined)
        throw new FraudstreamError(`record is not from this reader: ${record.position}`);
      this.released[shard]!.push(record);
    }
  }

  /**
   * Moves records to the dead-letter stream (`p`, `reason`, `position`, `at`) and acknowledges
   * them. The XADDs are pipelined and awaited before the XACKs, so a record is never
   * acknowledged unless its dead-letter copy was written.
   */
  async deadLetter(items: readonly { record: DeliveredRecord; reason: string }[]): Promise<void> {
    if (items.length === 0) return;
    const dead = this.options.deadLetterStream;
    const at = String(Date.now());
    await withRetries('dead-letter XADD', this.options, () =>
      Promise.all(
        items.map(({ record, reason }) =>
          this.connection.send(dead, [
            'XADD',
            dead,
            '*',
            'p',
            record.payload,
            'reason',
            reason,
            'position',
            record.position,
            'at',
            at,
          ]),
        ),
      ),
    );
    await this.ack(items.map((item) => item.record));
    for (const { reason } of items)
      this.deadLetterCounts.set(reason, (this.deadLetterCounts.get(reason) ?? 0) + 1);
  }

  /** Stops reading; an in-flight blocking read is interrupted by destroying its connection. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.wakeSleep?.();
      this.blocking?.destroy();
      await this.releaseConnection();
    })();
    return this.closed;
  }

  private groupByShard(records: readonly DeliveredRecord[]): Map<string, string[]> {
    const byShard = new Map<string, string[]>();
    for (const record of records) {
      const [key, id] = splitPosition(record.position);
      if (!this.shardIndex.has(key))
        throw new FraudstreamError(`record is not from this reader: ${record.position}`);
      const ids = byShard.get(key);
      if (ids) ids.push(id);
      else byShard.set(key, [id]);
    }
    return byShard;
  }

  private async ensureGroups(): Promise<void> {
    const { group, startFrom } = this.options;
    await withRetries('XGROUP CREATE', this.options, () =>
      Promise.all(
        this.options.shardKeys.map((key) =>
          this.connection
            .send(key, ['XGROUP', 'CREATE', key, group, startFrom, 'MKSTREAM'])
            .catch((error) => {
              if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
            }),
        ),
      ),
    );
  }

  /** Interruptible sleep: close() wakes it. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  /**
   * One batch, in order of precedence: records buffered from an oversized read, released
   * records, the own PEL left by a predecessor, entries claimed from idle consumers, new entries.
   */
  private async nextBatch(): Promise<DeliveredRecord[]> {
    if (this.buffer.length > 0) return this.takeFromBuffer();
    const collected: DeliveredRecord[] = [];
    await this.claimReleased(collected);
    await this.recoverOwnPending(collected);
    if (Date.now() >= this.nextClaimAtMs) await this.claimIdle(collected);
    const deliverable = await this.screenDeliveries(collected);
    if (deliverable.length > 0) {
      this.buffer = deliverable;
      return this.takeFromBuffer();
    }
    // New entries only once the own PEL is recovered: read earlier, they would be in that PEL.
    if (this.recoverAfter.some((after) => after !== undefined)) return [];
    const fresh =
      this.connection.kind === 'standalone' ? await this.readBlocking() : await this.readPolling();
    this.buffer = fresh;
    return this.takeFromBuffer();
  }

  private takeFromBuffer(): DeliveredRecord[] {
    if (this.buffer.length <= this.maxBatch) {
      const batch = this.buffer;
      this.buffer = [];
      return batch;
    }
    return this.buffer.splice(0, this.maxBatch);
  }

  /** Removes duplicates and dead-letters records delivered more than `maxDeliveries` times. */
  private async screenDeliveries(records: DeliveredRecord[]): Promise<DeliveredRecord[]> {
    if (records.length === 0) return records;
    const seen = new Set<string>();
    const keep: DeliveredRecord[] = [];
    const exhausted: { record: DeliveredRecord; reason: string }[] = [];
    for (const record of records) {
      if (seen.has(record.position)) continue;
      seen.add(record.position);
      if (record.deliveries > this.options.maxDeliveries)
        exhausted.push({ record, reason: 'max-deliveries' });
      else keep.push(record);
    }
    await this.deadLetter(exhausted);
    return keep;
  }

  private async claimReleased(out: DeliveredRecord[]): Promise<void> {
    const { shardKeys, group, consumer } = this.options;
    const work: Promise<void>[] = [];
    for (let shard = 0; shard < shardKeys.length; shard++) {
      const records = this.released[shard]!;
      if (records.length === 0) continue;
      this.released[shard] = [];
      const key = shardKeys[shard]!;
      const previous = new Map<string, number>();
      for (const record of records) previous.set(splitPosition(record.position)[1], record.deliveries);
      work.push(
        this.connection
          .send<RawEntry[]>(key, ['XCLAIM', key, group, consumer, '0', ...previous.keys()])
          .then((entries) => {
            for (const entry of entries) {
              // XCLAIM increments the delivery count by one; acknowledged ids are not returned.
              const record = toDelivered(key, entry, (previous.get(entry[0]) ?? 0) + 1);
              if (record) out.push(record);
            }
          }),
      );
    }
    await Promise.all(work);
  }

  private async recoverOwnPending(out: DeliveredRecord[]): Promise<void> {
    const { shardKeys, group, consumer } = this.options;
    const work: Promise<void>[] = [];
    for (let shard = 0; shard < shardKeys.length; shard++) {
      const after = this.recoverAfter[shard];
      if (after === undefined) continue;
      const key = shardKeys[shard]!;
      const count = String(this.maxBatch);
      work.push(
        (async () => {
          const reply = await this.connection.send<RawStreams>(key, [
            'XREADGROUP',
            'GROUP',
            group,
            consumer,
            'COUNT',
            count,
            'STREAMS',
            key,
            after,
          ]);
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) {
            this.recoverAfter[shard] = undefined;
            return;
          }
          const first = entries[0]![0];
          const last = entries[entries.length - 1]![0];
          // A short page is the end of what a predecessor left; paging on would re-read entries
          // this reader delivered since (still in flight) and bump their delivery counts.
          this.recoverAfter[shard] = entries.length < this.maxBatch ? undefined : last;
          // Re-reading the PEL has incremented the counts; XPENDING over the same range and
          // consumer returns exactly these entries with their counts.
          const pending = await this.connection.send<[string, string, number, number][]>(key, [
            'XPENDING',
            key,
            group,
            first,
            last,
            count,
            consumer,
          ]);
          await this.collect(key, entries, pending, out);
        })(),
      );
    }
    await Promise.all(work);
  }

  private async claimIdle(out: DeliveredRecord[]): Promise<void> {
    const { shardKeys, group, consumer, claimIdleMs } = this.options;
    let morePages = false;
    await Promise.all(
      shardKeys.map(async (key, shard) => {
        const [next, entries] = await this.connection.send<[string, (RawEntry | null)[], string[]]>(key, [
          'XAUTOCLAIM',
          key,
          group,
          consumer,
          String(claimIdleMs),
          this.claimCursor[shard]!,
          'COUNT',
          String(this.maxBatch),
        ]);
        this.claimCursor[shard] = next;
        if (next !== '0-0') morePages = true;
        const claimed = entries.filter((entry): entry is RawEntry => entry !== null);
        if (claimed.length === 0) return;
        // XAUTOCLAIM does not report delivery counts; ask XPENDING for each claimed id (rare path).
        const pending = await Promise.all(
          claimed.map((entry) =>
            this.connection.send<[string, string, number, number][]>(key, [
              'XPENDING',
              key,
              group,
              entry[0],
              entry[0],
              '1',
              consumer,
            ]),
          ),
        );
        await this.collect(key, claimed, pending.flat(), out);
      }),
    );
    this.nextClaimAtMs = morePages ? 0 : Date.now() + claimIdleMs / 2;
  }

  /** Turns PEL entries with their XPENDING rows into records; acknowledges trimmed ones. */
  private async collect(
    key: string,
    entries: readonly RawEntry[],
    pending: readonly [string, string, number, number][],
    out: DeliveredRecord[],
  ): Promise<void> {
    const counts = new Map<string, number>();
    for (const row of pending) counts.set(row[0], Number(row[3]));
    const trimmed: string[] = [];
    for (const entry of entries) {
      const record = toDelivered(key, entry, counts.get(entry[0]) ?? 1);
      if (record) out.push(record);
      else trimmed.push(entry[0]);
    }
    if (trimmed.length > 0) await this.connection.send(key, ['XACK', key, this.options.group, ...trimmed]);
  }

  private parseNew(reply: RawStreams): DeliveredRecord[] {
    const out: DeliveredRecord[] = [];
    if (!reply) return out;
    for (const [key, entries] of reply) {
      for (const entry of entries) {
        const record = toDelivered(key, entry, 1);
        if (record) out.push(record);
      }
    }
    return out;
  }

  private async readBlocking(): Promise<DeliveredRecord[]> {
    const { group, consumer, shardKeys } = this.options;
    const blocking = this.blocking;
    if (!blocking) return [];
    const args = ['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(this.maxBatch)];
    // BLOCK 0 would wait forever; maxWaitMs 0 means "do not wait".
    if (this.maxWaitMs > 0) args.push('BLOCK', String(this.maxWaitMs));
    args.push('STREAMS', ...shardKeys, ...shardKeys.map(() => '>'));
    return this.parseNew(await blocking.send<RawStreams>(args));
  }

  private async readPolling(): Promise<DeliveredRecord[]> {
    const { group, consumer, shardKeys } = this.options;
    const deadline = Date.now() + this.maxWaitMs;
    const count = String(this.maxBatch);
    for (;;) {
      const replies = await Promise.all(
        shardKeys.map((key) =>
          this.connection.send<RawStreams>(key, [
            'XREADGROUP',
            'GROUP',
            group,
            consumer,
            'COUNT',
            count,
            'STREAMS',
            key,
            '>',
          ]),
        ),
      );
      const records = replies.flatMap((reply) => this.parseNew(reply));
      const now = Date.now();
      if (records.length > 0 || now >= deadline || this.closing) return records;
      await this.sleep(Math.min(this.options.clusterPollMs, deadline - now));
    }
  }
}
