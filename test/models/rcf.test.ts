import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import {
  DEFAULT_RCF_OPTIONS,
  RandomCutForest,
  resolveRcfOptions,
  toSageMakerResponse,
} from '../../src/models/rcf/index.js';
import { Random } from '../../src/random/index.js';

function gaussianRows(n: number, dimensions: number, seed: number): Float64Array {
  const rng = new Random(seed);
  const rows = new Float64Array(n * dimensions);
  for (let i = 0; i < rows.length; i++) rows[i] = rng.normal();
  return rows;
}

/** Rank of each score, 0 for the highest. */
function ranks(scores: ArrayLike<number>): number[] {
  const order = Array.from(scores, (s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
  const rank = new Array<number>(scores.length);
  order.forEach(([, i], r) => {
    rank[i] = r;
  });
  return rank;
}

describe('resolveRcfOptions', () => {
  it('applies the AWS defaults', () => {
    const o = resolveRcfOptions({ dimensions: 3 });
    expect(o.numberOfTrees).toBe(DEFAULT_RCF_OPTIONS.numberOfTrees);
    expect(o.sampleSize).toBe(256);
    expect(o.timeDecay).toBeCloseTo(1 / (10 * 256), 15);
    expect(o.outputAfter).toBe(64);
    expect(o.shingleSize).toBe(1);
    expect(resolveRcfOptions({ dimensions: 3, sampleSize: 100 }).outputAfter).toBe(25);
    expect(resolveRcfOptions({ dimensions: 3, sampleSize: 100 }).timeDecay).toBeCloseTo(0.001, 15);
  });

  it('rejects invalid options with ConfigError', () => {
    expect(() => resolveRcfOptions({ dimensions: 0 })).toThrow(ConfigError);
    expect(() => resolveRcfOptions({ dimensions: 2.5 })).toThrow(ConfigError);
    expect(() => resolveRcfOptions({ dimensions: 2, numberOfTrees: 0 })).toThrow(ConfigError);
    expect(() => resolveRcfOptions({ dimensions: 2, timeDecay: -1 })).toThrow(ConfigError);
    expect(() => resolveRcfOptions({ dimensions: 2, shingleSize: 0 })).toThrow(ConfigError);
    expect(() => resolveRcfOptions({ dimensions: 2, outputAfter: 0 })).toThrow(ConfigError);
    expect(() => new RandomCutForest({ dimensions: -1 })).toThrow(ConfigError);
  });
});

describe('RandomCutForest', () => {
  it('scores 0 until outputAfter points have been seen', () => {
    const forest = new RandomCutForest({ dimensions: 2, numberOfTrees: 5, sampleSize: 32, outputAfter: 10 });
    const rows = gaussianRows(12, 2, 1);
    for (let i = 0; i < 10; i++) {
      expect(forest.isReady).toBe(false);
      expect(forest.scoreAndUpdate(rows.subarray(2 * i, 2 * i + 2))).toBe(0);
    }
    expect(forest.pointsSeen).toBe(10);
    expect(forest.isReady).toBe(true);
    expect(forest.scoreAndUpdate(rows.subarray(20, 22))).toBeGreaterThan(0);
  });

  it('matches the AWS score formulas on a tree small enough to work by hand', () => {
    // One tree holding the points 0 and 1: a root cut somewhere in [0, 1) and two leaves at
    // depth 1. Tree mass 2, so scores are multiplied by log2(2 + 1).
    const forest = new RandomCutForest({ dimensions: 1, numberOfTrees: 1, sampleSize: 2, outputAfter: 1 });
    forest.update([0]);
    forest.update([1]);
    const norm = Math.log2(3);
    // x = 3: leaf "1" at depth 1 is not x → 1/(1 + 1). Root box [0, 1] extended to [0, 3]:
    // p = 2/3, score = 2/3 · 1/(0 + 1) + 1/3 · 1/2 = 5/6.
    expect(forest.score([3])).toBeCloseTo((5 / 6) * norm, 12);
    // x = 0.5 is inside the root box: only the leaf term 1/2 counts.
    expect(forest.score([0.5])).toBeCloseTo(0.5 * norm, 12);
    // x = 1 is the leaf point (mass 1): damp = 1 − 1/(2·2), seen = 1/(1 + log2(1 + 1)) = 1/2.
    expect(forest.score([1])).toBeCloseTo(0.75 * 0.5 * norm, 12);
    // Attribution of x = 3 is all "high" in the only dimension.
    const a = forest.attribution([3]);
    expect(a.high[0]).toBeCloseTo((5 / 6) * norm, 12);
    expect(a.low[0]).toBe(0);
  });

  it('gives inliers of a stationary stream a mean score near 1', () => {
    // AWS normalisation: a tree's score is multiplied by log2(mass + 1) so that typical points
    // score about 1. With 256-point trees the mean lands a little below 1; we accept 0.6–1.3.
    const D = 4;
    const n = 3000;
    const forest = new RandomCutForest({ dimensions: D, numberOfTrees: 30, seed: 11 });
    const scores = forest.scoreAndUpdateBatch(gaussianRows(n, D, 2), n);
    let sum = 0;
    for (let i = 1000; i < n; i++) sum += scores[i]!;
    const mean = sum / (n - 1000);
    expect(mean).toBeGreaterThan(0.6);
    expect(mean).toBeLessThan(1.3);
  });

  it('ranks injected spikes and a level shift of a shingled sine wave at the top', () => {
    const rng = new Random(5);
    const n = 2400;
    const series = new Float64Array(n);
    for (let i = 0; i < n; i++) series[i] = 5 * Math.sin((2 * Math.PI * i) / 50) + rng.normal(0, 0.2);
    const spikes = [1300, 1650, 1900];
    for (const i of spikes) series[i] = series[i]! + 8;
    const shiftAt = 2200;
    for (let i = shiftAt; i < n; i++) series[i] = series[i]! + 10;
    const forest = new RandomCutForest({ dimensions: 1, shingleSize: 4, numberOfTrees: 30, seed: 3 });
    const scores = forest.scoreAndUpdateBatch(series, n);
    // Before the shift: a spike is in 4 consecutive shingles, so 3 spikes fill at most 12 top
    // places of the 1200 evaluated points, and the shingle where each spike arrives is among them.
    const before = scores.subarray(1000, shiftAt);
    const rank = ranks(before);
    for (const i of spikes) expect(rank[i - 1000]).toBeLessThan(12);
    const sorted = Array.from(before).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    expect(median).toBeGreaterThan(0.5);
    expect(median).toBeLessThan(1.5);
    for (const i of spikes) expect(scores[i]!).toBeGreaterThan(2 * median);
    // The shift scores above every spike-free point before it, then fades as the samplers
    // take in the new level.
    const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
    let shifted = 0;
    for (let i = shiftAt; i < shiftAt + 4; i++) shifted = Math.max(shifted, scores[i]!);
    expect(shifted).toBeGreaterThan(p99);
    expect(shifted).toBeGreaterThan(3 * median);
    let tail = 0;
    for (let i = n - 50; i < n; i++) tail += scores[i]! / 50;
    expect(tail).toBeLessThan(shifted / 2);
  });

  it('attributes the score to the anomalous dimension and direction', () => {
    const D = 5;
    const forest = new RandomCutForest({ dimensions: D, numberOfTrees: 30, sampleSize: 128, seed: 9 });
    forest.updateBatch(gaussianRows(1500, D, 4), 1500);
    const cases: [number, number][] = [
      [2, 6],
      [4, -6],
    ];
    for (const [dim, value] of cases) {
      const point = [0.1, -0.2, 0.3, 0, 0.2];
      point[dim] = value;
      const score = forest.score(point);
      const a = forest.attribution(point);
      // The score sums box distances in 32-bit floats (SIMD), the attribution in doubles.
      expect(a.total).toBeCloseTo(score, 6);
      let sum = 0;
      for (let d = 0; d < D; d++) sum += a.high[d]! + a.low[d]!;
      expect(sum).toBeCloseTo(a.total, 12);
      const side = value > 0 ? a.high : a.low;
      const other = value > 0 ? a.low : a.high;
      for (let d = 0; d < D; d++) {
        if (d !== dim) expect(side[dim]!).toBeGreaterThan(side[d]! + other[d]!);
      }
      expect(side[dim]!).toBeGreaterThan(0.5 * score);
      expect(other[dim]!).toBeLessThan(0.05 * score);
    }
  });

  it('attributes exactly the score of a point already in the sample', () => {
    const D = 3;
    const forest = new RandomCutForest({
      dimensions: D,
      numberOfTrees: 10,
      sampleSize: 64,
      timeDecay: 0,
      seed: 2,
    });
    const rows = gaussianRows(300, D, 8);
    forest.updateBatch(rows, 300);
    const repeated = [0.25, -0.5, 1.5];
    for (let i = 0; i < 5; i++) forest.update(repeated);
    const a = forest.attribution(repeated);
    expect(a.total).toBeCloseTo(forest.score(repeated), 6);
    expect(forest.score(repeated)).toBeLessThan(forest.score([0.25, -0.5, 4]));
  });

  it('is deterministic by seed, one by one or in batches', () => {
    const D = 3;
    const n = 1300; // crosses the internal 512-point blocks
    const rows = gaussianRows(n, D, 6);
    const options = { dimensions: D, numberOfTrees: 8, sampleSize: 64, seed: 21 };
    const a = new RandomCutForest(options);
    const b = new RandomCutForest(options);
    const c = new RandomCutForest({ ...options, seed: 22 });
    const one = Array.from({ length: n }, (_, i) => a.scoreAndUpdate(rows.subarray(i * D, (i + 1) * D)));
    const batch = b.scoreAndUpdateBatch(rows, n);
    expect(Array.from(batch)).toEqual(one);
    expect(Array.from(c.scoreAndUpdateBatch(rows, n))).not.toEqual(one);
    // scoreBatch scores every point against the same state, like repeated score().
    const probe = gaussianRows(20, D, 7);
    const singles = Array.from({ length: 20 }, (_, i) => a.score(probe.subarray(i * D, (i + 1) * D)));
    expect(Array.from(b.scoreBatch(probe, 20))).toEqual(singles);
  });

  it('rejects points of the wrong size or with non-finite values', () => {
    const forest = new RandomCutForest({ dimensions: 2, numberOfTrees: 2, sampleSize: 8 });
    expect(() => forest.update([1])).toThrow(RangeError);
    expect(() => forest.update([1, Number.NaN])).toThrow(RangeError);
    expect(() => forest.score([1, Number.POSITIVE_INFINITY])).toThrow(RangeError);
    expect(() => forest.scoreBatch(new Float64Array(3), 2)).toThrow(RangeError);
    expect(() => forest.scoreAndUpdateBatch(new Float64Array([1, 2, 3, 1e300]), 2)).toThrow(RangeError);
    expect(forest.pointsSeen).toBe(0);
  });
});

describe('toSageMakerResponse', () => {
  it('wraps scores as the SageMaker RCF endpoint does', () => {
    expect(toSageMakerResponse([1.5, 0.25])).toEqual({ scores: [{ score: 1.5 }, { score: 0.25 }] });
    expect(JSON.stringify(toSageMakerResponse(new Float64Array([0.5])))).toBe('{"scores":[{"score":0.5}]}');
    expect(toSageMakerResponse([])).toEqual({ scores: [] });
  });
});
