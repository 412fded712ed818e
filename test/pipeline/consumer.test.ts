import { describe, expect, it } from 'vitest';
import { TransientStoreError } from '../../src/errors/index.js';
import { type Transaction, toNativeJson } from '../../src/events/index.js';
import { buildTrainingSet, createFeatureSet, type FeatureSet } from '../../src/features/index.js';
import { Consumer, handleLabRecords, runInProcess } from '../../src/pipeline/index.js';
import { Scorer, type TrainedBundle } from '../../src/scoring/index.js';
import type { Source } from '../../src/sources/index.js';
import { MemoryStore, type PersistResult, type ScoredTransaction } from '../../src/store/index.js';
import { type DeliveredRecord, MemoryTransport } from '../../src/transports/index.js';
import { smallWorld, trainSmallBundle } from '../scoring/fixtures.js';
import { labBundle, labEnvelopesAsync } from './lab-bundle.js';

const MALFORMED = [
  '',
  '{"id":"x","timestamp":"2018-05-01T00:00:00Z","amount":',
  '{"id":"y","timestamp":"not a date","cardId":"1","terminalId":"2","amount":3}',
  '{"id":"z","timestamp":"2018-05-01T00:00:00Z","cardId":"1","terminalId":"2","amount":-5}',
  '{"data":"1,2,3","metadata":["2024-01-01 10:00:00","random_id","Web"]}',
];

let shared: { bundle: TrainedBundle; live: Transaction[] } | undefined;
async function fixture(): Promise<{ bundle: TrainedBundle; live: Transaction[] }> {
  if (!shared) {
    const bundle = await trainSmallBundle(50, 31, 49);
    const all = smallWorld(53);
    const liveFrom = Date.UTC(2018, 3, 1) + 50 * 86_400_000;
    shared = { bundle, live: all.filter((t) => t.timestampMs >= liveFrom).slice(0, 1500) };
  }
  return shared;
}

/** Live transactions as native JSON with the malformed payloads spliced in at fixed places. */
function payloads(live: readonly Transaction[]): string[] {
  const out = live.map((t) => toNativeJson(t));
  for (const [i, bad] of MALFORMED.entries()) out.splice(100 + i * 200, 0, bad);
  return out;
}

function recordSource(items: readonly string[]): Source {
  return {
    name: 'test',
    async *records() {
      for (let i = 0; i < items.length; i++) yield { kind: 'raw', payload: items[i]!, line: i + 1 };
    },
  };
}

/** A store that fails chosen persist calls, to prove the consumer acknowledges nothing unstored. */
class FlakyStore extends MemoryStore {
  calls = 0;
  constructor(private readonly failOn: ReadonlySet<number>) {
    super();
  }
  override async persistBatch(results: readonly ScoredTransaction[]): Promise<PersistResult> {
    this.calls++;
    if (this.failOn.has(this.calls)) throw new TransientStoreError('injected store failure');
    return super.persistBatch(results);
  }
}

/** A memory transport holding these transactions as native JSON, ended (the consumer drains it). */
async function endedTransport(transactions: readonly Transaction[]): Promise<MemoryTransport> {
  const transport = new MemoryTransport();
  await transport
    .writer()
    .publish(transactions.map((t, i) => ({ payload: toNativeJson(t), partitionKey: String(i) })));
  transport.end();
  return transport;
}

describe('consumer end to end (memory transport, memory store)', () => {
  it('persists every good record exactly once, dead-letters every bad one, and acknowledges only what is stored', async () => {
    const { bundle, live } = await fixture();
    const items = payloads(live);
    const transport = new MemoryTransport();
    await transport.writer().publish(items.map((payload, i) => ({ payload, partitionKey: String(i) })));
    transport.end();
    const store = new FlakyStore(new Set([2, 3]));
    const reader = transport.reader({ maxBatch: 128, maxWaitMs: 5 });
    const acked: DeliveredRecord[] = [];
    const ack = reader.ack.bind(reader);
    let ackedBeforeStored = 0;
    reader.ack = async (records) => {
      for (const r of records) {
        if (r.payload === '' || MALFORMED.includes(r.payload)) continue;
        // Native records are keyed by id: the stored document must be this delivery's transaction.
        const id = (JSON.parse(r.payload) as { id: string }).id;
        const stored = [...store.values()].some((d) => d.key === id);
        if (!stored) ackedBeforeStored++;
      }
      acked.push(...records);
      return ack(records);
    };
    const consumer = new Consumer({
      reader,
      store,
      featureSet: createFeatureSet('transactions'),
      scorer: new Scorer(bundle),
      backoffMs: 1,
      maxBackoffMs: 2,
    });
    const stats = await consumer.run();

    expect(ackedBeforeStored).toBe(0);
    expect(stats.storeRetries).toBe(2);
    expect(stats.stalledSinceMs).toBeUndefined();
    expect(await store.countTransactions()).toBe(live.length);
    expect(stats.persisted).toBe(live.length);
    const ids = [...store.values()].map((d) => d.transaction.id);
    expect(new Set(ids).size).toBe(live.length);
    expect(new Set(ids)).toEqual(new Set(live.map((t) => t.id)));
    for (const d of store.values()) {
      expect(d.fraudScore).toBeGreaterThanOrEqual(0);
      expect(d.fraudScore).toBeLessThanOrEqual(1);
      expect(Number.isFinite(d.anomalyScore)).toBe(true);
      expect(d.modelVersion).toBe(bundle.manifest.fingerprint);
    }
    expect(await store.countDeadLetters()).toBe(MALFORMED.length);
    expect(stats.deadLettered).toBe(MALFORMED.length);
    const letters = await store.recentDeadLetters(10);
    expect(letters.map((l) => l.payload).sort()).toEqual([...MALFORMED].sort());
    for (const l of letters) expect(l.reason).toMatch(/^[a-zA-Z.[\]0-9]+: /);

    const flagged = stats.decisions.review + stats.decisions.decline;
    const far = Date.now() + 60_000;
    expect((await store.scoreSeries('fraud-ts', 0, far)).length).toBe(live.length);
    expect((await store.scoreSeries('fraudulent_ts', 0, far)).length).toBe(flagged);
    expect((await store.scoreSeries('non-fraudulent_ts', 0, far)).length).toBe(live.length - flagged);
    const counters = await store.counters(1_000, 0, far);
    expect(counters.reduce((a, b) => a + b.transactions, 0)).toBe(live.length);
    expect(counters.reduce((a, b) => a + b.flagged, 0)).toBe(flagged);
    expect((await store.recentAlerts(100_000)).length).toBe(flagged);
    expect(new Set(acked.map((r) => r.position)).size).toBe(items.length);
  }, 120_000);

  it('serves the same features the training replay computes for the same transactions', async () => {
    const { live } = await fixture();
    const history = smallWorld(53);
    const liveFrom = live[0]!.timestampMs;
    const liveTo = live[live.length - 1]!.timestampMs;
    // Training view: replay the whole history, keep the live period's rows.
    const offline = await buildTrainingSet({
      transactions: history.filter((t) => t.timestampMs <= liveTo),
      featureSet: createFeatureSet('transactions'),
      fromMs: liveFrom,
      toMs: liveTo,
      delayDays: 7,
    });
    // Serving view: the same history through producer → memory stream → parser → consumer.
    const { bundle } = await fixture();
    const store = new MemoryStore();
    const upTo = history.filter((t) => t.timestampMs <= liveTo);
    await runInProcess({
      source: recordSource(upTo.map((t) => toNativeJson(t))),
      store,
      featureSet: createFeatureSet('transactions'),
      scorer: new Scorer(bundle, { explain: 'none' }),
      simulatedFeedbackDelayDays: 7,
    });
    const served = new Map([...store.values()].map((d) => [d.transaction.id, d.features]));
    const names = offline.featureNames;
    let compared = 0;
    for (let i = 0; i < offline.nRows; i++) {
      const features = served.get(offline.transactionIds[i]!);
      expect(features).toBeDefined();
      for (let j = 0; j < names.length; j++) {
        expect(Math.fround(features![names[j]!]!)).toBe(offline.x[i * names.length + j]);
      }
      compared++;
    }
    expect(compared).toBe(offline.nRows);
    expect(compared).toBeGreaterThan(1000);
  }, 120_000);

  it('holds and retries the batch when the feature state fails, and loses nothing', async () => {
    const { bundle, live } = await fixture();
    const some = live.slice(0, 600);
    const transport = await endedTransport(some);
    const inner = createFeatureSet('transactions');
    let calls = 0;
    const flaky: FeatureSet = {
      name: inner.name,
      featureNames: inner.featureNames,
      feedback: (items) => inner.feedback(items),
      peek: (batch, out) => inner.peek(batch, out),
      extract: async (batch, out) => {
        if (++calls === 2) throw new TransientStoreError('feature state unavailable');
        return inner.extract(batch, out);
      },
    };
    const store = new MemoryStore();
    const consumer = new Consumer({
      reader: transport.reader({ maxBatch: 100, maxWaitMs: 5 }),
      store,
      featureSet: flaky,
      scorer: new Scorer(bundle),
      backoffMs: 1,
    });
    const stats = await consumer.run();
    expect(stats.storeRetries).toBe(1);
    expect(stats.deadLettered).toBe(0);
    expect(await store.countTransactions()).toBe(some.length);
    expect(new Set([...store.values()].map((d) => d.transaction.id)).size).toBe(some.length);
  });

  it('persists one batch while it scores the next, never holding more than three', async () => {
    const { bundle, live } = await fixture();
    const some = live.slice(0, 500);
    const transport = await endedTransport(some);
    let maxHeld = 0;
    class SlowStore extends MemoryStore {
      override async persistBatch(results: readonly ScoredTransaction[]): Promise<PersistResult> {
        await new Promise((r) => setTimeout(r, 10));
        // Records taken from the stream and not yet acknowledged, seen at the end of a slow write.
        maxHeld = Math.max(maxHeld, transport.pending);
        return super.persistBatch(results);
      }
    }
    const store = new SlowStore();
    const consumer = new Consumer({
      reader: transport.reader({ maxBatch: 50, maxWaitMs: 5 }),
      store,
      featureSet: createFeatureSet('transactions'),
      scorer: new Scorer(bundle),
    });
    await consumer.run();
    expect(await store.countTransactions()).toBe(500);
    // One batch written, one scored, one just read: batches of 50.
    expect(maxHeld).toBe(150);
  });

  it('sends feature requests one at a time and in stream order, overlapping the store', async () => {
    const { bundle, live } = await fixture();
    const some = live.slice(0, 400);
    const transport = await endedTransport(some);
    const inner = createFeatureSet('transactions');
    let extracting = 0;
    let maxExtracting = 0;
    let writing = 0;
    let extractsDuringWrites = 0;
    const order: string[] = [];
    const featureSet: typeof inner = Object.create(inner) as typeof inner;
    featureSet.extract = async (transactions, out) => {
      extracting++;
      maxExtracting = Math.max(maxExtracting, extracting);
      if (writing > 0) extractsDuringWrites++;
      order.push(...transactions.map((t) => t.id));
      await new Promise((r) => setTimeout(r, 5));
      await inner.extract(transactions, out);
      extracting--;
    };
    class SlowStore extends MemoryStore {
      override async persistBatch(results: readonly ScoredTransaction[]): Promise<PersistResult> {
        writing++;
        await new Promise((r) => setTimeout(r, 10));
        writing--;
        return super.persistBatch(results);
      }
    }
    const store = new SlowStore();
    const stats = await new Consumer({
      reader: transport.reader({ maxBatch: 50, maxWaitMs: 5 }),
      store,
      featureSet,
      scorer: new Scorer(bundle),
    }).run();
    expect(stats.persisted).toBe(400);
    expect(maxExtracting).toBe(1);
    expect(order).toEqual(some.map((t) => t.id));
    // The window state works on the next batch while the store writes the one before.
    expect(extractsDuringWrites).toBeGreaterThan(0);
    // Same features as one batch at a time: the documents match a plain run's.
    const reference = new MemoryStore();
    const again = await endedTransport(some);
    const plain = new Consumer({
      reader: again.reader({ maxBatch: 50, maxWaitMs: 5 }),
      store: reference,
      featureSet: createFeatureSet('transactions'),
      scorer: new Scorer(bundle),
    });
    for await (const batch of again.reader({ maxBatch: 50, maxWaitMs: 5 })) {
      if (batch.length === 0) continue;
      await plain.processBatch(batch);
    }
    const byId = (s: MemoryStore) =>
      new Map([...s.values()].map((d) => [d.transaction.id, d.features] as const));
    expect(byId(store)).toEqual(byId(reference));
  });

  it('stops gracefully while waiting for records', async () => {
    const { bundle } = await fixture();
    const transport = new MemoryTransport();
    const consumer = new Consumer({
      reader: transport.reader({ maxWaitMs: 10_000 }),
      store: new MemoryStore(),
      featureSet: createFeatureSet('transactions'),
      scorer: new Scorer(bundle),
    });
    const running = consumer.run();
    await new Promise((r) => setTimeout(r, 20));
    await consumer.stop();
    const stats = await running;
    expect(stats.persisted).toBe(0);
  });
});

describe('lab-compatible handler', () => {
  it('scores every lab envelope of a batch and reports malformed ones in place', async () => {
    // The lab's models used the 30 Kaggle columns: a creditcard-features bundle.
    const store = new MemoryStore();
    const bundle = await labBundle();
    const envelopes = await labEnvelopesAsync(20);
    const records = [...envelopes.slice(0, 10), '{"data":"1,2"}', ...envelopes.slice(10)];
    const out = await handleLabRecords(records, {
      featureSet: createFeatureSet('creditcard'),
      scorer: new Scorer(bundle),
      store,
      batchId: 'b1',
    });
    expect(out).toHaveLength(21);
    expect(out[10]).toHaveProperty('error');
    for (const [i, r] of out.entries()) {
      if (i === 10) continue;
      if (!('fraud_classifier' in r)) throw new Error(`record ${i} was not scored`);
      expect(r.fraud_classifier.prediction).toBe(r.fraud_classifier.pred_proba >= 0.5 ? 1 : 0);
      expect(r.anomaly_detector.score).toBeGreaterThanOrEqual(0);
      expect(['approve', 'review', 'decline']).toContain(r.decision);
    }
    expect(await store.countTransactions()).toBe(20);
  }, 120_000);
});
