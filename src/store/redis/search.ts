/**
 * Secondary indexes of the Redis store for `searchTransactions`, on core Redis types (no
 * RediSearch needed). Per store shard `{s<i>}`, sorted sets whose members all have score 0 and
 * are ordered by their text (`<event time, 15 digits>|<record key>`, see `../search.ts`):
 *
 * | key | members |
 * |---|---|
 * | `P ix:{s<i>}:card:<hour>` | `<n>:<cardId>|<time>|<record key>` of the hour's transactions (n = the id's length) |
 * | `P ix:{s<i>}:term:<hour>` | the same by terminal |
 * | `P ix:{s<i>}:hours` | the hours written (score and member = hour number since the epoch, event time) |
 * | `P ix:{s<i>}:dec:<decision>` | `<time>|<record key>` by decision, the newest {@link DECISION_INDEX_MAX} kept |
 *
 * Card and terminal entries share one key per shard and hour of event time rather than one key
 * per card: a batch then writes each index with one `ZADD` of many members, not one `ZADD` and
 * one `PEXPIRE` per record (five calls a record cost about a quarter of the Redis path's
 * throughput). The length-prefixed id makes one card's entries a contiguous range of the hour's
 * key, ordered by time. Hour keys expire with the documents' TTL after their last write.
 *
 * A query reads the narrowest index that applies (card, else terminal, else decision, else all
 * three decisions) with `ZREVRANGEBYLEX` between the time bounds, newest first; for cards and
 * terminals hour by hour, newest hour first, in groups of {@link HOURS_PER_ROUND}, over the hours
 * the shard has written within the bounds (without `fromMs`, all of them: give a lower bound on a
 * store that keeps documents for long). It then reads the documents and applies the other
 * filters. The keys carry the shard's hash tag, so one script call per shard writes them on a
 * cluster too. Index entries are written beside the documents in the same round trip and are
 * idempotent (a member is added once), so a redelivered batch repairs an index a crash left
 * short; an entry whose document expired is skipped.
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

/** Event time covered by one card or terminal index key. */
const INDEX_HOUR_MS = 3_600_000;

/** Hour keys read per round trip by a card or terminal search. */
const HOURS_PER_ROUND = 48;

/** Candidates read per index and round in a search, beyond the page size. */
const SEARCH_SLACK = 16;

/** Most documents one search reads before it returns a partial page with a cursor. */
const MAX_DOCUMENTS_READ = 20_000;

/** Index key names, beside the store's own keys. */
export function indexKeys(keys: RedisStoreKeys, shard: number) {
  const base = `${keys.prefix}ix:${keys.shardTag(shard)}:`;
  return {
    card: (hour: number) => `${base}card:${hour}`,
    terminal: (hour: number) => `${base}term:${hour}`,
    hours: `${base}hours`,
    decision: (decision: Decision) => `${base}dec:${decision}`,
  };
}

/** The prefix of one card's or terminal's members in an hour key. */
function idPrefix(id: string): string {
  return `${id.length}:${id}|`;
}

/** The hour key number of an event time. */
function hourOf(timestampMs: number): number {
  return Math.floor(Math.max(0, timestampMs) / INDEX_HOUR_MS);
}

/**
 * Adds index entries. KEYS: the hours set, the decision keys (`nDecision` of them), then the
 * hour keys. ARGV: nDecision, decision cap, TTL in ms of the hour keys and the hours set (0 =
 * none), then for each key after the hours set its member count and its `0 member` pairs, then
 * the number of hours and their `hour hour` pairs.
 */
export const INDEX_SCRIPT = new RedisScript(`
local nd = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local a = 4
for k = 2, #KEYS do
  local last = a + 2 * tonumber(ARGV[a])
  -- 1000 members per ZADD: unpack() is limited by the Lua stack.
  for c = a + 1, last, 2000 do
    redis.call('ZADD', KEYS[k], unpack(ARGV, c, math.min(c + 1999, last)))
  end
  if k <= nd + 1 then
    redis.call('ZREMRANGEBYRANK', KEYS[k], 0, -cap - 1)
  elseif ttl > 0 then
    redis.call('PEXPIRE', KEYS[k], ttl)
  end
  a = last + 1
end
local nh = tonumber(ARGV[a])
if nh > 0 then
  redis.call('ZADD', KEYS[1], unpack(ARGV, a + 1, a + 2 * nh))
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
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
  const decisionMembers = new Map<string, string[]>();
  const hourMembers = new Map<string, string[]>();
  const hours = new Set<number>();
  const add = (into: Map<string, string[]>, key: string, member: string): void => {
    let members = into.get(key);
    if (!members) {
      members = [];
      into.set(key, members);
    }
    members.push(member);
  };
  for (const r of records) {
    const tx = r.transaction;
    const member = searchKey(tx.timestampMs, r.key);
    add(decisionMembers, ix.decision(r.decision), member);
    const hour = hourOf(tx.timestampMs);
    if (tx.cardId !== '') add(hourMembers, ix.card(hour), idPrefix(tx.cardId) + member);
    if (tx.terminalId !== '') add(hourMembers, ix.terminal(hour), idPrefix(tx.terminalId) + member);
    if (tx.cardId !== '' || tx.terminalId !== '') hours.add(hour);
  }
  const args = [String(decisionMembers.size), String(DECISION_INDEX_MAX), String(ttlSeconds * 1000)];
  const indexKeyNames = [ix.hours];
  for (const into of [decisionMembers, hourMembers]) {
    for (const [key, members] of into) {
      indexKeyNames.push(key);
      args.push(String(members.length));
      for (const m of members) args.push('0', m);
    }
  }
  args.push(String(hours.size));
  for (const hour of hours) args.push(String(hour), String(hour));
  return { keys: indexKeyNames, args };
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
  // Bounds on the members' `<time>|<record key>` part: '+' and '-' are open ends.
  let upper = query.toMs === undefined ? '+' : `(${timePrefix(query.toMs + 1)}|`;
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    if (upper === '+' || after < upper.slice(1)) upper = `(${after}`;
  }
  const lower = query.fromMs === undefined ? '-' : `[${timePrefix(query.fromMs)}|`;
  const search = new Search(ctx, query, lower);
  const id = query.cardId ?? query.terminalId;
  if (id === undefined) {
    const sources: string[] = [];
    for (let shard = 0; shard < ctx.shards; shard++) {
      const ix = indexKeys(ctx.keys, shard);
      for (const d of query.decision ? [query.decision] : DECISIONS) sources.push(ix.decision(d));
    }
    return search.page(await search.scan(sources, '', upper));
  }
  const hourKeys = await hourKeysNewestFirst(ctx, query, upper, lower);
  const prefix = idPrefix(id);
  for (let i = 0; i < hourKeys.length; i += HOURS_PER_ROUND) {
    const end = await search.scan(hourKeys.slice(i, i + HOURS_PER_ROUND), prefix, upper);
    if (end !== 'exhausted') return search.page(end);
    if (search.budgetSpent) return search.page('budget');
  }
  return search.page('exhausted');
}

/**
 * The card (or terminal) index keys of every shard that can hold matches, newest hour first:
 * the hours each shard has written, within the query's time bounds.
 */
async function hourKeysNewestFirst(
  ctx: SearchContext,
  query: TransactionQuery,
  upper: string,
  lower: string,
): Promise<string[]> {
  const hourBound = (bound: string, open: string): string =>
    bound === open ? `${open}inf` : String(hourOf(Number(bound.slice(1, 16))));
  const max = hourBound(upper, '+');
  const min = hourBound(lower, '-');
  const perShard = await Promise.all(
    Array.from({ length: ctx.shards }, (_, shard) => {
      const key = indexKeys(ctx.keys, shard).hours;
      return ctx.send<string[]>(key, ['ZREVRANGEBYSCORE', key, max, min]);
    }),
  );
  const keys: { hour: number; key: string }[] = [];
  perShard.forEach((hours, shard) => {
    const ix = indexKeys(ctx.keys, shard);
    for (const h of hours) {
      const hour = Number(h);
      keys.push({ hour, key: query.cardId !== undefined ? ix.card(hour) : ix.terminal(hour) });
    }
  });
  keys.sort((a, b) => b.hour - a.hour);
  return keys.map((k) => k.key);
}

/** One search's progress over its sources: what it found, how far it read. */
class Search {
  private readonly found: { k: string; r: ScoredTransaction }[] = [];
  private read = 0;
  private lastSeen: string | undefined;

  constructor(
    private readonly ctx: SearchContext,
    private readonly query: TransactionQuery,
    private readonly lower: string,
  ) {}

  /**
   * Reads `sources` (keys whose members are `prefix` + `<time>|<record key>`) newest first below
   * `upper`, round after round, until the page is full (`'full'`), the document budget is spent
   * (`'budget'`) or the sources hold nothing more (`'exhausted'`).
   */
  async scan(sources: string[], prefix: string, upper: string): Promise<'full' | 'budget' | 'exhausted'> {
    const fetch = this.query.limit + SEARCH_SLACK;
    const bound = (b: string, open: string): string => {
      if (prefix === '') return b;
      // ':' sorts after every digit: the end of this id's members.
      if (b === open) return open === '+' ? `(${prefix}:` : `[${prefix}`;
      return `${b[0]}${prefix}${b.slice(1)}`;
    };
    const lower = bound(this.lower, '-');
    for (;;) {
      const max = bound(upper, '+');
      const replies = await Promise.all(
        sources.map((key) =>
          this.ctx.send<string[]>(key, ['ZREVRANGEBYLEX', key, max, lower, 'LIMIT', '0', String(fetch)]),
        ),
      );
      // Members below the highest last member of a full reply may be missing from this round;
      // they come in the next one, which starts below that member.
      let floor = '';
      const candidates: string[] = [];
      for (const reply of replies) {
        for (const m of reply) candidates.push(m.slice(prefix.length));
        const last = reply[reply.length - 1];
        if (reply.length === fetch && last !== undefined && last.slice(prefix.length) > floor)
          floor = last.slice(prefix.length);
      }
      const round = candidates.filter((m) => m >= floor).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
      const docs = await Promise.all(round.map((m) => readDocument(this.ctx, m.slice(m.indexOf('|') + 1))));
      for (let i = 0; i < round.length && this.found.length <= this.query.limit; i++) {
        this.lastSeen = round[i]!;
        const r = docs[i];
        if (r && matchesQuery(r, this.query)) this.found.push({ k: round[i]!, r });
      }
      this.read += round.length;
      if (this.found.length > this.query.limit) return 'full';
      if (floor === '') return 'exhausted';
      upper = `(${floor}`;
      if (this.read >= MAX_DOCUMENTS_READ) return 'budget';
    }
  }

  get budgetSpent(): boolean {
    return this.read >= MAX_DOCUMENTS_READ;
  }

  /** The page so far; a page cut by the document budget resumes after the last entry read. */
  page(end: 'full' | 'budget' | 'exhausted'): TransactionPage {
    const page = this.found.slice(0, this.query.limit);
    if (end === 'budget') {
      // A sparse filter over a large index: hand back what was found and where to go on.
      return {
        transactions: page.map((f) => f.r),
        ...(this.lastSeen && { nextCursor: encodeCursor(this.lastSeen) }),
      };
    }
    const last = page[page.length - 1];
    return {
      transactions: page.map((f) => f.r),
      ...(this.found.length > this.query.limit && last && { nextCursor: encodeCursor(last.k) }),
    };
  }
}

async function readDocument(ctx: SearchContext, recordKey: string): Promise<ScoredTransaction | undefined> {
  const docKey = ctx.keys.transaction(shardOf(recordKey, ctx.shards), recordKey);
  const reply = await ctx.send<string | null>(docKey, getDocumentCommand(ctx.layout, docKey));
  return parseDocumentReply(reply) as ScoredTransaction | undefined;
}
