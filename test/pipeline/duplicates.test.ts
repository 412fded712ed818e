/**
 * A producer retry sends the same transaction twice, at two stream positions. Where ids can be
 * trusted (native records, by default) it must be stored once and counted as a duplicate, on
 * every store; lab envelopes, whose ids all read `random_id`, must still be stored apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { type RecordKeyMode, recordKey, type Transaction, toNativeJson } from '../../src/events/index.js';
import { createFeatureSet } from '../../src/features/index.js';
import { Consumer, type ConsumerStats } from '../../src/pipeline/index.js';
import { type ModelBundle, Scorer } from '../../src/scoring/index.js';
import { MemoryStore, type Store } from '../../src/store/index.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { MemoryTransport } from '../../src/transports/index.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';
import { smallWorld, trainSmallBundle } from '../scoring/fixtures.js';
import { labBundle, labEnvelopesAsync } from './lab-bundle.js';

let bundle: ModelBundle;
let live: Transaction[];

beforeAll(async () => {
  bundle = await trainSmallBundle(50, 31, 49);
  const liveFrom = Date.UTC(2018, 3, 1) + 50 * 86_400_000;
  live = smallWorld(52)
    .filter((t) => t.timestampMs >= liveFrom)
    .slice(0, 60);
});

async function consume(
  store: Store,
  model: ModelBundle,
  payloads: readonly string[],
  mode?: RecordKeyMode,
): Promise<ConsumerStats> {
  const transport = new MemoryTransport();
  await transport.writer().publish(payloads.map((payload, i) => ({ payload, partitionKey: String(i) })));
  transport.end();
  const consumer = new Consumer({
    // Small batches: retries land in the same batch and in later ones.
    reader: transport.reader({ maxBatch: 16, maxWaitMs: 5 }),
    store,
    featureSet: createFeatureSet(model.manifest.featureSet, { delayDays: model.manifest.delayDays }),
    scorer: new Scorer(model),
    ...(mode && { recordKey: mode }),
  });
  return consumer.run();
}

/** Every transaction once, then the first 10 again right away and the next 10 again 30 records later. */
function withRetries(transactions: readonly Transaction[]): string[] {
  const payloads = transactions.map((t) => toNativeJson(t));
  const out: string[] = [];
  payloads.forEach((p, i) => {
    out.push(p);
    if (i < 10) out.push(p);
    if (i >= 40 && i < 50) out.push(payloads[i - 30]!);
  });
  return out;
}

describe('recordKey', () => {
  it('keys native and Sparkov records by id and lab envelopes by id@position under auto', () => {
    expect(recordKey({ id: 'a', format: 'native' }, '5-0')).toBe('a');
    expect(recordKey({ id: 'a', format: 'sparkov' }, '5-0')).toBe('a');
    expect(recordKey({ id: 'random_id', format: 'lab' }, '5-0')).toBe('random_id@5-0');
    expect(recordKey({ id: '', format: 'native' }, '5-0')).toBe('@5-0');
    expect(recordKey({ id: 'a', format: 'native' }, '5-0', 'id@position')).toBe('a@5-0');
    expect(recordKey({ id: 'random_id', format: 'lab' }, '5-0', 'id')).toBe('random_id');
  });
});

function describeDuplicates(name: string, open: () => Promise<Store>): void {
  describe(`a native transaction produced twice (${name})`, () => {
    it('is stored once and counted as a duplicate', async () => {
      const store = await open();
      try {
        const payloads = withRetries(live);
        expect(payloads).toHaveLength(live.length + 20);
        const stats = await consume(store, bundle, payloads);
        expect(stats.persisted).toBe(live.length);
        expect(stats.duplicates).toBe(20);
        expect(stats.deadLettered).toBe(0);
        expect(await store.countTransactions()).toBe(live.length);
        const again = await store.getTransaction(live[3]!.id);
        expect(again?.transaction.id).toBe(live[3]!.id);
        expect(again?.key).toBe(live[3]!.id);
      } finally {
        await store.close();
      }
    });

    it('is stored at each position with --record-key id@position', async () => {
      const store = await open();
      try {
        const stats = await consume(store, bundle, withRetries(live), 'id@position');
        expect(stats.persisted).toBe(live.length + 20);
        expect(stats.duplicates).toBe(0);
        expect(await store.countTransactions()).toBe(live.length + 20);
      } finally {
        await store.close();
      }
    });
  });
}

describeDuplicates('memory store', async () => new MemoryStore());

describe.skipIf(skipWithoutRedis())('on Redis', () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  describeDuplicates('Redis store', () => RedisStore.connect({ url: server.url, prefix: randomKeyPrefix() }));
  describeDuplicates('Redis store, 4 shards', () =>
    RedisStore.connect({ url: server.url, prefix: randomKeyPrefix(), shards: 4 }),
  );
});

describe('lab envelopes (every id is random_id)', () => {
  it('are each stored under auto, and collapse to one with --record-key id', async () => {
    const model = await labBundle();
    const envelopes = (await labEnvelopesAsync(30)).map((e) =>
      e.replace(/"metadata": \["([^"]*)", "[^"]*"/, '"metadata": ["$1", "random_id"'),
    );
    expect(envelopes.every((e) => e.includes('"random_id"'))).toBe(true);
    const auto = new MemoryStore();
    const autoStats = await consume(auto, model, envelopes);
    expect(autoStats.persisted).toBe(30);
    expect(await auto.countTransactions()).toBe(30);
    const byId = new MemoryStore();
    const byIdStats = await consume(byId, model, envelopes, 'id');
    expect(byIdStats.persisted).toBe(1);
    expect(byIdStats.duplicates).toBe(29);
  });

  it('refuses an unknown mode at construction', () => {
    expect(
      () =>
        new Consumer({
          reader: new MemoryTransport().reader(),
          store: new MemoryStore(),
          featureSet: createFeatureSet('transactions'),
          scorer: new Scorer(bundle),
          recordKey: 'position' as RecordKeyMode,
        }),
    ).toThrow(ConfigError);
  });
});
