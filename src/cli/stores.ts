import { redactUrl } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { RedisWindowState, type WindowState } from '../features/index.js';
import type { Logger } from '../logging/index.js';
import type { RedisConnectionOptions } from '../redis/index.js';
import { MemoryStore, RedisStore, type Store } from '../store/index.js';
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
