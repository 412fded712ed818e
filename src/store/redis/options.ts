import { ConfigError } from '../../errors/index.js';
import type { RedisConnectionOptions } from '../../transports/index.js';

/** Which Redis data types the store writes: module types, core types, or whatever the server has. */
export const REDIS_STORE_LAYOUTS = ['auto', 'modules', 'core'] as const;
export type RedisStoreLayoutOption = (typeof REDIS_STORE_LAYOUTS)[number];
/** The layout actually in use after detection. */
export type RedisStoreLayout = 'modules' | 'core';

/**
 * Options of {@link RedisStore}. Connection fields (url, cluster, client options with TLS,
 * username, password) are those of the Redis transport; credentials are never logged.
 */
export interface RedisStoreOptions extends RedisConnectionOptions {
  /**
   * Prefix of every key the store writes (except the lab's series keys on the module layout,
   * see {@link RedisStoreOptions.seriesKeyPrefix}). Must not contain `{` or `}`: the store
   * places its own hash tags.
   * @default 'fraudstream:'
   */
  prefix?: string;
  /**
   * Prefix of the RedisTimeSeries keys on the module layout. Empty by default so the keys are
   * the reference lab's exactly (`fraud-ts`, `fraudulent_ts`, `non-fraudulent_ts`) and its
   * Grafana panels work unchanged.
   * @default ''
   */
  seriesKeyPrefix?: string;
  /**
   * Expire transaction documents after this many seconds (which also ends idempotency for
   * them: a record redelivered after its document expired is stored again). Seven days bounds
   * the store's memory at a week of traffic while covering any redelivery, replay or label
   * delay seen in practice. `0` keeps them until deleted.
   * @default 604800 (7 days)
   */
  transactionTtlSeconds?: number;
  /**
   * How long score series points are kept, in ms, counted back from the newest point written
   * (as the memory store and RedisTimeSeries `RETENTION` do); counter buckets expire this long
   * after their last write. One hour covers the dashboard's longest panel.
   * @default 3600000
   */
  seriesRetentionMs?: number;
  /**
   * Approximate length of the alerts stream (`XADD ... MAXLEN ~`).
   * @default 10000
   */
  maxAlerts?: number;
  /**
   * Approximate length of the dead-letter stream (`XADD ... MAXLEN ~`); the count of dead
   * letters ever stored keeps counting past it.
   * @default 10000
   */
  maxDeadLetters?: number;
  /**
   * Largest dead-letter payload stored, in UTF-8 bytes; a longer one is cut at a character
   * boundary and stored with its full size and SHA-256 (`payloadBytes`, `payloadSha256`).
   * @default 65536
   */
  maxDeadLetterPayloadBytes?: number;
  /**
   * `auto` uses RedisJSON and RedisTimeSeries when the server has both, core types otherwise;
   * `modules` fails at connect without them; `core` never uses them.
   * @default 'auto'
   */
  layout?: RedisStoreLayoutOption;
  /**
   * Number of store shards S: each record lives, with its share of series and counters, in the
   * shard `{s<i>}` chosen by a hash of its key, so one script call per shard writes a batch on a
   * cluster. Fix it for a deployment: changing it moves record keys (idempotency is per shard).
   * @default 1 on a single server, 16 on a cluster
   */
  shards?: number;
  /**
   * Write the search indexes of `searchTransactions` (per card, terminal and decision; see
   * `search.ts`) with every batch. Off saves about three sorted-set writes per record, and
   * `searchTransactions` then fails with `NotAvailableError`.
   * @default true
   */
  searchIndexes?: boolean;
  /**
   * Receives one-line notes about the connection (layout detected, compaction rules skipped).
   * @default undefined (silent)
   */
  onInfo?: (message: string) => void;
}

export interface ResolvedRedisStoreOptions {
  prefix: string;
  seriesKeyPrefix: string;
  transactionTtlSeconds: number;
  seriesRetentionMs: number;
  maxAlerts: number;
  maxDeadLetters: number;
  maxDeadLetterPayloadBytes: number;
  layout: RedisStoreLayoutOption;
  /** `undefined` = the connection-dependent default. */
  shards: number | undefined;
  searchIndexes: boolean;
}

export const DEFAULT_REDIS_STORE_OPTIONS = {
  prefix: 'fraudstream:',
  seriesKeyPrefix: '',
  transactionTtlSeconds: 604_800,
  seriesRetentionMs: 3_600_000,
  maxAlerts: 10_000,
  maxDeadLetters: 10_000,
  maxDeadLetterPayloadBytes: 65_536,
  layout: 'auto',
  searchIndexes: true,
  standaloneShards: 1,
  clusterShards: 16,
} as const;

/** Merges defaults into the store's own options and validates them; throws {@link ConfigError}. */
export function resolveRedisStoreOptions(options: RedisStoreOptions = {}): ResolvedRedisStoreOptions {
  const d = DEFAULT_REDIS_STORE_OPTIONS;
  const prefix = options.prefix ?? d.prefix;
  const seriesKeyPrefix = options.seriesKeyPrefix ?? d.seriesKeyPrefix;
  for (const [name, value] of [
    ['prefix', prefix],
    ['seriesKeyPrefix', seriesKeyPrefix],
  ] as const) {
    if (typeof value !== 'string' || /[{}]/.test(value)) {
      throw new ConfigError(`redis store ${name} must be a string without '{' or '}', got ${String(value)}`);
    }
  }
  const integer = (name: string, value: number, min: number): number => {
    if (!(Number.isInteger(value) && value >= min)) {
      throw new ConfigError(`redis store ${name} must be an integer >= ${min}, got ${String(value)}`);
    }
    return value;
  };
  const layout = options.layout ?? d.layout;
  if (!REDIS_STORE_LAYOUTS.includes(layout)) {
    throw new ConfigError(
      `redis store layout must be one of ${REDIS_STORE_LAYOUTS.join(', ')}, got ${layout}`,
    );
  }
  return {
    prefix,
    seriesKeyPrefix,
    transactionTtlSeconds: integer(
      'transactionTtlSeconds',
      options.transactionTtlSeconds ?? d.transactionTtlSeconds,
      0,
    ),
    seriesRetentionMs: integer('seriesRetentionMs', options.seriesRetentionMs ?? d.seriesRetentionMs, 1),
    maxAlerts: integer('maxAlerts', options.maxAlerts ?? d.maxAlerts, 1),
    maxDeadLetters: integer('maxDeadLetters', options.maxDeadLetters ?? d.maxDeadLetters, 1),
    maxDeadLetterPayloadBytes: integer(
      'maxDeadLetterPayloadBytes',
      options.maxDeadLetterPayloadBytes ?? d.maxDeadLetterPayloadBytes,
      1,
    ),
    layout,
    shards: options.shards === undefined ? undefined : integer('shards', options.shards, 1),
    searchIndexes: options.searchIndexes ?? d.searchIndexes,
  };
}
