import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  type KinesisClientConfig,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ClosedError, FraudstreamError, TransientStoreError } from '../../errors/index.js';
import type { ReadOptions } from '../types.js';
import { errorMessage, sleep } from './common.js';
import {
  type KinesisTransportOptions,
  type ResolvedKinesisTransportOptions,
  resolveKinesisTransportOptions,
} from './options.js';
import { KinesisStreamReader } from './reader.js';
import { KinesisStreamWriter } from './writer.js';

/** Longest wait for a stream created by `createIfMissing` to become active (AWS takes ~30 s). */
const STREAM_ACTIVE_TIMEOUT_MS = 120_000;

/**
 * AWS Kinesis Data Streams transport: one SDK client shared by its writers and readers.
 * Writers use PutRecords with partition key = the record's key (the card); readers poll every
 * shard. Use {@link KinesisStreamTransport.connect}, or {@link openKinesisStreamWriter} /
 * {@link openKinesisStreamReader} for one-off use.
 */
export class KinesisStreamTransport {
  readonly options: ResolvedKinesisTransportOptions;
  /** The SDK client (e.g. for admin calls in tests). */
  readonly client: KinesisClient;
  private readonly ownsClient: boolean;
  private readonly readers = new Set<KinesisStreamReader>();
  private closed = false;

  private constructor(options: ResolvedKinesisTransportOptions, client: KinesisClient, ownsClient: boolean) {
    this.options = options;
    this.client = client;
    this.ownsClient = ownsClient;
  }

  /**
   * Validates options (throws `ConfigError`), builds the client and, with `createIfMissing`,
   * creates the stream and waits until it is active.
   */
  static async connect(options: KinesisTransportOptions): Promise<KinesisStreamTransport> {
    const resolved = resolveKinesisTransportOptions(options);
    const client = options.client ?? createKinesisClient(options);
    const transport = new KinesisStreamTransport(resolved, client, options.client === undefined);
    try {
      if (resolved.createIfMissing) await ensureStream(client, resolved);
    } catch (error) {
      await transport.close();
      throw error;
    }
    return transport;
  }

  /** A writer on the shared client. */
  writer(): KinesisStreamWriter {
    if (this.closed) throw new ClosedError('KinesisStreamTransport is closed');
    return new KinesisStreamWriter(this.options, this.client, async () => {});
  }

  /** A reader on the shared client; it reads every shard of the stream. */
  reader(readOptions: ReadOptions = {}): KinesisStreamReader {
    if (this.closed) throw new ClosedError('KinesisStreamTransport is closed');
    const reader = new KinesisStreamReader(this.options, this.client, readOptions, async () => {
      this.readers.delete(reader);
    });
    this.readers.add(reader);
    return reader;
  }

  /** Closes all readers, then destroys the client if the transport created it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.readers].map((reader) => reader.close()));
    if (this.ownsClient) this.client.destroy();
  }
}

/** Opens a writer with its own transport, closed by the writer's `close()`. */
export async function openKinesisStreamWriter(
  options: KinesisTransportOptions,
): Promise<KinesisStreamWriter> {
  const transport = await KinesisStreamTransport.connect(options);
  return new KinesisStreamWriter(transport.options, transport.client, () => transport.close());
}

/** Opens a reader with its own transport, closed by the reader's `close()`. */
export async function openKinesisStreamReader(
  options: KinesisTransportOptions,
  readOptions: ReadOptions = {},
): Promise<KinesisStreamReader> {
  const transport = await KinesisStreamTransport.connect(options);
  return new KinesisStreamReader(transport.options, transport.client, readOptions, () => transport.close());
}

/**
 * A Kinesis client for the options. It uses the Node HTTP/1.1 handler: local Kinesis servers
 * (kinesalite, LocalStack) fail with the SDK's HTTP/2 default. Without `credentials` the SDK's
 * default provider chain applies (environment, profile, container or instance role).
 */
export function createKinesisClient(options: KinesisTransportOptions): KinesisClient {
  const resolved = resolveKinesisTransportOptions(options);
  const config: KinesisClientConfig = {
    region: resolved.region,
    requestHandler: new NodeHttpHandler(),
  };
  if (resolved.endpoint !== undefined) config.endpoint = resolved.endpoint;
  if (options.credentials !== undefined) config.credentials = { ...options.credentials };
  return new KinesisClient(config);
}

async function ensureStream(client: KinesisClient, options: ResolvedKinesisTransportOptions): Promise<void> {
  const { streamName, shardCount } = options;
  if ((await streamStatus(client, streamName)) === undefined) {
    try {
      await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
    } catch (error) {
      // Someone else created it meanwhile: fine, wait for it like for ours.
      if (!(error instanceof Error && error.name === 'ResourceInUseException')) {
        throw new FraudstreamError(`creating stream ${streamName} failed: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    }
  }
  const deadline = Date.now() + STREAM_ACTIVE_TIMEOUT_MS;
  for (let delay = 10; ; delay = Math.min(1_000, delay * 2)) {
    const status = await streamStatus(client, streamName);
    if (status === 'ACTIVE' || status === 'UPDATING') return;
    if (Date.now() >= deadline) {
      throw new TransientStoreError(
        `stream ${streamName} is still ${status ?? 'missing'} after ${STREAM_ACTIVE_TIMEOUT_MS} ms`,
      );
    }
    await sleep(delay);
  }
}

async function streamStatus(client: KinesisClient, streamName: string): Promise<string | undefined> {
  try {
    const { StreamDescriptionSummary } = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    return StreamDescriptionSummary?.StreamStatus;
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
    throw new FraudstreamError(`describing stream ${streamName} failed: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}
