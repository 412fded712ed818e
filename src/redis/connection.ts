/**
 * A thin layer over node-redis that lets the Redis transport speak to a single server and to a
 * Redis Cluster through one small interface: raw commands routed by key, and (single server
 * only) a dedicated connection for blocking reads.
 *
 * Raw `sendCommand` is used instead of the typed helpers because the transport needs the exact
 * RESP2 reply shapes (nil entries of trimmed records, delivery counts) and no per-reply
 * object transformation on the hot path.
 */

import type { RedisClientOptions, RedisClusterOptions } from 'redis';
import { ClientClosedError, createClient, createCluster, ErrorReply, RESP_TYPES } from 'redis';
import { ConfigError } from '../errors/index.js';

/** How to reach Redis. Credentials are never logged nor put into error messages. */
export interface RedisConnectionOptions {
  /**
   * `redis[s]://[[username][:password]@][host][:port][/db-number]`; `rediss://` enables TLS.
   * Ignored when {@link RedisConnectionOptions.cluster} is set.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * Extra node-redis client options (e.g. `socket: { tls: true, ca }`, `username`, `password`),
   * merged over `url`. In cluster mode they become the defaults of every node connection.
   * @default {}
   */
  clientOptions?: RedisClientOptions;
  /**
   * Connect to a Redis Cluster instead of a single server (`rootNodes` are the seed nodes).
   * @default undefined (single server)
   */
  cluster?: RedisClusterOptions;
  /**
   * Called with connection errors that node-redis reports asynchronously (it reconnects by
   * itself; commands issued meanwhile fail or wait). Without it such errors are dropped, which
   * is safe because every command that fails also rejects its own promise.
   * @default undefined
   */
  onError?: (error: Error) => void;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A connection used only for one blocking command at a time; `destroy()` interrupts it at once. */
export interface BlockingRedisConnection {
  send<T>(args: readonly string[]): Promise<T>;
  destroy(): void;
}

/** Per-command options of {@link RedisCommandConnection.send}. */
export interface SendOptions {
  /**
   * Return bulk strings as Buffers instead of decoding them as UTF-8 text.
   * @default false
   */
  binary?: boolean;
}

/** node-redis command options that keep bulk strings as raw bytes. */
const BINARY_REPLY = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as const;

/** Commands routed by key to the right server; the same interface for a server and a cluster. */
export interface RedisCommandConnection {
  readonly kind: 'standalone' | 'cluster';
  /**
   * Sends one raw command; `key` selects the cluster node. Commands sent in one tick are pipelined.
   * With `binary`, bulk strings in the reply are Buffers (for replies packed by scripts).
   */
  send<T>(key: string, args: readonly string[], options?: SendOptions): Promise<T>;
  /** A second connection to the same server for blocking reads (single server only). */
  openBlocking(): Promise<BlockingRedisConnection>;
  /** Waits for replies in flight, then closes. Idempotent. */
  close(): Promise<void>;
}

/** Opens a connection (single server or cluster) and waits until it is ready. */
export async function openRedisConnection(options: RedisConnectionOptions): Promise<RedisCommandConnection> {
  const onError = options.onError ?? (() => {});
  if (options.cluster) {
    if (!Array.isArray(options.cluster.rootNodes) || options.cluster.rootNodes.length === 0) {
      throw new ConfigError('cluster.rootNodes must list at least one node');
    }
    const cluster = createCluster({
      ...options.cluster,
      defaults: { ...options.clientOptions, ...options.cluster.defaults },
    });
    cluster.on('error', onError);
    await cluster.connect();
    let closed = false;
    return {
      kind: 'cluster',
      send: (key, args, options) =>
        cluster.sendCommand(key, false, [...args], options?.binary ? BINARY_REPLY : undefined),
      openBlocking: () =>
        Promise.reject(new ConfigError('blocking connections are not used in cluster mode')),
      close: async () => {
        if (closed) return;
        closed = true;
        await cluster.close();
      },
    };
  }
  const client = createClient({ url: options.url ?? DEFAULT_REDIS_URL, ...options.clientOptions });
  client.on('error', onError);
  await client.connect();
  let closed = false;
  return {
    kind: 'standalone',
    send: (_key, args, options) => client.sendCommand(args, options?.binary ? BINARY_REPLY : undefined),
    openBlocking: async () => {
      const blocking = client.duplicate();
      blocking.on('error', onError);
      await blocking.connect();
      return {
        send: (args) => blocking.sendCommand(args),
        destroy: () => {
          if (blocking.isOpen) blocking.destroy();
        },
      };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

/**
 * Server replies that mean "try again shortly" (loading, failover, resharding, busy script, and
 * `OOM command not allowed`: memory comes back as keys expire and streams are trimmed). None is
 * caused by one record, so none may send a record to the dead letters.
 */
const TRANSIENT_REPLY_PREFIXES = [
  'LOADING',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'MASTERDOWN',
  'BUSY ',
  'READONLY',
  'OOM ',
];

/**
 * Whether a failed command is worth retrying: lost connections and timeouts are, and so are a
 * few server replies; other server errors (WRONGTYPE, syntax) and use after close are not.
 */
export function isTransientRedisError(error: unknown): boolean {
  if (error instanceof ClientClosedError) return false;
  if (error instanceof ErrorReply) {
    return TRANSIENT_REPLY_PREFIXES.some((prefix) => error.message.startsWith(prefix));
  }
  return error instanceof Error;
}

/** `url` with any password replaced by `***`, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
