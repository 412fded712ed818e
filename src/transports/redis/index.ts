/**
 * Redis Streams transport: consumer groups over S hash-tagged stream keys, at-least-once
 * delivery, pending-entry recovery and a dead-letter stream. Works on a single server and on
 * Redis Cluster.
 */
export type { RedisConnectionOptions } from '../../redis/index.js';
export { DEFAULT_REDIS_URL, isTransientRedisError, redactRedisUrl } from '../../redis/index.js';
export type { DeadLetterSink, RedisStreamOptions, ResolvedRedisStreamOptions } from './streams.js';
export {
  DEFAULT_REDIS_STREAM_OPTIONS,
  openRedisStreamReader,
  openRedisStreamWriter,
  RedisStreamReader,
  RedisStreamTransport,
  RedisStreamWriter,
  redisShardKey,
  resolveRedisStreamOptions,
  SCRIPT_CHUNK,
  shardOf,
} from './streams.js';
