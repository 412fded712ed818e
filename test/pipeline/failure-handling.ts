/**
 * Shared parts of the failure-handling tests (memory and Redis): the small trained bundle, live
 * transactions, a 60 KiB poison record, stores that fail on purpose, and a consumer run over a
 * memory stream.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordError, StoreError } from '../../src/errors/index.js';
import { type Transaction, toNativeJson } from '../../src/events/index.js';
import { createFeatureSet, type WindowState } from '../../src/features/index.js';
import { Consumer, type ConsumerOptions, type ConsumerStats } from '../../src/pipeline/index.js';
import { loadBundle, type ModelBundle, Scorer, saveBundle } from '../../src/scoring/index.js';
import type { DeadLetter, PersistResult, ScoredTransaction, Store } from '../../src/store/index.js';
import { type DeliveredRecord, MemoryTransport } from '../../src/transports/index.js';
import { smallWorld, trainSmallBundle } from '../scoring/fixtures.js';

let shared: Promise<{ dir: string; live: Transaction[] }> | undefined;

/** A saved small bundle (each caller loads its own copy: the forest learns) and 1,500 live transactions of 2018. */
export function fixture(): Promise<{ dir: string; live: Transaction[] }> {
  shared ??= (async () => {
    const bundle = await trainSmallBundle(50, 31, 49);
    const dir = await mkdtemp(join(tmpdir(), 'fraudstream-failures-'));
    await saveBundle(dir, bundle);
    const liveFrom = Date.UTC(2018, 3, 1) + 50 * 86_400_000;
    const live = smallWorld(53)
      .filter((t) => t.timestampMs >= liveFrom)
      .slice(0, 1500);
    return { dir, live };
  })();
  return shared;
}

export async function freshBundle(): Promise<ModelBundle> {
  return loadBundle((await fixture()).dir);
}

/**
 * A valid transaction with a deeply nested unknown field, about 60 KiB: it parses (unknown
 * fields are kept), and serializing its document throws (JSON.stringify recurses per level).
 * Where parse-time depth limits exist, it is refused there instead; either way it is one dead letter.
 */
export function poisonPayload(tx: Transaction): string {
  const depth = 30_000;
  const json = toNativeJson({ ...tx, id: `${tx.id}-poison` });
  return `${json.slice(0, -1)},"blob":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

/**
 * A store layer over a real store that can be told to fail: every call while `failing` is set
 * throws `failure()` (a store-wide error), and a record whose amount is `poisonAmount` makes
 * `persistBatch` throw a {@link RecordError}. Documents are serialized first, as the Redis
 * store does, so a record that cannot be serialized throws what JSON.stringify throws.
 */
export class FaultyStore implements Store {
  failing = false;
  failures = 0;
  persistCalls = 0;
  poisonAmount: number | undefined;
  /** Dead letters with a longer payload make `deadLetter` throw a {@link RecordError}. */
  maxDeadLetterPayload = Number.POSITIVE_INFINITY;
  failure: () => Error = () => new StoreError("OOM command not allowed when used memory > 'maxmemory'");

  constructor(readonly inner: Store) {}

  private check(): void {
    if (!this.failing) return;
    this.failures++;
    throw this.failure();
  }

  async persistBatch(results: readonly ScoredTransaction[]): Promise<PersistResult> {
    this.persistCalls++;
    this.check();
    for (const r of results) {
      JSON.stringify(r);
      if (r.transaction.amount === this.poisonAmount)
        throw new RecordError(`amount ${r.transaction.amount} is refused by the store`);
    }
    return this.inner.persistBatch(results);
  }
  async deadLetter(items: readonly DeadLetter[]): Promise<void> {
    this.check();
    for (const item of items)
      if (item.payload.length > this.maxDeadLetterPayload)
        throw new RecordError(`dead letter of ${item.payload.length} chars refused`);
    return this.inner.deadLetter(items);
  }
  getTransaction: Store['getTransaction'] = (key) => this.inner.getTransaction(key);
  countTransactions: Store['countTransactions'] = () => this.inner.countTransactions();
  countDeadLetters: Store['countDeadLetters'] = () => this.inner.countDeadLetters();
  recentDeadLetters: Store['recentDeadLetters'] = (limit) => this.inner.recentDeadLetters(limit);
  scoreSeries: Store['scoreSeries'] = (...args) => this.inner.scoreSeries(...args);
  counters: Store['counters'] = (...args) => this.inner.counters(...args);
  recentAlerts: Store['recentAlerts'] = (limit) => this.inner.recentAlerts(limit);
  searchTransactions: Store['searchTransactions'] = (query) => this.inner.searchTransactions(query);
  close: Store['close'] = () => this.inner.close();
}

export interface RunResult {
  consumer: Consumer;
  stats: Promise<ConsumerStats>;
  /** Records acknowledged, in order. */
  acked: DeliveredRecord[];
}

/** Starts a consumer over a memory stream holding `payloads` (ended, so the run ends with it). */
export async function startConsumer(
  payloads: readonly string[],
  store: Store,
  options: Partial<ConsumerOptions> & { state?: WindowState; maxBatch?: number } = {},
): Promise<RunResult> {
  const transport = new MemoryTransport();
  await transport.writer().publish(payloads.map((payload, i) => ({ payload, partitionKey: String(i % 7) })));
  transport.end();
  const reader = transport.reader({ maxBatch: options.maxBatch ?? 100, maxWaitMs: 5 });
  const acked: DeliveredRecord[] = [];
  const ack = reader.ack.bind(reader);
  reader.ack = async (records) => {
    acked.push(...records);
    return ack(records);
  };
  const { state, maxBatch: _, ...rest } = options;
  const consumer = new Consumer({
    reader,
    store,
    featureSet: createFeatureSet('transactions', state ? { state } : {}),
    scorer: new Scorer(await freshBundle(), { explain: 'none' }),
    backoffMs: 5,
    maxBackoffMs: 20,
    ...rest,
  });
  return { consumer, stats: consumer.run(), acked };
}
