/**
 * The transport contract. A transport moves opaque payloads (one JSON document each) from
 * producers to consumers in batches. The consumer never knows which transport it reads:
 * memory, Redis Streams and Kinesis all implement these two interfaces.
 *
 * Delivery is at-least-once: a record is delivered again until it is acknowledged, so
 * consumers acknowledge only what they have persisted and make persistence idempotent.
 */

import { ConfigError } from '../errors/index.js';

/** A record on its way into a stream. */
export interface OutgoingRecord {
  /** The payload exactly as it will be delivered (usually one JSON document). */
  payload: string;
  /**
   * Records with the same key keep their order (Kinesis partition key, Redis stream shard).
   * Producers use the card id so per-card windows see transactions in order.
   */
  partitionKey: string;
}

/** A record delivered to a consumer. */
export interface DeliveredRecord {
  /** The payload exactly as produced. */
  payload: string;
  /**
   * Position of the record in its stream, unique per record and stable across redeliveries
   * (Redis stream entry id, Kinesis sequence number, memory sequence). Qualified by the
   * stream/shard name where a transport has several.
   */
  position: string;
  /** How many times this record has been delivered, counting this delivery (1 = first time). */
  deliveries: number;
  /** Epoch ms when the transport accepted the record (for end-to-end latency). */
  enqueuedAtMs: number;
}

/** Writes records into a stream. */
export interface StreamWriter {
  /**
   * Appends records. Resolves once the transport has accepted all of them; rejects if any
   * could not be written after the transport's own retries (nothing is silently dropped).
   */
  publish(records: readonly OutgoingRecord[]): Promise<void>;
  /** Flushes and releases connections. Idempotent. */
  close(): Promise<void>;
}

/** Options common to every reader. */
export interface ReadOptions {
  /**
   * Most records returned in one batch.
   * @default 500
   */
  maxBatch?: number;
  /**
   * Longest wait for the first record of a batch before yielding an empty batch, in ms.
   * Bounds latency at low rates; empty batches let the consumer flush timers and notice close().
   * @default 50
   */
  maxWaitMs?: number;
}

/** Reads batches of records; an async iterable that ends after {@link StreamReader.close}. */
export interface StreamReader extends AsyncIterable<readonly DeliveredRecord[]> {
  /** Acknowledges records that have been processed and persisted; they will not be delivered again. */
  ack(records: readonly DeliveredRecord[]): Promise<void>;
  /**
   * Gives records back unprocessed (e.g. the store failed) so they are delivered again.
   * Transports without explicit negative acknowledgement redeliver after their own timeout.
   */
  release(records: readonly DeliveredRecord[]): Promise<void>;
  /** Stops reading: a pending read returns, the iteration ends. Idempotent. */
  close(): Promise<void>;
  /**
   * Records this reader moved to the transport's own dead-letter destination (Redis Streams:
   * the `max-deliveries` stream) since it was opened, by reason. Absent on transports without
   * one. The consumer adds them to its dead-letter counts, so both destinations are counted.
   */
  readonly deadLetterCounts?: ReadonlyMap<string, number>;
}

export const DEFAULT_READ_OPTIONS = { maxBatch: 500, maxWaitMs: 50 } as const satisfies Required<ReadOptions>;

/** Merges read options over {@link DEFAULT_READ_OPTIONS} and validates them; every reader calls this. */
export function resolveReadOptions(options: ReadOptions = {}): Required<ReadOptions> {
  const maxBatch = options.maxBatch ?? DEFAULT_READ_OPTIONS.maxBatch;
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_READ_OPTIONS.maxWaitMs;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new ConfigError(`maxBatch must be an integer >= 1, got ${String(maxBatch)}`);
  }
  if (!Number.isInteger(maxWaitMs) || maxWaitMs < 0) {
    throw new ConfigError(`maxWaitMs must be an integer >= 0, got ${String(maxWaitMs)}`);
  }
  return { maxBatch, maxWaitMs };
}
