/**
 * Turns `--from`, `--to`, `--store` and `--redis` values into transports, stores and feature
 * state. Every backend is named by a URL: `memory`, `redis://…` / `rediss://…` (TLS), and
 * `kinesis://STREAM`. Credentials come from the URL or the environment and are never printed.
 */
import { redactUrl, redisUrlFromEnv } from '../config/index.js';
import { ConfigError, NotAvailableError } from '../errors/index.js';
import {
  type RedisStreamOptions,
  RedisStreamTransport,
  type StreamReader,
  type StreamWriter,
} from '../transports/index.js';

/** Redis options shared by commands: the URL plus cluster, sharding and consumer settings. */
export interface RedisFlags {
  redisCluster?: boolean;
  shards?: number;
  stream?: string;
  group?: string;
  consumerName?: string;
  /** Pending entries idle this long are taken over from a (presumably dead) consumer of the group. */
  claimIdleMs?: number;
}

export function isRedisUrl(value: string): boolean {
  return value.startsWith('redis://') || value.startsWith('rediss://');
}

/** `redis` as a value means "the Redis named by the environment" (REDIS_URL or REDIS_HOST/PORT/PWD). */
export function resolveRedisUrl(value: string): string {
  if (value === 'redis') {
    const fromEnv = redisUrlFromEnv();
    if (!fromEnv)
      throw new ConfigError(
        'no Redis URL: pass redis://HOST:PORT or set REDIS_URL (or REDIS_HOST, REDIS_PORT, REDIS_PWD)',
      );
    return fromEnv;
  }
  return value;
}

export function redisStreamOptions(url: string, flags: RedisFlags): RedisStreamOptions {
  const options: RedisStreamOptions = {
    ...(flags.shards !== undefined && { shards: flags.shards }),
    ...(flags.stream !== undefined && { stream: flags.stream }),
    ...(flags.group !== undefined && { group: flags.group }),
    ...(flags.consumerName !== undefined && { consumer: flags.consumerName }),
    ...(flags.claimIdleMs !== undefined && { claimIdleMs: flags.claimIdleMs }),
  };
  if (flags.redisCluster) options.cluster = { rootNodes: [{ url }] };
  else options.url = url;
  return options;
}

/** A stream writer for `produce --to`. */
export async function openStreamWriter(
  to: string,
  flags: RedisFlags,
): Promise<{ writer: StreamWriter; close: () => Promise<void> }> {
  const url = resolveRedisUrl(to);
  if (isRedisUrl(url)) {
    const transport = await RedisStreamTransport.connect(redisStreamOptions(url, flags));
    return { writer: transport.writer(), close: () => transport.close() };
  }
  if (to.startsWith('kinesis://'))
    throw new NotAvailableError('the Kinesis transport is not available yet in this build');
  throw new ConfigError(`unknown stream "${redactUrl(to)}"; expected redis://HOST:PORT or kinesis://STREAM`);
}

/** A stream reader for `consume --from`. */
export async function openStreamReader(
  from: string,
  flags: RedisFlags,
  read: { maxBatch: number; maxWaitMs: number },
): Promise<{ reader: StreamReader; close: () => Promise<void> }> {
  const url = resolveRedisUrl(from);
  if (isRedisUrl(url)) {
    const transport = await RedisStreamTransport.connect(redisStreamOptions(url, flags));
    return { reader: transport.reader(read), close: () => transport.close() };
  }
  if (from === 'memory') {
    throw new ConfigError(
      'consume --from memory has nothing to read: the memory stream lives inside one process; use `fraudstream score` or `fraudstream demo` for in-process runs',
    );
  }
  if (from.startsWith('kinesis://'))
    throw new NotAvailableError('the Kinesis transport is not available yet in this build');
  throw new ConfigError(
    `unknown stream "${redactUrl(from)}"; expected redis://HOST:PORT or kinesis://STREAM`,
  );
}
