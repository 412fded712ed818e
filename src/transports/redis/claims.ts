/**
 * Pending-entry recovery of one reader. Records delivered but not acknowledged stay in the
 * group's pending entries list (PEL).
 * - A reader first re-reads its own PEL (`XREADGROUP ... 0`: what a crashed predecessor with the
 *   same consumer name left), and every `claimIdleMs / 2` takes over entries idle longer than
 *   `claimIdleMs` from any consumer with `XAUTOCLAIM`.
 * - Redis has no negative acknowledgement. A released record is remembered and the next read
 *   claims exactly those back with `XCLAIM <id>...` (min-idle 0). Re-reading the whole PEL
 *   instead would also redeliver, and bump the delivery count of, records that are still being
 *   processed.
 */
import type { RedisCommandConnection } from '../../redis/index.js';
import type { DeliveredRecord } from '../types.js';
import { type PendingRow, type RawEntry, type RawStreams, splitPosition, toDelivered } from './entries.js';
import type { ResolvedRedisStreamOptions } from './options.js';

/** Released records, the own-PEL cursor and the XAUTOCLAIM cursor, per shard. */
export class PendingClaims {
  private readonly options: ResolvedRedisStreamOptions;
  private readonly connection: RedisCommandConnection;
  private readonly maxBatch: number;
  /** Released records per shard, claimed back on the next read. */
  private released: DeliveredRecord[][];
  /** Per shard: id after which the own PEL is still to be re-read, or undefined when done. */
  private recoverAfter: (string | undefined)[];
  private claimCursor: string[];
  private nextClaimAtMs = 0;

  constructor(options: ResolvedRedisStreamOptions, connection: RedisCommandConnection, maxBatch: number) {
    this.options = options;
    this.connection = connection;
    this.maxBatch = maxBatch;
    this.released = options.shardKeys.map(() => []);
    this.recoverAfter = options.shardKeys.map(() => '0');
    this.claimCursor = options.shardKeys.map(() => '0-0');
  }

  /** Remembers a released record of shard `shard`; the next {@link collect} claims it back. */
  release(shard: number, record: DeliveredRecord): void {
    this.released[shard]!.push(record);
  }

  /** Whether some of the own PEL a predecessor left is still to be re-read. */
  get recovering(): boolean {
    return this.recoverAfter.some((after) => after !== undefined);
  }

  /** Appends released records, the own PEL and (when due) entries claimed from idle consumers to `out`. */
  async collect(out: DeliveredRecord[]): Promise<void> {
    await this.claimReleased(out);
    await this.recoverOwnPending(out);
    if (Date.now() >= this.nextClaimAtMs) await this.claimIdle(out);
  }

  private async claimReleased(out: DeliveredRecord[]): Promise<void> {
    const { shardKeys, group, consumer } = this.options;
    const work: Promise<void>[] = [];
    for (let shard = 0; shard < shardKeys.length; shard++) {
      const records = this.released[shard]!;
      if (records.length === 0) continue;
      this.released[shard] = [];
      const key = shardKeys[shard]!;
      const previous = new Map<string, number>();
      for (const record of records) previous.set(splitPosition(record.position)[1], record.deliveries);
      work.push(
        this.connection
          .send<RawEntry[]>(key, ['XCLAIM', key, group, consumer, '0', ...previous.keys()])
          .then((entries) => {
            for (const entry of entries) {
              // XCLAIM increments the delivery count by one; acknowledged ids are not returned.
              const record = toDelivered(key, entry, (previous.get(entry[0]) ?? 0) + 1);
              if (record) out.push(record);
            }
          }),
      );
    }
    await Promise.all(work);
  }

  private async recoverOwnPending(out: DeliveredRecord[]): Promise<void> {
    const { shardKeys, group, consumer } = this.options;
    const work: Promise<void>[] = [];
    for (let shard = 0; shard < shardKeys.length; shard++) {
      const after = this.recoverAfter[shard];
      if (after === undefined) continue;
      const key = shardKeys[shard]!;
      const count = String(this.maxBatch);
      work.push(
        (async () => {
          const reply = await this.connection.send<RawStreams>(key, [
            'XREADGROUP',
            'GROUP',
            group,
            consumer,
            'COUNT',
            count,
            'STREAMS',
            key,
            after,
          ]);
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) {
            this.recoverAfter[shard] = undefined;
            return;
          }
          const first = entries[0]![0];
          const last = entries[entries.length - 1]![0];
          // A short page is the end of what a predecessor left; paging on would re-read entries
          // this reader delivered since (still in flight) and bump their delivery counts.
          this.recoverAfter[shard] = entries.length < this.maxBatch ? undefined : last;
          // Re-reading the PEL has incremented the counts; XPENDING over the same range and
          // consumer returns exactly these entries with their counts.
          const pending = await this.connection.send<PendingRow[]>(key, [
            'XPENDING',
            key,
            group,
            first,
            last,
            count,
            consumer,
          ]);
          await this.collectEntries(key, entries, pending, out);
        })(),
      );
    }
    await Promise.all(work);
  }

  private async claimIdle(out: DeliveredRecord[]): Promise<void> {
    const { shardKeys, group, consumer, claimIdleMs } = this.options;
    let morePages = false;
    await Promise.all(
      shardKeys.map(async (key, shard) => {
        const [next, entries] = await this.connection.send<[string, (RawEntry | null)[], string[]]>(key, [
          'XAUTOCLAIM',
          key,
          group,
          consumer,
          String(claimIdleMs),
          this.claimCursor[shard]!,
          'COUNT',
          String(this.maxBatch),
        ]);
        this.claimCursor[shard] = next;
        if (next !== '0-0') morePages = true;
        const claimed = entries.filter((entry): entry is RawEntry => entry !== null);
        if (claimed.length === 0) return;
        // XAUTOCLAIM does not report delivery counts; ask XPENDING for each claimed id (rare path).
        const pending = await Promise.all(
          claimed.map((entry) =>
            this.connection.send<PendingRow[]>(key, [
              'XPENDING',
              key,
              group,
              entry[0],
              entry[0],
              '1',
              consumer,
            ]),
          ),
        );
        await this.collectEntries(key, claimed, pending.flat(), out);
      }),
    );
    this.nextClaimAtMs = morePages ? 0 : Date.now() + claimIdleMs / 2;
  }

  /** Turns PEL entries with their XPENDING rows into records; acknowledges trimmed ones. */
  private async collectEntries(
    key: string,
    entries: readonly RawEntry[],
    pending: readonly PendingRow[],
    out: DeliveredRecord[],
  ): Promise<void> {
    const counts = new Map<string, number>();
    for (const row of pending) counts.set(row[0], Number(row[3]));
    const trimmed: string[] = [];
    for (const entry of entries) {
      const record = toDelivered(key, entry, counts.get(entry[0]) ?? 1);
      if (record) out.push(record);
      else trimmed.push(entry[0]);
    }
    if (trimmed.length > 0) await this.connection.send(key, ['XACK', key, this.options.group, ...trimmed]);
  }
}
