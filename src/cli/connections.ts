/**
 * Turns `--from`, `--to`, `--store` and `--redis` values into transports, stores and feature
 * state. Every backend is named by a URL: `memory`, `redis://…` / `rediss://…` (TLS), and
 * `kinesis://STREAM`. Credentials come from the URL or the environment and are never printed.
 */
import { redactUrl, redisUrlFromEnv } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import {
  type KinesisCheckpointStore,
  KinesisStreamTransport,
  type KinesisTransportOptions,
  type RedisStreamOptions,
  RedisStreamTransport,
  type StreamReader,
  type StreamWriter,
} from '../transports/index.js';

/** Kinesis options shared by commands. */
export interface KinesisFlags {
  kinesisEndpoint?: string;
  createStream?: boolean;
  shards?: number;
}

/**
 * Kinesis options for `kinesis://STREAM`: region from `AWS_REGION`, credentials from the AWS
 * SDK's default chain (environment, profile, role — never from flags), endpoint from
 * `--kinesis-endpoint`, `KINESIS_ENDPOINT` or `AWS_ENDPOINT_URL_KINESIS` (kinesalite, LocalStack).
 */
export function kinesisOptions(spec: string, flags: KinesisFlags): KinesisTransportOptions {
  const streamName = spec.slice('kinesis://'.length);
  if (!streamName) throw new ConfigError('kinesis://STREAM needs a stream name');
  const endpoint =
    flags.kinesisEndpoint ?? process.env.KINESIS_ENDPOINT ?? process.env.AWS_ENDPOINT_URL_KINESIS;
  return {
    streamName,
    ...(endpoint && { endpoint }),
    ...(flags.createStream && { createIfMissing: true }),
    ...(flags.shards !== undefined && { shardCount: flags.shards }),
  };
}

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
  flags: RedisFlags & KinesisFlags,
): Promise<{ writer: StreamWriter; close: () => Promise<void> }> {
  const url = resolveRedisUrl(to);
  if (isRedisUrl(url)) {
    const transport = await RedisStreamTransport.connect(redisStreamOptions(url, flags));
    return { writer: transport.writer(), close: () => transport.close() };
  }
  if (to.startsWith('kinesis://')) {
    const transport = await KinesisStreamTransport.connect(kinesisOptions(to, flags));
    return { writer: transport.writer(), close: () => transport.close() };
  }
  throw new ConfigError(`unknown stream "${redactUrl(to)}"; expected redis://HOST:PORT or kinesis://STREAM`);
}

/** A stream reader for `consume --from`; Kinesis readers resume from `checkpointStore` when given. */
export async function openStreamReader(
  from: string,
  flags: RedisFlags & KinesisFlags,
  read: { maxBatch: number; maxWaitMs: number },
  checkpointStore?: KinesisCheckpointStore,
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
  if (from.startsWith('kinesis://')) {
    const transport = await KinesisStreamTransport.connect({
      ...kinesisOptions(from, flags),
      ...(checkpointStore && { checkpointStore }),
    });
    return { reader: transport.reader(read), close: () => transport.close() };
  }
  throw new ConfigError(
    `unknown stream "${redactUrl(from)}"; expected redis://HOST:PORT or kinesis://STREAM`,
  );
}
