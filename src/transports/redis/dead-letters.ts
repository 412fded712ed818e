/**
 * Dead letters of the Redis Streams transport: records that will never be processed go to one
 * dead-letter stream with fields `p`, `reason`, `position`, `at`.
 */
import type { RedisCommandConnection } from '../../redis/index.js';
import type { DeliveredRecord } from '../types.js';
import { withRetries } from './entries.js';
import type { ResolvedRedisStreamOptions } from './options.js';

/**
 * Receives records that will never be processed. Implemented by readers that have a
 * dead-letter destination; the pipeline uses it for poison records.
 */
export interface DeadLetterSink {
  deadLetter(items: readonly { record: DeliveredRecord; reason: string }[]): Promise<void>;
}

/** One record bound for the dead-letter stream, with why. */
export interface DeadLetterItem {
  record: DeliveredRecord;
  reason: string;
}

/**
 * Appends the items to the dead-letter stream, pipelined, retrying transient errors. The caller
 * acknowledges the records only after this resolves, so none is lost in between.
 */
export async function writeDeadLetters(
  connection: RedisCommandConnection,
  options: ResolvedRedisStreamOptions,
  items: readonly DeadLetterItem[],
): Promise<void> {
  if (items.length === 0) return;
  const dead = options.deadLetterStream;
  const at = String(Date.now());
  await withRetries('dead-letter XADD', options, () =>
    Promise.all(
      items.map(({ record, reason }) =>
        connection.send(dead, [
          'XADD',
          dead,
          '*',
          'p',
          record.payload,
          'reason',
          reason,
          'position',
          record.position,
          'at',
          at,
        ]),
      ),
    ),
  );
}

/**
 * Splits delivered records into those to hand out and those delivered more than
 * `maxDeliveries` times (reason `max-deliveries`); drops repeated positions.
 */
export function screenDeliveries(
  records: readonly DeliveredRecord[],
  maxDeliveries: number,
): { keep: DeliveredRecord[]; exhausted: DeadLetterItem[] } {
  const seen = new Set<string>();
  const keep: DeliveredRecord[] = [];
  const exhausted: DeadLetterItem[] = [];
  for (const record of records) {
    if (seen.has(record.position)) continue;
    seen.add(record.position);
    if (record.deliveries > maxDeliveries) exhausted.push({ record, reason: 'max-deliveries' });
    else keep.push(record);
  }
  return { keep, exhausted };
}
