import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { ConfigError } from '../../errors/index.js';

/**
 * Durable per-shard checkpoints for {@link KinesisStreamReader}. A restarted reader asks
 * `load` for each shard and resumes just after the returned sequence number.
 */
export interface KinesisCheckpointStore {
  /** The last checkpointed sequence number of `shardId`, or `undefined` if there is none. */
  load(shardId: string): Promise<string | undefined>;
  /** Records that every record of `shardId` up to and including `sequenceNumber` is processed. */
  save(shardId: string, sequenceNumber: string): Promise<void>;
}

/** Static AWS credentials; for kinesalite or LocalStack any non-empty values do. */
export interface KinesisStaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Options of {@link KinesisStreamTransport}. */
export interface KinesisTransportOptions {
  /** Name of the Kinesis data stream. Required. */
  streamName: string;
  /**
   * AWS region.
   * @default process.env.AWS_REGION, else 'us-east-1'
   */
  region?: string;
  /**
   * Endpoint URL for a local Kinesis (kinesalite, LocalStack), e.g. `http://127.0.0.1:4567`.
   * @default undefined (the region's AWS endpoint)
   */
  endpoint?: string;
  /**
   * Static credentials. They are handed to the SDK client only, never logged or kept in
   * {@link ResolvedKinesisTransportOptions}.
   * @default undefined (the AWS SDK's default credential provider chain)
   */
  credentials?: KinesisStaticCredentials;
  /**
   * Create the stream with {@link shardCount} shards when it does not exist, and wait until it
   * is active. Meant for local use; production streams are provisioned elsewhere.
   * @default false
   */
  createIfMissing?: boolean;
  /**
   * Shards of a stream created by {@link createIfMissing}.
   * @default 1
   */
  shardCount?: number;
  /**
   * How many times `publish` retries the failed entries of a partial PutRecords failure (and
   * a reader retries a failed call) before rejecting with `TransientStoreError`.
   * @default 5
   */
  maxRetries?: number;
  /**
   * First retry delay in ms; doubles with each further attempt.
   * @default 100
   */
  retryBaseMs?: number;
  /**
   * Where a reader starts in a shard that has no checkpoint: `'trim-horizon'` = the oldest
   * record kept, `'latest'` = only records written after the reader started.
   * @default 'trim-horizon'
   */
  startFrom?: 'trim-horizon' | 'latest';
  /**
   * Shortest interval between two GetRecords calls on one shard, in ms. Kinesis allows five
   * reads per second per shard, hence 200; lower it only for a local emulator.
   * @default 200
   */
  pollIntervalMs?: number;
  /**
   * Durable checkpoints. Without one, checkpoints live only in memory
   * (`KinesisStreamReader.checkpoints()`) and a new reader starts from {@link startFrom}.
   * @default undefined
   */
  checkpointStore?: KinesisCheckpointStore;
  /**
   * A client to use instead of creating one (custom middleware, tests). The transport does not
   * destroy a client it did not create.
   * @default undefined (a client built from region, endpoint and credentials with the Node HTTP/1 handler)
   */
  client?: KinesisClient;
}

export const DEFAULT_KINESIS_TRANSPORT_OPTIONS = {
  region: 'us-east-1',
  createIfMissing: false,
  shardCount: 1,
  maxRetries: 5,
  retryBaseMs: 100,
  startFrom: 'trim-horizon',
  pollIntervalMs: 200,
} as const;

/** {@link KinesisTransportOptions} after defaults and validation (without credentials). */
export interface ResolvedKinesisTransportOptions {
  streamName: string;
  region: string;
  endpoint: string | undefined;
  createIfMissing: boolean;
  shardCount: number;
  maxRetries: number;
  retryBaseMs: number;
  startFrom: 'trim-horizon' | 'latest';
  pollIntervalMs: number;
  checkpointStore: KinesisCheckpointStore | undefined;
}

function integerAtLeast(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Kinesis stream names: 1-128 characters of `[a-zA-Z0-9_.-]`. */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/** Merges defaults into `options` and validates them; throws {@link ConfigError}. */
export function resolveKinesisTransportOptions(
  options: KinesisTransportOptions,
): ResolvedKinesisTransportOptions {
  const d = DEFAULT_KINESIS_TRANSPORT_OPTIONS;
  const { streamName } = options;
  if (typeof streamName !== 'string' || !STREAM_NAME.test(streamName)) {
    throw new ConfigError(
      `streamName must be 1-128 characters of [a-zA-Z0-9_.-], got ${JSON.stringify(streamName)}`,
    );
  }
  const region = options.region ?? (process.env.AWS_REGION || d.region);
  if (typeof region !== 'string' || region.length === 0)
    throw new ConfigError('region must be a non-empty string');
  if (options.endpoint !== undefined) {
    let protocol: string;
    try {
      protocol = new URL(options.endpoint).protocol;
    } catch {
      throw new ConfigError(`endpoint must be a URL, got ${JSON.stringify(options.endpoint)}`);
    }
    if (protocol !== 'http:' && protocol !== 'https:')
      throw new ConfigError('endpoint must be an http(s) URL');
  }
  const credentials = options.credentials;
  if (credentials !== undefined && (!credentials.accessKeyId || !credentials.secretAccessKey)) {
    throw new ConfigError('credentials need a non-empty accessKeyId and secretAccessKey');
  }
  const startFrom = options.startFrom ?? d.startFrom;
  if (startFrom !== 'trim-horizon' && startFrom !== 'latest') {
    throw new ConfigError(`startFrom must be 'trim-horizon' or 'latest'`);
  }
  const checkpointStore = options.checkpointStore;
  if (
    checkpointStore !== undefined &&
    (typeof checkpointStore.load !== 'function' || typeof checkpointStore.save !== 'function')
  ) {
    throw new ConfigError('checkpointStore must have load(shardId) and save(shardId, sequenceNumber)');
  }
  return {
    streamName,
    region,
    endpoint: options.endpoint,
    createIfMissing: options.createIfMissing ?? d.createIfMissing,
    shardCount: integerAtLeast('shardCount', options.shardCount ?? d.shardCount, 1),
    maxRetries: integerAtLeast('maxRetries', options.maxRetries ?? d.maxRetries, 0),
    retryBaseMs: integerAtLeast('retryBaseMs', options.retryBaseMs ?? d.retryBaseMs, 0),
    startFrom,
    pollIntervalMs: integerAtLeast('pollIntervalMs', options.pollIntervalMs ?? d.pollIntervalMs, 0),
    checkpointStore,
  };
}
