import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../src/errors/index.js';
import { GbdtModel } from '../../../src/models/gbdt/index.js';
import { fixtureText, numberLines, readCsv, readLibsvm } from './helpers.js';

describe('XGBoost JSON import', () => {
  it('matches XGBoost 1.4 predictions on agaricus (absent LIBSVM features are missing)', () => {
    const model = GbdtModel.fromXGBoostJson(fixtureText('xgboost-agaricus/model.json'));
    expect(model.nTrees).toBe(3);
    expect(model.nFeatures).toBe(127);
    const { x } = readLibsvm('xgboost-agaricus/test.libsvm', model.nFeatures);
    const expected = numberLines('xgboost-agaricus/predictions.txt');
    expect(x.nRows).toBe(1611);
    expect(expected.length).toBe(1611);
    const proba = model.predictProba(x);
    let worst = 0;
    for (let i = 0; i < x.nRows; i++) worst = Math.max(worst, Math.abs(proba[i]! - expected[i]!));
    expect(worst).toBeLessThan(1e-6);
    // The row path (float32 rounding of arbitrary inputs) agrees with the batch path.
    for (let i = 0; i < 50; i++) {
      expect(model.predictRowProba(x.data, i * x.nCols)).toBeCloseTo(proba[i]!, 12);
    }
  });

  it('matches XGBoost 1.7 probabilities and margins on the credit-card fixture with missing values', () => {
    const json = JSON.parse(fixtureText('xgboost-creditcard/model.json')) as unknown;
    const model = GbdtModel.fromXGBoostJson(json);
    expect(model.nTrees).toBe(100);
    const { x, names } = readCsv('xgboost-creditcard/test.csv');
    expect(model.featureNames).toEqual(names);
    let nMissing = 0;
    for (const v of x.data) if (Number.isNaN(v)) nMissing++;
    expect(nMissing).toBeGreaterThan(0);
    const probabilities = numberLines('xgboost-creditcard/predictions.txt');
    const margins = numberLines('xgboost-creditcard/margins.txt');
    expect(probabilities.length).toBe(x.nRows);
    const proba = model.predictProba(x);
    const margin = model.predictMargin(x);
    const generic = model.predictMarginGeneric(x);
    let worstP = 0;
    let worstM = 0;
    let worstGeneric = 0;
    for (let i = 0; i < x.nRows; i++) {
      worstP = Math.max(worstP, Math.abs(proba[i]! - probabilities[i]!));
      worstM = Math.max(worstM, Math.abs(margin[i]! - margins[i]!));
      worstGeneric = Math.max(worstGeneric, Math.abs(generic[i]! - margin[i]!));
    }
    expect(worstP).toBeLessThan(1e-6);
    expect(worstM).toBeLessThan(1e-5);
    expect(worstGeneric).toBeLessThan(1e-9);
  });

  it('gives TreeSHAP values that sum to the margin on every credit-card row', () => {
    const model = GbdtModel.fromXGBoostJson(fixtureText('xgboost-creditcard/model.json'));
    const { x } = readCsv('xgboost-creditcard/test.csv');
    const margin = model.predictMargin(x);
    const phi = new Float64Array(model.nFeatures + 1);
    const row = new Float32Array(model.nFeatures);
    let worst = 0;
    for (let r = 0; r < x.nRows; r++) {
      row.set(x.data.subarray(r * x.nCols, (r + 1) * x.nCols));
      model.shap(row, phi);
      let sum = 0;
      for (const v of phi) sum += v;
      worst = Math.max(worst, Math.abs(sum - margin[r]!) / Math.max(1, Math.abs(margin[r]!)));
    }
    expect(worst).toBeLessThan(1e-6);
    expect(phi[model.nFeatures]).toBeCloseTo(model.expectedMargin(), 12);
  });

  it('reads base_score in the bracketed XGBoost 2.x form and boolean or numeric default_left', () => {
    const json = JSON.parse(fixtureText('xgboost-agaricus/model.json')) as {
      learner: {
        learner_model_param: { base_score: string };
        gradient_booster: { model: { trees: unknown[] } };
      };
    };
    const scalar = GbdtModel.fromXGBoostJson(structuredClone(json));
    json.learner.learner_model_param.base_score = '[2E-1]';
    const trees = json.learner.gradient_booster.model.trees as { default_left: (boolean | number)[] }[];
    for (const t of trees) t.default_left = t.default_left.map((b) => (b ? 1 : 0));
    const bracketed = GbdtModel.fromXGBoostJson(json);
    const row = new Float32Array(127).fill(Number.NaN);
    const shift = bracketed.predictRowMargin(row) - scalar.predictRowMargin(row);
    expect(shift).toBeCloseTo(Math.log(0.2 / 0.8) - Math.log(0.5 / 0.5), 6);
  });

  it('rejects models it cannot represent with a ParseError naming the field', () => {
    const json = JSON.parse(fixtureText('xgboost-agaricus/model.json')) as {
      learner: { objective: { name: string } };
    };
    json.learner.objective.name = 'multi:softprob';
    expect(() => GbdtModel.fromXGBoostJson(json)).toThrow(ParseError);
    expect(() => GbdtModel.fromXGBoostJson('{not json')).toThrow(ParseError);
    expect(() => GbdtModel.fromXGBoostJson({ learner: {} })).toThrow(ParseError);
  });
});
