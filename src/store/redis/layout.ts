/**
 * Key layout of the Redis store and the pure builders of its commands (tested without a
 * server, which matters for the module path: Debian's Redis has no modules).
 *
 * With prefix `P` and S store shards (shard `i` = FNV-1a(record key) mod S, hash tag `{s<i>}`):
 *
 * | key | type | content |
 * |---|---|---|
 * | `P tx:{s<i>}<recordKey>` | RedisJSON document, or string of JSON text on core | the {@link ScoredTransaction}; optional TTL |
 * | `P count:{s<i>}` | integer | records written to the shard (incremented only for new records) |
 * | `P cnt:{s<i>}:<intervalMs>:<bucketStartMs>` | hash | `transactions`, `flagged`, `review`, `decline`, `scoreSum`; expires after the retention |
 * | `P ts:fraudulent_ts:{s<i>}`, `P ts:non-fraudulent_ts:{s<i>}` | sorted set (core only) | score = ms, member `<recordKey>:<fraudScore>`; trimmed to the retention behind the newest point |
 * | `fraud-ts`, `fraudulent_ts`, `non-fraudulent_ts` (with `seriesKeyPrefix`) | RedisTimeSeries (modules only) | lab keys, `LABELS type fraud_score`, rules into `…:count:10s` and `…:avg:10s` |
 * | `P alerts` | stream | field `alert` = JSON {@link Alert}; `MAXLEN ~ maxAlerts` |
 * | `P dead`, `P dead:count` | stream, integer | dead letters (field `dead` = JSON), and how many were ever stored |
 *
 * Everything a record touches in its shard shares the shard's slot, so one Lua call per shard
 * writes a batch atomically and idempotently (`SET NX` / `JSON.SET NX` decides whether the rest
 * happens). On the core layout `fraud-ts` is not stored: it is the union of the other two.
 */
import type { CounterIntervalMs, ScoreSeriesName, SeriesAggregation } from '../types.js';

/** Key names of one store (prefix and shard count fixed). */
export class RedisStoreKeys {
  constructor(
    readonly prefix: string,
    readonly shards: number,
    readonly seriesKeyPrefix: string,
  ) {}

  shardTag(shard: number): string {
    return `{s${shard}}`;
  }

  transaction(shard: number, recordKey: string): string {
    return `${this.prefix}tx:${this.shardTag(shard)}${recordKey}`;
  }

  count(shard: number): string {
    return `${this.prefix}count:${this.shardTag(shard)}`;
  }

  counterBucket(shard: number, intervalMs: CounterIntervalMs, bucketStartMs: number): string {
    return `${this.prefix}cnt:${this.shardTag(shard)}:${intervalMs}:${bucketStartMs}`;
  }

  /** Core layout sorted set of one shard (`fraudulent_ts` or `non-fraudulent_ts`). */
  coreSeries(name: Exclude<ScoreSeriesName, 'fraud-ts'>, shard: number): string {
    return `${this.prefix}ts:${name}:${this.shardTag(shard)}`;
  }

  /** RedisTimeSeries key of a lab series (module layout). */
  moduleSeries(name: ScoreSeriesName): string {
    return `${this.seriesKeyPrefix}${name}`;
  }

  get alerts(): string {
    return `${this.prefix}alerts`;
  }

  get deadLetters(): string {
    return `${this.prefix}dead`;
  }

  get deadLetterCount(): string {
    return `${this.prefix}dead:count`;
  }
}

/** Aggregation suffixes of the compaction rules the lab's Grafana panels read (10 s buckets). */
export const COMPACTION_RULES = [
  { suffix: ':count:10s', aggregation: 'count', bucketMs: 10_000 },
  { suffix: ':avg:10s', aggregation: 'avg', bucketMs: 10_000 },
] as const;

/** The lab's series label. */
export const SERIES_LABELS = ['type', 'fraud_score'] as const;

/**
 * Commands that create the module layout's series (and their compaction targets and rules).
 * `TS.CREATE` of an existing key fails with "key already exists", which the caller ignores.
 * `DUPLICATE_POLICY BLOCK` makes a second point at the same millisecond fail instead of being
 * merged or dropped; the write script then moves it 1 ms later (see `STORE_SCRIPT`), so no point
 * is lost and averages stay true. Rules need source and target in one slot, so on a cluster
 * (where the lab's untagged keys land in different slots) `withRules` is false.
 */
export function timeSeriesSetupCommands(
  keys: RedisStoreKeys,
  retentionMs: number,
  withRules: boolean,
): string[][] {
  const commands: string[][] = [];
  for (const name of ['fraud-ts', 'fraudulent_ts', 'non-fraudulent_ts'] as const) {
    const key = keys.moduleSeries(name);
    commands.push([
      'TS.CREATE',
      key,
      'RETENTION',
      String(retentionMs),
      'DUPLICATE_POLICY',
      'BLOCK',
      'LABELS',
      ...SERIES_LABELS,
    ]);
    if (!withRules) continue;
    for (const rule of COMPACTION_RULES) {
      const target = `${key}${rule.suffix}`;
      commands.push([
        'TS.CREATE',
        target,
        'RETENTION',
        String(retentionMs),
        'LABELS',
        ...SERIES_LABELS,
        'aggregation',
        rule.aggregation,
      ]);
      commands.push(['TS.CREATERULE', key, target, 'AGGREGATION', rule.aggregation, String(rule.bucketMs)]);
    }
  }
  return commands;
}

/** `TS.RANGE` of a module series; buckets align to multiples of `bucketMs` since the epoch (ALIGN 0). */
export function timeSeriesRangeCommand(
  key: string,
  fromMs: number,
  toMs: number,
  aggregate?: { bucketMs: number; type: SeriesAggregation },
): string[] {
  const command = ['TS.RANGE', key, String(Math.floor(fromMs)), String(Math.floor(toMs))];
  if (aggregate) {
    command.push('ALIGN', '0', 'AGGREGATION', aggregate.type, String(aggregate.bucketMs));
  }
  return command;
}

/**
 * Reads a stored document: `JSON.GET key NOESCAPE .` on the module layout, `GET` on core. The
 * legacy root path `.` (not JSONPath `$`) works on ReJSON 1.x, RedisJSON 2.x and Redis 8, and
 * answers the document itself; `NOESCAPE` makes ReJSON 1.x return non-ASCII text as UTF-8
 * instead of escaping it byte by byte (later versions accept and ignore it).
 */
export function getDocumentCommand(layout: 'modules' | 'core', key: string): string[] {
  return layout === 'modules' ? ['JSON.GET', key, 'NOESCAPE', '.'] : ['GET', key];
}

/**
 * Parses a document reply (`JSON.GET key .` and `GET` both answer the document's JSON text).
 * Numbers may come back in a longer form (ReJSON 1.x prints 17 significant digits) that
 * parses to the same double.
 */
export function parseDocumentReply(reply: string | null): unknown {
  return reply === null ? undefined : (JSON.parse(reply) as unknown);
}

/**
 * Whether a `MODULE LIST` reply (RESP2: one flat `[name, n, ver, v, ...]` array per module)
 * lists RedisJSON and RedisTimeSeries.
 */
export function modulesFromModuleList(reply: unknown): { json: boolean; timeSeries: boolean } {
  const names = new Set<string>();
  if (Array.isArray(reply)) {
    for (const entry of reply) {
      if (!Array.isArray(entry)) continue;
      for (let i = 0; i + 1 < entry.length; i += 2) {
        if (String(entry[i]).toLowerCase() === 'name') names.add(String(entry[i + 1]).toLowerCase());
      }
    }
  }
  return { json: names.has('rejson') || names.has('redisjson'), timeSeries: names.has('timeseries') };
}

/**
 * Whether a `COMMAND INFO JSON.SET TS.ADD` reply knows both commands (nil entries = unknown).
 * Redis 8 has both built in without listing them as modules.
 */
export function modulesFromCommandInfo(reply: unknown): { json: boolean; timeSeries: boolean } {
  const known = Array.isArray(reply) ? reply.map((entry) => Array.isArray(entry)) : [];
  return { json: known[0] === true, timeSeries: known[1] === true };
}

/** Bucket start of `ms` in an interval (aligned to multiples of the interval since the epoch). */
export function bucketStart(ms: number, intervalMs: number): number {
  return Math.floor(ms / intervalMs) * intervalMs;
}
