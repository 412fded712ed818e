/**
 * Redis Streams transport: consumer groups over S hash-tagged stream keys, at-least-once
 * delivery, pending-entry recovery and a dead-letter stream. Works on a single server and on
 * Redis Cluster.
 */
export type { RedisConnectionOptions } from '../../redis/index.js';
export { DEFAULT_REDIS_URL, isTransientRedisError, redactRedisUrl } from '../../redis/index.js';
export type { DeadLetterSink } from './dead-letters.js';
export type { RedisStreamOptions, ResolvedRedisStreamOptions } from './options.js';
export {
  DEFAULT_REDIS_STREAM_OPTIONS,
  redisShardKey,
  resolveRedisStreamOptions,
  shardOf,
} from './options.js';
export { RedisStreamReader } from './reader.js';
export { openRedisStreamReader, openRedisStreamWriter, RedisStreamTransport } from './transport.js';
export { RedisStreamWriter, SCRIPT_CHUNK } from './writer.js';
