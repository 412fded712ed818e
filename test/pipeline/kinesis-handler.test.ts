import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, TransientStoreError } from '../../src/errors/index.js';
import { type Transaction, toNativeJson } from '../../src/events/index.js';
import { createFeatureSet } from '../../src/features/index.js';
import {
  createKinesisHandler,
  type KinesisEventRecord,
  type KinesisStreamEvent,
} from '../../src/pipeline/index.js';
import { Scorer, type TrainedBundle } from '../../src/scoring/index.js';
import {
  type DeadLetter,
  MemoryStore,
  type PersistResult,
  type ScoredTransaction,
} from '../../src/store/index.js';
import { smallWorld, trainSmallBundle } from '../scoring/fixtures.js';

const SHARD = 'shardId-000000000003';
/** A realistic 56-digit sequence number prefix; records get consecutive numbers after it. */
const SEQUENCE_BASE = 49_680_553_946_117_012_218_000_930_328_528_187_573_151_244_038_787_039_234n;
const ARRIVAL_S = 1_700_000_000.125;

let bundle: TrainedBundle;
let live: Transaction[];

beforeAll(async () => {
  bundle = await trainSmallBundle(50, 31, 49);
  const liveFrom = Date.UTC(2018, 3, 1) + 50 * 86_400_000;
  live = smallWorld(52)
    .filter((t) => t.timestampMs >= liveFrom)
    .slice(0, 40);
});

function eventRecord(data: string, index: number): KinesisEventRecord {
  const sequenceNumber = String(SEQUENCE_BASE + BigInt(index) * 1_000n);
  return {
    eventID: `${SHARD}:${sequenceNumber}`,
    eventSource: 'aws:kinesis',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/demo-stream',
    kinesis: {
      data,
      partitionKey: `card-${index}`,
      sequenceNumber,
      approximateArrivalTimestamp: ARRIVAL_S + index,
      kinesisSchemaVersion: '1.0',
    },
  };
}

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Bad records at fixed places: raw payloads (base64-encoded unless `notBase64`). */
const BAD: { at: number; payload: string; notBase64?: true }[] = [
  { at: 0, payload: '{"id":"x","timestamp":"2018-05-01T00:00:00Z","amount":' },
  {
    at: 7,
    payload: '{"id":"z","timestamp":"2018-05-01T00:00:00Z","cardId":"1","terminalId":"2","amount":-5}',
  },
  { at: 20, payload: '%%% not base64 %%%', notBase64: true },
];

/** The live transactions as native JSON with the bad records spliced in; returns the event and which index holds what. */
function buildEvent(transactions: readonly Transaction[]): {
  event: KinesisStreamEvent;
  goodAt: Map<number, Transaction>;
} {
  const datas: string[] = transactions.map((t) => base64(toNativeJson(t)));
  const kinds: (Transaction | undefined)[] = [...transactions];
  for (const bad of BAD) {
    datas.splice(bad.at, 0, bad.notBase64 ? bad.payload : base64(bad.payload));
    kinds.splice(bad.at, 0, undefined);
  }
  const goodAt = new Map<number, Transaction>();
  kinds.forEach((tx, i) => {
    if (tx) goodAt.set(i, tx);
  });
  return { event: { Records: datas.map(eventRecord) }, goodAt };
}

function handlerWith(store: MemoryStore) {
  return createKinesisHandler({
    featureSet: createFeatureSet('transactions'),
    scorer: new Scorer(bundle),
    store,
  });
}

class FailingPersistStore extends MemoryStore {
  persistCalls = 0;
  override async persistBatch(results: readonly ScoredTransaction[]): Promise<PersistResult> {
    this.persistCalls++;
    throw new TransientStoreError(`injected failure persisting ${results.length} records`);
  }
}

class FailingDeadLetterStore extends MemoryStore {
  override async deadLetter(_items: readonly DeadLetter[]): Promise<void> {
    throw new TransientStoreError('injected dead-letter failure');
  }
}

describe('createKinesisHandler', () => {
  it('scores and persists every good record, dead-letters malformed ones, and reports no failures', async () => {
    const store = new MemoryStore();
    const { event, goodAt } = buildEvent(live);
    const response = await handlerWith(store)(event);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await store.countTransactions()).toBe(live.length);
    for (const [index, tx] of goodAt) {
      // Native records are keyed by their id (the default record key mode, auto).
      const stored = await store.getTransaction(tx.id);
      expect(stored?.transaction.id).toBe(tx.id);
      expect(stored?.modelVersion).toBe(bundle.manifest.fingerprint);
      expect(stored?.fraudScore).toBeGreaterThanOrEqual(0);
      expect(stored?.fraudScore).toBeLessThanOrEqual(1);
      expect(Object.keys(stored?.features ?? {})).toEqual([...bundle.manifest.featureNames]);
      expect(stored?.enqueuedAtMs).toBe(Math.round((ARRIVAL_S + index) * 1000));
    }

    const letters = await store.recentDeadLetters(10);
    expect(letters).toHaveLength(BAD.length);
    for (const bad of BAD) {
      const { sequenceNumber } = event.Records[bad.at]!.kinesis;
      const letter = letters.find((l) => l.position === `${SHARD}/${sequenceNumber}`);
      expect(letter?.payload).toBe(bad.payload);
      expect(letter?.errorName).toBe('ParseError');
      expect(letter?.reason.length).toBeGreaterThan(0);
    }
  });

  it('reports every record from the earliest unpersisted one when the store fails, and a retry stores them once', async () => {
    const { event, goodAt } = buildEvent(live);
    const failing = new FailingPersistStore();
    const response = await handlerWith(failing)(event);

    const firstGood = Math.min(...goodAt.keys());
    expect(firstGood).toBe(1);
    expect(failing.persistCalls).toBe(1);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      event.Records.slice(firstGood).map((r) => r.kinesis.sequenceNumber),
    );
    // Malformed records are dead-lettered anyway: retrying cannot fix them.
    expect(await failing.countDeadLetters()).toBe(BAD.length);

    // Lambda retries from the lowest reported sequence number, here with a healthy store.
    const healthy = new MemoryStore();
    const handler = handlerWith(healthy);
    const from = event.Records.findIndex(
      (r) => r.kinesis.sequenceNumber === response.batchItemFailures[0]!.itemIdentifier,
    );
    const retry = { Records: event.Records.slice(from) };
    expect(await handler(retry)).toEqual({ batchItemFailures: [] });
    expect(await healthy.countTransactions()).toBe(live.length);
    // A second delivery of the same records (at-least-once) stores nothing twice.
    expect(await handler(retry)).toEqual({ batchItemFailures: [] });
    expect(await healthy.countTransactions()).toBe(live.length);
  });

  it('reports from the earliest malformed record when dead-lettering fails', async () => {
    const { event } = buildEvent(live);
    const store = new FailingDeadLetterStore();
    const response = await handlerWith(store)(event);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      event.Records.slice(BAD[0]!.at).map((r) => r.kinesis.sequenceNumber),
    );
    // The good records were stored nonetheless; their retry is idempotent.
    expect(await store.countTransactions()).toBe(live.length);
  });

  it('handles an empty event and refuses a feature set the bundle was not trained on', async () => {
    const store = new MemoryStore();
    expect(await handlerWith(store)({ Records: [] })).toEqual({ batchItemFailures: [] });
    expect(() =>
      createKinesisHandler({ featureSet: createFeatureSet('creditcard'), scorer: new Scorer(bundle), store }),
    ).toThrow(ConfigError);
  });
});

describe('Kinesis handler: event time and retries', () => {
  it('dead-letters a far-future record, and a retried batch changes nothing stored', async () => {
    const far = { ...live[3]!, id: 'from-2099', timestampMs: Date.UTC(2099, 11, 31) };
    const payloads = [...live.slice(0, 10), far].map((t) => toNativeJson(t));
    const event: KinesisStreamEvent = { Records: payloads.map((p, i) => eventRecord(base64(p), i)) };
    const store = new MemoryStore();
    const handler = createKinesisHandler({
      featureSet: createFeatureSet('transactions'),
      scorer: new Scorer(bundle, { explain: 'none' }),
      store,
    });
    expect((await handler(event)).batchItemFailures).toEqual([]);
    const letters = await store.recentDeadLetters(5);
    expect(letters.map((l) => l.errorName)).toEqual(['EventTimeError']);
    expect(await store.countTransactions()).toBe(10);
    const first = new Map([...store.values()].map((d) => [d.key, d.anomalyScore]));
    // Lambda retries the same batch (same sequence numbers): stored once, as it was.
    expect((await handler(event)).batchItemFailures).toEqual([]);
    expect(await store.countTransactions()).toBe(10);
    expect(new Map([...store.values()].map((d) => [d.key, d.anomalyScore]))).toEqual(first);
  });
});
