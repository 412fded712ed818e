/**
 * Failure handling against a real redis-server (issue 11): a poison record in the Redis store,
 * a store Redis out of memory (real `OOM` replies, no mocks) that recovers, a far-future record
 * against the Redis window state, the transport's `max-deliveries` dead letters counted with the
 * store's, and `consume --max-stall-s` exiting non-zero.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { recordKey, toNativeJson } from '../../src/events/index.js';
import { createFeatureSet, RedisWindowState } from '../../src/features/index.js';
import { PipelineMetrics } from '../../src/metrics/index.js';
import { Consumer } from '../../src/pipeline/index.js';
import { Scorer } from '../../src/scoring/index.js';
import { RedisStore } from '../../src/store/index.js';
import { openRedisStreamReader, openRedisStreamWriter } from '../../src/transports/index.js';
import {
  connectRaw,
  produceToRedis,
  type RawRedis,
  redisConsumeArgs,
  runCli,
  trainSmallBundle as trainCliBundle,
} from '../helpers/cli.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';
import { fixture, freshBundle, poisonPayload, startConsumer } from './failure-handling.js';

describe.skipIf(skipWithoutRedis(['redis-server']))('consumer failure handling on Redis', () => {
  let server: RedisServerHandle;
  let raw: RawRedis;
  const opened: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    raw = await connectRaw(server.url);
  });
  afterAll(async () => {
    await raw?.close();
    await server?.stop();
  });

  async function redisStore(): Promise<RedisStore> {
    const store = await RedisStore.connect({ url: server.url, prefix: randomKeyPrefix('fail') });
    opened.push(store);
    return store;
  }

  afterAll(async () => {
    for (const o of opened) await o.close().catch(() => {});
  });

  it('200 good + 1 poison (60 KiB, deeply nested): 200 stored, 1 dead-lettered', async () => {
    const { live } = await fixture();
    const good = live.slice(0, 200).map((t) => toNativeJson(t));
    const payloads = [...good.slice(0, 60), poisonPayload(live[0]!), ...good.slice(60)];
    const store = await redisStore();
    const run = await startConsumer(payloads, store, { maxBatch: 500 });
    const stats = await run.stats;
    expect(await store.countTransactions()).toBe(200);
    expect(await store.countDeadLetters()).toBe(1);
    expect((await store.recentDeadLetters(5))[0]!.payload).toBe(payloads[60]);
    expect(stats.deadLettered).toBe(1);
    expect(run.acked.length).toBe(201);
  });

  it('a store Redis out of memory: 0 dead letters, the stall in /metrics, all stored after it recovers', async () => {
    const { live } = await fixture();
    const some = live.slice(0, 300).map((t) => toNativeJson(t));
    const prefix = randomKeyPrefix('oom');
    const store = await RedisStore.connect({ url: server.url, prefix });
    const state = await RedisWindowState.connect({ url: server.url, prefix: `${prefix}fs:` });
    opened.push(store, state);
    await raw.configSet('maxmemory', '1');
    try {
      const run = await startConsumer(some, store, { state });
      const metrics = new PipelineMetrics({ stats: () => run.consumer.stats, processMetrics: false });
      await vi.waitFor(() => expect(run.consumer.stats.storeRetries).toBeGreaterThanOrEqual(3), {
        timeout: 15_000,
        interval: 10,
      });
      const during = await metrics.text();
      expect(during).toMatch(/^fraudstream_stalled 1$/m);
      expect(during).toMatch(/fraudstream_last_store_error_info\{error="(Transient)?StoreError: [^"]*OOM/);
      expect(run.acked.length).toBe(0);
      await raw.configSet('maxmemory', '0');
      const stats = await run.stats;
      expect(stats.deadLettered).toBe(0);
      expect(stats.stalledSinceMs).toBeUndefined();
      expect(await store.countTransactions()).toBe(300);
      expect(await store.countDeadLetters()).toBe(0);
      expect(run.acked.length).toBe(300);
    } finally {
      await raw.configSet('maxmemory', '0');
    }
  });

  it('a far-future record leaves the Redis window state and every other feature as without it', async () => {
    const { live } = await fixture();
    const some = live.slice(0, 300);
    const far = { ...some[5]!, id: 'from-2099', timestampMs: Date.UTC(2099, 11, 31) };
    const withFar = [...some.slice(0, 150), far, ...some.slice(150)].map((t) => toNativeJson(t));
    const features = async (payloads: string[]) => {
      const prefix = randomKeyPrefix('skew');
      const store = await RedisStore.connect({ url: server.url, prefix });
      const state = await RedisWindowState.connect({ url: server.url, prefix: `${prefix}fs:` });
      opened.push(store, state);
      const run = await startConsumer(payloads, store, { state, maxBatch: 40 });
      const stats = await run.stats;
      const byId = new Map<string, Record<string, number>>();
      for (const t of some) {
        const doc = await store.getTransaction(recordKey(t, positionOf(payloads, t.id)));
        if (doc) byId.set(t.id, doc.features);
      }
      return { stats, byId };
    };
    const a = await features(withFar);
    const b = await features(some.map((t) => toNativeJson(t)));
    expect(a.stats.deadLetters.store).toEqual({ EventTimeError: 1 });
    expect(a.byId.size).toBe(300);
    expect(a.byId).toEqual(b.byId);
  });

  it("counts the transport's max-deliveries dead letters with the store's", async () => {
    const { live } = await fixture();
    const stream = randomKeyPrefix('dlq').slice(0, -1);
    const options = { url: server.url, stream, consumer: 'c1', maxDeliveries: 1 };
    const writer = await openRedisStreamWriter(options);
    await writer.publish(
      [...live.slice(0, 20).map((t) => toNativeJson(t)), 'not json'].map((payload, i) => ({
        payload,
        partitionKey: String(i),
      })),
    );
    await writer.close();
    // A predecessor with the same consumer name took five records and died before acknowledging.
    const first = await openRedisStreamReader(options, { maxBatch: 5, maxWaitMs: 20 });
    const taken = (await first[Symbol.asyncIterator]().next()).value;
    expect(taken).toHaveLength(5);
    await first.close();
    const reader = await openRedisStreamReader(options, { maxBatch: 100, maxWaitMs: 20 });
    const store = await redisStore();
    const consumer = new Consumer({
      reader,
      store,
      featureSet: createFeatureSet('transactions'),
      scorer: new Scorer(await freshBundle(), { explain: 'none' }),
      onBatch: (s) => {
        if (s.persisted + s.deadLettered >= 21) void consumer.stop();
      },
    });
    const stats = await consumer.run();
    expect(stats.deadLetters).toEqual({ store: { ParseError: 1 }, transport: { 'max-deliveries': 5 } });
    expect(stats.deadLettered).toBe(6);
    expect(stats.persisted).toBe(15);
    // Each record went to exactly one place: the five in the transport's dead-letter stream.
    expect(await raw.xLen(`${stream}:dead`)).toBe(5);
    expect(consumer.summary().deadLetters).toEqual({ 'store:ParseError': 1, 'transport:max-deliveries': 5 });
  });

  describe('consume --max-stall-s', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'fraudstream-stall-'));
      await trainCliBundle(join(dir, 'models'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('exits non-zero when the store keeps failing, leaving the records pending and nothing dead-lettered', async () => {
      // The stream on one server, the store on another that is out of memory.
      const storeServer = await startRedisServer();
      const storeRaw = await connectRaw(storeServer.url);
      try {
        const stream = randomKeyPrefix('stall').slice(0, -1);
        const prefix = randomKeyPrefix('stall');
        const produced = await produceToRedis(server.url, stream, 50);
        expect(produced.code).toBe(0);
        await storeRaw.configSet('maxmemory', '1');
        const r = await runCli(
          redisConsumeArgs(server.url, stream, prefix, join(dir, 'models'), [
            '--store',
            storeServer.url,
            '--max-stall-s',
            '1',
          ]),
        );
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('the store has been failing for');
        expect(r.stderr).toContain('holding the batch');
        expect(r.stderr).toMatch(/consume: gave up; .*"deadLettered":0/);
        expect(await raw.xLen(`${stream}:dead`)).toBe(0);
        expect(Number(await raw.sendCommand(['XLEN', `${stream}:{s0}`]))).toBe(50);
        const pending = (await raw.sendCommand(['XPENDING', `${stream}:{s0}`, 'fraudstream'])) as [number];
        expect(Number(pending[0])).toBe(50);
        await storeRaw.configSet('maxmemory', '0');
        const store = await RedisStore.connect({ url: storeServer.url, prefix });
        try {
          expect(await store.countTransactions()).toBe(0);
          expect(await store.countDeadLetters()).toBe(0);
        } finally {
          await store.close();
        }
      } finally {
        await storeRaw.close();
        await storeServer.stop();
      }
    }, 60_000);
  });
});

/** Memory-transport positions are 1-based sequence numbers in publish order. */
function positionOf(payloads: readonly string[], id: string): string {
  const i = payloads.findIndex((p) => JSON.parse(p).id === id);
  return String(i + 1);
}
