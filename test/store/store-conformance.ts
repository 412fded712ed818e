import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import type { Decision, ScoredTransaction, Store, TransactionQuery } from '../../src/store/index.js';

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

    describe('searchTransactions', () => {
      // Event times far from the batch above, so a time window selects only these.
      const t1 = 1_600_000_000_000;
      const decisions: Decision[] = ['approve', 'approve', 'review', 'decline'];
      const docs = Array.from({ length: 30 }, (_, i) => {
        const r = scored(1000 + i, t1 + i * 1_000, decisions[i % 4]!, i / 30);
        // Pairs share an event time, so ties are ordered by record key across pages.
        r.transaction = {
          ...r.transaction,
          timestampMs: t1 + Math.floor(i / 2) * 1_000,
          cardId: `search-card-${i % 3}`,
          terminalId: `search-term-${i % 2}`,
        };
        return r;
      });
      const newestFirst = (rs: ScoredTransaction[]) =>
        [...rs].sort(
          (a, b) => b.transaction.timestampMs - a.transaction.timestampMs || (a.key < b.key ? 1 : -1),
        );
      /** Every page of a query, following cursors. */
      const allPages = async (query: Omit<TransactionQuery, 'cursor'>) => {
        const keys: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.searchTransactions({ ...query, ...(cursor && { cursor }) });
          expect(page.transactions.length).toBeLessThanOrEqual(query.limit);
          keys.push(...page.transactions.map((r) => r.key));
          cursor = page.nextCursor;
          pages++;
        } while (cursor && pages < 50);
        return { keys, pages };
      };

      beforeAll(async () => {
        await store.persistBatch(docs);
      });

      it('finds the transactions of a card newest first, page by page', async () => {
        const expected = newestFirst(docs.filter((r) => r.transaction.cardId === 'search-card-1'));
        const { keys, pages } = await allPages({ cardId: 'search-card-1', limit: 3 });
        expect(keys).toEqual(expected.map((r) => r.key));
        expect(pages).toBe(Math.ceil(expected.length / 3));
        const first = await store.searchTransactions({ cardId: 'search-card-1', limit: 1 });
        expect(first.transactions[0]).toEqual(expected[0]);
      });

      it('combines terminal, decision and an inclusive time range', async () => {
        const fromMs = t1 + 3_000;
        const toMs = t1 + 11_000;
        const match = (r: ScoredTransaction) =>
          r.transaction.terminalId === 'search-term-0' &&
          r.decision === 'approve' &&
          r.transaction.timestampMs >= fromMs &&
          r.transaction.timestampMs <= toMs;
        const expected = newestFirst(docs.filter(match)).map((r) => r.key);
        expect(expected.length).toBeGreaterThan(1);
        const query = { terminalId: 'search-term-0', decision: 'approve' as const, fromMs, toMs, limit: 2 };
        expect((await allPages(query)).keys).toEqual(expected);
      });

      it('searches by decision alone and by time alone', async () => {
        const window = { fromMs: t1, toMs: t1 + 60_000 };
        const reviews = newestFirst(docs.filter((r) => r.decision === 'review')).map((r) => r.key);
        expect((await allPages({ decision: 'review', ...window, limit: 4 })).keys).toEqual(reviews);
        const all = newestFirst(docs).map((r) => r.key);
        expect((await allPages({ ...window, limit: 7 })).keys).toEqual(all);
        const last = await store.searchTransactions({ ...window, limit: 30 });
        expect(last.transactions).toHaveLength(30);
        expect(last.nextCursor).toBeUndefined();
        expect((await store.searchTransactions({ cardId: 'nobody', limit: 5 })).transactions).toEqual([]);
      });

      it('pages a card across hours, apart from cards whose ids extend or contain its own', async () => {
        // One hour apart, 60 in all (the Redis store keeps card entries in one key per hour and
        // reads 48 hours per round), ids that are
        // prefixes of each other or hold the separators of the index members.
        const t2 = 1_650_000_000_000;
        const ids = ['c1', 'c12', 'c1|0', '1:c1', 'c1:'];
        const spread = Array.from({ length: 60 }, (_, i) => {
          const r = scored(5000 + i, t2 + i * 1_000, decisions[i % 4]!, i / 60);
          r.transaction = {
            ...r.transaction,
            timestampMs: t2 + i * 3_600_000 + (i % 7) * 60_000,
            cardId: ids[i % ids.length]!,
            terminalId: `t-${i % 3}`,
          };
          return r;
        });
        await store.persistBatch(spread);
        for (const id of ids) {
          const expected = newestFirst(spread.filter((r) => r.transaction.cardId === id)).map((r) => r.key);
          expect(expected.length).toBe(12);
          expect((await allPages({ cardId: id, limit: 3 })).keys).toEqual(expected);
        }
        const fromMs = t2 + 10 * 3_600_000;
        const toMs = t2 + 50 * 3_600_000;
        const inWindow = (r: ScoredTransaction) =>
          r.transaction.terminalId === 't-1' &&
          r.transaction.timestampMs >= fromMs &&
          r.transaction.timestampMs <= toMs;
        const expected = newestFirst(spread.filter(inWindow)).map((r) => r.key);
        expect(expected.length).toBeGreaterThan(2);
        expect((await allPages({ terminalId: 't-1', fromMs, toMs, limit: 2 })).keys).toEqual(expected);
      });

      it('rejects a cursor it did not make and a limit out of range', async () => {
        await expect(store.searchTransactions({ limit: 5, cursor: 'bm9wZQ' })).rejects.toThrow(ConfigError);
        await expect(store.searchTransactions({ limit: 0 })).rejects.toThrow(ConfigError);
      });
    });
  });
}
