export type {
  KinesisCheckpointStore,
  KinesisStaticCredentials,
  KinesisTransportOptions,
  ResolvedKinesisTransportOptions,
} from './kinesis/index.js';
export {
  compareSequenceNumbers,
  createKinesisClient,
  DEFAULT_KINESIS_TRANSPORT_OPTIONS,
  EMPTY_PARTITION_KEY,
  FileCheckpointStore,
  isTransientKinesisError,
  KINESIS_PUT_LIMITS,
  KinesisStreamReader,
  KinesisStreamTransport,
  KinesisStreamWriter,
  openKinesisStreamReader,
  openKinesisStreamWriter,
  RedisCheckpointStore,
  resolveKinesisTransportOptions,
} from './kinesis/index.js';
export type { FullPolicy, MemoryTransportOptions } from './memory.js';
export {
  DEFAULT_MEMORY_TRANSPORT_OPTIONS,
  MemoryTransport,
  resolveMemoryTransportOptions,
} from './memory.js';
export type {
  DeadLetterSink,
  RedisConnectionOptions,
  RedisStreamOptions,
  ResolvedRedisStreamOptions,
} from './redis/index.js';
export {
  DEFAULT_REDIS_STREAM_OPTIONS,
  DEFAULT_REDIS_URL,
  isTransientRedisError,
  openRedisStreamReader,
  openRedisStreamWriter,
  RedisStreamReader,
  RedisStreamTransport,
  RedisStreamWriter,
  redactRedisUrl,
  redisShardKey,
  resolveRedisStreamOptions,
  shardOf,
} from './redis/index.js';
export { LineWriter } from './stdout.js';
export type { DeliveredRecord, OutgoingRecord, ReadOptions, StreamReader, StreamWriter } from './types.js';
export { DEFAULT_READ_OPTIONS, resolveReadOptions } from './types.js';
