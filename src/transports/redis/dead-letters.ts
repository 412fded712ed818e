/**
 * Dead letters of the Redis Streams transport: records that will never be processed go to one
 * dead-letter stream, capped at `deadLetterMaxLen` entries (`MAXLEN ~`), with fields `p` (the
 * payload up to `deadLetterMaxPayloadBytes`), `size` and `sha256` (of the full payload),
 * `reason`, `position`, `at`.
 */
import { capPayload, type RedisCommandConnection } from '../../redis/index.js';
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
  const { deadLetterStream: dead, deadLetterMaxLen, deadLetterMaxPayloadBytes } = options;
  const at = String(Date.now());
  const commands = items.map(({ record, reason }) => {
    const capped = capPayload(record.payload, deadLetterMaxPayloadBytes);
    return [
      'XADD',
      dead,
      'MAXLEN',
      '~',
      String(deadLetterMaxLen),
      '*',
      'p',
      capped.payload,
      'size',
      String(capped.bytes),
      'sha256',
      capped.sha256,
      'reason',
      reason,
      'position',
      record.position,
      'at',
      at,
    ];
  });
  await withRetries('dead-letter XADD', options, () =>
    Promise.all(commands.map((command) => connection.send(dead, command))),
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
