import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshot } from '../../src/dashboard/index.js';
import { MemoryStore, RedisStore, type Store } from '../../src/store/index.js';
import {
  type RedisServerHandle,
  randomKeyPrefix,
  skipWithoutRedis,
  startRedisServer,
} from '../helpers/redis-server.js';
import { record } from './fixtures.js';

const t0 = 1_700_000_000_000; // a multiple of 10 s, so bucket starts are easy to read
const nowMs = t0 + 25_500;
const batch = [
  record(1, t0 + 100, 'approve', 0.1),
  record(2, t0 + 900, 'review', 0.8),
  record(3, t0 + 1_500, 'approve', 0.2),
  record(4, t0 + 12_000, 'decline', 0.95),
  record(5, t0 + 12_001, 'approve', 0.3),
  record(6, t0 + 24_000, 'approve', 0.4),
  // In the current, incomplete second: counted per 10 s, not yet per second.
  record(7, t0 + 25_200, 'review', 0.7),
];

function describeSnapshot(name: string, open: () => Promise<Store>): void {
  describe(`readSnapshot over ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
      await store.persistBatch(batch);
      await store.persistBatch(batch.slice(0, 3)); // redelivered: changes nothing
      await store.deadLetter([
        {
          position: '9',
          payload: 'x'.repeat(500),
          reason: 'payload: not JSON',
          errorName: 'ParseError',
          atMs: t0,
        },
      ]);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('totals the window, the decisions and the latest flagged score', async () => {
      const s = await readSnapshot(store, {
        windowMs: 60_000,
        alertLimit: 10,
        info: { source: 'test' },
        nowMs,
      });
      expect(s.atMs).toBe(nowMs);
      expect(s.totals).toEqual({ transactions: 7, deadLetters: 1 });
      expect(s.window.transactions).toBe(7);
      expect(s.window.flagged).toBe(3);
      expect(s.window.decisions).toEqual({ approve: 4, review: 2, decline: 1 });
      expect(s.window.averageScore).toBeCloseTo(3.45 / 7, 9);
      expect(s.latestFraudulent).toEqual({ t: t0 + 25_200, v: 0.7, transactionId: 'tx-7' });
      expect(s.alerts.map((a) => a.transactionId)).toEqual(['tx-7', 'tx-4', 'tx-2']);
      expect(s.info).toEqual({ source: 'test' });
      // The Redis store also keeps the full size and SHA-256 of the payload (retention caps).
      expect(s.deadLetters).toMatchObject([
        {
          position: '9',
          reason: 'payload: not JSON',
          errorName: 'ParseError',
          atMs: t0,
          payloadExcerpt: 'x'.repeat(120),
          payloadLength: 500,
        },
      ]);
    });

    it('fills every second of the window up to the last complete one', async () => {
      const s = await readSnapshot(store, { windowMs: 60_000, alertLimit: 10, info: {}, nowMs });
      const { perSecond } = s;
      expect(perSecond.t).toHaveLength(60);
      expect(perSecond.t[59]).toBe(t0 + 24_000);
      const at = (t: number): number => perSecond.t.indexOf(t);
      expect(perSecond.transactions[at(t0)]).toBe(2);
      expect(perSecond.transactions[at(t0 + 1_000)]).toBe(1);
      expect(perSecond.transactions[at(t0 + 12_000)]).toBe(2);
      expect(perSecond.transactions.reduce((a, b) => a + b, 0)).toBe(6);
      expect(perSecond.averageScore[at(t0)]).toBeCloseTo(0.45, 9);
      expect(perSecond.averageScore[at(t0 + 2_000)]).toBeNull();
      expect(perSecond.maxFlaggedScore[at(t0)]).toBe(0.8);
      expect(perSecond.maxFlaggedScore[at(t0 + 12_000)]).toBe(0.95);
      expect(perSecond.maxFlaggedScore.filter((v) => v !== null)).toHaveLength(2);
      // Only t0+24 s falls in the last five complete seconds.
      expect(s.transactionsPerSecond).toBeCloseTo(1 / 5, 9);
    });

    it('counts per 10 s including the current bucket, and splits averages by fraudulent and not', async () => {
      const { per10s } = await readSnapshot(store, { windowMs: 60_000, alertLimit: 10, info: {}, nowMs });
      expect(per10s.t).toEqual([-30_000, -20_000, -10_000, 0, 10_000, 20_000].map((d) => t0 + d));
      expect(per10s.flagged).toEqual([0, 0, 0, 1, 1, 1]);
      expect(per10s.review).toEqual([0, 0, 0, 1, 0, 1]);
      expect(per10s.decline).toEqual([0, 0, 0, 0, 1, 0]);
      expect(per10s.fraudulentAverage.slice(0, 3)).toEqual([null, null, null]);
      expect(per10s.fraudulentAverage[3]).toBeCloseTo(0.8, 9);
      expect(per10s.fraudulentAverage[4]).toBeCloseTo(0.95, 9);
      expect(per10s.fraudulentAverage[5]).toBeCloseTo(0.7, 9);
      expect(per10s.nonFraudulentAverage[3]).toBeCloseTo(0.15, 9);
      expect(per10s.nonFraudulentAverage[4]).toBeCloseTo(0.3, 9);
      expect(per10s.nonFraudulentAverage[5]).toBeCloseTo(0.4, 9);
    });

    it('derives the averages exactly as the score series aggregate them', async () => {
      const { per10s } = await readSnapshot(store, { windowMs: 60_000, alertLimit: 10, info: {}, nowMs });
      const from = per10s.t[0]!;
      const agg = { bucketMs: 10_000, type: 'avg' } as const;
      const fraudulent = await store.scoreSeries('fraudulent_ts', from, nowMs, agg);
      const normal = await store.scoreSeries('non-fraudulent_ts', from, nowMs, agg);
      for (const [series, column] of [
        [fraudulent, per10s.fraudulentAverage],
        [normal, per10s.nonFraudulentAverage],
      ] as const) {
        expect(column.filter((v) => v !== null)).toHaveLength(series.length);
        for (const p of series) expect(column[per10s.t.indexOf(p.t)]).toBeCloseTo(p.v, 9);
      }
    });

    it('summarises the three score series with the lab label', async () => {
      const { series } = await readSnapshot(store, { windowMs: 60_000, alertLimit: 10, info: {}, nowMs });
      expect(series.map((s) => [s.name, s.labels, s.samples])).toEqual([
        ['fraud-ts', { type: 'fraud_score' }, 7],
        ['fraudulent_ts', { type: 'fraud_score' }, 3],
        ['non-fraudulent_ts', { type: 'fraud_score' }, 4],
      ]);
      expect(series[1]!.average).toBeCloseTo(2.45 / 3, 9);
      expect(series[2]!.average).toBeCloseTo(0.25, 9);
    });

    it('is empty but complete before any traffic', async () => {
      const s = await readSnapshot(store, {
        windowMs: 60_000,
        alertLimit: 10,
        info: {},
        nowMs: t0 - 120_000,
      });
      expect(s.window).toEqual({
        transactions: 0,
        flagged: 0,
        decisions: { approve: 0, review: 0, decline: 0 },
        averageScore: null,
      });
      expect(s.perSecond.t).toHaveLength(60);
      expect(s.per10s.t).toHaveLength(6);
      expect(s.transactionsPerSecond).toBe(0);
    });
  });
}

describeSnapshot('a memory store', async () => new MemoryStore());

describe.skipIf(skipWithoutRedis())('readSnapshot over Redis', () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  describeSnapshot('a Redis store (core layout, 4 shards)', () =>
    RedisStore.connect({ url: server.url, prefix: randomKeyPrefix(), shards: 4 }),
  );
});
