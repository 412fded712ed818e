import { describe, expect, it } from 'vitest';
import { CREDITCARD_COLUMNS } from '../../../src/events/index.js';
import { trainGbdt } from '../../../src/models/gbdt/index.js';
import { averagePrecision } from '../../../src/models/metrics/index.js';
import { createSyntheticCreditcardSource } from '../../../src/sources/index.js';

/** Rows of the synthetic Kaggle-schema generator as a matrix (the lab's 30 columns) and labels. */
async function rows(seed: number, count: number): Promise<{ x: Float32Array; y: Uint8Array; n: number }> {
  const d = CREDITCARD_COLUMNS.length;
  const x = new Float32Array(count * d);
  const y = new Uint8Array(count);
  let i = 0;
  for await (const r of createSyntheticCreditcardSource({ seed, count }).records()) {
    if (r.kind !== 'transaction') continue;
    const f = r.transaction.features!;
    for (let j = 0; j < d; j++) x[i * d + j] = f[CREDITCARD_COLUMNS[j]!]!;
    y[i] = r.transaction.label ?? 0;
    i++;
  }
  return { x, y, n: i };
}

describe('GBDT on synthetic-creditcard', () => {
  it('reaches average precision >= 0.9 on held-out rows at the default fraud rate (0.172%)', async () => {
    const d = CREDITCARD_COLUMNS.length;
    const train = await rows(11, 150_000);
    const test = await rows(12, 100_000);
    expect(train.y.reduce((a, b) => a + b, 0)).toBeGreaterThan(150);
    const model = trainGbdt({ data: train.x, nRows: train.n, nCols: d }, train.y, {
      nTrees: 60,
      maxDepth: 4,
      seed: 1,
    });
    const p = model.predictProba({ data: test.x, nRows: test.n, nCols: d });
    const ap = averagePrecision(p, test.y);
    expect(ap).toBeGreaterThanOrEqual(0.9);
  }, 120_000);
});
