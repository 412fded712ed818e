import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/index.js';
import {
  DEFAULT_GBDT_TRAIN_OPTIONS,
  type Matrix,
  resolveGbdtTrainOptions,
  trainGbdt,
} from '../../../src/models/gbdt/index.js';
import { rocAuc } from '../../../src/models/metrics/index.js';
import { Random } from '../../../src/random/index.js';
import { gaussianClasses, normalCdf } from './helpers.js';

describe('trainGbdt quality', () => {
  it('reaches the Bayes-optimal AUC on two Gaussian classes (equal covariance)', () => {
    const delta = [1, 0.8, 0.6, 0.4, 0.2];
    const train = gaussianClasses(20_000, delta, 0.5, 11);
    const test = gaussianClasses(40_000, delta, 0.5, 12);
    const model = trainGbdt(train.x, train.y, { nTrees: 150, maxDepth: 2, learningRate: 0.1 });
    const auc = rocAuc(model.predictMargin(test.x), test.y);
    // AUC* = Φ(|δ|/√2): the Bayes score δ·x is N(0, |δ|²) vs N(|δ|², |δ|²).
    const bayes = normalCdf(Math.hypot(...delta) / Math.SQRT2);
    expect(Math.abs(auc - bayes)).toBeLessThan(0.01);
    // The same comparison without the test set's sampling noise: the true Bayes score on these rows.
    const bayesScore = new Float64Array(test.x.nRows);
    for (let i = 0; i < test.x.nRows; i++) {
      for (let j = 0; j < delta.length; j++) bayesScore[i]! += delta[j]! * test.x.data[i * delta.length + j]!;
    }
    const empiricalBayes = rocAuc(bayesScore, test.y);
    expect(auc).toBeGreaterThan(empiricalBayes - 0.01);
    expect(auc).toBeLessThan(empiricalBayes + 0.005);
  });

  it('learns the default direction of missing values better than zero imputation when missingness is informative', () => {
    const make = (n: number, seed: number, impute: boolean): { x: Matrix; y: Float64Array } => {
      const random = new Random(seed);
      const data = new Float32Array(n * 3);
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const positive = random.next() < 0.3;
        y[i] = positive ? 1 : 0;
        // Feature 0 is an informative count-like integer, so 0 is also a frequent genuine value that
        // zero imputation confuses with "missing", which is far more common for positives.
        const missing = random.next() < (positive ? 0.5 : 0.05);
        const v = Math.round(1.5 * random.normal() + (positive ? 1 : 0));
        data[i * 3] = missing ? (impute ? 0 : Number.NaN) : v;
        data[i * 3 + 1] = random.normal();
        data[i * 3 + 2] = random.normal() + (positive ? 0.3 : 0);
      }
      return { x: { data, nRows: n, nCols: 3 }, y };
    };
    const options = { nTrees: 60, maxDepth: 3, learningRate: 0.2 };
    const withNaN = make(10_000, 21, false);
    const withZero = make(10_000, 21, true);
    const testNaN = make(10_000, 22, false);
    const testZero = make(10_000, 22, true);
    const aucMissing = rocAuc(trainGbdt(withNaN.x, withNaN.y, options).predictMargin(testNaN.x), testNaN.y);
    const aucImputed = rocAuc(
      trainGbdt(withZero.x, withZero.y, options).predictMargin(testZero.x),
      testZero.y,
    );
    expect(aucMissing).toBeGreaterThan(aucImputed + 0.02);
  });

  it('is deterministic by seed, and the seed matters when sampling', () => {
    const { x, y } = gaussianClasses(3_000, [0.8, 0.4, 0.2, 0, 0], 0.3, 5);
    const options = { nTrees: 15, maxDepth: 4, subsample: 0.7, colsampleByTree: 0.6, seed: 7 };
    const a = trainGbdt(x, y, options);
    const b = trainGbdt(x, y, options);
    const c = trainGbdt(x, y, { ...options, seed: 8 });
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    expect(a.predictMargin(x)).toEqual(b.predictMargin(x));
    expect(c.predictMargin(x)).not.toEqual(a.predictMargin(x));
  });

  it('stops early on a validation set and keeps the best iteration', () => {
    // Few rows, deep trees and a high learning rate overfit fast, so validation AUC peaks early.
    const train = gaussianClasses(600, [0.6, 0.3, 0, 0, 0], 0.4, 31);
    const valid = gaussianClasses(3_000, [0.6, 0.3, 0, 0, 0], 0.4, 32);
    const progress: number[] = [];
    const model = trainGbdt(
      train.x,
      train.y,
      { nTrees: 300, maxDepth: 6, learningRate: 0.5, minChildWeight: 0, earlyStoppingRounds: 10 },
      { validation: valid, onProgress: (p) => progress.push(p.validMetric ?? Number.NaN) },
    );
    const info = model.info!;
    expect(info.roundsTrained).toBeLessThan(300);
    expect(info.roundsTrained).toBe(info.bestIteration + 1 + 10);
    expect(model.nTrees).toBe(info.bestIteration + 1);
    expect(info.validHistory).toEqual(progress);
    expect(info.bestValidMetric).toBe(Math.max(...info.validHistory));
    expect(info.validHistory[info.bestIteration]).toBe(info.bestValidMetric);
    // The kept trees reproduce the best validation metric.
    expect(rocAuc(model.predictMargin(valid.x), valid.y)).toBeCloseTo(info.bestValidMetric!, 12);
  });

  it('tracks average precision when asked and never stops with earlyStoppingRounds = 0', () => {
    const train = gaussianClasses(600, [0.6, 0.3, 0, 0, 0], 0.4, 31);
    const valid = gaussianClasses(1_000, [0.6, 0.3, 0, 0, 0], 0.4, 32);
    const model = trainGbdt(
      train.x,
      train.y,
      { nTrees: 30, maxDepth: 6, learningRate: 0.5, evalMetric: 'aucpr', earlyStoppingRounds: 0 },
      { validation: valid },
    );
    expect(model.nTrees).toBe(30);
    expect(model.info!.evalMetric).toBe('aucpr');
    expect(model.info!.validHistory.length).toBe(30);
  });

  it('scalePosWeight multiplies the predicted odds by about its value', () => {
    const { x, y } = gaussianClasses(20_000, [1, 0.5, 0, 0, 0], 0.2, 41);
    const options = { nTrees: 80, maxDepth: 2, learningRate: 0.1, baseScore: 'mean' as const };
    const plain = trainGbdt(x, y, options);
    const weighted = trainGbdt(x, y, { ...options, scalePosWeight: 5 });
    const nPos = y.reduce((s, v) => s + v, 0);
    expect(weighted.info!.options.baseScore).toBeCloseTo((5 * nPos) / (5 * nPos + (y.length - nPos)), 12);
    const m1 = plain.predictMargin(x);
    const m5 = weighted.predictMargin(x);
    const shift = Float64Array.from(m5, (v, i) => v - m1[i]!).sort();
    // Weighting positives by w moves the optimal log-odds by log(w) everywhere.
    expect(shift[shift.length >> 1]!).toBeGreaterThan(Math.log(5) - 0.25);
    expect(shift[shift.length >> 1]!).toBeLessThan(Math.log(5) + 0.25);
    const mean = (m: Float64Array): number => m.reduce((s, v) => s + 1 / (1 + Math.exp(-v)), 0) / m.length;
    expect(mean(m5)).toBeGreaterThan(mean(m1) + 0.15);
  });

  it('finds the exact threshold of a step function and sends unseen missing values to the heavier side', () => {
    const random = new Random(3);
    // Few enough rows that every distinct value gets its own bin, so the best split is exact.
    const n = 200;
    const data = new Float32Array(n * 2);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      data[2 * i] = Math.fround(random.uniform(0, 1));
      data[2 * i + 1] = Math.fround(random.normal());
      y[i] = data[2 * i]! >= 0.7 ? 1 : 0;
    }
    const model = trainGbdt({ data, nRows: n, nCols: 2 }, y, { nTrees: 1, maxDepth: 1, learningRate: 1 });
    const tree = model.toJSON().trees[0]!;
    expect(tree.feature[0]).toBe(0);
    let smallestPositive = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) if (y[i] === 1) smallestPositive = Math.min(smallestPositive, data[2 * i]!);
    expect(tree.threshold[0]).toBe(smallestPositive);
    // No missing values in training: the default direction is the child with more hessian (about 70% of rows).
    expect(tree.defaultLeft[0]).toBe(1);
    expect(model.predictRowMargin([Number.NaN, 0])).toBe(model.predictRowMargin([0.1, 0]));
  });
});

describe('resolveGbdtTrainOptions', () => {
  it('returns the defaults and fills them under partial options', () => {
    expect(resolveGbdtTrainOptions()).toEqual(DEFAULT_GBDT_TRAIN_OPTIONS);
    expect(resolveGbdtTrainOptions({ maxDepth: 3 }).maxDepth).toBe(3);
    expect(resolveGbdtTrainOptions({ maxDepth: 3 }).nTrees).toBe(DEFAULT_GBDT_TRAIN_OPTIONS.nTrees);
  });

  it.each([
    { nTrees: 0 },
    { maxDepth: 2.5 },
    { maxBins: 257 },
    { maxBins: 1 },
    { learningRate: 0 },
    { lambda: -1 },
    { subsample: 0 },
    { subsample: 1.5 },
    { colsampleByTree: Number.NaN },
    { scalePosWeight: 0 },
    { baseScore: 1 },
    { evalMetric: 'logloss' as never },
    { earlyStoppingRounds: -1 },
  ])('rejects %o with a ConfigError', (bad) => {
    expect(() => resolveGbdtTrainOptions(bad)).toThrow(ConfigError);
  });

  it('rejects inconsistent data with a RangeError', () => {
    const x = { data: new Float32Array(6), nRows: 3, nCols: 2 };
    expect(() => trainGbdt(x, [0, 1])).toThrow(RangeError);
    expect(() => trainGbdt(x, [0, 1, 2])).toThrow(RangeError);
    expect(() => trainGbdt({ ...x, nRows: 4 }, [0, 1, 0, 1])).toThrow(RangeError);
  });
});
