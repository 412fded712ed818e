/**
 * AWS Kinesis Data Streams transport: PutRecords with partition key = card and retries of
 * partially failed entries; a polling reader per stream with per-shard checkpoints
 * (in memory, optionally durable) and rewind-based redelivery.
 */
export { FileCheckpointStore, RedisCheckpointStore } from './checkpoints.js';
export { compareSequenceNumbers, isTransientKinesisError } from './common.js';
export type {
  KinesisCheckpointStore,
  KinesisStaticCredentials,
  KinesisTransportOptions,
  ResolvedKinesisTransportOptions,
} from './options.js';
export { DEFAULT_KINESIS_TRANSPORT_OPTIONS, resolveKinesisTransportOptions } from './options.js';
export { KinesisStreamReader } from './reader.js';
export {
  createKinesisClient,
  KinesisStreamTransport,
  openKinesisStreamReader,
  openKinesisStreamWriter,
} from './transport.js';
export { EMPTY_PARTITION_KEY, KINESIS_PUT_LIMITS, KinesisStreamWriter } from './writer.js';
