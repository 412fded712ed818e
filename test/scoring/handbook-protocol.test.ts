import { describe, expect, it } from 'vitest';
import type { Transaction } from '../../src/events/index.js';
import { evaluateBundle, trainBundle } from '../../src/scoring/index.js';
import { simulateDays } from '../../src/sources/index.js';

/**
 * The Fraud Detection Handbook's chapter 3 protocol at reduced size (1,500 customers, 3,000
 * terminals instead of 5,000 / 10,000): train 2018-07-25..31, 7-day delay, test 2018-08-08..14,
 * cards known compromised removed. The full-size table is produced by `bench/handbook.bench.ts`.
 */
function* world(): Generator<Transaction> {
  for (const day of simulateDays({ seed: 0, nCustomers: 1_500, nTerminals: 3_000, nDays: 136 })) {
    yield* day.transactions;
  }
}

describe('Handbook protocol, reduced size', () => {
  it('trains on one week and detects fraud two weeks later well above chance', async () => {
    const bundle = await trainBundle({
      name: 'handbook-small',
      sourceName: 'simulator',
      transactions: world(),
      featureSet: 'transactions',
      trainFromMs: Date.UTC(2018, 6, 25),
      trainToMs: Date.UTC(2018, 7, 1) - 1,
      seed: 0,
      rcf: { numberOfTrees: 20 },
    });
    const report = await evaluateBundle(bundle, {
      transactions: world(),
      testFromMs: Date.UTC(2018, 7, 8),
      testToMs: Date.UTC(2018, 7, 15) - 1,
    });
    expect(report.rows).toBeGreaterThan(10_000);
    expect(report.frauds).toBeGreaterThan(50);
    expect(report.removedKnownCompromised).toBeGreaterThan(0);
    expect(report.classifier.auc).toBeGreaterThan(0.78);
    expect(report.classifier.averagePrecision).toBeGreaterThan(0.5);
    expect(report.combined.auc).toBeGreaterThan(0.8);
    expect(report.classifier.cardPrecisionAt100).toBeGreaterThan(0.1);
    // The forest alone is unsupervised: better than chance, far from the classifier.
    expect(report.anomaly.auc).toBeGreaterThan(0.7);
  }, 180_000);
});
