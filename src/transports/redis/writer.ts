/**
 * Appends records to the shard streams. Writing pipelines one `XADD` per record for the whole
 * batch (node-redis writes commands issued in one tick together), fields `p` (payload) and `t`
 * (enqueue epoch ms); `publishMode: 'script'` runs the XADDs of a chunk inside one Lua call.
 */
import { createHash } from 'node:crypto';
import { ClosedError, FraudstreamError, TransientStoreError } from '../../errors/index.js';
import { isTransientRedisError, type RedisCommandConnection } from '../../redis/index.js';
import type { OutgoingRecord, StreamWriter } from '../types.js';
import { sleep } from './entries.js';
import { type ResolvedRedisStreamOptions, shardOf } from './options.js';

/** Most records added by one script call, so that one call never blocks the server for long. */
export const SCRIPT_CHUNK = 1000;

/**
 * Adds ARGV[4..] as entries `p` = payload, `t` = ARGV[1] to KEYS[1], trimming by ARGV[2]
 * (`MAXLEN`, `MINID` or empty) with threshold ARGV[3]. One command per chunk instead of one per
 * record: far less client CPU and far fewer commands for the server to parse.
 */
const XADD_SCRIPT = `local key, t, strategy, threshold = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
for i = 4, #ARGV do
  if strategy == '' then
    redis.call('XADD', key, '*', 'p', ARGV[i], 't', t)
  else
    redis.call('XADD', key, strategy, '~', threshold, '*', 'p', ARGV[i], 't', t)
  end
end
return #ARGV - 3`;
const XADD_SCRIPT_SHA = createHash('sha1').update(XADD_SCRIPT).digest('hex');

/** Appends records to the shard streams; see the module comment. */
export class RedisStreamWriter implements StreamWriter {
  private readonly options: ResolvedRedisStreamOptions;
  private readonly connection: RedisCommandConnection;
  private readonly release: () => Promise<void>;
  private closed = false;

  /** @internal use {@link RedisStreamTransport.writer} or {@link openRedisStreamWriter}. */
  constructor(
    options: ResolvedRedisStreamOptions,
    connection: RedisCommandConnection,
    release: () => Promise<void>,
  ) {
    this.options = options;
    this.connection = connection;
    this.release = release;
  }

  /**
   * Writes the records in one round trip: per shard either one pipelined XADD per record
   * (`publishMode: 'pipeline'`) or one script call per chunk of up to {@link SCRIPT_CHUNK}
   * records (`'script'`). On a transient failure, for each shard the first failed command and
   * everything after it in that shard are sent again, so the last copy of each record keeps
   * per-key order (earlier copies may remain: delivery is at-least-once anyway).
   */
  async publish(records: readonly OutgoingRecord[]): Promise<void> {
    if (this.closed) throw new ClosedError('RedisStreamWriter is closed');
    if (records.length === 0) return;
    const { shards, publishMode } = this.options;
    // Record indices per shard, in publish order; a command covers `unit` consecutive ones.
    let todo: number[][] = Array.from({ length: shards }, () => []);
    for (let i = 0; i < records.length; i++) todo[shardOf(records[i]!.partitionKey, shards)]!.push(i);
    const unit = publishMode === 'script' ? SCRIPT_CHUNK : 1;
    for (let attempt = 0; ; attempt++) {
      const enqueuedAt = String(Date.now());
      const trim = this.trimArgs();
      // All commands are issued in this tick, so node-redis writes them as one pipeline.
      const perShard = todo.map((indices, shard) => {
        const sends: Promise<unknown>[] = [];
        for (let start = 0; start < indices.length; start += unit) {
          sends.push(
            unit === 1
              ? this.xadd(shard, records[indices[start]!]!.payload, enqueuedAt, trim)
              : this.xaddScript(shard, records, indices.slice(start, start + unit), enqueuedAt, trim),
          );
        }
        return Promise.allSettled(sends);
      });
      const settled = await Promise.all(perShard);
      let lastError: unknown;
      let failedShards = 0;
      const next: number[][] = todo.map(() => []);
      for (let shard = 0; shard < settled.length; shard++) {
        const results = settled[shard]!;
        const failed = results.findIndex((r) => r.status === 'rejected');
        if (failed < 0) continue;
        for (const result of results) {
          if (result.status === 'fulfilled') continue;
          if (!isTransientRedisError(result.reason)) {
            throw new FraudstreamError(`XADD failed: ${(result.reason as Error).message}`, {
              cause: result.reason,
            });
          }
          lastError = result.reason;
        }
        failedShards++;
        next[shard] = todo[shard]!.slice(failed * unit);
      }
      if (failedShards === 0) return;
      if (attempt >= this.options.retries) {
        throw new TransientStoreError(
          `XADD to ${failedShards} shard(s) failed after ${attempt + 1} attempts: ${(lastError as Error).message}`,
          { cause: lastError },
        );
      }
      todo = next;
      await sleep(this.options.retryBaseMs * 2 ** attempt);
    }
  }

  private xadd(
    shard: number,
    payload: string,
    enqueuedAt: string,
    trim: readonly string[],
  ): Promise<unknown> {
    const key = this.options.shardKeys[shard]!;
    const args =
      trim.length === 0
        ? ['XADD', key, '*', 'p', payload, 't', enqueuedAt]
        : ['XADD', key, ...trim, '*', 'p', payload, 't', enqueuedAt];
    return this.connection.send(key, args);
  }

  /** One script call adding `indices` records: EVALSHA, or EVAL (which caches the script) when the server does not know it yet. */
  private async xaddScript(
    shard: number,
    records: readonly OutgoingRecord[],
    indices: readonly number[],
    enqueuedAt: string,
    trim: readonly string[],
  ): Promise<unknown> {
    const key = this.options.shardKeys[shard]!;
    const args = ['1', key, enqueuedAt, trim[0] ?? '', trim[2] ?? ''];
    for (const i of indices) args.push(records[i]!.payload);
    try {
      return await this.connection.send(key, ['EVALSHA', XADD_SCRIPT_SHA, ...args]);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return this.connection.send(key, ['EVAL', XADD_SCRIPT, ...args]);
    }
  }

  private trimArgs(): string[] {
    const { maxLen, minIdMs } = this.options;
    if (maxLen !== undefined) return ['MAXLEN', '~', String(maxLen)];
    if (minIdMs !== undefined) return ['MINID', '~', String(Date.now() - minIdMs)];
    return [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release();
  }
}
