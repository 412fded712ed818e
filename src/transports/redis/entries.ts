/**
 * Raw stream entries as node-redis returns them (RESP2), their conversion to delivered records,
 * record positions, and the retry loop shared by the writer, reader and dead-letter writes.
 */
import { FraudstreamError, TransientStoreError } from '../../errors/index.js';
import { isTransientRedisError } from '../../redis/index.js';
import type { DeliveredRecord } from '../types.js';
import type { ResolvedRedisStreamOptions } from './options.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Raw RESP2 stream entry: `[id, [field, value, ...]]`, fields nil when the entry was trimmed. */
export type RawEntry = [string, string[] | null];
export type RawStreams = [string, RawEntry[]][] | null;
/** One XPENDING extended-form row: id, consumer, idle ms, delivery count. */
export type PendingRow = [string, string, number, number];

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

export function toDelivered(
  shardKey: string,
  entry: RawEntry,
  deliveries: number,
): DeliveredRecord | undefined {
  const [id, fields] = entry;
  if (!fields) return undefined;
  const t = Number(fieldOf(fields, 't'));
  return {
    payload: fieldOf(fields, 'p') ?? '',
    position: `${shardKey}/${id}`,
    deliveries,
    // The producer's clock when present, else the server's clock from the entry id.
    enqueuedAtMs: Number.isFinite(t) ? t : Number(id.slice(0, id.indexOf('-'))),
  };
}

/** Splits a position `<shardKey>/<entryId>` (entry ids never contain `/`). */
export function splitPosition(position: string): [key: string, id: string] {
  const slash = position.lastIndexOf('/');
  if (slash < 0) throw new FraudstreamError(`not a Redis stream position: ${position}`);
  return [position.slice(0, slash), position.slice(slash + 1)];
}

/** Runs `attempt`, retrying transient Redis errors with exponential backoff, then wrapping them. */
export async function withRetries<T>(
  what: string,
  options: ResolvedRedisStreamOptions,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isTransientRedisError(error)) throw error;
      if (i >= options.retries) {
        throw new TransientStoreError(`${what} failed after ${i + 1} attempts: ${(error as Error).message}`, {
          cause: error,
        });
      }
      await sleep(options.retryBaseMs * 2 ** i);
    }
  }
}
