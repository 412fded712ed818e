/**
 * Trimming acknowledged entries. Consumer groups never delete what they have read, so without
 * trimming a stream grows for ever. An entry may go once every group is done with it: it is at
 * or below the group's last-delivered id and not in its pending entries list (PEL). `XTRIM MINID`
 * keeps every id >= the threshold, so the threshold is the smallest, over all groups, of the
 * oldest pending id (when anything is pending) and the last-delivered id. A group created later
 * with `startFrom: '0'` starts from what is left, not from the stream's first entry.
 */
import type { RedisCommandConnection } from '../../redis/index.js';

/** Compares two stream ids (`<ms>-<seq>`) numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** Field of a flat RESP2 `[name, value, ...]` reply. */
function field(reply: readonly unknown[], name: string): unknown {
  for (let i = 0; i + 1 < reply.length; i += 2) if (reply[i] === name) return reply[i + 1];
  return undefined;
}

/**
 * The `XTRIM MINID` threshold of `key`: nothing below it is pending or undelivered in any group.
 * Undefined when the stream has no group (nothing is known to be consumed) or nothing was delivered.
 */
export async function trimThreshold(
  connection: RedisCommandConnection,
  key: string,
): Promise<string | undefined> {
  const groups = await connection.send<unknown[][]>(key, ['XINFO', 'GROUPS', key]);
  if (groups.length === 0) return undefined;
  let threshold: string | undefined;
  for (const group of groups) {
    const name = String(field(group, 'name'));
    let bound = String(field(group, 'last-delivered-id'));
    if (bound === '0-0') return undefined;
    if (Number(field(group, 'pending')) > 0) {
      // XPENDING's summary form answers [count, smallest id, greatest id, consumers].
      const summary = await connection.send<[number, string | null, ...unknown[]]>(key, [
        'XPENDING',
        key,
        name,
      ]);
      const oldest = summary[1];
      if (oldest && compareStreamIds(oldest, bound) < 0) bound = oldest;
    }
    if (threshold === undefined || compareStreamIds(bound, threshold) < 0) threshold = bound;
  }
  return threshold;
}

/** Trims acknowledged entries from `key`; returns how many entries were removed. */
export async function trimAcknowledged(connection: RedisCommandConnection, key: string): Promise<number> {
  const threshold = await trimThreshold(connection, key);
  if (threshold === undefined) return 0;
  return Number(await connection.send(key, ['XTRIM', key, 'MINID', threshold]));
}
