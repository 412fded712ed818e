/**
 * The poison record: a ~60 KiB payload whose unknown field nests 30,000 levels deep. It
 * used to parse, then break `JSON.stringify` in the Redis store and take its whole batch to the
 * dead letters. The parser's structural limits now dead-letter it alone, with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Transaction, toNativeJson } from '../../src/events/index.js';
import { createFeatureSet } from '../../src/features/index.js';
import { Consumer } from '../../src/pipeline/index.js';
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

let bundle: ModelBundle;
let good: Transaction[];

beforeAll(async () => {
  bundle = await trainSmallBundle(50, 31, 49);
  const liveFrom = Date.UTC(2018, 3, 1) + 50 * 86_400_000;
  good = smallWorld(52)
    .filter((t) => t.timestampMs >= liveFrom)
    .slice(0, 200);
});

function poison(): string {
  const depth = 30_000;
  return `{"id":"poison","timestamp":"2018-05-22T10:00:00Z","cardId":"1","terminalId":"2","amount":5,"blob":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

function describePoison(name: string, open: () => Promise<Store>): void {
  it(`200 good + 1 poison record: 200 stored, 1 dead-lettered (${name})`, async () => {
    const store = await open();
    try {
      const payloads = good.map((t) => toNativeJson(t));
      const bad = poison();
      expect(bad.length).toBeGreaterThan(59_000);
      payloads.splice(117, 0, bad);
      const transport = new MemoryTransport();
      await transport.writer().publish(payloads.map((payload, i) => ({ payload, partitionKey: String(i) })));
      transport.end();
      const consumer = new Consumer({
        // One batch holds them all: the poison must not take its neighbours with it.
        reader: transport.reader({ maxBatch: 500, maxWaitMs: 5 }),
        store,
        featureSet: createFeatureSet('transactions'),
        scorer: new Scorer(bundle),
      });
      const stats = await consumer.run();
      expect(stats.persisted).toBe(200);
      expect(stats.deadLettered).toBe(1);
      expect(stats.storeRetries).toBe(0);
      expect(await store.countTransactions()).toBe(200);
      expect(await store.countDeadLetters()).toBe(1);
      const [letter] = await store.recentDeadLetters(5);
      expect(letter?.errorName).toBe('ParseError');
      expect(letter?.reason).toMatch(/^blob: unknown field nested deeper than 32 levels/);
      expect(letter?.payload).toBe(bad);
    } finally {
      await store.close();
    }
  });
}

describe('a poison nested record', () => {
  describePoison('memory store', async () => new MemoryStore());

  describe.skipIf(skipWithoutRedis())('on Redis', () => {
    let server: RedisServerHandle;
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server?.stop();
    });
    describePoison('Redis store', () => RedisStore.connect({ url: server.url, prefix: randomKeyPrefix() }));
  });
});
