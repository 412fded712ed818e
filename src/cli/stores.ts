import { redactUrl } from '../config/index.js';
import { ConfigError, TransientStoreError } from '../errors/index.js';
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
  log?: Logger,
): Promise<WindowState | undefined> {
  if (spec === 'memory') return undefined;
  const url = resolveRedisUrl(spec);
  if (!isRedisUrl(url)) return undefined;
  const state = await RedisWindowState.connect({
    ...redisConnection(url, flags),
    delayDays,
    ...(flags.prefix !== undefined && { prefix: `${flags.prefix}fs:` }),
  });
  return retryingWindowState(state, log);
}

/** How long a window state call keeps retrying transient failures before giving up. */
const WINDOW_STATE_RETRY_MS = 30_000;

/**
 * Retries transient failures (lost connection, server restarting) of window state calls with
 * capped back-off. Why: the consumer computes features before the part of a batch it releases on
 * a store failure, so without this a Redis restart ends the process. Retrying is safe: the state
 * recognises a re-delivered event by its key and time and stores it once.
 */
function retryingWindowState(state: WindowState, log: Logger | undefined): WindowState {
  const retry = async (run: () => Promise<void>): Promise<void> => {
    const deadline = Date.now() + WINDOW_STATE_RETRY_MS;
    for (let delayMs = 100; ; delayMs = Math.min(delayMs * 2, 2_000)) {
      try {
        return await run();
      } catch (error) {
        if (!(error instanceof TransientStoreError) || Date.now() + delayMs > deadline) throw error;
        log?.warn({ err: error.message, retryInMs: delayMs }, 'window state unavailable; retrying');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  };
  return {
    config: state.config,
    updateAndRead: (events, out) => retry(() => state.updateAndRead(events, out)),
    applyFeedback: (items) => retry(() => state.applyFeedback(items)),
    close: async () => state.close?.(),
  };
}
