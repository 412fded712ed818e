import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../src/errors/index.js';
import {
  GBDT_MODEL_FORMAT,
  GbdtModel,
  type GbdtModelJson,
  type GbdtTreeJson,
  trainGbdt,
} from '../../../src/models/gbdt/index.js';
import { Random } from '../../../src/random/index.js';
import { gaussianClasses } from './helpers.js';

/** Conditional expectation of a tree given the features in `known` (bit set), cover-weighted elsewhere. */
function expectation(tree: GbdtTreeJson, node: number, row: ArrayLike<number>, known: number): number {
  const f = tree.feature[node]!;
  if (f < 0) return tree.value[node]!;
  const l = tree.left[node]!;
  const r = tree.right[node]!;
  if (known & (1 << f)) {
    const v = row[f]!;
    const goLeft = Number.isNaN(v) ? tree.defaultLeft[node] === 1 : Math.fround(v) < tree.threshold[node]!;
    return expectation(tree, goLeft ? l : r, row, known);
  }
  const c = tree.cover[node]!;
  return (
    (tree.cover[l]! * expectation(tree, l, row, known) + tree.cover[r]! * expectation(tree, r, row, known)) /
    c
  );
}

/** Shapley values by enumerating every subset of features (exponential; for small models only). */
function bruteForceShap(json: GbdtModelJson, row: ArrayLike<number>): Float64Array {
  const m = json.nFeatures;
  const value = (known: number): number =>
    json.trees.reduce((s, tree) => s + expectation(tree, 0, row, known), json.baseMargin);
  const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
  const phi = new Float64Array(m + 1);
  for (let i = 0; i < m; i++) {
    for (let s = 0; s < 1 << m; s++) {
      if (s & (1 << i)) continue;
      let size = 0;
      for (let b = 0; b < m; b++) if (s & (1 << b)) size++;
      const weight = (factorial(size) * factorial(m - size - 1)) / factorial(m);
      phi[i]! += weight * (value(s | (1 << i)) - value(s));
    }
  }
  phi[m] = value(0);
  return phi;
}

/** A hand-made tree: feature 0 appears twice on a path, feature 2 has a default-left split. */
const HAND_MADE: GbdtModelJson = {
  format: GBDT_MODEL_FORMAT,
  version: 1,
  objective: 'binary:logistic',
  nFeatures: 3,
  featureNames: ['a', 'b', 'c'],
  baseMargin: -1.5,
  trees: [
    {
      //          0: a < 1
      //     1: b < 0        2: a < 3
      //   3     4: c < 5   5     6
      //        7      8
      feature: [0, 1, 0, -1, 2, -1, -1, -1, -1],
      threshold: [1, 0, 3, 0, 5, 0, 0, 0, 0],
      left: [1, 3, 5, -1, 7, -1, -1, -1, -1],
      right: [2, 4, 6, -1, 8, -1, -1, -1, -1],
      defaultLeft: [0, 1, 0, 0, 1, 0, 0, 0, 0],
      value: [0, 0, 0, 0.5, 0, -0.25, 2, 1, -3],
      cover: [100, 60, 40, 20, 40, 30, 10, 25, 15],
    },
    {
      feature: [2, -1, -1],
      threshold: [0.5, 0, 0],
      left: [1, -1, -1],
      right: [2, -1, -1],
      defaultLeft: [1, 0, 0],
      value: [0, 0.75, -0.5],
      cover: [100, 70, 30],
    },
  ],
};

describe('TreeSHAP', () => {
  it('equals brute-force Shapley values on a hand-made model (repeated feature, missing values)', () => {
    const model = GbdtModel.fromJSON(HAND_MADE);
    const rows = [
      [0.5, -1, 7],
      [0.5, 1, 2],
      [2, 1, 0.1],
      [4, Number.NaN, Number.NaN],
      [Number.NaN, 3, 6],
      [0.99, 0, 5],
    ];
    for (const row of rows) {
      const phi = model.shap(row);
      const expected = bruteForceShap(HAND_MADE, row);
      for (let i = 0; i < expected.length; i++) expect(phi[i]).toBeCloseTo(expected[i]!, 12);
      expect(phi.reduce((s, v) => s + v, 0)).toBeCloseTo(model.predictRowMargin(row), 12);
    }
  });

  it('equals brute-force Shapley values on a trained model with missing values', () => {
    const { x, y } = gaussianClasses(2_000, [0.9, -0.6, 0.4, 0.2], 0.4, 61);
    const random = new Random(62);
    for (let i = 0; i < x.data.length; i++) if (random.next() < 0.1) x.data[i] = Number.NaN;
    const model = trainGbdt(x, y, { nTrees: 5, maxDepth: 4, learningRate: 0.3 });
    const json = model.toJSON();
    for (let r = 0; r < 20; r++) {
      const row = x.data.subarray(r * x.nCols, (r + 1) * x.nCols);
      const phi = model.shap(row);
      const expected = bruteForceShap(json, row);
      for (let i = 0; i < expected.length; i++) expect(phi[i]).toBeCloseTo(expected[i]!, 10);
    }
  });
});

describe('GbdtModel predictions and JSON', () => {
  const data = gaussianClasses(4_000, [0.8, 0.5, -0.3, 0.2, 0.1, 0], 0.3, 71);
  const random = new Random(72);
  for (let i = 0; i < data.x.data.length; i++) if (random.next() < 0.05) data.x.data[i] = Number.NaN;
  const model = trainGbdt(data.x, data.y, { nTrees: 40, maxDepth: 5, subsample: 0.8 });

  it('gives the same margins through generated code, the node arrays and the row path', () => {
    const compiled = model.predictMargin(data.x);
    const generic = model.predictMarginGeneric(data.x);
    for (let r = 0; r < data.x.nRows; r++) {
      expect(compiled[r]).toBeCloseTo(generic[r]!, 12);
      if (r < 200) expect(model.predictRowMargin(data.x.data, r * data.x.nCols)).toBe(compiled[r]);
    }
    const proba = model.predictProba(data.x, new Float64Array(data.x.nRows + 5));
    expect(proba[3]).toBeCloseTo(1 / (1 + Math.exp(-compiled[3]!)), 15);
  });

  it('matches the node arrays when the generated code spans several chunks with different feature subsets', () => {
    // Column sampling gives each tree, hence each generated chunk, its own feature subset, so
    // the per-chunk feature locals differ; deep trees push the forest past one chunk's splits.
    const wide = gaussianClasses(3_000, [0.7, -0.5, 0.4, 0.3, -0.2, 0.2, 0.1, 0, 0, 0], 0.8, 81);
    const noise = new Random(82);
    for (let i = 0; i < wide.x.data.length; i++) if (noise.next() < 0.05) wide.x.data[i] = Number.NaN;
    const deep = trainGbdt(wide.x, wide.y, {
      nTrees: 60,
      maxDepth: 6,
      minChildWeight: 0,
      colsampleByTree: 0.3,
      seed: 83,
    });
    let splits = 0;
    for (const tree of deep.toJSON().trees) for (const f of tree.feature) if (f >= 0) splits++;
    expect(splits).toBeGreaterThan(2_500);
    const compiled = deep.predictMargin(wide.x);
    const generic = deep.predictMarginGeneric(wide.x);
    for (let r = 0; r < wide.x.nRows; r++) {
      expect(compiled[r]).toBeCloseTo(generic[r]!, 9);
      if (r < 200) expect(deep.predictRowMargin(wide.x.data, r * wide.x.nCols)).toBe(compiled[r]);
    }
  });

  it('rounds row inputs to float32 like XGBoost', () => {
    const tree = HAND_MADE.trees[0]!;
    const json: GbdtModelJson = {
      ...HAND_MADE,
      trees: [{ ...tree, threshold: [Math.fround(0.1), 0, 3, 0, 5, 0, 0, 0, 0] }],
    };
    const m = GbdtModel.fromJSON(json);
    // 0.1 (double) is below fround(0.1) but rounds to it, so it must go right like in XGBoost.
    expect(0.1 < Math.fround(0.1)).toBe(true);
    expect(m.predictRowMargin([0.1, 0, 0])).toBe(m.predictRowMargin([0.2, 0, 0]));
    expect(m.predictRowMargin([0.09, -1, 0])).not.toBe(m.predictRowMargin([0.2, 0, 0]));
  });

  it('round-trips through JSON text with bit-identical predictions, SHAP values and metadata', () => {
    const text = JSON.stringify(model);
    const loaded = GbdtModel.fromJSON(JSON.parse(text));
    expect(loaded.predictMargin(data.x)).toEqual(model.predictMargin(data.x));
    expect(loaded.predictMarginGeneric(data.x)).toEqual(model.predictMarginGeneric(data.x));
    const row = data.x.data.subarray(0, data.x.nCols);
    expect(loaded.shap(row)).toEqual(model.shap(row));
    expect(loaded.info).toEqual(model.info);
    expect(loaded.featureNames).toEqual(model.featureNames);
    expect(JSON.stringify(loaded)).toBe(text);
  });

  it('rejects malformed model JSON with a ParseError', () => {
    const good = model.toJSON();
    const bad = (patch: (j: GbdtModelJson) => void): unknown => {
      const j = structuredClone(good);
      patch(j);
      return j;
    };
    expect(() => GbdtModel.fromJSON(bad((j) => Object.assign(j, { version: 2 })))).toThrow(ParseError);
    expect(() => GbdtModel.fromJSON(bad((j) => Object.assign(j, { format: 'x' })))).toThrow(ParseError);
    expect(() => GbdtModel.fromJSON(bad((j) => j.trees[0]!.left.fill(0)))).toThrow(ParseError);
    expect(() => GbdtModel.fromJSON(bad((j) => j.trees[0]!.feature.fill(99)))).toThrow(ParseError);
    expect(() => GbdtModel.fromJSON(bad((j) => j.trees[0]!.value.pop()))).toThrow(ParseError);
    expect(() => GbdtModel.fromJSON(null)).toThrow(ParseError);
  });

  it('checks shapes at the public entry points', () => {
    expect(() => model.predictMargin({ data: new Float32Array(5), nRows: 1, nCols: 5 })).toThrow(RangeError);
    expect(() => model.predictRowMargin([1, 2, 3])).toThrow(RangeError);
    expect(() => model.predictMargin(data.x, new Float64Array(3))).toThrow(RangeError);
  });
});
