import { redactUrl } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import {
  type CardHistoryState,
  RedisCardHistoryState,
  RedisWindowState,
  type WindowState,
} from '../features/index.js';
import type { Logger } from '../logging/index.js';
import type { RedisConnectionOptions } from '../redis/index.js';
import { MemoryStore, RedisStore, type Store } from '../store/index.js';
import {
  FileCheckpointStore,
  type KinesisCheckpointStore,
  RedisCheckpointStore,
} from '../transports/index.js';
import { isRedisUrl, type RedisFlags, resolveRedisUrl } from './connections.js';

/** Redis connection options for a URL and the `--redis-cluster` flag. */
export function redisConnection(url: string, flags: RedisFlags): RedisConnectionOptions {
  return flags.redisCluster ? { cluster: { rootNodes: [{ url }] } } : { url };
}

/** Key prefix flag shared by store and feature state (`--prefix`). */
export interface PrefixFlags {
  prefix?: string;
}

/** The store named by `--store`: `memory` or a Redis URL. */
export async function openStore(spec: string, flags: RedisFlags & PrefixFlags, log?: Logger): Promise<Store> {
  if (spec === 'memory') return new MemoryStore();
  const url = resolveRedisUrl(spec);
  if (isRedisUrl(url)) {
    return RedisStore.connect({
      ...redisConnection(url, flags),
      ...(flags.prefix !== undefined && { prefix: flags.prefix }),
      onInfo: (message) => log?.info({ store: redactUrl(url) }, message),
    });
  }
  throw new ConfigError(`unknown store "${redactUrl(spec)}"; expected memory or redis://HOST:PORT`);
}

/**
 * Feature window state for a store: in Redis when the store is Redis, so every consumer of a
 * group shares the same card and terminal windows; `undefined` (in-process memory) otherwise.
 */
export async function openWindowState(
  spec: string,
  flags: RedisFlags & PrefixFlags,
  delayDays: number,
): Promise<WindowState | undefined> {
  if (spec === 'memory') return undefined;
  const url = resolveRedisUrl(spec);
  if (!isRedisUrl(url)) return undefined;
  return RedisWindowState.connect({
    ...redisConnection(url, flags),
    delayDays,
    ...(flags.prefix !== undefined && { prefix: `${flags.prefix}fs:` }),
  });
}

/**
 * Card history of `transactions-plus` for a store: in Redis beside the window state when the
 * store is Redis (shared by every consumer), `undefined` (in-process memory) otherwise.
 */
export async function openCardHistory(
  spec: string,
  flags: RedisFlags & PrefixFlags,
): Promise<CardHistoryState | undefined> {
  if (spec === 'memory') return undefined;
  const url = resolveRedisUrl(spec);
  if (!isRedisUrl(url)) return undefined;
  return RedisCardHistoryState.connect({
    ...redisConnection(url, flags),
    ...(flags.prefix !== undefined && { prefix: `${flags.prefix}fs:` }),
  });
}

/** Where `consume --from kinesis://STREAM` keeps its read positions (`--checkpoints`). */
export interface CheckpointFlags {
  checkpoints?: string;
}

/** Durable Kinesis checkpoints, described for the start-up log line. */
export interface OpenCheckpoints {
  readonly store: KinesisCheckpointStore | undefined;
  /** `redis <key>`, `file <path>` or `none`. */
  readonly where: string;
  close(): Promise<void>;
}

/**
 * The checkpoint store of a Kinesis consumer: `redis` = a hash beside the Redis store
 * (`<prefix>kinesis:checkpoints:<stream>`), the default when the store is Redis; `file:PATH` = a
 * JSON file; `none` = in memory only, the default with the memory store (whose records are gone
 * after a restart too, so reading the stream again from the trim horizon is then what is wanted).
 */
export async function openKinesisCheckpoints(
  streamName: string,
  storeSpec: string,
  flags: CheckpointFlags & RedisFlags & PrefixFlags,
): Promise<OpenCheckpoints> {
  const url = storeSpec === 'memory' ? undefined : resolveRedisUrl(storeSpec);
  // The store's Redis, if the store is on Redis.
  const storeRedis = url !== undefined && isRedisUrl(url) ? url : undefined;
  const choice = flags.checkpoints ?? (storeRedis ? 'redis' : 'none');
  if (choice === 'none') return { store: undefined, where: 'none', close: async () => {} };
  if (choice.startsWith('file:')) {
    const path = choice.slice('file:'.length);
    if (!path) throw new ConfigError('--checkpoints file:PATH needs a path');
    return { store: new FileCheckpointStore(path), where: `file ${path}`, close: async () => {} };
  }
  if (choice === 'redis') {
    if (!storeRedis) {
      throw new ConfigError(
        '--checkpoints redis keeps them beside a Redis store: add --store redis://HOST:PORT',
      );
    }
    const key = `${flags.prefix ?? 'fraudstream:'}kinesis:checkpoints:${streamName}`;
    const store = await RedisCheckpointStore.connect({ ...redisConnection(storeRedis, flags), key });
    return { store, where: `redis ${key}`, close: () => store.close() };
  }
  throw new ConfigError(`--checkpoints must be redis, file:PATH or none, got "${choice}"`);
}
