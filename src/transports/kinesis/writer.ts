import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { ClosedError, FraudstreamError, PoisonRecordError, TransientStoreError } from '../../errors/index.js';
import type { OutgoingRecord, StreamWriter } from '../types.js';
import { errorMessage, isTransientKinesisError, sleep } from './common.js';
import type { ResolvedKinesisTransportOptions } from './options.js';

/** Kinesis PutRecords limits: records per request, bytes per request and per record (data + partition key). */
export const KINESIS_PUT_LIMITS = {
  maxRecords: 500,
  maxRequestBytes: 5 * 1024 * 1024,
  maxRecordBytes: 1024 * 1024,
  maxPartitionKeyLength: 256,
} as const;

/** Stands in for an empty partition key, which Kinesis rejects; all keyless records share its shard. */
export const EMPTY_PARTITION_KEY = '_';

interface Entry {
  data: Uint8Array;
  partitionKey: string;
  bytes: number;
}

const encoder = new TextEncoder();

/**
 * Writes records with PutRecords; see {@link KinesisStreamWriter.publish}. Obtain one from
 * `KinesisStreamTransport.writer()` or `openKinesisStreamWriter()`.
 */
export class KinesisStreamWriter implements StreamWriter {
  private readonly options: ResolvedKinesisTransportOptions;
  private readonly client: KinesisClient;
  private readonly releaseClient: () => Promise<void>;
  private closed = false;

  /** @internal */
  constructor(
    options: ResolvedKinesisTransportOptions,
    client: KinesisClient,
    releaseClient: () => Promise<void>,
  ) {
    this.options = options;
    this.client = client;
    this.releaseClient = releaseClient;
  }

  /**
   * Writes the records in PutRecords requests of at most 500 records and 5 MiB, one request at
   * a time so that records of one partition key (the card) reach their shard in order.
   *
   * A partial failure (`FailedRecordCount` > 0, e.g. `ProvisionedThroughputExceededException`
   * on a hot shard) is retried for the failed entries only, with exponential backoff, up to
   * `maxRetries` times; then the promise rejects with {@link TransientStoreError} (the records
   * before the failed request, and the entries that did succeed, are written). A retried record
   * lands after records of the same key that succeeded in the failed request — PutRecords
   * itself gives no order guarantee across a partial failure; re-sending the successful ones
   * too would duplicate them instead.
   *
   * A record that Kinesis can never accept (data + key over 1 MiB) rejects the whole call with
   * {@link PoisonRecordError} before anything is sent. Partition keys are cut to 256 characters
   * and an empty key becomes {@link EMPTY_PARTITION_KEY}.
   */
  async publish(records: readonly OutgoingRecord[]): Promise<void> {
    if (this.closed) throw new ClosedError('KinesisStreamWriter is closed');
    if (records.length === 0) return;
    const entries = records.map(toEntry);
    const { maxRecords, maxRequestBytes } = KINESIS_PUT_LIMITS;
    let start = 0;
    while (start < entries.length) {
      let end = start;
      let bytes = 0;
      while (
        end < entries.length &&
        end - start < maxRecords &&
        bytes + entries[end]!.bytes <= maxRequestBytes
      ) {
        bytes += entries[end]!.bytes;
        end++;
      }
      await this.putChunk(entries.slice(start, end));
      start = end;
    }
  }

  /** Sends one request's worth of entries, retrying failed entries until all are written. */
  private async putChunk(chunk: readonly Entry[]): Promise<void> {
    const { streamName, maxRetries, retryBaseMs } = this.options;
    let todo = chunk;
    for (let attempt = 0; ; attempt++) {
      let failed: Entry[];
      let reason: string;
      try {
        const response = await this.client.send(
          new PutRecordsCommand({
            StreamName: streamName,
            Records: todo.map(
              (e): PutRecordsRequestEntry => ({ Data: e.data, PartitionKey: e.partitionKey }),
            ),
          }),
        );
        const results = response.Records ?? [];
        failed = [];
        reason = '';
        for (let i = 0; i < todo.length; i++) {
          const result = results[i];
          // A missing result or sequence number counts as failed: never assume a write happened.
          if (result?.SequenceNumber !== undefined && result.ErrorCode === undefined) continue;
          failed.push(todo[i]!);
          reason ||= result?.ErrorCode ? `${result.ErrorCode}: ${result.ErrorMessage ?? ''}` : 'no result';
        }
        if (failed.length === 0) return;
      } catch (error) {
        if (!isTransientKinesisError(error)) {
          throw new FraudstreamError(`PutRecords to ${streamName} failed: ${errorMessage(error)}`, {
            cause: error,
          });
        }
        failed = [...todo];
        reason = errorMessage(error);
      }
      if (attempt >= maxRetries) {
        throw new TransientStoreError(
          `${failed.length} of ${chunk.length} records could not be written to ${streamName} after ${attempt + 1} attempts (${reason})`,
        );
      }
      todo = failed;
      await sleep(retryBaseMs * 2 ** attempt);
    }
  }

  /** Marks the writer closed; a writer opened on its own also destroys its client. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.releaseClient();
  }
}

function toEntry(record: OutgoingRecord): Entry {
  const data = encoder.encode(record.payload);
  let partitionKey = record.partitionKey.slice(0, KINESIS_PUT_LIMITS.maxPartitionKeyLength);
  if (partitionKey.length === 0) partitionKey = EMPTY_PARTITION_KEY;
  const bytes = data.byteLength + Buffer.byteLength(partitionKey, 'utf8');
  if (bytes > KINESIS_PUT_LIMITS.maxRecordBytes) {
    throw new PoisonRecordError(
      `record of ${bytes} bytes exceeds the Kinesis limit of ${KINESIS_PUT_LIMITS.maxRecordBytes} bytes`,
      record.payload,
    );
  }
  return { data, partitionKey, bytes };
}
