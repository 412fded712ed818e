/**
 * The replay guarantee of `transactions-plus`: the rows training replays are, value for value,
 * the features the live consumer computes and stores, with the state in memory and in Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Transaction, toNativeJson } from '../../src/events/index.js';
import {
  buildTrainingSet,
  type CardHistoryState,
  createFeatureSet,
  DAY_MS,
  RedisCardHistoryState,
  RedisWindowState,
  TRANSACTIONS_PLUS_FEATURE_NAMES,
  type WindowState,
} from '../../src/features/index.js';
import { runInProcess } from '../../src/pipeline/index.js';
import { Scorer, type TrainedBundle, trainBundle } from '../../src/scoring/index.js';
import type { Source } from '../../src/sources/index.js';
import { MemoryStore } from '../../src/store/index.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';
import { SMALL_WORLD_START_MS, smallWorld } from './fixtures.js';

const history = smallWorld(36);
const LIVE_FROM = SMALL_WORLD_START_MS + 33 * DAY_MS;
const LIVE_TO = history[history.length - 1]!.timestampMs;

let bundle: TrainedBundle | undefined;
async function plusBundle(): Promise<TrainedBundle> {
  bundle ??= await trainBundle({
    name: 'plus',
    sourceName: 'simulator',
    transactions: history,
    featureSet: 'transactions-plus',
    trainFromMs: SMALL_WORLD_START_MS + 20 * DAY_MS,
    trainToMs: LIVE_FROM - 1,
    gbdt: { nTrees: 20, maxDepth: 3 },
    rcf: { numberOfTrees: 10, sampleSize: 64 },
    seed: 1,
  });
  return bundle;
}

function recordSource(items: readonly Transaction[]): Source {
  return {
    name: 'test',
    async *records() {
      for (let i = 0; i < items.length; i++)
        yield { kind: 'raw', payload: toNativeJson(items[i]!), line: i + 1 };
    },
  };
}

/** Training rows of the live period and the features the consumer stored, both through fresh states. */
async function offlineAndServed(
  states: () => Promise<{ state?: WindowState; cardHistory?: CardHistoryState }>,
): Promise<{
  offline: Awaited<ReturnType<typeof buildTrainingSet>>;
  served: Map<string, Record<string, number>>;
}> {
  const trainingStates = await states();
  const offline = await buildTrainingSet({
    transactions: history,
    featureSet: createFeatureSet('transactions-plus', trainingStates),
    fromMs: LIVE_FROM,
    toMs: LIVE_TO,
    delayDays: 7,
    // Small batches keep each Redis script call short on a loaded machine (Redis answers BUSY past 5 s).
    batchSize: 512,
  });
  const servingStates = await states();
  const store = new MemoryStore();
  await runInProcess({
    source: recordSource(history),
    store,
    featureSet: createFeatureSet('transactions-plus', servingStates),
    scorer: new Scorer(await plusBundle(), { explain: 'none' }),
    simulatedFeedbackDelayDays: 7,
  });
  for (const s of [trainingStates, servingStates]) {
    await s.state?.close?.();
    await s.cardHistory?.close?.();
  }
  const served = new Map(
    [...store.values()].map((d) => [d.transaction.id, d.features as Record<string, number>]),
  );
  return { offline, served };
}

function expectSame(
  offline: Awaited<ReturnType<typeof buildTrainingSet>>,
  served: Map<string, Record<string, number>>,
): void {
  const names = offline.featureNames;
  expect(names).toEqual(TRANSACTIONS_PLUS_FEATURE_NAMES);
  let compared = 0;
  let withHistory = 0;
  for (let i = 0; i < offline.nRows; i++) {
    const features = served.get(offline.transactionIds[i]!);
    expect(features).toBeDefined();
    for (let j = 0; j < names.length; j++) {
      const v = features![names[j]!];
      const expected = offline.x[i * names.length + j]!;
      if (Number.isNaN(expected))
        expect(v === undefined || v === null || Number.isNaN(v), names[j]).toBe(true);
      else expect(Math.fround(v!), names[j]).toBe(expected);
    }
    if (!Number.isNaN(offline.x[i * names.length + 15]!)) withHistory++;
    compared++;
  }
  expect(compared).toBe(offline.nRows);
  expect(compared).toBeGreaterThan(1000);
  // The new columns are mostly defined (cards have history), so the comparison means something.
  expect(withHistory / compared).toBeGreaterThan(0.8);
}

describe('transactions-plus replay guarantee', () => {
  it('training rows equal the live-served features, memory state', async () => {
    const { offline, served } = await offlineAndServed(async () => ({}));
    expectSame(offline, served);
  }, 900_000);

  describe.skipIf(skipWithoutRedis())('with the state in Redis', () => {
    let server: RedisServerHandle;
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('training rows equal the live-served features, and the memory state’s rows', async () => {
      const { offline, served } = await offlineAndServed(async () => {
        const prefix = randomKeyPrefix();
        return {
          state: await RedisWindowState.connect({ url: server.url, prefix }),
          cardHistory: await RedisCardHistoryState.connect({ url: server.url, prefix }),
        };
      });
      expectSame(offline, served);
      const memory = await buildTrainingSet({
        transactions: history,
        featureSet: createFeatureSet('transactions-plus'),
        fromMs: LIVE_FROM,
        toMs: LIVE_TO,
        delayDays: 7,
      });
      expect(memory.nRows).toBe(offline.nRows);
      for (let k = 0; k < memory.x.length; k++) {
        const a = memory.x[k]!;
        const b = offline.x[k]!;
        if (Number.isNaN(a)) expect(b).toBeNaN();
        else expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(a)));
      }
    }, 900_000);
  });
});
