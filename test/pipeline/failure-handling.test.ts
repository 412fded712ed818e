/**
 * A failing store costs nothing and a bad record costs only itself (issue 11): stores that fail
 * on every call hold the batch (no dead letters, the stall in the metrics), a record that makes
 * the store fail is isolated by bisection, a far-future record cannot move the window clock,
 * and the forest learns a record once. Real MemoryStore and memory transport behind failing layers.
 */
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, EventTimeError, StallError, StoreError } from '../../src/errors/index.js';
import { toNativeJson } from '../../src/events/index.js';
import { createFeatureSet } from '../../src/features/index.js';
import { PipelineMetrics } from '../../src/metrics/index.js';
import {
  bisect,
  Consumer,
  EventTimeGuard,
  isStoreFailure,
  resolveConsumerOptions,
} from '../../src/pipeline/index.js';
import { Scorer } from '../../src/scoring/index.js';
import { MemoryStore } from '../../src/store/index.js';
import { type DeliveredRecord, MemoryTransport } from '../../src/transports/index.js';
import { FaultyStore, fixture, freshBundle, poisonPayload, startConsumer } from './failure-handling.js';

const DAY_MS = 86_400_000;

function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('bisect and the error classes', () => {
  it('finds the failing items in a few attempts and rethrows store failures at once', async () => {
    const items = Array.from({ length: 64 }, (_, i) => i);
    let attempts = 0;
    const failures = await bisect(items, async (part) => {
      attempts++;
      if (part.includes(37) || part.includes(5)) throw new TypeError('bad item');
    });
    expect(failures.map((f) => f.index)).toEqual([5, 37]);
    expect(attempts).toBeLessThanOrEqual(1 + 2 * 2 * Math.log2(64));
    await expect(
      bisect(items, async () => {
        throw new StoreError('OOM');
      }),
    ).rejects.toBeInstanceOf(StoreError);
  });

  it('blames the store, not the records, when every record fails on its own', async () => {
    await expect(
      bisect([1, 2, 3], async () => {
        throw new Error('unclassified');
      }),
    ).rejects.toBeInstanceOf(StoreError);
    expect(isStoreFailure(new TypeError('x'))).toBe(false);
    expect(
      isStoreFailure(Object.assign(new Error('connect'), { syscall: 'connect', code: 'ECONNREFUSED' })),
    ).toBe(true);
  });

  it('admits old and ordered records and refuses one dated far ahead of the mark and the clock', () => {
    const now = Date.UTC(2026, 11, 8);
    const guard = new EventTimeGuard(DAY_MS, () => now);
    expect(guard.admit(Date.UTC(2018, 4, 1))).toBeUndefined();
    expect(guard.admit(Date.UTC(2018, 4, 2))).toBeUndefined();
    expect(guard.admit(Date.UTC(2099, 11, 31))).toBeInstanceOf(EventTimeError);
    expect(guard.highWaterMarkMs).toBe(Date.UTC(2018, 4, 2));
    // A fresh consumer's first record is checked against the clock.
    expect(new EventTimeGuard(DAY_MS, () => now).admit(Date.UTC(2099, 0, 1))).toBeInstanceOf(EventTimeError);
    expect(new EventTimeGuard(DAY_MS, () => now).admit(now + DAY_MS - 1)).toBeUndefined();
  });
});

describe('consumer options', () => {
  it('default to waiting forever and a one-day skew, and refuse nonsense once, at construction', async () => {
    const base = {
      reader: new MemoryTransport().reader(),
      store: new MemoryStore(),
      featureSet: createFeatureSet('transactions'),
      scorer: new Scorer(await freshBundle()),
    };
    const o = resolveConsumerOptions(base);
    expect([o.maxStallMs, o.maxFutureSkewMs, o.backoffMs, o.maxBackoffMs]).toEqual([0, DAY_MS, 100, 5_000]);
    expect(
      resolveConsumerOptions({ ...base, maxFutureSkewMs: Number.POSITIVE_INFINITY }).maxFutureSkewMs,
    ).toBe(Number.POSITIVE_INFINITY);
    expect(() => new Consumer({ ...base, maxStallMs: -1 })).toThrow(ConfigError);
    expect(() => new Consumer({ ...base, maxFutureSkewMs: Number.NaN })).toThrow(/maxFutureSkewMs/);
    expect(() => new Consumer({ ...base, learnedKeys: 0 })).toThrow(/learnedKeys/);
  });
});

describe('consumer failure handling (memory store behind a failing layer)', () => {
  it('200 good + 1 poison (60 KiB, deeply nested unknown field): 200 stored, 1 dead-lettered', async () => {
    const { live } = await fixture();
    const good = live.slice(0, 200).map((t) => toNativeJson(t));
    const payloads = [...good.slice(0, 120), poisonPayload(live[0]!), ...good.slice(120)];
    expect(payloads[120]!.length).toBeGreaterThan(60_000);
    const store = new FaultyStore(new MemoryStore());
    const run = await startConsumer(payloads, store, { maxBatch: 500 });
    const stats = await run.stats;
    expect(await store.countTransactions()).toBe(200);
    expect(await store.countDeadLetters()).toBe(1);
    const [letter] = await store.recentDeadLetters(10);
    expect(letter!.payload).toBe(payloads[120]);
    expect(letter!.reason.length).toBeGreaterThan(0);
    expect(stats.persisted).toBe(200);
    expect(stats.deadLettered).toBe(1);
    expect(run.acked.length).toBe(201);
  });

  it('bisects a batch to dead-letter only the record the store refuses, with its reason', async () => {
    const { live } = await fixture();
    const some = live.slice(0, 201);
    const store = new FaultyStore(new MemoryStore());
    store.poisonAmount = some[77]!.amount;
    expect(some.filter((t) => t.amount === store.poisonAmount).length).toBe(1);
    const run = await startConsumer(
      some.map((t) => toNativeJson(t)),
      store,
      { maxBatch: 500 },
    );
    const stats = await run.stats;
    expect(await store.countTransactions()).toBe(200);
    const letters = await store.recentDeadLetters(10);
    expect(letters.length).toBe(1);
    expect(letters[0]!.errorName).toBe('RecordError');
    expect(letters[0]!.reason).toContain('refused by the store');
    expect(JSON.parse(letters[0]!.payload).id).toBe(some[77]!.id);
    expect(stats.deadLetters.store).toEqual({ RecordError: 1 });
    // One call for the batch, then a binary search: far fewer calls than records.
    expect(store.persistCalls).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(201)));
  });

  it('a store failing for many calls: 0 dead letters, all stored once it recovers, the stall in /metrics', async () => {
    const { live } = await fixture();
    const some = live.slice(0, 300).map((t) => toNativeJson(t));
    const payloads = [...some.slice(0, 50), 'not json', ...some.slice(50)];
    const store = new FaultyStore(new MemoryStore());
    store.failing = true;
    const run = await startConsumer(payloads, store);
    const metrics = new PipelineMetrics({ stats: () => run.consumer.stats, processMetrics: false });
    await vi.waitFor(() => expect(store.failures).toBeGreaterThanOrEqual(5), {
      timeout: 10_000,
      interval: 5,
    });
    const during = await metrics.text();
    expect(metricValue(during, 'fraudstream_stalled')).toBe(1);
    expect(metricValue(during, 'fraudstream_store_failing_since_seconds')).toBeGreaterThan(0);
    expect(metricValue(during, 'fraudstream_store_retries_total')).toBeGreaterThanOrEqual(5);
    expect(during).toContain('fraudstream_last_store_error_info{error="StoreError: OOM');
    expect(run.acked.length).toBe(0);
    expect(await store.countDeadLetters()).toBe(0);
    store.failing = false;
    const stats = await run.stats;
    expect(await store.countTransactions()).toBe(300);
    // The malformed record's dead letter waited for the store too.
    expect(await store.countDeadLetters()).toBe(1);
    expect(stats.deadLetters.store).toEqual({ ParseError: 1 });
    expect(stats.stalledSinceMs).toBeUndefined();
    expect(metricValue(await metrics.text(), 'fraudstream_stalled')).toBe(0);
    expect(run.acked.length).toBe(payloads.length);
  });

  it('a store throwing unclassified errors on every call still holds the batch instead of dead-lettering it', async () => {
    const { live } = await fixture();
    const some = live.slice(0, 120).map((t) => toNativeJson(t));
    const store = new FaultyStore(new MemoryStore());
    store.failure = () => new Error('ERR unknown command JSON.SET');
    store.failing = true;
    const run = await startConsumer(some, store, { maxBatch: 60 });
    await vi.waitFor(() => expect(run.consumer.stats.storeRetries).toBeGreaterThanOrEqual(3), {
      timeout: 10_000,
      interval: 5,
    });
    store.failing = false;
    const stats = await run.stats;
    expect(stats.deadLettered).toBe(0);
    expect(await store.countDeadLetters()).toBe(0);
    expect(await store.countTransactions()).toBe(120);
  });

  it('gives up after maxStallMs with a StallError, acknowledging nothing', async () => {
    const { live } = await fixture();
    const store = new FaultyStore(new MemoryStore());
    store.failing = true;
    const run = await startConsumer(
      live.slice(0, 50).map((t) => toNativeJson(t)),
      store,
      { maxStallMs: 100 },
    );
    await expect(run.stats).rejects.toBeInstanceOf(StallError);
    expect(run.acked.length).toBe(0);
    expect(await store.inner.countTransactions()).toBe(0);
    expect(await store.inner.countDeadLetters()).toBe(0);
  });

  it('stores a dead letter the store refuses whole with its payload cut, and the rest as they are', async () => {
    const { live } = await fixture();
    const huge = `not json ${'x'.repeat(5_000)}`;
    const payloads = [...live.slice(0, 20).map((t) => toNativeJson(t)), huge, 'short bad'];
    const store = new FaultyStore(new MemoryStore());
    store.maxDeadLetterPayload = 2_000;
    const run = await startConsumer(payloads, store);
    const stats = await run.stats;
    expect(await store.countTransactions()).toBe(20);
    const letters = await store.recentDeadLetters(5);
    expect(letters.map((l) => l.payload.length).sort((a, b) => a - b)).toEqual([9, 1024]);
    expect(letters.find((l) => l.payload.length === 1024)!.reason).toMatch(/payload of 5009 chars cut/);
    expect(stats.deadLettered).toBe(2);
    expect(run.acked.length).toBe(22);
  });

  it('stops while the store fails, leaving the batch unacknowledged and nothing dead-lettered', async () => {
    const { live } = await fixture();
    const store = new FaultyStore(new MemoryStore());
    store.failing = true;
    const run = await startConsumer(
      live.slice(0, 50).map((t) => toNativeJson(t)),
      store,
      { maxBackoffMs: 60_000 },
    );
    await vi.waitFor(() => expect(run.consumer.stats.storeRetries).toBeGreaterThanOrEqual(2), {
      timeout: 10_000,
      interval: 5,
    });
    const stats = await run.consumer.stop();
    expect(stats.deadLettered).toBe(0);
    expect(run.acked.length).toBe(0);
    await expect(run.stats).resolves.toBe(stats);
  });

  it('dead-letters a far-future record, and every other record gets the features of a run without it', async () => {
    const { live } = await fixture();
    const some = live.slice(0, 400);
    const far = { ...some[10]!, id: 'from-2099', timestampMs: Date.UTC(2099, 11, 31) };
    const withFar = [...some.slice(0, 200), far, ...some.slice(200)].map((t) => toNativeJson(t));
    const a = new MemoryStore();
    const b = new MemoryStore();
    const [runA, runB] = [
      await startConsumer(withFar, a, { maxBatch: 50 }),
      await startConsumer(
        some.map((t) => toNativeJson(t)),
        b,
        { maxBatch: 50 },
      ),
    ];
    const statsA = await runA.stats;
    await runB.stats;
    expect(statsA.deadLetters.store).toEqual({ EventTimeError: 1 });
    const [letter] = await a.recentDeadLetters(1);
    expect(letter!.errorName).toBe('EventTimeError');
    expect(letter!.reason).toContain('2099-12-31');
    expect(featuresById(a)).toEqual(featuresById(b));
    expect(featuresById(a).size).toBe(400);
  });

  it('teaches the forest a redelivered record once', async () => {
    const { live } = await fixture();
    const delivered = (from: number, to: number, deliveries: number): DeliveredRecord[] =>
      live.slice(from, to).map((t, i) => ({
        payload: toNativeJson(t),
        position: String(from + i),
        deliveries,
        enqueuedAtMs: Date.now(),
      }));
    const consumer = async (store: MemoryStore) =>
      new Consumer({
        reader: new MemoryTransport().reader(),
        store,
        featureSet: createFeatureSet('transactions'),
        scorer: new Scorer(await freshBundle(), { explain: 'none' }),
      });
    // A sees the batch, then the same records again (a redelivery: same positions), then a
    // probe; B sees the batch once, then the probe. Their forests must score the probe alike.
    const a = new MemoryStore();
    const b = new MemoryStore();
    const consumerA = await consumer(a);
    const consumerB = await consumer(b);
    await consumerA.processBatch(delivered(0, 100, 1));
    await consumerA.processBatch(delivered(0, 100, 2));
    await consumerA.processBatch(delivered(100, 150, 1));
    await consumerB.processBatch(delivered(0, 100, 1));
    await consumerB.processBatch(delivered(100, 150, 1));
    expect(consumerA.stats.duplicates).toBe(100);
    const probeIds = new Set(live.slice(100, 150).map((t) => t.id));
    const scores = (store: MemoryStore) =>
      new Map(
        [...store.values()]
          .filter((d) => probeIds.has(d.transaction.id))
          .map((d) => [d.transaction.id, d.anomalyScore]),
      );
    expect(scores(a).size).toBe(50);
    expect(scores(a)).toEqual(scores(b));
  });

  it('the scorer skips learning rows masked out', async () => {
    const { live } = await fixture();
    const bundle = await freshBundle();
    const scorer = new Scorer(bundle, { explain: 'none' });
    const d = bundle.manifest.featureNames.length;
    const rows = new Float64Array(20 * d);
    for (let i = 0; i < rows.length; i++) rows[i] = ((i * 7919) % 101) / 10;
    const probe = rows.slice(0, d);
    const before = scorer.scoreBatch(probe, 1, undefined, new Uint8Array(1)).anomalyScore[0];
    scorer.scoreBatch(rows, 20, undefined, new Uint8Array(20));
    expect(scorer.scoreBatch(probe, 1, undefined, new Uint8Array(1)).anomalyScore[0]).toBe(before);
    scorer.scoreBatch(rows, 20, undefined, new Uint8Array(20).fill(1));
    expect(scorer.scoreBatch(probe, 1, undefined, new Uint8Array(1)).anomalyScore[0]).not.toBe(before);
    expect(live.length).toBeGreaterThan(0);
  });
});

function featuresById(store: MemoryStore): Map<string, Record<string, number>> {
  return new Map([...store.values()].map((d) => [d.transaction.id, d.features]));
}
