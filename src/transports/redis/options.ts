/**
 * Options of the Redis Streams transport: their defaults, validation, and the stable mapping
 * of partition keys to shard keys.
 */
import { hostname } from 'node:os';
import { ConfigError } from '../../errors/index.js';
import type { RedisConnectionOptions } from '../../redis/index.js';

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
   * Stream receiving dead-lettered records with fields `p` (payload, cut to
   * `deadLetterMaxPayloadBytes`), `size` (the payload's full size in bytes), `sha256` (of the full
   * payload), `reason`, `position`, `at`.
   * @default `${stream}:dead`
   */
  deadLetterStream?: string;
  /**
   * Approximate (`~`) maximum length of the dead-letter stream, applied on every dead-letter XADD,
   * so a flood of bad records cannot fill the server's memory. The oldest dead letters go first.
   * @default 100000
   */
  deadLetterMaxLen?: number;
  /**
   * Largest payload kept in a dead letter, in UTF-8 bytes; a longer payload is cut at a character
   * boundary, and its full size and SHA-256 are kept beside it to identify the original.
   * @default 65536
   */
  deadLetterMaxPayloadBytes?: number;
  /**
   * How often a reader trims acknowledged entries from its shard streams, in ms: `XTRIM MINID`
   * below every group's oldest pending entry and last-delivered id, so nothing unacknowledged or
   * undelivered is removed. Periodic, not per batch, to keep the read path short. `0` never trims.
   * @default 60000
   */
  trimIntervalMs?: number;
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
  deadLetterMaxLen: 100_000,
  deadLetterMaxPayloadBytes: 65_536,
  trimIntervalMs: 60_000,
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
  deadLetterMaxLen: number;
  deadLetterMaxPayloadBytes: number;
  trimIntervalMs: number;
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
    deadLetterMaxLen: positiveInt('deadLetterMaxLen', options.deadLetterMaxLen ?? d.deadLetterMaxLen),
    deadLetterMaxPayloadBytes: positiveInt(
      'deadLetterMaxPayloadBytes',
      options.deadLetterMaxPayloadBytes ?? d.deadLetterMaxPayloadBytes,
    ),
    trimIntervalMs: positiveInt('trimIntervalMs', options.trimIntervalMs ?? d.trimIntervalMs, 0),
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
