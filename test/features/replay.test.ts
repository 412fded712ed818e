import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import type { Feedback, Transaction } from '../../src/events/index.js';
import {
  buildTrainingSet,
  createFeatureSet,
  DAY_MS,
  feedbackFor,
  isNightUtc,
  isWeekendUtc,
} from '../../src/features/index.js';
import { Random } from '../../src/random/index.js';

const T0 = Date.UTC(2018, 3, 1);
const HOUR_MS = 3_600_000;
const DELAY_DAYS = 7;

/**
 * A random labelled history in event-time order. Half of the times sit on a one-hour grid so
 * that many transactions fall exactly on window bounds; a few are unlabelled.
 */
function history(seed: number, n: number, days: number): Transaction[] {
  const random = new Random(seed);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    times.push(
      random.next() < 0.5
        ? T0 + random.int(days * 24) * HOUR_MS
        : T0 + Math.floor(random.next() * days * DAY_MS),
    );
  }
  times.sort((a, b) => a - b);
  return times.map((timestampMs, i) => {
    const fraud = random.next() < 0.1;
    const tx: Transaction = {
      id: `tx${i}`,
      timestampMs,
      cardId: `C${random.int(40)}`,
      terminalId: `T${random.int(12)}`,
      amount: Math.round(random.uniform(1, 300) * 100) / 100,
      channel: 'unknown',
      format: 'native',
      extra: { fraudScenario: fraud ? 1 + random.int(3) : 0 },
    };
    if (random.next() < 0.97) tx.label = fraud ? 1 : 0;
    return tx;
  });
}

/**
 * The Handbook's definitions, computed directly: for transaction i, scan every transaction
 * before it in the history (pandas `rolling` on the time index: rows up to i whose time is in
 * the window). Terminal risk uses every label in the delayed window, as the book does.
 */
function handbookFeatures(txs: readonly Transaction[], i: number): number[] {
  const tx = txs[i]!;
  const t = tx.timestampMs;
  const row = [tx.amount, isWeekendUtc(t), isNightUtc(t)];
  for (const days of [1, 7, 30]) {
    let count = 0;
    let sum = 0;
    for (let j = 0; j <= i; j++) {
      const o = txs[j]!;
      if (o.cardId === tx.cardId && o.timestampMs > t - days * DAY_MS) {
        count++;
        sum += o.amount;
      }
    }
    row.push(count, sum / count);
  }
  const end = t - DELAY_DAYS * DAY_MS;
  for (const days of [1, 7, 30]) {
    let count = 0;
    let frauds = 0;
    for (let j = 0; j <= i; j++) {
      const o = txs[j]!;
      if (o.terminalId === tx.terminalId && o.timestampMs > end - days * DAY_MS && o.timestampMs <= end) {
        count++;
        frauds += o.label ?? 0;
      }
    }
    row.push(count, count === 0 ? 0 : frauds / count);
  }
  return row;
}

async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield item;
}

describe('buildTrainingSet', () => {
  const txs = history(7, 2500, 70);
  const fromMs = T0 + 40 * DAY_MS;
  const toMs = T0 + 60 * DAY_MS - 1;

  it('reproduces the Handbook features computed from their definitions', async () => {
    const set = await buildTrainingSet({
      transactions: txs,
      featureSet: createFeatureSet('transactions', { delayDays: DELAY_DAYS }),
      fromMs,
      toMs,
      delayDays: DELAY_DAYS,
      batchSize: 300,
    });
    const kept = txs
      .map((tx, i) => ({ tx, i }))
      .filter(({ tx }) => tx.timestampMs >= fromMs && tx.timestampMs <= toMs && tx.label !== undefined);
    expect(set.nRows).toBe(kept.length);
    expect(set.nCols).toBe(15);
    expect(set.x.length).toBe(kept.length * 15);
    expect(Array.from(set.labels)).toEqual(kept.map(({ tx }) => tx.label));
    expect(set.transactionIds).toEqual(kept.map(({ tx }) => tx.id));
    expect(set.cardIds).toEqual(kept.map(({ tx }) => tx.cardId));
    expect(Array.from(set.timestampsMs)).toEqual(kept.map(({ tx }) => tx.timestampMs));
    expect(Array.from(set.scenarios ?? [])).toEqual(kept.map(({ tx }) => tx.extra?.fraudScenario));
    let risky = 0;
    kept.forEach(({ i }, r) => {
      const expected = handbookFeatures(txs, i);
      for (let j = 0; j < 15; j++) {
        const got = set.x[r * 15 + j]!;
        const want = Math.fround(expected[j]!);
        expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
      }
      if (expected[14]! > 0) risky++;
    });
    // The comparison must have exercised terminal risk, not only zeros.
    expect(risky).toBeGreaterThan(100);
  });

  it('gives the same rows as live scoring with feedback arriving at the delay (train/serve parity)', async () => {
    const replayed = await buildTrainingSet({
      transactions: asAsync(txs),
      featureSet: createFeatureSet('transactions'),
      fromMs,
      toMs,
      delayDays: DELAY_DAYS,
    });
    // Live: one transaction at a time, each label delivered as feedback when it becomes known.
    const live = createFeatureSet('transactions');
    const pending: Feedback[] = [];
    const out = new Float64Array(15);
    const liveRows: number[][] = [];
    for (const tx of txs) {
      if (tx.timestampMs > toMs) break;
      const due = pending.filter((f) => f.atMs <= tx.timestampMs);
      pending.splice(0, due.length);
      await live.feedback(due);
      await live.extract([tx], out);
      if (tx.label !== undefined) pending.push(feedbackFor(tx, DELAY_DAYS));
      if (tx.timestampMs >= fromMs && tx.label !== undefined)
        liveRows.push(Array.from(Float32Array.from(out)));
    }
    expect(replayed.nRows).toBe(liveRows.length);
    const replayedRows = Array.from({ length: replayed.nRows }, (_, r) =>
      Array.from(replayed.x.subarray(r * 15, (r + 1) * 15)),
    );
    expect(replayedRows).toEqual(liveRows);
  });

  it('does not depend on the batch size', async () => {
    const build = (batchSize: number) =>
      buildTrainingSet({
        transactions: txs,
        featureSet: createFeatureSet('transactions'),
        fromMs,
        toMs,
        delayDays: DELAY_DAYS,
        batchSize,
      });
    const [one, many] = await Promise.all([build(1), build(100_000)]);
    expect(many.x).toEqual(one.x);
  });

  it('cuts batches so that a delay shorter than a batch still sees its labels', async () => {
    const short = 0.25;
    const build = (batchSize: number) =>
      buildTrainingSet({
        transactions: txs,
        featureSet: createFeatureSet('transactions', { delayDays: short }),
        fromMs,
        toMs,
        delayDays: short,
        batchSize,
      });
    const [one, big] = await Promise.all([build(1), build(5000)]);
    expect(big.x).toEqual(one.x);
  });

  it('stops reading after toMs, reports progress, and keeps only labelled rows in range', async () => {
    let pulled = 0;
    function* counted(): Generator<Transaction> {
      for (const tx of txs) {
        pulled++;
        yield tx;
      }
    }
    const progress: number[] = [];
    const progressTimes: number[] = [];
    const set = await buildTrainingSet({
      transactions: counted(),
      featureSet: createFeatureSet('transactions'),
      fromMs,
      toMs,
      delayDays: DELAY_DAYS,
      batchSize: 500,
      onProgress: (p) => {
        progress.push(p.processed);
        progressTimes.push(p.timestampMs);
      },
    });
    const firstAfter = txs.findIndex((tx) => tx.timestampMs > toMs);
    expect(pulled).toBe(firstAfter + 1);
    expect(progress.at(-1)).toBe(firstAfter);
    expect(progressTimes.at(-1)).toBe(txs[firstAfter - 1]!.timestampMs);
    expect(progressTimes.every((t, i) => t === txs[progress[i]! - 1]!.timestampMs)).toBe(true);
    expect(progress.length).toBeGreaterThanOrEqual(Math.ceil(firstAfter / 500));
    expect(set.timestampsMs.every((t) => t >= fromMs && t <= toMs)).toBe(true);
  });

  it('rejects a history that goes back in time and invalid options', async () => {
    const swapped = [txs[1]!, txs[0]!].map((tx, i) => ({ ...tx, timestampMs: T0 + (1 - i) * HOUR_MS }));
    const featureSet = createFeatureSet('transactions');
    await expect(
      buildTrainingSet({ transactions: swapped, featureSet, fromMs: T0, toMs: T0 + DAY_MS, delayDays: 7 }),
    ).rejects.toThrow(ConfigError);
    await expect(
      buildTrainingSet({ transactions: txs, featureSet, fromMs: 2, toMs: 1, delayDays: 7 }),
    ).rejects.toThrow(ConfigError);
    await expect(
      buildTrainingSet({ transactions: txs, featureSet, fromMs: 0, toMs: 1, delayDays: 7, batchSize: 0 }),
    ).rejects.toThrow(ConfigError);
  });

  it('labels a transaction at its time plus the delay', () => {
    const tx = { ...txs[0]!, label: 1 as const };
    expect(feedbackFor(tx, 7)).toEqual({
      transactionId: tx.id,
      cardId: tx.cardId,
      terminalId: tx.terminalId,
      transactionTimestampMs: tx.timestampMs,
      label: 1,
      atMs: tx.timestampMs + 7 * DAY_MS,
    });
    const { label: _label, ...unlabelled } = tx;
    expect(() => feedbackFor(unlabelled, 7)).toThrow(ConfigError);
  });
});
