import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  balancedAccuracy,
  type CardPrecisionRow,
  cardPrecisionAtK,
  cardPrecisionAtKByDay,
  cohensKappa,
  confusionMatrix,
  precisionRecallF1,
  rocAuc,
} from '../../src/models/metrics/index.js';

/** O(n²) Mann–Whitney over all positive/negative pairs, ties counting one half. */
function bruteAuc(scores: number[], labels: number[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) sum += 1;
      else if (scores[i] === scores[j]) sum += 0.5;
    }
  }
  return sum / pairs;
}

/** Average precision straight from its definition, recounting at every distinct threshold. */
function bruteAp(scores: number[], labels: number[]): number {
  const nPos = labels.filter((l) => l === 1).length;
  const thresholds = [...new Set(scores)].sort((a, b) => b - a);
  let ap = 0;
  let prevRecall = 0;
  for (const t of thresholds) {
    let tp = 0;
    let predicted = 0;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i]! >= t) {
        predicted++;
        if (labels[i] === 1) tp++;
      }
    }
    const recall = tp / nPos;
    ap += (recall - prevRecall) * (tp / predicted);
    prevRecall = recall;
  }
  return ap;
}

describe('rocAuc', () => {
  it('matches a hand-computed value', () => {
    // Positives {0.35, 0.8}, negatives {0.1, 0.4}: 0.35 beats 0.1 only, 0.8 beats both → 3/4.
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
  });

  it('counts ties as one half', () => {
    // Positives {0.5, 0.9}, negatives {0.5, 0.5}: 0.5 ties both (0.5 + 0.5), 0.9 beats both (2) → 3/4.
    expect(rocAuc([0.5, 0.5, 0.5, 0.9], [1, 0, 0, 1])).toBeCloseTo(0.75, 12);
    // Everything tied → 1/2.
    expect(rocAuc([1, 1, 1, 1], [1, 0, 1, 0])).toBe(0.5);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one, NaN with one class', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(rocAuc([0.1, 0.2], [1, 1])).toBeNaN();
    expect(rocAuc([0.1, 0.2], [0, 0])).toBeNaN();
    expect(rocAuc([], [])).toBeNaN();
  });

  it('agrees with the pairwise definition on random data with ties', () => {
    const data = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.constantFrom(0, 1)), { minLength: 2, maxLength: 60 })
      .filter((rows) => rows.some((r) => r[1] === 1) && rows.some((r) => r[1] === 0));
    fc.assert(
      fc.property(data, (rows) => {
        const scores = rows.map((r) => r[0] / 8);
        const labels = rows.map((r) => r[1]);
        expect(rocAuc(scores, labels)).toBeCloseTo(bruteAuc(scores, labels), 12);
      }),
    );
  });

  it('accepts typed arrays and rejects bad arguments', () => {
    expect(rocAuc(new Float64Array([0.2, 0.7]), new Uint8Array([0, 1]))).toBe(1);
    expect(() => rocAuc([0.1], [0, 1])).toThrow(RangeError);
    expect(() => rocAuc([0.1, 0.2], [0, 2])).toThrow(RangeError);
    expect(() => rocAuc([Number.NaN, 0.2], [0, 1])).toThrow(RangeError);
  });
});

describe('averagePrecision', () => {
  it('matches a hand-computed value', () => {
    // Thresholds 0.8 (pos): P=1, R=1/2 → 1/2·1; 0.4 (neg): R unchanged; 0.35 (pos): P=2/3, R=1 → 1/2·2/3.
    // AP = 1/2 + 1/3 = 5/6 (scikit-learn gives 0.8333…).
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(5 / 6, 12);
  });

  it('takes tied scores at one threshold', () => {
    // 0.9 (pos): P=1, R=1/2 → 1/2; 0.5 (1 pos, 2 neg together): P=2/4, R=1 → 1/2·1/2. AP = 3/4.
    expect(averagePrecision([0.5, 0.5, 0.5, 0.9], [1, 0, 0, 1])).toBeCloseTo(0.75, 12);
  });

  it('is 1 for a perfect ranking, the prevalence when all tie, NaN without positives', () => {
    expect(averagePrecision([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(averagePrecision([3, 3, 3, 3], [1, 0, 0, 0])).toBe(0.25);
    expect(averagePrecision([0.1, 0.2], [0, 0])).toBeNaN();
    expect(averagePrecision([0.1, 0.2], [1, 1])).toBe(1);
  });

  it('agrees with the definition on random data with ties', () => {
    const data = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.constantFrom(0, 1)), { minLength: 1, maxLength: 60 })
      .filter((rows) => rows.some((r) => r[1] === 1));
    fc.assert(
      fc.property(data, (rows) => {
        const scores = rows.map((r) => r[0] / 8);
        const labels = rows.map((r) => r[1]);
        expect(averagePrecision(scores, labels)).toBeCloseTo(bruteAp(scores, labels), 12);
      }),
    );
  });
});

describe('threshold metrics', () => {
  // score ≥ 0.5 is predicted positive:
  //   0.9/1 tp, 0.8/1 tp, 0.7/0 fp, 0.6/1 tp, 0.4/0 tn, 0.3/0 tn, 0.1/0 tn, 0.2/1 fn
  // tp=3 fp=1 tn=3 fn=1.
  const scores = [0.9, 0.8, 0.7, 0.4, 0.3, 0.1, 0.6, 0.2];
  const labels = [1, 1, 0, 0, 0, 0, 1, 1];

  it('counts the confusion matrix with score >= threshold as positive', () => {
    expect(confusionMatrix(scores, labels, 0.5)).toEqual({ tp: 3, fp: 1, tn: 3, fn: 1 });
    // The boundary is inclusive: at 0.6 the 0.6 score is still positive.
    expect(confusionMatrix(scores, labels, 0.6)).toEqual({ tp: 3, fp: 1, tn: 3, fn: 1 });
    expect(confusionMatrix(scores, labels, 0.61)).toEqual({ tp: 2, fp: 1, tn: 3, fn: 2 });
  });

  it('computes precision, recall, F1, balanced accuracy and kappa', () => {
    // P = 3/4, R = 3/4, F1 = 3/4.
    const prf = precisionRecallF1(scores, labels, 0.5);
    expect(prf.precision).toBeCloseTo(0.75, 12);
    expect(prf.recall).toBeCloseTo(0.75, 12);
    expect(prf.f1).toBeCloseTo(0.75, 12);
    // TPR = 3/4, TNR = 3/4 → 3/4.
    expect(balancedAccuracy(scores, labels, 0.5)).toBeCloseTo(0.75, 12);
    // pₒ = 6/8; pₑ = (4·4 + 4·4)/64 = 1/2; κ = (3/4 − 1/2)/(1/2) = 1/2.
    expect(cohensKappa(scores, labels, 0.5)).toBeCloseTo(0.5, 12);
  });

  it('handles an asymmetric case', () => {
    // Threshold 0.61: tp=2 fp=1 tn=3 fn=2. P = 2/3, R = 1/2, F1 = 2·(1/3)/(7/6) = 4/7.
    const prf = precisionRecallF1(scores, labels, 0.61);
    expect(prf.precision).toBeCloseTo(2 / 3, 12);
    expect(prf.recall).toBeCloseTo(0.5, 12);
    expect(prf.f1).toBeCloseTo(4 / 7, 12);
    // (1/2 + 3/4)/2 = 5/8.
    expect(balancedAccuracy(scores, labels, 0.61)).toBeCloseTo(5 / 8, 12);
    // pₒ = 5/8; pₑ = (3·4 + 5·4)/64 = 1/2; κ = (1/8)/(1/2) = 1/4.
    expect(cohensKappa(scores, labels, 0.61)).toBeCloseTo(0.25, 12);
  });

  it('uses documented values where a ratio is undefined', () => {
    // Nothing predicted positive: precision 0 (zero_division=0), recall 0, F1 0.
    expect(precisionRecallF1([0.1, 0.2], [1, 0], 0.9)).toEqual({ precision: 0, recall: 0, f1: 0 });
    // Only negatives: balanced accuracy is the TNR alone (here 1/2).
    expect(balancedAccuracy([0.1, 0.9], [0, 0], 0.5)).toBe(0.5);
    // Predictions and labels both constant and equal: pₑ = 1, κ undefined.
    expect(cohensKappa([0.1, 0.2], [0, 0], 0.5)).toBeNaN();
    expect(balancedAccuracy([], [], 0.5)).toBeNaN();
  });
});

describe('cardPrecisionAtK', () => {
  // k = 2. Rows are given out of day order on purpose.
  // Day 0: A max(0.9, 0.2)=0.9 label max(0,1)=1; B 0.8/0; C 0.5/1 → top 2 = A(1), B(0) → 1/2. A detected.
  // Day 1: A 0.95/1, B 0.3/0, C 0.7/1. With removal A is gone → C(1), B(0) → 1/2;
  //        without removal → A(1), C(1) → 1.
  // Day 2: only D 0.1/0 → 0/2 = 0 (divided by k although the day has one card).
  // Day 3: only A 0.99/1. With removal the day is empty → 0 (still counted); without → 1/2.
  // Mean with removal (0.5 + 0.5 + 0 + 0)/4 = 0.25; without (0.5 + 1 + 0 + 0.5)/4 = 0.5.
  const rows: CardPrecisionRow[] = [
    { day: 1, cardId: 'B', score: 0.3, label: 0 },
    { day: 1, cardId: 'A', score: 0.95, label: 1 },
    { day: 1, cardId: 'C', score: 0.7, label: 1 },
    { day: 0, cardId: 'A', score: 0.9, label: 0 },
    { day: 0, cardId: 'A', score: 0.2, label: 1 },
    { day: 0, cardId: 'B', score: 0.8, label: 0 },
    { day: 0, cardId: 'C', score: 0.5, label: 1 },
    { day: 3, cardId: 'A', score: 0.99, label: 1 },
    { day: 2, cardId: 'D', score: 0.1, label: 0 },
  ];

  it('follows the handbook definition with detected-card removal', () => {
    const result = cardPrecisionAtKByDay(rows, 2);
    expect(result.days.map((d) => d.day)).toEqual([0, 1, 2, 3]);
    expect(result.days.map((d) => d.precision)).toEqual([0.5, 0.5, 0, 0]);
    expect(result.days.map((d) => d.detectedCards)).toEqual([['A'], ['C'], [], []]);
    expect(result.days.map((d) => d.compromisedCards)).toEqual([2, 1, 0, 0]);
    expect(result.mean).toBeCloseTo(0.25, 12);
    expect(cardPrecisionAtK(rows, 2)).toBeCloseTo(0.25, 12);
  });

  it('can keep detected cards', () => {
    expect(cardPrecisionAtK(rows, 2, { removeDetectedCards: false })).toBeCloseTo(0.5, 12);
  });

  it('breaks score ties by card id and validates k', () => {
    const tied: CardPrecisionRow[] = [
      { day: 0, cardId: 'b', score: 0.5, label: 0 },
      { day: 0, cardId: 'a', score: 0.5, label: 1 },
    ];
    expect(cardPrecisionAtK(tied, 1)).toBe(1);
    expect(cardPrecisionAtK([], 1)).toBeNaN();
    expect(() => cardPrecisionAtK(rows, 0)).toThrow(RangeError);
    expect(() => cardPrecisionAtK(rows, 1.5)).toThrow(RangeError);
  });
});
