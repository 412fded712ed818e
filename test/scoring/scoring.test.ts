import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import type { Transaction } from '../../src/events/index.js';
import {
  chooseThresholds,
  fitAnomalyCalibration,
  loadBundle,
  normalizeAnomaly,
  type Rule,
  ruleMatches,
  Scorer,
  saveBundle,
  standardize,
  type TrainedBundle,
  validateRules,
} from '../../src/scoring/index.js';
import { trainSmallBundle } from './fixtures.js';

describe('anomaly calibration', () => {
  it('maps raw scores to their quantile rank in the training scores, monotonically, in [0, 1]', () => {
    const raw = Float64Array.from({ length: 1000 }, (_, i) => 0.5 + i / 1000);
    const cal = fitAnomalyCalibration(raw);
    expect(normalizeAnomaly(0.1, cal)).toBe(0);
    expect(normalizeAnomaly(10, cal)).toBe(1);
    expect(normalizeAnomaly(1.0, cal)).toBeCloseTo(0.5, 2);
    let prev = -1;
    for (let s = 0.4; s < 1.6; s += 0.01) {
      const v = normalizeAnomaly(s, cal);
      expect(v).toBeGreaterThanOrEqual(prev);
      prev = v;
    }
  });
});

describe('chooseThresholds', () => {
  it('puts review at the best-F1 cut and decline where precision reaches the target', () => {
    // Sorted by score: labels 1,1,0,1,0,0 — F1 is best after the 4th (tp 3 of 3, precision 3/4).
    const scores = [0.9, 0.8, 0.7, 0.6, 0.3, 0.1];
    const labels = [1, 1, 0, 1, 0, 0];
    const t = chooseThresholds(scores, labels, 0.9);
    expect(t.review).toBe(0.6);
    expect(t.decline).toBe(0.8);
  });
});

describe('rules', () => {
  const tx: Transaction = {
    id: 't',
    timestampMs: 0,
    cardId: 'c',
    terminalId: 'x',
    amount: 900,
    channel: 'web',
    format: 'native',
  };
  const input = {
    transaction: tx,
    features: (name: string) => (name === 'TX_AMOUNT' ? 900 : undefined),
    scores: { fraudScore: 0.2, classifierProbability: 0.2, anomalyScore: 1, anomalyNormalized: 0.5 },
  };

  it('validates rules against the known fields and operators', () => {
    expect(() =>
      validateRules([{ name: 'x', field: 'nope', op: '>', value: 1, action: 'review' }], []),
    ).toThrow(ConfigError);
    expect(() =>
      validateRules([{ name: 'x', field: 'amount', op: '~', value: 1, action: 'review' }], []),
    ).toThrow(ConfigError);
    expect(() => validateRules({}, [])).toThrow(ConfigError);
    const ok = validateRules(
      [{ name: 'big', field: 'TX_AMOUNT', op: '>=', value: 500, action: 'decline' }],
      ['TX_AMOUNT'],
    );
    expect(ok[0]?.action).toBe('decline');
  });

  it('evaluates operators on transaction fields, features and scores', () => {
    const r = (field: string, op: Rule['op'], value: Rule['value']): boolean =>
      ruleMatches({ name: 'r', field, op, value, action: 'review' }, input);
    expect(r('amount', '>', 500)).toBe(true);
    expect(r('amount', '<', 500)).toBe(false);
    expect(r('channel', 'in', ['web', 'mobile'])).toBe(true);
    expect(r('TX_AMOUNT', '==', 900)).toBe(true);
    expect(r('fraudScore', '>=', 0.5)).toBe(false);
    expect(r('UNKNOWN_FEATURE', '>', 0)).toBe(false);
  });
});

describe('trained bundle and scorer', () => {
  let bundle: TrainedBundle;
  let dir: string;

  beforeAll(async () => {
    bundle = await trainSmallBundle();
    dir = await mkdtemp(join(tmpdir(), 'fraudstream-bundle-'));
    await saveBundle(dir, bundle);
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a manifest that describes the training and its validation quality', () => {
    const m = bundle.manifest;
    expect(m.featureSet).toBe('transactions');
    expect(m.featureNames).toHaveLength(15);
    expect(m.training.rows).toBe(bundle.trainingSet.nRows);
    expect(m.training.positives).toBeGreaterThan(20);
    expect(m.metrics.validation.classifier.auc).toBeGreaterThan(0.75);
    expect(m.thresholds.decline).toBeGreaterThanOrEqual(m.thresholds.review);
    expect(m.combination.anomalyWeight).toBeGreaterThanOrEqual(0);
    expect(m.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('loads back to a bundle that scores identically', async () => {
    const loaded = await loadBundle(dir);
    const reloaded = await loadBundle(dir);
    const { x, nCols } = bundle.trainingSet;
    const rows = 300;
    const a = new Scorer(loaded).scoreBatch(x.subarray(0, rows * nCols), rows);
    const fraudA = Float64Array.from(a.fraudScore.subarray(0, rows));
    const b = new Scorer(reloaded).scoreBatch(x.subarray(0, rows * nCols), rows);
    expect(Array.from(b.fraudScore.subarray(0, rows))).toEqual(Array.from(fraudA));
    expect(loaded.manifest.fingerprint).toBe(bundle.manifest.fingerprint);
  });

  it('combines the two models as documented and decides by the thresholds, explaining flagged rows', async () => {
    const loaded = await loadBundle(dir);
    const m = loaded.manifest;
    const { x, nCols, nRows, labels } = bundle.trainingSet;
    const scores = new Scorer(loaded).scoreBatch(x, nRows);
    let flagged = 0;
    let flaggedFraud = 0;
    for (let i = 0; i < nRows; i++) {
      const p = scores.classifierProbability[i]!;
      const a = scores.anomalyNormalized[i]!;
      const f = scores.fraudScore[i]!;
      expect(f).toBeCloseTo((1 - m.combination.anomalyWeight) * p + m.combination.anomalyWeight * a, 12);
      const expected =
        f >= m.thresholds.decline ? 'decline' : f >= m.thresholds.review ? 'review' : 'approve';
      expect(scores.decisions[i]).toBe(expected);
      if (expected !== 'approve') {
        flagged++;
        flaggedFraud += labels[i]!;
        const classifierReasons = scores.reasons[i]!.filter((r) => r.source === 'classifier');
        expect(classifierReasons.length).toBeGreaterThan(0);
        for (const r of classifierReasons) {
          expect(m.featureNames).toContain(r.name);
          expect(r.contribution).toBeGreaterThan(0);
        }
      } else {
        expect(scores.reasons[i]).toEqual([]);
      }
    }
    expect(flagged).toBeGreaterThan(0);
    expect(flaggedFraud / flagged).toBeGreaterThan(0.3);
    expect(nCols).toBe(15);
  });

  it('with the forest off, scores by the classifier alone and leaves the forest untouched', async () => {
    const loaded = await loadBundle(dir);
    const m = loaded.manifest;
    const { x, nCols } = bundle.trainingSet;
    const rows = 400;
    const before = JSON.stringify(loaded.rcf.toJSON());
    const scores = new Scorer(loaded, { forest: false }).scoreBatch(x.subarray(0, rows * nCols), rows);
    const classifier = loaded.gbdt.predictProba({
      data: Float32Array.from(x.subarray(0, rows * nCols)),
      nRows: rows,
      nCols,
    });
    for (let i = 0; i < rows; i++) {
      const f = scores.fraudScore[i]!;
      expect(f).toBe(classifier[i]);
      expect(scores.anomalyScore[i]).toBeNaN();
      expect(scores.anomalyNormalized[i]).toBeNaN();
      expect(scores.decisions[i]).toBe(
        f >= m.thresholds.decline ? 'decline' : f >= m.thresholds.review ? 'review' : 'approve',
      );
      expect(scores.reasons[i]!.some((r) => r.source === 'anomaly')).toBe(false);
    }
    // Nothing learned: the forest's state is byte for byte what it was.
    expect(JSON.stringify(loaded.rcf.toJSON())).toBe(before);
  });

  it('learns from every k-th transaction of the stream across batches, and scores every one', async () => {
    const { x, nCols } = bundle.trainingSet;
    const sampled = await loadBundle(dir);
    const manual = await loadBundle(dir);
    const scorer = new Scorer(sampled, { forestUpdateEvery: 3, explain: 'none' });
    const sizes = [5, 7, 1, 9];
    let at = 0;
    for (const size of sizes) {
      const rows = x.subarray(at * nCols, (at + size) * nCols);
      const scores = scorer.scoreBatch(rows, size);
      // Every row is scored, by the forest as it stood before this batch learned anything.
      const z = standardize(rows, size, manual.manifest.rcf.scaling, new Float64Array(size * nCols));
      expect(Array.from(scores.anomalyScore.subarray(0, size))).toEqual(
        Array.from(manual.rcf.scoreBatch(z, size)),
      );
      // The forest learns a batch at once (tree by tree), so the reference does too.
      const learned: number[] = [];
      for (let i = 0; i < size; i++) {
        if ((at + i) % 3 === 0) learned.push(...z.subarray(i * nCols, (i + 1) * nCols));
      }
      if (learned.length > 0) manual.rcf.updateBatch(Float64Array.from(learned), learned.length / nCols);
      at += size;
    }
    expect(JSON.stringify(sampled.rcf.toJSON())).toBe(JSON.stringify(manual.rcf.toJSON()));
    expect(() => new Scorer(sampled, { forestUpdateEvery: 0 })).toThrow(ConfigError);
  });

  it('lets rules raise a decision but never lower it', async () => {
    const loaded = await loadBundle(dir);
    const { x, nCols } = bundle.trainingSet;
    const tx = (amount: number): Transaction => ({
      id: 'r',
      timestampMs: 0,
      cardId: 'c',
      terminalId: 't',
      amount,
      channel: 'web',
      format: 'native',
    });
    const scorer = new Scorer(loaded, {
      rules: [{ name: 'huge', field: 'amount', op: '>', value: 1000, action: 'decline' }],
    });
    const out = scorer.scoreBatch(x.subarray(0, 2 * nCols), 2, [tx(5000), tx(10)]);
    expect(out.decisions[0]).toBe('decline');
    expect(out.reasons[0]?.[0]).toEqual({ name: 'huge', contribution: 1, source: 'rule' });
    expect(out.reasons[1]?.some((r) => r.source === 'rule')).toBe(false);
  });

  it('swaps to another bundle between batches', async () => {
    const first = await loadBundle(dir);
    const scorer = new Scorer(first);
    const second = await loadBundle(dir);
    second.manifest = {
      ...second.manifest,
      fingerprint: 'ffffffffffffffff',
      thresholds: { review: 0, decline: 2 },
    };
    const { x, nCols } = bundle.trainingSet;
    expect(scorer.scoreBatch(x.subarray(0, nCols), 1).modelVersion).toBe(first.manifest.fingerprint);
    scorer.swap(second);
    const after = scorer.scoreBatch(x.subarray(0, nCols), 1);
    expect(after.modelVersion).toBe('ffffffffffffffff');
    expect(after.decisions[0]).toBe('review');
  });

  it('refuses broken bundles with a clear error', async () => {
    await expect(loadBundle(join(dir, 'missing'))).rejects.toThrow(/cannot read manifest.json/);
    const bad = await mkdtemp(join(tmpdir(), 'fraudstream-bad-'));
    await writeFile(join(bad, 'manifest.json'), '{"format":"something-else"}');
    await expect(loadBundle(bad)).rejects.toBeInstanceOf(ConfigError);
    await rm(bad, { recursive: true, force: true });
  });
});
