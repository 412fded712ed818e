import { createHash } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotAvailableError, TransientStoreError } from '../../src/errors/index.js';
import { RedisStore } from '../../src/store/redis/index.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';
import { describeStoreConformance, scored } from './store-conformance.js';

describe.skipIf(skipWithoutRedis())('RedisStore on a single server', () => {
  let server: RedisServerHandle;
  let admin: ReturnType<typeof createClient>;
  beforeAll(async () => {
    server = await startRedisServer();
    admin = createClient({ url: server.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.close();
    await server?.stop();
  });

  describeStoreConformance('RedisStore (single server, core layout)', () =>
    RedisStore.connect({ url: server.url, prefix: randomKeyPrefix() }),
  );
  describeStoreConformance('RedisStore (single server, 4 shards)', () =>
    RedisStore.connect({ url: server.url, prefix: randomKeyPrefix(), shards: 4 }),
  );

  /** Calls of one command so far, from INFO commandstats. */
  const calls = async (command: string): Promise<number> => {
    const info = await admin.info('commandstats');
    return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  };

  it('detects the core layout on a server without modules and reports it', async () => {
    const notes: string[] = [];
    const store = await RedisStore.connect({
      url: server.url,
      prefix: randomKeyPrefix(),
      onInfo: (m) => notes.push(m),
    });
    expect(store.layout).toBe('core');
    expect(notes.join('\n')).toContain('core types');
    await store.close();
    await expect(RedisStore.connect({ url: server.url, layout: 'modules' })).rejects.toBeInstanceOf(
      NotAvailableError,
    );
  });

  it('writes a whole batch with one store and one search-index script call, and a duplicate inside a batch changes nothing', async () => {
    const prefix = randomKeyPrefix();
    const store = await RedisStore.connect({ url: server.url, prefix });
    const t0 = Date.now();
    await store.persistBatch([scored(0, t0, 'approve', 0.1)]);
    const before = (await calls('evalsha')) + (await calls('eval'));
    const batch = Array.from({ length: 300 }, (_, i) =>
      scored(i + 1, t0 + i, i % 10 === 0 ? 'decline' : 'approve', 0.5),
    );
    expect(await store.persistBatch([...batch, batch[7]!])).toEqual({ written: 300, duplicates: 1 });
    expect((await calls('evalsha')) + (await calls('eval')) - before).toBe(2);
    expect(await store.countTransactions()).toBe(301);
    const counted = await store.counters(10_000, t0 - 10_000, t0 + 10_000);
    expect(counted.reduce((a, b) => a + b.transactions, 0)).toBe(301);
    expect((await store.scoreSeries('fraud-ts', t0, t0 + 1_000)).length).toBe(301);
    expect((await store.recentAlerts(1000)).length).toBe(30);
    // Another service reads the alerts stream directly.
    const entries = await admin.xRange(`${prefix}alerts`, '-', '+');
    expect(JSON.parse(entries[0]!.message.alert!).decision).toBe('decline');
    await store.close();
  });

  it('expires counter buckets after the retention, documents after 7 days by default, never with TTL 0', async () => {
    const prefix = randomKeyPrefix();
    const store = await RedisStore.connect({ url: server.url, prefix, seriesRetentionMs: 300 });
    const t0 = Date.now();
    await store.persistBatch([scored(1, t0, 'review', 0.9)]);
    const bucketKeys = await admin.keys(`${prefix}cnt:*`);
    expect(bucketKeys).toHaveLength(2);
    for (const key of bucketKeys) {
      const ttl = await admin.pTTL(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300);
    }
    const defaultTtl = await admin.ttl(`${prefix}tx:{s0}${scored(1, t0, 'review', 0.9).key}`);
    expect(defaultTtl).toBeGreaterThan(7 * 86_400 - 60);
    expect(defaultTtl).toBeLessThanOrEqual(7 * 86_400);
    for (let i = 0; i < 100 && (await admin.exists(bucketKeys)) > 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(await store.counters(1_000, t0 - 1_000, t0 + 1_000)).toEqual([]);
    expect(await store.countTransactions()).toBe(1);
    await store.close();

    const withTtl = await RedisStore.connect({ url: server.url, prefix, transactionTtlSeconds: 60 });
    await withTtl.persistBatch([scored(2, t0, 'approve', 0.1)]);
    const ttl = await admin.ttl(`${prefix}tx:{s0}${scored(2, t0, 'approve', 0.1).key}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    await withTtl.close();

    const keepForever = await RedisStore.connect({ url: server.url, prefix, transactionTtlSeconds: 0 });
    await keepForever.persistBatch([scored(3, t0, 'approve', 0.1)]);
    expect(await admin.pTTL(`${prefix}tx:{s0}${scored(3, t0, 'approve', 0.1).key}`)).toBe(-1);
    await keepForever.close();
  });

  it('caps the dead-letter stream and stores long payloads cut, with their full size and SHA-256', async () => {
    const prefix = randomKeyPrefix();
    const store = await RedisStore.connect({
      url: server.url,
      prefix,
      maxDeadLetters: 100,
      maxDeadLetterPayloadBytes: 1_024,
    });
    const big = `{"x":"${'é'.repeat(40_000)}"}`;
    const letter = (i: number, payload: string) => ({
      position: `p${i}`,
      payload,
      reason: 'payload: too deep',
      errorName: 'ParseError',
      atMs: i,
    });
    await store.deadLetter([letter(0, big)]);
    const [stored] = await store.recentDeadLetters(1);
    expect(Buffer.byteLength(stored!.payload)).toBeLessThanOrEqual(1_024);
    expect(big.startsWith(stored!.payload)).toBe(true);
    expect(stored!.payloadBytes).toBe(Buffer.byteLength(big));
    expect(stored!.payloadSha256).toBe(createHash('sha256').update(big).digest('hex'));
    // A payload within the cap is stored whole, as every store keeps it.
    await store.deadLetter([letter(-1, 'short')]);
    expect((await store.recentDeadLetters(1))[0]).toEqual(letter(-1, 'short'));
    await store.deadLetter(Array.from({ length: 1_000 }, (_, i) => letter(i + 1, `bad ${i}`)));
    expect(await store.countDeadLetters()).toBe(1_002);
    // `MAXLEN ~` trims whole radix-tree nodes (100 entries): near the cap, far below 1,002.
    expect(Number(await admin.xLen(`${prefix}dead`))).toBeLessThan(300);
    await store.close();
  });

  it('reports a server out of memory as a store failure to retry, never as a bad record', async () => {
    const small = await startRedisServer({
      extraArgs: ['--maxmemory', '1mb', '--maxmemory-policy', 'noeviction'],
    });
    const store = await RedisStore.connect({ url: small.url, prefix: randomKeyPrefix() });
    try {
      const t0 = Date.now();
      const batch = (from: number) =>
        Array.from({ length: 200 }, (_, i) => ({
          ...scored(from + i, t0, 'approve', 0.1),
          modelVersion: 'm'.repeat(2_000),
        }));
      let failure: unknown;
      for (let round = 0; round < 100 && failure === undefined; round++) {
        await store.persistBatch(batch(round * 200)).catch((error: unknown) => {
          failure = error;
        });
      }
      expect(failure).toBeInstanceOf(TransientStoreError);
      expect((failure as Error).message).toContain('OOM');
    } finally {
      await store.close();
      await small.stop();
    }
  });

  it('stores lab input columns once when the features repeat them, and reads the transaction back whole', async () => {
    const prefix = randomKeyPrefix();
    const store = await RedisStore.connect({ url: server.url, prefix });
    const t0 = Date.now();
    const columns = { Time: 1, V1: -1.5, Amount: 12.5 };
    const lab = { ...scored(1, t0, 'approve', 0.1), features: { ...columns } };
    lab.transaction = { ...lab.transaction, features: { ...columns } };
    // A transaction whose own columns differ from the model inputs keeps both.
    const other = { ...scored(2, t0, 'approve', 0.1), features: { ...columns, V1: 0 } };
    other.transaction = { ...other.transaction, features: { ...columns } };
    await store.persistBatch([lab, other]);
    const raw = (key: string) => admin.get(`${prefix}tx:{s0}${key}`).then((v) => JSON.parse(v!));
    expect((await raw(lab.key)).transaction.features).toBeUndefined();
    expect((await raw(lab.key)).featuresShared).toBe(true);
    expect((await raw(other.key)).transaction.features).toEqual(columns);
    expect(await store.getTransaction(lab.key)).toEqual(lab);
    expect(await store.getTransaction(other.key)).toEqual(other);
    await store.close();
  });

  it('trims core score series to the retention behind the newest point', async () => {
    const store = await RedisStore.connect({
      url: server.url,
      prefix: randomKeyPrefix(),
      seriesRetentionMs: 10_000,
    });
    const t0 = 1_700_000_000_000;
    await store.persistBatch([scored(1, t0, 'approve', 0.1), scored(2, t0 + 5_000, 'review', 0.8)]);
    await store.persistBatch([scored(3, t0 + 12_000, 'approve', 0.3), scored(4, t0 + 12_500, 'review', 0.7)]);
    const all = await store.scoreSeries('fraud-ts', 0, t0 + 60_000);
    expect(all.map((p) => p.t)).toEqual([t0 + 5_000, t0 + 12_000, t0 + 12_500]);
    await store.close();
  });

  it('keeps two transactions decided in the same millisecond as two points', async () => {
    const store = await RedisStore.connect({ url: server.url, prefix: randomKeyPrefix(), shards: 3 });
    const t = 1_700_000_000_000;
    await store.persistBatch([
      scored(1, t, 'approve', 0.1),
      scored(2, t, 'approve', 0.2),
      scored(3, t, 'approve', 0.2),
    ]);
    const points = await store.scoreSeries('non-fraudulent_ts', t, t);
    expect(points.map((p) => p.v).sort()).toEqual([0.1, 0.2, 0.2]);
    expect(await store.scoreSeries('fraud-ts', t, t, { bucketMs: 1_000, type: 'count' })).toEqual([
      { t, v: 3 },
    ]);
    await store.close();
  });
});

describe.skipIf(skipWithoutRedis())('RedisStore search indexes', () => {
  it('keeps card and terminal entries in one key per hour, written once a batch and expiring with the documents', async () => {
    const server = await startRedisServer();
    try {
      const prefix = randomKeyPrefix();
      const store = await RedisStore.connect({ url: server.url, prefix, transactionTtlSeconds: 3600 });
      const hour = 3_600_000;
      const t0 = 1_700_000_000_000 - (1_700_000_000_000 % hour);
      // 300 records over 3 hours of event time, 7 cards and 5 terminals.
      const batch = Array.from({ length: 300 }, (_, i) =>
        scored(i, t0 + 10 + (i % 3) * hour, 'approve', 0.1),
      );
      const admin = createClient({ url: server.url });
      await admin.connect();
      const before = await admin.info('commandstats');
      await store.persistBatch(batch);
      const after = await admin.info('commandstats');
      const zadds = (info: string) => Number(/cmdstat_zadd:calls=(\d+)/.exec(info)?.[1] ?? 0);
      // One ZADD per index key (3 card hours + 3 terminal hours + 1 decision + the hours set) and
      // the store's one for the batch's score series: not three per record.
      expect(zadds(after) - zadds(before)).toBe(9);
      const cardKeys = (await admin.keys(`${prefix}ix:*:card:*`)).sort();
      expect(cardKeys).toHaveLength(3);
      expect(await admin.zCard(cardKeys[0]!)).toBe(100);
      for (const key of [...cardKeys, ...(await admin.keys(`${prefix}ix:*:term:*`))]) {
        const ttl = await admin.pTTL(key);
        expect(ttl).toBeGreaterThan(3_500_000);
        expect(ttl).toBeLessThanOrEqual(3_600_000);
      }
      const hours = await admin.zRange(`${prefix}ix:{s0}:hours`, 0, -1);
      expect(hours.map(Number)).toEqual([0, 1, 2].map((k) => (t0 + k * hour) / hour));
      await admin.close();
      await store.close();
    } finally {
      await server.stop();
    }
  });

  it('can be turned off: fewer writes, and search is then refused', async () => {
    const server = await startRedisServer();
    try {
      const store = await RedisStore.connect({
        url: server.url,
        prefix: randomKeyPrefix(),
        searchIndexes: false,
      });
      expect(await store.persistBatch([scored(1, Date.now(), 'approve', 0.1)])).toEqual({
        written: 1,
        duplicates: 0,
      });
      await expect(store.searchTransactions({ limit: 5 })).rejects.toThrow(NotAvailableError);
      const admin = createClient({ url: server.url });
      await admin.connect();
      expect(await admin.keys('*ix:*')).toEqual([]);
      await admin.close();
      await store.close();
    } finally {
      await server.stop();
    }
  });
});
