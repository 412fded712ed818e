import { redactUrl } from '../config/index.js';
import { ConfigError, NotAvailableError } from '../errors/index.js';
import type { WindowState } from '../features/index.js';
import { MemoryStore, type Store } from '../store/index.js';
import { isRedisUrl, type RedisFlags, resolveRedisUrl } from './connections.js';

/** The store named by `--store`: `memory` or a Redis URL. */
export async function openStore(spec: string, _flags: RedisFlags): Promise<Store> {
  if (spec === 'memory') return new MemoryStore();
  const url = resolveRedisUrl(spec);
  if (isRedisUrl(url)) throw new NotAvailableError('the Redis store is not available yet in this build');
  throw new ConfigError(`unknown store "${redactUrl(spec)}"; expected memory or redis://HOST:PORT`);
}

/** Feature window state for a store: in Redis when the store is Redis (shared by all consumers), else in memory (undefined). */
export async function openWindowState(
  spec: string,
  _flags: RedisFlags,
  _delayDays: number,
): Promise<WindowState | undefined> {
  if (spec === 'memory') return undefined;
  return undefined;
}
