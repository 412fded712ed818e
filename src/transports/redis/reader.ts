/**
 * Reads the shard streams as one consumer of the group, at-least-once.
 * - New entries come from `XREADGROUP ... >`. On a single server all shards are read by one
 *   blocking command on a dedicated connection that `close()` destroys, so close returns at once.
 *   In a cluster the shard keys live in different slots and cannot share one command, so each
 *   shard is read with a non-blocking `XREADGROUP` (all in one pipeline) and an empty round sleeps
 *   `clusterPollMs` before polling again, up to `maxWaitMs`.
 * - Released, orphaned and idle pending entries come back through {@link PendingClaims}.
 * - A record delivered more than `maxDeliveries` times goes to the dead-letter stream with reason
 *   `max-deliveries` and is acknowledged instead of being delivered again.
 * - Every `trimIntervalMs` the reader trims acknowledged entries from its shards (see `trim.ts`).
 */
import { FraudstreamError } from '../../errors/index.js';
import {
  type BlockingRedisConnection,
  isTransientRedisError,
  type RedisCommandConnection,
} from '../../redis/index.js';
import { type DeliveredRecord, type ReadOptions, resolveReadOptions, type StreamReader } from '../types.js';
import { PendingClaims } from './claims.js';
import {
  type DeadLetterItem,
  type DeadLetterSink,
  screenDeliveries,
  writeDeadLetters,
} from './dead-letters.js';
import { type RawStreams, splitPosition, toDelivered, withRetries } from './entries.js';
import type { ResolvedRedisStreamOptions } from './options.js';
import { trimAcknowledged } from './trim.js';

/** Longest pause between two attempts to read from a server that keeps failing transiently. */
const MAX_READ_BACKOFF_MS = 1_000;

/** Reads the shard streams as one consumer of the group; see the module comment. */
export class RedisStreamReader implements StreamReader, DeadLetterSink {
  private readonly options: ResolvedRedisStreamOptions;
  private readonly connection: RedisCommandConnection;
  private readonly releaseConnection: () => Promise<void>;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly shardIndex = new Map<string, number>();

  private closing = false;
  private closed?: Promise<void>;
  private iterating = false;
  private blocking?: BlockingRedisConnection;
  private wakeSleep?: () => void;
  /** Delivered by Redis beyond `maxBatch`; handed out before anything else. */
  private buffer: DeliveredRecord[] = [];
  private readonly claims: PendingClaims;
  private nextTrimAtMs: number;
  readonly deadLetterCounts = new Map<string, number>();

  /** @internal use {@link RedisStreamTransport.reader} or {@link openRedisStreamReader}. */
  constructor(
    options: ResolvedRedisStreamOptions,
    connection: RedisCommandConnection,
    readOptions: ReadOptions,
    releaseConnection: () => Promise<void>,
  ) {
    this.options = options;
    this.connection = connection;
    this.releaseConnection = releaseConnection;
    ({ maxBatch: this.maxBatch, maxWaitMs: this.maxWaitMs } = resolveReadOptions(readOptions));
    options.shardKeys.forEach((key, i) => {
      this.shardIndex.set(key, i);
    });
    this.claims = new PendingClaims(options, connection, this.maxBatch);
    // The first trim waits one interval: a short-lived reader leaves the streams as they were.
    this.nextTrimAtMs = Date.now() + options.trimIntervalMs;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly DeliveredRecord[]> {
    if (this.iterating)
      throw new FraudstreamError('a RedisStreamReader can be iterated by one loop at a time');
    this.iterating = true;
    let failures = 0;
    try {
      await this.ensureGroups();
      if (this.connection.kind === 'standalone' && !this.closing && !this.blocking) {
        this.blocking = await this.connection.openBlocking();
        if (this.closing) this.blocking.destroy();
      }
      while (!this.closing) {
        let batch: DeliveredRecord[];
        try {
          batch = await this.nextBatch();
          failures = 0;
        } catch (error) {
          if (this.closing) break;
          if (error instanceof Error && error.message.startsWith('NOGROUP')) {
            // The stream or group was deleted under us (e.g. FLUSHALL): recreate and go on.
            await this.ensureGroups();
            continue;
          }
          // A server that is restarting, loading, busy with a script or out of memory comes
          // back: keep trying (nothing is lost while nothing is read) instead of ending the
          // consumer's loop after a few hundred ms. Other errors end the iteration.
          if (!isTransientRedisError(error)) throw error;
          await this.sleep(
            Math.min(this.options.retryBaseMs * 2 ** Math.min(failures++, 20), MAX_READ_BACKOFF_MS),
          );
          continue;
        }
        // Records read while closing stay pending and are redelivered; do not hand them out.
        if (this.closing) break;
        yield batch;
      }
    } finally {
      this.iterating = false;
    }
  }

  /** XACKs the records, one pipelined XACK per shard. */
  async ack(records: readonly DeliveredRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byShard = this.groupByShard(records);
    await withRetries('XACK', this.options, () =>
      Promise.all(
        [...byShard].map(([key, ids]) =>
          this.connection.send(key, ['XACK', key, this.options.group, ...ids]),
        ),
      ),
    );
  }

  /**
   * Gives records back: they stay in the PEL and the next read claims them back (XCLAIM with
   * min-idle 0), delivering them again with `deliveries + 1`.
   */
  async release(records: readonly DeliveredRecord[]): Promise<void> {
    for (const record of records) {
      const [key] = splitPosition(record.position);
      const shard = this.shardIndex.get(key);
      if (shard === undefined)
        throw new FraudstreamError(`record is not from this reader: ${record.position}`);
      this.claims.release(shard, record);
    }
  }

  /**
   * Moves records to the dead-letter stream (`p`, `reason`, `position`, `at`) and acknowledges
   * them. The XADDs are pipelined and awaited before the XACKs, so a record is never
   * acknowledged unless its dead-letter copy was written.
   */
  async deadLetter(items: readonly DeadLetterItem[]): Promise<void> {
    if (items.length === 0) return;
    await writeDeadLetters(this.connection, this.options, items);
    await this.ack(items.map((item) => item.record));
    for (const { reason } of items)
      this.deadLetterCounts.set(reason, (this.deadLetterCounts.get(reason) ?? 0) + 1);
  }

  /**
   * Removes the entries of every shard that all groups have delivered and acknowledged
   * (`XTRIM MINID`, see `trim.ts`); returns how many. Runs by itself every `trimIntervalMs`.
   */
  async trimAcknowledged(): Promise<number> {
    const removed = await Promise.all(
      this.options.shardKeys.map((key) => trimAcknowledged(this.connection, key)),
    );
    return removed.reduce((a, b) => a + b, 0);
  }

  /** Stops reading; an in-flight blocking read is interrupted by destroying its connection. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.wakeSleep?.();
      this.blocking?.destroy();
      await this.releaseConnection();
    })();
    return this.closed;
  }

  private groupByShard(records: readonly DeliveredRecord[]): Map<string, string[]> {
    const byShard = new Map<string, string[]>();
    for (const record of records) {
      const [key, id] = splitPosition(record.position);
      if (!this.shardIndex.has(key))
        throw new FraudstreamError(`record is not from this reader: ${record.position}`);
      const ids = byShard.get(key);
      if (ids) ids.push(id);
      else byShard.set(key, [id]);
    }
    return byShard;
  }

  private async ensureGroups(): Promise<void> {
    const { group, startFrom } = this.options;
    await withRetries('XGROUP CREATE', this.options, () =>
      Promise.all(
        this.options.shardKeys.map((key) =>
          this.connection
            .send(key, ['XGROUP', 'CREATE', key, group, startFrom, 'MKSTREAM'])
            .catch((error) => {
              if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
            }),
        ),
      ),
    );
  }

  /** Interruptible sleep: close() wakes it. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  /**
   * One batch, in order of precedence: records buffered from an oversized read, released
   * records, the own PEL left by a predecessor, entries claimed from idle consumers, new entries.
   */
  private async nextBatch(): Promise<DeliveredRecord[]> {
    if (this.buffer.length > 0) return this.takeFromBuffer();
    const collected: DeliveredRecord[] = [];
    await this.claims.collect(collected);
    const deliverable = await this.screenDeliveries(collected);
    if (deliverable.length > 0) {
      this.buffer = deliverable;
      return this.takeFromBuffer();
    }
    // New entries only once the own PEL is recovered: read earlier, they would be in that PEL.
    if (this.claims.recovering) return [];
    if (this.options.trimIntervalMs > 0 && Date.now() >= this.nextTrimAtMs) {
      this.nextTrimAtMs = Date.now() + this.options.trimIntervalMs;
      // Housekeeping only: a failed trim must not fail the read; the next interval tries again.
      await this.trimAcknowledged().catch(() => {});
    }
    const fresh =
      this.connection.kind === 'standalone' ? await this.readBlocking() : await this.readPolling();
    this.buffer = fresh;
    return this.takeFromBuffer();
  }

  private takeFromBuffer(): DeliveredRecord[] {
    if (this.buffer.length <= this.maxBatch) {
      const batch = this.buffer;
      this.buffer = [];
      return batch;
    }
    return this.buffer.splice(0, this.maxBatch);
  }

  /** Removes duplicates and dead-letters records delivered more than `maxDeliveries` times. */
  private async screenDeliveries(records: DeliveredRecord[]): Promise<DeliveredRecord[]> {
    if (records.length === 0) return records;
    const { keep, exhausted } = screenDeliveries(records, this.options.maxDeliveries);
    await this.deadLetter(exhausted);
    return keep;
  }

  private parseNew(reply: RawStreams): DeliveredRecord[] {
    const out: DeliveredRecord[] = [];
    if (!reply) return out;
    for (const [key, entries] of reply) {
      for (const entry of entries) {
        const record = toDelivered(key, entry, 1);
        if (record) out.push(record);
      }
    }
    return out;
  }

  private async readBlocking(): Promise<DeliveredRecord[]> {
    const { group, consumer, shardKeys } = this.options;
    const blocking = this.blocking;
    if (!blocking) return [];
    const args = ['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(this.maxBatch)];
    // BLOCK 0 would wait forever; maxWaitMs 0 means "do not wait".
    if (this.maxWaitMs > 0) args.push('BLOCK', String(this.maxWaitMs));
    args.push('STREAMS', ...shardKeys, ...shardKeys.map(() => '>'));
    return this.parseNew(await blocking.send<RawStreams>(args));
  }

  private async readPolling(): Promise<DeliveredRecord[]> {
    const { group, consumer, shardKeys } = this.options;
    const deadline = Date.now() + this.maxWaitMs;
    const count = String(this.maxBatch);
    for (;;) {
      const replies = await Promise.all(
        shardKeys.map((key) =>
          this.connection.send<RawStreams>(key, [
            'XREADGROUP',
            'GROUP',
            group,
            consumer,
            'COUNT',
            count,
            'STREAMS',
            key,
            '>',
          ]),
        ),
      );
      const records = replies.flatMap((reply) => this.parseNew(reply));
      const now = Date.now();
      if (records.length > 0 || now >= deadline || this.closing) return records;
      await this.sleep(Math.min(this.options.clusterPollMs, deadline - now));
    }
  }
}
