import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision, ScoredTransaction, Store } from '../../src/store/index.js';

/** A scored transaction for store tests; `i` makes it unique, `decision` and `score` drive series and counters. */
export function scored(
  i: number,
  processedAtMs: number,
  decision: Decision,
  fraudScore: number,
): ScoredTransaction {
  return {
    key: `tx-${i}@${i}`,
    transaction: {
      id: `tx-${i}`,
      timestampMs: processedAtMs - 5,
      cardId: `card-${i % 7}`,
      terminalId: `term-${i % 5}`,
      amount: 10 + i,
      channel: 'web',
      format: 'native',
    },
    features: { TX_AMOUNT: 10 + i },
    classifierProbability: fraudScore,
    anomalyScore: 1,
    anomalyNormalized: 0.5,
    fraudScore,
    decision,
    reasons: [{ name: 'TX_AMOUNT', contribution: 0.3, source: 'classifier' }],
    modelVersion: 'test',
    enqueuedAtMs: processedAtMs - 2,
    processedAtMs,
  };
}

/**
 * The behaviour every {@link Store} must have. Run by the memory store's tests and by the Redis
 * store's (against a real server), so both answer the dashboard's queries the same way.
 */
export function describeStoreConformance(
  name: string,
  open: () => Promise<Store>,
  cleanup?: () => Promise<void>,
) {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    const t0 = 1_700_000_000_000;
    const batch = [
      scored(1, t0 + 100, 'approve', 0.1),
      scored(2, t0 + 900, 'review', 0.8),
      scored(3, t0 + 1_500, 'approve', 0.2),
      scored(4, t0 + 12_000, 'decline', 0.95),
      scored(5, t0 + 12_001, 'approve', 0.3),
    ];

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
      await cleanup?.();
    });

    it('persists documents once, whatever the redeliveries', async () => {
      expect(await store.persistBatch(batch)).toEqual({ written: 5, duplicates: 0 });
      expect(await store.persistBatch([batch[1]!, batch[3]!])).toEqual({ written: 0, duplicates: 2 });
      expect(await store.countTransactions()).toBe(5);
      const doc = await store.getTransaction(batch[1]!.key);
      expect(doc?.decision).toBe('review');
      expect(doc?.transaction.id).toBe('tx-2');
      expect(doc?.reasons[0]?.name).toBe('TX_AMOUNT');
      expect(await store.getTransaction('missing@0')).toBeUndefined();
    });

    it('splits score series by decision with millisecond timestamps, not double counting', async () => {
      const all = await store.scoreSeries('fraud-ts', t0, t0 + 60_000);
      expect(all.map((p) => p.t)).toEqual(batch.map((b) => b.processedAtMs));
      const flagged = await store.scoreSeries('fraudulent_ts', t0, t0 + 60_000);
      const normal = await store.scoreSeries('non-fraudulent_ts', t0, t0 + 60_000);
      expect(flagged.map((p) => p.v)).toEqual([0.8, 0.95]);
      expect(normal.map((p) => p.v)).toEqual([0.1, 0.2, 0.3]);
      const partial = await store.scoreSeries('fraud-ts', t0 + 900, t0 + 12_000);
      expect(partial.map((p) => p.v)).toEqual([0.8, 0.2, 0.95]);
    });

    it('aggregates series per bucket (count, avg, max)', async () => {
      const count = await store.scoreSeries('fraud-ts', t0, t0 + 60_000, { bucketMs: 10_000, type: 'count' });
      const base = Math.floor(t0 / 10_000) * 10_000;
      const expectedBuckets = new Map<number, number[]>();
      for (const b of batch) {
        const k = Math.floor(b.processedAtMs / 10_000) * 10_000;
        expectedBuckets.set(k, [...(expectedBuckets.get(k) ?? []), b.fraudScore]);
      }
      expect(count).toEqual([...expectedBuckets].map(([t, vs]) => ({ t, v: vs.length })));
      const avg = await store.scoreSeries('fraud-ts', t0, t0 + 60_000, { bucketMs: 10_000, type: 'avg' });
      for (const p of avg) {
        const vs = expectedBuckets.get(p.t)!;
        expect(p.v).toBeCloseTo(vs.reduce((a, b) => a + b, 0) / vs.length, 9);
      }
      const max = await store.scoreSeries('fraud-ts', t0, t0 + 60_000, { bucketMs: 10_000, type: 'max' });
      expect(max.map((p) => p.v)).toEqual([...expectedBuckets.values()].map((vs) => Math.max(...vs)));
      expect(base).toBeLessThanOrEqual(count[0]!.t);
    });

    it('keeps 1 s and 10 s counters of transactions, flagged and score sums', async () => {
      const ten = await store.counters(10_000, t0 - 10_000, t0 + 60_000);
      expect(ten.reduce((a, b) => a + b.transactions, 0)).toBe(5);
      expect(ten.reduce((a, b) => a + b.flagged, 0)).toBe(2);
      expect(ten.reduce((a, b) => a + b.decline, 0)).toBe(1);
      expect(ten.reduce((a, b) => a + b.review, 0)).toBe(1);
      expect(ten.reduce((a, b) => a + b.scoreSum, 0)).toBeCloseTo(2.35, 9);
      const one = await store.counters(1_000, t0 - 1_000, t0 + 60_000);
      expect(one.map((b) => b.transactions).reduce((a, b) => a + b, 0)).toBe(5);
      expect(one.length).toBeGreaterThan(ten.length);
      for (let i = 1; i < one.length; i++) expect(one[i]!.t).toBeGreaterThan(one[i - 1]!.t);
    });

    it('raises alerts for review and decline decisions, newest first', async () => {
      const alerts = await store.recentAlerts(10);
      expect(alerts.map((a) => a.transactionId)).toEqual(['tx-4', 'tx-2']);
      expect(alerts[0]?.decision).toBe('decline');
      expect(alerts[0]?.reasons.length).toBe(1);
      expect(await store.recentAlerts(1)).toHaveLength(1);
    });

    it('keeps dead letters with their reason and raw payload', async () => {
      await store.deadLetter([
        {
          position: '7',
          payload: '{"amount":',
          reason: 'payload: truncated JSON',
          errorName: 'ParseError',
          atMs: t0,
        },
        { position: '8', payload: '', reason: 'payload: empty', errorName: 'ParseError', atMs: t0 + 1 },
      ]);
      expect(await store.countDeadLetters()).toBe(2);
      await store.deadLetter([
        { position: '8', payload: '', reason: 'payload: empty', errorName: 'ParseError', atMs: t0 + 2 },
      ]);
      expect(await store.countDeadLetters()).toBe(2);
      const recent = await store.recentDeadLetters(5);
      expect(recent.map((d) => d.position)).toEqual(['8', '7']);
      expect(recent[1]?.payload).toBe('{"amount":');
    });
  });
}
