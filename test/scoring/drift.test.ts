import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { Random } from '../../src/random/index.js';
import {
  DRIFT_BINS,
  DriftMonitor,
  driftBin,
  driftReference,
  populationStabilityIndex,
} from '../../src/scoring/index.js';

describe('population stability index', () => {
  it('bins by decile cut points, a value equal to a cut in the bin it closes, NaN apart', () => {
    const cuts = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(driftBin(cuts, 0.5)).toBe(0);
    expect(driftBin(cuts, 1)).toBe(0);
    expect(driftBin(cuts, 1.5)).toBe(1);
    expect(driftBin(cuts, 9)).toBe(8);
    expect(driftBin(cuts, 10)).toBe(9);
    expect(driftBin(cuts, Number.NaN)).toBe(DRIFT_BINS - 1);
  });

  it('takes deciles of training values with linear interpolation (golden values)', () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => i);
    const ref = driftReference(values, 100);
    expect(ref.cuts.map((c) => Math.round(c * 1e9) / 1e9)).toEqual([
      9.9, 19.8, 29.7, 39.6, 49.5, 59.4, 69.3, 79.2, 89.1,
    ]);
    expect(ref.shares).toEqual([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0]);
    // A strided column with missing values: shares cover every value, NaN in the last bin.
    const matrix = Float64Array.from([5, 1, Number.NaN, 1, 7, 1, 9, 1]);
    const column = driftReference(matrix, 4, 2, 0);
    expect(column.shares[DRIFT_BINS - 1]).toBe(0.25);
    expect(column.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('computes PSI = Σ (a − e) ln(a / e) with empty bins floored (golden values)', () => {
    expect(populationStabilityIndex([0.5, 0.5], [3, 1], 4)).toBeCloseTo(0.2746530721670274, 12);
    expect(populationStabilityIndex([1, 0], [1, 1], 2)).toBeCloseTo(4.60431846666895, 10);
    expect(populationStabilityIndex([0.25, 0.75], [1, 3], 4)).toBe(0);
  });
});

describe('DriftMonitor', () => {
  const normals = (rng: Random, n: number, mean: number): Float64Array =>
    Float64Array.from({ length: n }, () => rng.normal(mean, 1));

  function monitorFor(windowSize: number) {
    const training = normals(new Random(1), 20_000, 0);
    // One feature equal to the score: both columns of the monitor see the same numbers.
    const ref = driftReference(training, training.length);
    return new DriftMonitor({ score: ref, features: { x: ref } }, ['x'], { windowSize, minSamples: 500 });
  }

  it('reports nothing before minSamples, little drift for the training distribution, much for a shift', () => {
    const monitor = monitorFor(5_000);
    const early = normals(new Random(2), 100, 0);
    monitor.observe(early, early, early.length);
    expect(monitor.report()).toMatchObject({ score: null, max: null, samples: 100, features: { x: null } });
    const same = normals(new Random(3), 4_900, 0);
    monitor.observe(same, same, same.length);
    const stable = monitor.report();
    expect(stable.samples).toBe(5_000);
    expect(stable.score!).toBeLessThan(0.02);
    expect(stable.features.x).toBe(stable.score);
    const shifted = normals(new Random(4), 5_000, 1);
    monitor.observe(shifted, shifted, shifted.length);
    const drifted = monitor.report();
    // A one-standard-deviation shift of a normal gives a PSI near 1 over deciles.
    expect(drifted.score!).toBeGreaterThan(0.5);
    expect(drifted.max).toBe(drifted.score);
    expect(drifted.warnAbove).toBe(0.2);
  });

  it('forgets what left the sliding window', () => {
    const sliding = monitorFor(1_000);
    const fresh = monitorFor(1_000);
    const shifted = normals(new Random(5), 3_000, 2);
    const recent = normals(new Random(6), 1_000, 0);
    sliding.observe(shifted, shifted, shifted.length);
    sliding.observe(recent, recent, recent.length);
    fresh.observe(recent, recent, recent.length);
    expect(sliding.report()).toEqual(fresh.report());
  });

  it('refuses a reference that does not cover every feature', () => {
    const ref = driftReference([1, 2, 3], 3);
    expect(() => new DriftMonitor({ score: ref, features: {} }, ['x'])).toThrow(ConfigError);
  });
});
