/**
 * Secondary indexes of the Redis store for `searchTransactions`, on core Redis types (no
 * RediSearch needed). Per store shard `{s<i>}`, sorted sets whose members all have score 0 and
 * are ordered by their text, `<event time, 15 digits>|<record key>` (see `../search.ts`):
 *
 * | key | members |
 * |---|---|
 * | `P ix:{s<i>}:card:<cardId>` | the card's transactions (expire with the documents' TTL, if any) |
 * | `P ix:{s<i>}:term:<terminalId>` | the terminal's transactions (same) |
 * | `P ix:{s<i>}:dec:<decision>` | transactions by decision, the newest {@link DECISION_INDEX_MAX} kept |
 *
 * A query reads the narrowest index that applies (card, else terminal, else decision, else all
 * three decisions) with `ZREVRANGEBYLEX` between the time bounds, newest first, then reads the
 * documents and applies the other filters. The keys carry the shard's hash tag, so one script
 * call per shard writes them on a cluster too. Index entries are written beside the documents in
 * the same round trip and are idempotent (a member is added once), so a redelivered batch
 * repairs an index a crash left short; an entry whose document expired is skipped.
 */
import { RedisScript } from '../../redis/index.js';
import { shardOf } from '../../transports/index.js';
import { decodeCursor, encodeCursor, matchesQuery, searchKey, timePrefix } from '../search.js';
import {
  DECISIONS,
  type Decision,
  type ScoredTransaction,
  type TransactionPage,
  type TransactionQuery,
} from '../types.js';
import type { RedisStoreKeys } from './layout.js';
import { getDocumentCommand, parseDocumentReply } from './layout.js';

/** Most entries kept per shard in each decision index (the approve index grows with all traffic). */
export const DECISION_INDEX_MAX = 1_000_000;

/** Candidates read per index and round in a search, beyond the page size. */
const SEARCH_SLACK = 16;

/** Most documents one search reads before it returns a partial page with a cursor. */
const MAX_DOCUMENTS_READ = 20_000;

/** Index key names, beside the store's own keys. */
export function indexKeys(keys: RedisStoreKeys, shard: number) {
  const base = `${keys.prefix}ix:${keys.shardTag(shard)}:`;
  return {
    card: (cardId: string) => `${base}card:${cardId}`,
    terminal: (terminalId: string) => `${base}term:${terminalId}`,
    decision: (decision: Decision) => `${base}dec:${decision}`,
  };
}

/**
 * Adds index entries. KEYS: the decision keys first (`nDecision` of them), then the card and
 * terminal keys. ARGV: nDecision, decision cap, TTL in ms of card and terminal keys (0 = none),
 * then per entry its key index and member.
 */
export const INDEX_SCRIPT = new RedisScript(`
local nd = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
for i = 4, #ARGV, 2 do
  redis.call('ZADD', KEYS[tonumber(ARGV[i])], 0, ARGV[i + 1])
end
for k = 1, #KEYS do
  if k <= nd then
    redis.call('ZREMRANGEBYRANK', KEYS[k], 0, -cap - 1)
  elseif ttl > 0 then
    redis.call('PEXPIRE', KEYS[k], ttl)
  end
end
return 0
`);

/** Keys and arguments of one shard's {@link INDEX_SCRIPT} call. */
export function indexCall(
  keys: RedisStoreKeys,
  shard: number,
  records: readonly ScoredTransaction[],
  ttlSeconds: number,
): { keys: string[]; args: string[] } {
  const ix = indexKeys(keys, shard);
  const decisionKeys: string[] = [];
  const otherKeys: string[] = [];
  const index = new Map<string, number>();
  const entries: [string, string][] = [];
  const add = (key: string, decision: boolean, member: string): void => {
    if (!index.has(key)) {
      index.set(key, index.size);
      (decision ? decisionKeys : otherKeys).push(key);
    }
    entries.push([key, member]);
  };
  for (const r of records) {
    const tx = r.transaction;
    const member = searchKey(tx.timestampMs, r.key);
    add(ix.decision(r.decision), true, member);
    if (tx.cardId !== '') add(ix.card(tx.cardId), false, member);
    if (tx.terminalId !== '') add(ix.terminal(tx.terminalId), false, member);
  }
  const ordered = [...decisionKeys, ...otherKeys];
  const position = new Map(ordered.map((k, i) => [k, String(i + 1)]));
  const args = [String(decisionKeys.length), String(DECISION_INDEX_MAX), String(ttlSeconds * 1000)];
  for (const [key, member] of entries) args.push(position.get(key)!, member);
  return { keys: ordered, args };
}

/** What a search needs of the store. */
export interface SearchContext {
  keys: RedisStoreKeys;
  shards: number;
  layout: 'modules' | 'core';
  send<T>(key: string, args: readonly string[]): Promise<T>;
}

/** {@link Store.searchTransactions} over the indexes; the query is already validated. */
export async function searchIndexes(ctx: SearchContext, query: TransactionQuery): Promise<TransactionPage> {
  const sources: string[] = [];
  for (let shard = 0; shard < ctx.shards; shard++) {
    const ix = indexKeys(ctx.keys, shard);
    if (query.cardId !== undefined) sources.push(ix.card(query.cardId));
    else if (query.terminalId !== undefined) sources.push(ix.terminal(query.terminalId));
    else for (const d of query.decision ? [query.decision] : DECISIONS) sources.push(ix.decision(d));
  }
  // Exclusive upper bound: the cursor, or just past the last millisecond of `toMs`.
  let upper = query.toMs === undefined ? '+' : `(${timePrefix(query.toMs + 1)}|`;
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    if (upper === '+' || after < upper.slice(1)) upper = `(${after}`;
  }
  const lower = query.fromMs === undefined ? '-' : `[${timePrefix(query.fromMs)}|`;
  const fetch = query.limit + SEARCH_SLACK;
  const found: { k: string; r: ScoredTransaction }[] = [];
  let read = 0;
  let lastSeen: string | undefined;
  for (;;) {
    const replies = await Promise.all(
      sources.map((key) =>
        ctx.send<string[]>(key, ['ZREVRANGEBYLEX', key, upper, lower, 'LIMIT', '0', String(fetch)]),
      ),
    );
    // Members below the highest last member of a full reply may be missing from this round;
    // they come in the next one, which starts below that member.
    let floor = '';
    const candidates: string[] = [];
    for (const reply of replies) {
      candidates.push(...reply);
      if (reply.length === fetch && reply[reply.length - 1]! > floor) floor = reply[reply.length - 1]!;
    }
    const round = candidates.filter((m) => m >= floor).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    const docs = await Promise.all(round.map((m) => readDocument(ctx, m.slice(m.indexOf('|') + 1))));
    for (let i = 0; i < round.length && found.length <= query.limit; i++) {
      lastSeen = round[i]!;
      const r = docs[i];
      if (r && matchesQuery(r, query)) found.push({ k: round[i]!, r });
    }
    read += round.length;
    if (floor === '' || found.length > query.limit) break;
    upper = `(${floor}`;
    if (read >= MAX_DOCUMENTS_READ) {
      // A sparse filter over a large index: hand back what was found and where to go on.
      const page = found.slice(0, query.limit);
      return { transactions: page.map((f) => f.r), ...(lastSeen && { nextCursor: encodeCursor(lastSeen) }) };
    }
  }
  const page = found.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    transactions: page.map((f) => f.r),
    ...(found.length > query.limit && last && { nextCursor: encodeCursor(last.k) }),
  };
}

async function readDocument(ctx: SearchContext, recordKey: string): Promise<ScoredTransaction | undefined> {
  const docKey = ctx.keys.transaction(shardOf(recordKey, ctx.shards), recordKey);
  const reply = await ctx.send<string | null>(docKey, getDocumentCommand(ctx.layout, docKey));
  return parseDocumentReply(reply) as ScoredTransaction | undefined;
}
